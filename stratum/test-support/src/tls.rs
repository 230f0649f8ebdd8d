//! Self-signed certificates for 127.0.0.1 and localhost (rcgen): in memory for a server config,
//! or as PEM files for the binary's `--tls-cert`/`--tls-key`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hashforge_stratum::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use hashforge_stratum::rustls::ServerConfig;

/// A fresh self-signed certificate for 127.0.0.1 and localhost, with its key.
pub fn self_signed() -> rcgen::CertifiedKey {
    rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).expect("rcgen")
}

/// A server TLS configuration with a fresh self-signed certificate.
pub fn self_signed_server_tls() -> Arc<ServerConfig> {
    let ck = self_signed();
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    hashforge_stratum::tls::server_config(vec![cert], key).expect("tls config")
}

/// A certificate and its key as PEM files in the temp directory; removed when dropped.
pub struct PemFiles {
    cert: PathBuf,
    key: PathBuf,
}

impl PemFiles {
    /// The certificate file, as a command-line argument.
    pub fn cert(&self) -> &str {
        arg(&self.cert)
    }

    /// The private key file, as a command-line argument.
    pub fn key(&self) -> &str {
        arg(&self.key)
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.cert);
        let _ = std::fs::remove_file(&self.key);
    }
}

/// A fresh self-signed certificate (see [`self_signed`]) written as PEM files named after
/// `name` and this process.
pub fn self_signed_pem(name: &str) -> PemFiles {
    let ck = self_signed();
    let dir = std::env::temp_dir();
    let stem = format!("hashforge-{name}-{}", std::process::id());
    let files = PemFiles {
        cert: dir.join(format!("{stem}-cert.pem")),
        key: dir.join(format!("{stem}-key.pem")),
    };
    std::fs::write(&files.cert, ck.cert.pem()).expect("writing the certificate");
    std::fs::write(&files.key, ck.key_pair.serialize_pem()).expect("writing the key");
    files
}
