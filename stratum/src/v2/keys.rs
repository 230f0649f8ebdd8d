//! Authority keys: the pool's long-term secp256k1 key pair that signs the Noise certificates,
//! and the public half that miners check them with. Encoded as the reference implementation
//! does (`key-utils`: base58check, the public key with its 2-byte version prefix).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use key_utils::{Secp256k1PublicKey, Secp256k1SecretKey};

use crate::error::Sv2Error;

/// An authority public key: what a miner is given (in `stratum2+tcp://HOST:PORT/KEY` or
/// `--sv2-authority-key`) to know its pool.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorityPublicKey([u8; 32]);

impl AuthorityPublicKey {
    /// The 32-byte x-only key.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    fn of(key: Secp256k1PublicKey) -> Self {
        AuthorityPublicKey(key.into_bytes())
    }
}

impl FromStr for AuthorityPublicKey {
    type Err = Sv2Error;
    fn from_str(s: &str) -> Result<Self, Sv2Error> {
        Secp256k1PublicKey::from_str(s.trim())
            .map(AuthorityPublicKey::of)
            .map_err(|e| Sv2Error::BadKey(format!("not an authority public key: {e}")))
    }
}

impl fmt::Display for AuthorityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Built only from valid keys, so the conversion back cannot fail.
        match secp256k1::XOnlyPublicKey::from_slice(&self.0) {
            Ok(k) => write!(f, "{}", Secp256k1PublicKey(k)),
            Err(_) => write!(f, "{}", hex::encode(self.0)),
        }
    }
}

impl fmt::Debug for AuthorityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityPublicKey({self})")
    }
}

/// The pool's authority key pair.
#[derive(Clone)]
pub struct AuthorityKeys {
    public: AuthorityPublicKey,
    secret: Secp256k1SecretKey,
}

impl fmt::Debug for AuthorityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityKeys({}, secret hidden)", self.public)
    }
}

/// Longest key file read (two short lines and comments).
const MAX_KEY_FILE_BYTES: u64 = 4096;

impl AuthorityKeys {
    /// A new random key pair, with an even-y public point as the reference implementation's
    /// generator makes them (the x-only key is the even-y one).
    pub fn generate() -> AuthorityKeys {
        let secp = secp256k1::Secp256k1::new();
        loop {
            let secret = secp_secret(rand::random());
            let kp = secp256k1::Keypair::from_secret_key(&secp, &secret);
            let (x_only, parity) = kp.x_only_public_key();
            if parity == secp256k1::Parity::Even {
                return AuthorityKeys {
                    public: AuthorityPublicKey(x_only.serialize()),
                    secret: Secp256k1SecretKey(secret),
                };
            }
        }
    }

    fn from_parts(public: AuthorityPublicKey, secret: Secp256k1SecretKey) -> Result<(), Sv2Error> {
        noise_sv2::Responder::from_authority_kp(
            &public.0,
            &secret.into_bytes(),
            std::time::Duration::from_secs(1),
        )
        .map(drop)
        .map_err(|_| Sv2Error::BadKey("the secret key does not match the public key".into()))
    }

    /// The public key.
    pub fn public(&self) -> AuthorityPublicKey {
        self.public
    }

    /// The 32-byte public and secret keys, as the Noise responder takes them.
    pub fn to_bytes(&self) -> ([u8; 32], [u8; 32]) {
        (self.public.to_bytes(), self.secret.into_bytes())
    }

    /// The key file: TOML with the reference implementation's key names.
    pub fn to_file_text(&self) -> String {
        format!(
            "# hashforge Stratum V2 authority key pair (keep the secret key secret)\n\
             authority_public_key = \"{}\"\nauthority_secret_key = \"{}\"\n",
            self.public, self.secret
        )
    }

    /// Parses a key file written by [`AuthorityKeys::to_file_text`] (`key = "value"` lines,
    /// `#` comments).
    pub fn from_file_text(text: &str) -> Result<AuthorityKeys, Sv2Error> {
        let (mut public, mut secret) = (None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || Sv2Error::BadKey(format!("line {}: expected key = \"value\"", n + 1));
            let (k, v) = line.split_once('=').ok_or_else(bad)?;
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "authority_public_key" => public = Some(v.parse::<AuthorityPublicKey>()?),
                "authority_secret_key" => {
                    secret = Some(Secp256k1SecretKey::from_str(v).map_err(|e| {
                        Sv2Error::BadKey(format!("line {}: not a secret key: {e}", n + 1))
                    })?)
                }
                other => {
                    return Err(Sv2Error::BadKey(format!(
                        "line {}: unknown key {}",
                        n + 1,
                        crate::text::Escaped(other)
                    )))
                }
            }
        }
        let secret = secret.ok_or_else(|| Sv2Error::BadKey("no authority_secret_key".into()))?;
        let public = public.unwrap_or_else(|| AuthorityPublicKey::of(secret.into()));
        AuthorityKeys::from_parts(public, secret)?;
        Ok(AuthorityKeys { public, secret })
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<AuthorityKeys, Sv2Error> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| Sv2Error::BadKey(format!("{}: {e}", path.display())))?;
        let mut text = String::new();
        file.take(MAX_KEY_FILE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| Sv2Error::BadKey(format!("{}: {e}", path.display())))?;
        AuthorityKeys::from_file_text(&text)
            .map_err(|e| Sv2Error::BadKey(format!("{}: {e}", path.display())))
    }

    /// Writes a key file readable by its owner only; refuses to overwrite one.
    pub fn save(&self, path: &Path) -> Result<(), Sv2Error> {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(path)
            .map_err(|e| Sv2Error::BadKey(format!("{}: {e}", path.display())))?;
        f.write_all(self.to_file_text().as_bytes())
            .map_err(|e| Sv2Error::BadKey(format!("{}: {e}", path.display())))
    }
}

/// A valid secp256k1 secret key from 32 random bytes (retrying the rare invalid ones).
fn secp_secret(mut bytes: [u8; 32]) -> secp256k1::SecretKey {
    loop {
        if let Ok(k) = secp256k1::SecretKey::from_slice(&bytes) {
            return k;
        }
        bytes = rand::random();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_the_file_text() {
        let k = AuthorityKeys::generate();
        let back = AuthorityKeys::from_file_text(&k.to_file_text()).unwrap();
        assert_eq!(back.public(), k.public());
        assert_eq!(back.to_bytes(), k.to_bytes());
        let parsed: AuthorityPublicKey = k.public().to_string().parse().unwrap();
        assert_eq!(parsed, k.public());
    }

    #[test]
    fn the_reference_implementations_example_keys_parse() {
        // codec_sv2's example pair.
        let text =
            "authority_public_key = \"9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72\"\n\
                    authority_secret_key = \"mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n\"\n";
        let k = AuthorityKeys::from_file_text(text).unwrap();
        assert_eq!(
            k.public().to_string(),
            "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72"
        );
    }

    #[test]
    fn bad_keys_are_one_line_errors() {
        for bad in [
            "",
            "nonsense",
            "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH7",
        ] {
            let e = bad.parse::<AuthorityPublicKey>().unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        let mismatched = format!(
            "authority_public_key = \"{}\"\nauthority_secret_key = \"mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n\"\n",
            AuthorityKeys::generate().public()
        );
        assert!(AuthorityKeys::from_file_text(&mismatched).is_err());
    }
}
