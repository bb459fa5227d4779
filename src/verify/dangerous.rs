//! Verification that skips a check, behind [`Verifier::dangerous`] so that every use is easy to
//! find in review (as rustls keeps `dangerous()` configuration).

use serde::de::DeserializeOwned;

use super::Verifier;
use crate::claims::Claims;
use crate::error::Error;
use crate::jws::TokenKind;

/// The verifications that skip the revocation hook. Get one with [`Verifier::dangerous`].
///
/// # Security
/// A token that was logged out, revoked, or cut off by "log out everywhere" **passes** these
/// checks until it expires. Use them only where revocation is checked another way (the store
/// tracks refresh-token families itself) or cannot be (an offline check by a command-line tool).
/// Every other check still runs: shape, header, key, signature, claims, times, issuer, audience.
///
/// ```
/// use tokengate::{Algorithm, Claims, Grant, Issuer, Key, KeyRing, Verifier};
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let issuer = Issuer::builder(ring.clone()).issuer("i").audience("a").build()?;
/// let verifier = Verifier::builder(ring).issuer("i").audience("a").build()?;
/// let token = issuer.issue_access(&Grant::new("alice"))?.token;
///
/// let claims: Claims = verifier.dangerous().verify_without_revocation(&token)?;
/// assert_eq!(claims.sub, "alice");
/// assert!(verifier.dangerous().verify_without_revocation::<tokengate::NoExtra>("x.y.z").is_err());
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DangerousVerifier<'a> {
    verifier: &'a Verifier,
}

impl Verifier {
    /// The verifications that skip the revocation hook (see [`DangerousVerifier`]).
    #[must_use]
    pub fn dangerous(&self) -> DangerousVerifier<'_> {
        DangerousVerifier { verifier: self }
    }
}

impl DangerousVerifier<'_> {
    /// Verifies an access token with every check except revocation (and without the
    /// verified-token cache).
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub fn verify_without_revocation<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Claims<T>, Error> {
        self.verifier.check_stateless(token, &TokenKind::Access)
    }

    /// [`verify_without_revocation`](Self::verify_without_revocation) for a token of the given
    /// kind.
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub fn verify_without_revocation_as<T: DeserializeOwned>(
        &self,
        token: &str,
        kind: &TokenKind,
    ) -> Result<Claims<T>, Error> {
        self.verifier.check_stateless(token, kind)
    }
}
