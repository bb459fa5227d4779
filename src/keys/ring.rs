//! [`KeyRing`]: the keys a service signs and verifies with, addressed by `kid`.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;

use super::invalid;
use super::key::Key;
use crate::error::{Error, KeyError};

/// The keys a service signs and verifies with, addressed by `kid`.
///
/// One key is the active signing key; any number are verify-only (rotation). Kids are unique.
///
/// ```
/// use tokengate::{Algorithm, Key, KeyRing};
/// let new = Key::from_secret(Algorithm::HS256, &[7u8; 32])?.with_kid("2026-11");
/// let old = Key::from_secret(Algorithm::HS256, &[9u8; 32])?.with_kid("2026-10");
/// let ring = KeyRing::new(new)?.with_verify_only(old)?;
/// assert_eq!(ring.signing_key().map(|k| k.kid()), Some("2026-11"));
/// assert!(ring.get("2026-10").is_some());
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<Arc<Key>>,
    signing: Option<Arc<Key>>,
}

impl KeyRing {
    /// A ring whose active signing key is `signing`.
    ///
    /// # Errors
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey) when the key cannot sign (a public key); [`Error::Config`] when its
    /// kid is empty.
    pub fn new(signing: Key) -> Result<Self, Error> {
        let mut ring = Self::default();
        ring.set_signing_key(signing)?;
        Ok(ring)
    }

    /// A ring that only verifies (for example a resource server that trusts another service's
    /// public keys).
    ///
    /// # Errors
    /// As [`KeyRing::add_verify_only`].
    pub fn verify_only(keys: impl IntoIterator<Item = Key>) -> Result<Self, Error> {
        let mut ring = Self::default();
        for key in keys {
            ring.add_verify_only(key)?;
        }
        Ok(ring)
    }

    /// A verify-only ring from a JWKS document (`{"keys": [..]}`), e.g. another issuer's
    /// `/.well-known/jwks.json`. Keys the ring cannot use are refused, not skipped.
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) for text that is not a JWKS or a key that cannot be used.
    pub fn from_jwks_json(json: &str) -> Result<Self, Error> {
        let set: JwkSet = serde_json::from_str(json).map_err(|_| invalid("not a JWK set"))?;
        let keys = set
            .keys
            .iter()
            .map(Key::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Self::verify_only(keys)
    }

    /// Adds a verify-only key, builder style.
    ///
    /// # Errors
    /// As [`KeyRing::add_verify_only`].
    pub fn with_verify_only(mut self, key: Key) -> Result<Self, Error> {
        self.add_verify_only(key)?;
        Ok(self)
    }

    /// Adds a key used only to verify (its private half, if any, is dropped).
    ///
    /// # Errors
    /// [`Error::Config`] when its kid is empty or already in the ring.
    pub fn add_verify_only(&mut self, key: Key) -> Result<(), Error> {
        self.insert(key.into_verify_only()).map(|_| ())
    }

    /// Makes `key` the active signing key; the previous signing key stays in the ring, verify-only.
    ///
    /// # Errors
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey) when `key` cannot sign; [`Error::Config`] for an empty or duplicate
    /// kid.
    pub fn set_signing_key(&mut self, key: Key) -> Result<(), Error> {
        if !key.can_sign() {
            return Err(Error::Key(KeyError::NoSigningKey));
        }
        let key = self.insert(key)?;
        self.signing = Some(key);
        Ok(())
    }

    fn insert(&mut self, key: Key) -> Result<Arc<Key>, Error> {
        if key.kid.is_empty() {
            return Err(Error::config("kid", "must not be empty"));
        }
        if self.get(&key.kid).is_some() {
            return Err(Error::config(
                "kid",
                format!("duplicate kid `{}` in key ring", key.kid),
            ));
        }
        let key = Arc::new(key);
        self.keys.push(Arc::clone(&key));
        Ok(key)
    }

    /// Removes the key with this kid (rotation's last step). Removing the signing key leaves the
    /// ring unable to sign.
    pub fn remove(&mut self, kid: &str) -> Option<Arc<Key>> {
        let pos = self.keys.iter().position(|k| k.kid == kid)?;
        if self.signing.as_ref().is_some_and(|s| s.kid == kid) {
            self.signing = None;
        }
        Some(self.keys.remove(pos))
    }

    /// The key with this kid.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The active signing key.
    #[must_use]
    pub fn signing_key(&self) -> Option<&Arc<Key>> {
        self.signing.as_ref()
    }

    /// All keys, signing and verify-only.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<Key>> {
        self.keys.iter()
    }

    /// Number of keys in the ring.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys as a JWKS. Symmetric keys and private members never appear.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(|k| k.to_public_jwk()).collect(),
        }
    }
}
