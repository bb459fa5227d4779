//! The crate's one error type.

use std::fmt;

/// Which part of a compact JWS a decoding failure was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPart {
    /// The JOSE header (first segment).
    Header,
    /// The claims set (second segment).
    Claims,
    /// The signature (third segment).
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Claims => "claims",
            Self::Signature => "signature",
        })
    }
}

/// Everything that can go wrong in tokengate.
///
/// Every variant says when it happens. Display texts never contain a token, a claim value, a key or
/// a password hash: they are safe to log and to return to a client (the `rejection` mapping uses
/// them as `error_description`).
///
/// The enum is `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- token shape -----
    /// The token is longer than the verifier's `max_token_size` (default 8 KiB); it was refused
    /// before any decoding.
    #[error("token too large (more than {max} bytes)")]
    TokenTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// The token is not three non-empty dot-separated segments (JWS compact serialization), or the
    /// signature segment is empty.
    #[error("token malformed")]
    Malformed,
    /// A segment is not valid unpadded base64url.
    #[error("token {0} is not valid base64url")]
    InvalidBase64(TokenPart),
    /// A segment does not decode to a JSON object of the expected shape.
    #[error("token {0} is not a valid JSON object")]
    InvalidJson(TokenPart),
    /// A JSON member name appears twice in the header or the claims (RFC 7519 §4 allows parsers
    /// to reject this; RFC 8725 recommends it, since two parsers may pick different members).
    #[error("token {0} has a duplicate member")]
    DuplicateMember(TokenPart),

    // ----- header -----
    /// The header's `alg` is `none` in any spelling: unsecured JWTs are never accepted.
    #[error("unsecured token (alg none) refused")]
    AlgorithmNone,
    /// The header's `alg` is missing or not an algorithm tokengate knows.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header's `alg` is not the algorithm bound to the key chosen by `kid` (this is what
    /// stops RS256→HS256 key confusion: the algorithm comes from the key, never from the token).
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    /// The header's `kid` names no key in the key ring.
    #[error("unknown key id")]
    UnknownKeyId,
    /// The header has no `kid` and the key ring holds more than one verifying key (or the verifier
    /// was built with `require_kid(true)`).
    #[error("key id missing")]
    MissingKeyId,
    /// The header's `typ` is not the one expected for this kind of token (for example a refresh
    /// token presented where an access token is required).
    #[error("wrong token type")]
    WrongTokenType,
    /// The header lists `crit` extensions; tokengate understands none, so RFC 7515 §4.1.11 requires
    /// the token to be rejected.
    #[error("unsupported critical header")]
    UnsupportedCritical,

    // ----- signature -----
    /// The signature does not verify with the key.
    #[error("invalid signature")]
    InvalidSignature,

    // ----- claims -----
    /// A registered claim has the wrong JSON type (e.g. `exp` as a string, `null` or negative, `aud`
    /// as a number).
    #[error("claim `{0}` has an invalid value")]
    InvalidClaim(&'static str),
    /// A required claim is absent (`exp`, `iss`, `aud`; `sub` and `jti` where the verifier needs them).
    #[error("claim `{0}` missing")]
    MissingClaim(&'static str),
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is not the configured issuer.
    #[error("token issuer not accepted")]
    InvalidIssuer,
    /// `aud` does not contain a configured audience.
    #[error("token audience not accepted")]
    InvalidAudience,
    /// The revocation hook says this token (its `jti`, its family or its subject's cut-off) was
    /// revoked.
    #[error("token revoked")]
    Revoked,
    /// The revocation hook could not answer (e.g. its store is unreachable); verification fails
    /// closed.
    #[error("revocation state unavailable")]
    RevocationUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),

    // ----- requests (the axum extractors and guards) -----
    /// The request carries no bearer credentials: no `Authorization` header, or one with another
    /// scheme such as `Basic` (RFC 6750 §3.1 treats both as "no authentication information").
    /// Answered 401 with a `WWW-Authenticate` challenge that has no error code.
    #[error("bearer token required")]
    MissingCredentials,
    /// The request's credentials are malformed (RFC 6750 `invalid_request`, HTTP 400): two
    /// `Authorization` headers, an empty bearer token, a bearer token with characters outside the
    /// RFC 6750 `b64token` syntax, a token both in the header and in the cookie, or the
    /// access-token cookie sent twice. The text names which.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// A valid token lacks the role or permission a guard requires (RFC 6750 `insufficient_scope`,
    /// HTTP 403). The requirement is the guard's configuration, never a claim value.
    #[error("{0}")]
    InsufficientScope(crate::requirement::Requirement),
    /// A request authenticated by the access-token cookie uses an unsafe method (anything but
    /// `GET`, `HEAD`, `OPTIONS`, `TRACE`) without an `X-CSRF-Token` header, with several, or with
    /// one that is not the CSRF value of the token's session (see
    /// [`CookieConfig`](crate::CookieConfig)). Answered 403 `csrf_failed`, without a
    /// `WWW-Authenticate` challenge. The text says which; it never contains the value.
    #[error("{0}")]
    CsrfFailed(&'static str),

    // ----- keys and configuration -----
    /// Key material is too weak for its algorithm: an HMAC secret shorter than the hash output
    /// (32/48/64 bytes for HS256/HS384/HS512), an RSA modulus under 2048 bits, an empty secret.
    #[error("weak key: {0}")]
    WeakKey(String),
    /// Key material could not be parsed or does not fit the requested algorithm.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An environment variable that should hold a key is missing or empty.
    #[error("environment variable {0} is missing or empty")]
    MissingEnv(String),
    /// A key file could not be read.
    #[error("cannot read key file {path}")]
    KeyFile {
        /// The file's path as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A builder was given an unusable setting; the message names the setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The key ring has no key that can sign.
    #[error("no signing key")]
    NoSigningKey,
    /// The crypto backend failed to produce a signature or random bytes.
    #[error("cryptographic operation failed")]
    Crypto,
    /// Claims could not be serialized when issuing a token.
    #[error("claims could not be serialized")]
    Serialize(#[source] serde_json::Error),

    // ----- passwords -----
    /// A password is longer than the configured maximum (`Passwords` `max_len`, default 1024
    /// bytes); refused before any hashing.
    #[error("password too long (more than {max} bytes)")]
    PasswordTooLong {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// Every password-hashing thread is busy and the wait queue is full; the request was refused
    /// at once (answer 503 with `Retry-After`).
    #[error("password hashing is busy")]
    PasswordBusy,
    /// A stored password hash is not an argon2 PHC string (or names an unknown algorithm or
    /// version, or impossible parameters).
    #[error("stored password hash is not a valid argon2 PHC string")]
    PasswordHashInvalid,

    // ----- store -----
    /// The store could not be reached or failed (for example Redis is down); callers fail closed.
    #[error("store unavailable")]
    StoreUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bounded store is full of live entries and refused a write rather than evict one
    /// (evicting a revocation would make a revoked token valid again).
    #[error("store full ({capacity} entries)")]
    StoreFull {
        /// The store's configured capacity.
        capacity: usize,
    },

    // ----- refresh sessions -----
    /// A refresh token that was already spent was presented again; its whole family (session) has
    /// just been revoked (reuse detection).
    #[error("refresh token reused; session revoked")]
    RefreshReused,
    /// The refresh token's session passed its absolute lifetime or its idle timeout.
    #[error("session expired")]
    SessionExpired,
    /// The refresh token's session was revoked (logout, reuse detected, "log out everywhere") or
    /// is unknown to the store.
    #[error("session revoked")]
    SessionRevoked,
}

impl Error {
    /// Whether this error describes a bad token (the client's fault, answered with 401
    /// `invalid_token`) rather than a configuration or infrastructure failure.
    #[must_use]
    pub fn is_token_error(&self) -> bool {
        matches!(
            self,
            Self::TokenTooLarge { .. }
                | Self::Malformed
                | Self::InvalidBase64(_)
                | Self::InvalidJson(_)
                | Self::DuplicateMember(_)
                | Self::AlgorithmNone
                | Self::UnsupportedAlgorithm
                | Self::AlgorithmMismatch
                | Self::UnknownKeyId
                | Self::MissingKeyId
                | Self::WrongTokenType
                | Self::UnsupportedCritical
                | Self::InvalidSignature
                | Self::InvalidClaim(_)
                | Self::MissingClaim(_)
                | Self::Expired
                | Self::NotYetValid
                | Self::IssuedInFuture
                | Self::InvalidIssuer
                | Self::InvalidAudience
                | Self::Revoked
                | Self::RefreshReused
                | Self::SessionExpired
                | Self::SessionRevoked
        )
    }
}
