//! Keys and the key ring.
//!
//! A [`Key`] is key material bound to exactly one [`Algorithm`] and one key id (`kid`). The
//! algorithm comes from the key — never from a token's header — so a token that says `HS256` can
//! never be checked against an RSA public key used as an HMAC secret.
//!
//! A [`KeyRing`] holds one active signing key and any number of verify-only keys, addressed by
//! `kid`. Rotation: add the new key as the signing key, keep the old one verify-only until the
//! tokens it signed have expired, then remove it.
//!
//! The module's files: [`Algorithm`] (`algorithm.rs`), [`Key`] and its signing and verifying
//! (`key.rs`), low-S ECDSA signatures (`low_s.rs`), keys from HMAC secrets (`secret.rs`), from
//! PEM (`pem.rs`), to and from JWK (`jwk.rs`), and [`KeyRing`] (`ring.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, KeyError};

mod algorithm;
mod jwk;
mod key;
mod low_s;
mod pem;
mod ring;
mod secret;

pub use algorithm::Algorithm;
pub use key::{Key, MIN_RSA_BITS};
pub use ring::KeyRing;
pub use secret::min_secret_len;

/// [`KeyError::Invalid`] with this message (every file of the module reports unusable material so).
fn invalid(msg: impl Into<String>) -> Error {
    Error::Key(KeyError::Invalid(msg.into()))
}

/// Unpadded base64url, as JOSE writes binary members (kids, JWK coordinates, secrets).
fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
