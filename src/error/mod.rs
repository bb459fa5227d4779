//! The crate's one error type, [`Error`], and the smaller enums its variants group.
//!
//! Every variant says when it happens. Display texts never contain a token, a claim value, a key or
//! a password hash: they are safe to log and to return to a client (the one HTTP mapping,
//! [`Rejection`](crate::Rejection), uses them as `error_description` for 4xx answers).

mod request;
mod token;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

pub use request::RequestError;
pub use token::{TokenError, TokenPart};

use crate::requirement::Requirement;

/// A boxed error from a pluggable part (a store, a revocation hook, a user directory).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in tokengate, grouped by who has to act.
///
/// [`Rejection`](crate::Rejection) answers every variant over HTTP with one exhaustive mapping
/// (its table lists the status, challenge and code of each). The enum and its groups are
/// `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not acceptable (the client's fault): 401 `invalid_token`.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The request is not usable as sent (no credentials, malformed credentials or body): 400,
    /// 401 without an error code, 405, 413 or 415.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The token is valid but not allowed to do this: 403.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// Bad login credentials, or a refresh token the login routes refuse (spent, revoked, wrong
    /// type, unreadable): 401 `invalid_grant` (RFC 6749 §5.2). Every cause gets the same text, so
    /// that an attacker cannot tell an unknown user from a wrong password.
    #[error("invalid credentials or grant")]
    InvalidGrant,
    /// Too many failed logins for this account or client address: 429 with `Retry-After`.
    #[error("too many failed logins; retry later")]
    Throttled {
        /// How long until the next attempt is counted again.
        retry_after: Duration,
    },
    /// Something the answer depends on is unreachable or saturated; the request failed closed:
    /// 503 with `Retry-After`.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// Key material is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A builder or environment variable was given an unusable setting.
    #[error("invalid configuration: {setting}: {problem}")]
    Config {
        /// The setting's name as the user wrote it (builder method, environment variable, …).
        setting: Cow<'static, str>,
        /// What is wrong with it (never the value of a secret).
        problem: Cow<'static, str>,
    },
    /// A failure inside tokengate or its crypto backend: 500 without detail.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl Error {
    /// [`Error::Config`] naming `setting`.
    pub fn config(
        setting: impl Into<Cow<'static, str>>,
        problem: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Config {
            setting: setting.into(),
            problem: problem.into(),
        }
    }

    /// The setting an [`Error::Config`] names.
    #[must_use]
    pub fn setting(&self) -> Option<&str> {
        match self {
            Self::Config { setting, .. } => Some(setting),
            _ => None,
        }
    }

    /// Whether this error describes a bad token (the client's fault, answered with 401
    /// `invalid_token`) rather than a request, configuration or infrastructure failure.
    #[must_use]
    pub fn is_token_error(&self) -> bool {
        matches!(self, Self::Token(_))
    }

    /// The token error, when this is one.
    #[must_use]
    pub fn as_token_error(&self) -> Option<&TokenError> {
        match self {
            Self::Token(e) => Some(e),
            _ => None,
        }
    }
}

/// A valid token that may not do what the request asks: 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The token lacks the role or permission a guard requires (RFC 6750 `insufficient_scope`).
    /// The requirement is the guard's configuration, never a claim value.
    #[error("{0}")]
    InsufficientScope(Requirement),
    /// A request authenticated by the access-token cookie uses an unsafe method (anything but
    /// `GET`, `HEAD`, `OPTIONS`, `TRACE`) without an `X-CSRF-Token` header, with several, or with
    /// one that is not the CSRF value of the token's session (see
    /// [`CookieConfig`](crate::CookieConfig)). Answered 403 `csrf_failed`, without a
    /// `WWW-Authenticate` challenge. The text says which; it never contains the value.
    #[error("{0}")]
    Csrf(&'static str),
}

/// Something the answer depends on is unreachable or saturated: 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The revocation hook could not answer (e.g. its store is unreachable); verification fails
    /// closed.
    #[error("revocation state unavailable")]
    Revocation(#[source] BoxError),
    /// The store could not be reached or failed (for example Redis is down); callers fail closed.
    #[error("store unavailable")]
    Store(#[source] BoxError),
    /// A bounded store is full of live entries and refused a write rather than evict one
    /// (evicting a revocation would make a revoked token valid again).
    #[error("store full ({capacity} entries)")]
    StoreFull {
        /// The store's configured capacity.
        capacity: usize,
    },
    /// Every password-hashing thread is busy and the wait queue is full; the request was refused
    /// at once.
    #[error("password hashing is busy")]
    PasswordBusy,
    /// The application's user directory could not answer.
    #[error("user directory unavailable")]
    Directory(#[source] BoxError),
}

/// Unusable key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Key material is too weak for its algorithm: an HMAC secret shorter than the hash output
    /// (32/48/64 bytes for HS256/HS384/HS512), an RSA modulus under 2048 bits, an empty secret.
    #[error("weak key: {0}")]
    Weak(String),
    /// Key material could not be parsed or does not fit the requested algorithm.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// A key file could not be read.
    #[error("cannot read key file {path}")]
    File {
        /// The file's path as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key ring has no key that can sign.
    #[error("no signing key")]
    NoSigningKey,
}

/// A failure inside tokengate or its crypto backend: 500, with the cause only in the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// The crypto backend failed to produce a signature or random bytes.
    #[error("cryptographic operation failed")]
    Crypto,
    /// Claims could not be serialized when issuing a token.
    #[error("claims could not be serialized")]
    Serialize(#[source] SerializeError),
    /// A stored password hash is not an argon2 PHC string (or names an unknown algorithm or
    /// version, or impossible parameters).
    #[error("stored password hash is not a valid argon2 PHC string")]
    PasswordHashInvalid,
}

/// Why claims could not be serialized (the serializer's own error stays private).
pub struct SerializeError(serde_json::Error);

impl SerializeError {
    pub(crate) fn new(error: serde_json::Error) -> Self {
        Self(error)
    }
}

impl fmt::Debug for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SerializeError {}
