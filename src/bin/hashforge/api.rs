//! `--api` and `--api-token` (of `mine` and `serve`) to the library's API configuration.

use anyhow::Result;
use hashforge::api::{ApiConfig, ApiError, ApiHandle};

use super::cli::ApiArgs;

/// The API's configuration, checked (a non-loopback address needs a token), or `None` without
/// `--api`.
pub fn config(args: &ApiArgs) -> Result<Option<ApiConfig>> {
    let Some(listen) = args.api else {
        return Ok(None);
    };
    let config = ApiConfig {
        listen,
        token: args.api_token.clone(),
    };
    hashforge::api::auth::Access::new(&config)?;
    Ok(Some(config))
}

/// The started API, with its address on stderr (port 0 picks one).
pub fn started(api: Result<ApiHandle, ApiError>) -> Result<ApiHandle> {
    let api = api?;
    eprintln!("api listening on http://{}", api.local_addr());
    Ok(api)
}
