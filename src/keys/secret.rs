//! HMAC keys from secrets: raw bytes, base64 text, environment variables.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use super::algorithm::Algorithm;
use super::key::{Key, Material, hmac_alg};
use super::{b64url, invalid};
use crate::error::{Error, KeyError};

/// The smallest HMAC secret accepted for `alg`, in bytes: the size of the hash output
/// (RFC 7518 §3.2: "a key of the same size as the hash output … MUST be used").
#[must_use]
pub fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Decodes base64 in any of its common spellings (standard or url-safe, padded or not).
fn decode_any_base64(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let s = s.trim();
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .map(Zeroizing::new)
}

impl Key {
    /// An HMAC key (`HS256`, `HS384` or `HS512`) from raw secret bytes.
    ///
    /// The key id is derived from the secret (an HMAC of a fixed label, so it reveals nothing an
    /// attacker holding a signed token could not already test offline); set your own with
    /// [`Key::with_kid`].
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) when `alg` is not an HMAC algorithm; [`KeyError::Weak`](crate::KeyError::Weak) when the
    /// secret is shorter than [`min_secret_len`] (32, 48, 64 bytes).
    ///
    /// ```
    /// use tokengate::{Algorithm, Error, Key};
    /// let key = Key::from_secret(Algorithm::HS256, b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(key.algorithm(), Algorithm::HS256);
    /// assert!(matches!(
    ///     Key::from_secret(Algorithm::HS256, b"too short"),
    ///     Err(Error::Key(tokengate::KeyError::Weak(_)))
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let hmac_alg = hmac_alg(alg).ok_or_else(|| {
            invalid(format!(
                "a secret can only be used with HS256/384/512, not {alg:?}"
            ))
        })?;
        let min = min_secret_len(alg);
        if secret.len() < min {
            return Err(Error::Key(KeyError::Weak(format!(
                "{alg:?} secret must be at least {min} bytes, got {}",
                secret.len()
            ))));
        }
        let id_key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&id_key, b"tokengate key id v1");
        Ok(Self {
            kid: b64url(&tag.as_ref()[..12]),
            alg,
            material: Material::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
        })
    }

    /// An HMAC key from a base64 secret (standard or url-safe alphabet, padded or not).
    ///
    /// # Errors
    /// As [`Key::from_secret`], plus [`KeyError::Invalid`](crate::KeyError::Invalid) when the text is not base64.
    pub fn from_base64_secret(alg: Algorithm, secret_b64: &str) -> Result<Self, Error> {
        let bytes =
            decode_any_base64(secret_b64).ok_or_else(|| invalid("secret is not valid base64"))?;
        Self::from_secret(alg, &bytes)
    }

    /// An HMAC key from the raw bytes of an environment variable.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable when it is unset, empty or not UTF-8; otherwise
    /// as [`Key::from_secret`] (the message of a [`KeyError::Weak`](crate::KeyError::Weak) names the variable).
    pub fn from_secret_env(alg: Algorithm, var: &str) -> Result<Self, Error> {
        let value = read_env(var)?;
        Self::from_secret(alg, value.as_bytes()).map_err(|e| name_setting(e, var))
    }

    /// An HMAC key from an environment variable holding base64.
    ///
    /// # Errors
    /// As [`Key::from_secret_env`] and [`Key::from_base64_secret`].
    pub fn from_base64_secret_env(alg: Algorithm, var: &str) -> Result<Self, Error> {
        let value = read_env(var)?;
        Self::from_base64_secret(alg, &value).map_err(|e| name_setting(e, var))
    }
}

fn read_env(var: &str) -> Result<Zeroizing<String>, Error> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
        _ => Err(Error::config(
            var.to_owned(),
            "environment variable is missing or empty",
        )),
    }
}

fn name_setting(e: Error, var: &str) -> Error {
    match e {
        Error::Key(KeyError::Weak(m)) => Error::Key(KeyError::Weak(format!("{var}: {m}"))),
        Error::Key(KeyError::Invalid(m)) => Error::Key(KeyError::Invalid(format!("{var}: {m}"))),
        other => other,
    }
}
