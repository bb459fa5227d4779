//! [`TokenError`]: why a token was not accepted.

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

/// Why a token was not accepted: every variant is the client's fault and is answered 401
/// `invalid_token` with the Display text as `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the verifier's `max_token_size` (default 8 KiB); it was refused
    /// before any decoding.
    #[error("token too large (more than {max} bytes)")]
    TooLarge {
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
    WrongType,
    /// The header lists `crit` extensions; tokengate understands none, so RFC 7515 §4.1.11 requires
    /// the token to be rejected.
    #[error("unsupported critical header")]
    UnsupportedCritical,
    /// The signature does not verify with the key.
    #[error("invalid signature")]
    InvalidSignature,
    /// A registered claim has the wrong JSON type (e.g. `exp` as a string, `null` or negative, `aud`
    /// as a number).
    #[error("claim `{0}` has an invalid value")]
    InvalidClaim(&'static str),
    /// A required claim is absent (`exp`, `iss`, `aud`; `sub` and `jti` where the verifier needs them).
    #[error("claim `{0}` missing")]
    MissingClaim(&'static str),
    /// A claim the application's claims type requires is absent (the name is a field of that
    /// type, never a value from the token).
    #[error("claim `{0}` missing")]
    MissingAppClaim(String),
    /// A member of the token does not fit the application's claims type (wrong JSON type or
    /// value); the text names the member, never its value.
    #[error("claim `{0}` has an invalid value")]
    InvalidAppClaim(String),
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
