//! [`RequestError`]: a request that is not usable as sent.

/// A request that is not usable as sent. The Display text names what is wrong (never a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request carries no bearer credentials: no `Authorization` header, or one with another
    /// scheme such as `Basic` (RFC 6750 §3.1 treats both as "no authentication information").
    /// Answered 401 with a `WWW-Authenticate` challenge that has no error code.
    #[error("bearer token required")]
    MissingCredentials,
    /// The request's credentials are malformed (RFC 6750 `invalid_request`, 400 with a challenge):
    /// two `Authorization` headers, an empty bearer token, a bearer token with characters outside
    /// the RFC 6750 `b64token` syntax, a token both in the header and in the cookie, or a cookie
    /// sent twice. The text names which.
    #[error("{0}")]
    Malformed(&'static str),
    /// A login route's body or Basic credentials are malformed or incomplete: 400
    /// `invalid_request` without a challenge. The text names what is missing or wrong.
    #[error("{0}")]
    MalformedBody(&'static str),
    /// A password is longer than the configured maximum (`Passwords` `max_len`, default 1024
    /// bytes); refused before any hashing: 400 `invalid_request`.
    #[error("password too long (more than {max} bytes)")]
    PasswordTooLong {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// The body is longer than the route's limit: 413.
    #[error("request body too large")]
    BodyTooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// The body's `Content-Type` is not one the route reads: 415. The text names the accepted
    /// types.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The body's `grant_type` is not the one the route serves: 400 `unsupported_grant_type`.
    #[error("unsupported grant_type")]
    UnsupportedGrantType,
    /// The route does not answer this method: 405 with `Allow`.
    #[error("use {}", .allow.replace(", ", " or "))]
    MethodNotAllowed {
        /// The methods the route answers, as the `Allow` header lists them.
        allow: &'static str,
    },
}
