//! The one mapping from a refusal to an HTTP response (RFC 6750 §3).
//!
//! The table lives on [`Rejection`] (this module is private, its items are re-exported).

use std::fmt;
use std::sync::Arc;

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use super::gate::DEFAULT_REALM;
use crate::error::{Denied, Error, RequestError};

/// The `tracing` target every refusal is logged under.
pub const REJECTION_LOG_TARGET: &str = "tokengate::rejection";

/// How the body of a refusal is written. The status and `WWW-Authenticate` header are not
/// affected: they always follow the table on [`Rejection`].
///
/// The default is [`ErrorBody::Json`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum ErrorBody {
    /// `application/json`: `{"error": "invalid_token", "error_description": "token expired"}`.
    #[default]
    Json,
    /// RFC 9457 `application/problem+json`:
    /// `{"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "token expired",
    /// "error": "invalid_token"}` (`error` is an extension member holding the RFC 6750 code).
    ProblemJson,
    /// The application's own body: the function receives the refusal and returns a response whose
    /// status is then set to the table's and to which the `WWW-Authenticate` header is added.
    /// Build it with [`ErrorBody::custom`].
    Custom(Arc<dyn Fn(&Rejection) -> Response + Send + Sync>),
}

impl ErrorBody {
    /// An application-defined body.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use tokengate::ErrorBody;
    /// let body = ErrorBody::custom(|r| format!("denied: {}", r.error_code()).into_response());
    /// # let _ = body;
    /// ```
    pub fn custom(f: impl Fn(&Rejection) -> Response + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "Json",
            Self::ProblemJson => "ProblemJson",
            Self::Custom(_) => "Custom(..)",
        })
    }
}

/// What kind of `WWW-Authenticate` challenge an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge {
    /// None: the problem is not the bearer token (CSRF, a login body, the server).
    None,
    /// `Bearer realm=".."` without an error code (RFC 6750 §3.1: no credentials).
    Bare,
    /// `Bearer realm="..", error="..", error_description=".."` (and `scope` for 403).
    WithError,
}

/// How one error is answered: decided in exactly one place, [`answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    code: &'static str,
    challenge: Challenge,
}

const fn row(status: StatusCode, code: &'static str, challenge: Challenge) -> Answer {
    Answer {
        status,
        code,
        challenge,
    }
}

/// The one exhaustive mapping from an [`Error`] to its HTTP answer, without a wildcard: a new
/// variant (or a new variant of a group) does not compile until it is given its row.
fn answer(error: &Error) -> Answer {
    use Challenge::{Bare, None, WithError};
    match error {
        Error::Request(e) => match e {
            RequestError::MissingCredentials => row(StatusCode::UNAUTHORIZED, "unauthorized", Bare),
            RequestError::Malformed(_) => {
                row(StatusCode::BAD_REQUEST, "invalid_request", WithError)
            }
            RequestError::MalformedBody(_) | RequestError::PasswordTooLong { .. } => {
                row(StatusCode::BAD_REQUEST, "invalid_request", None)
            }
            RequestError::UnsupportedGrantType => {
                row(StatusCode::BAD_REQUEST, "unsupported_grant_type", None)
            }
            RequestError::BodyTooLarge { .. } => {
                row(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", None)
            }
            RequestError::UnsupportedMediaType(_) => {
                row(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request", None)
            }
            RequestError::MethodNotAllowed { .. } => {
                row(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", None)
            }
        },
        Error::Token(_) => row(StatusCode::UNAUTHORIZED, "invalid_token", WithError),
        Error::Denied(Denied::InsufficientScope(_)) => {
            row(StatusCode::FORBIDDEN, "insufficient_scope", WithError)
        }
        Error::Denied(Denied::Csrf(_)) => row(StatusCode::FORBIDDEN, "csrf_failed", None),
        Error::InvalidGrant => row(StatusCode::UNAUTHORIZED, "invalid_grant", None),
        Error::Throttled { .. } => row(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None),
        Error::Unavailable(_) => row(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            None,
        ),
        Error::Key(_) | Error::Config { .. } | Error::Internal(_) => {
            row(StatusCode::INTERNAL_SERVER_ERROR, "server_error", None)
        }
    }
}

/// A refused request: the reason, and how to answer it. Returned by the [`Claims`](crate::Claims)
/// extractor, the [guards](crate::RequireRole) and [`Gate::reject`](crate::Gate::reject); turn it into the
/// response with [`IntoResponse`] (axum does this when an extractor fails).
///
/// Every refusal the extractors, guards and login routes produce is a `Rejection`: an [`Error`]
/// plus the realm and body format of the [`Gate`](crate::Gate) that refused it.
/// [`into_response`](IntoResponse::into_response) answers it with exactly one row of this table
/// (the only place the crate decides a status):
///
/// | error | status | `WWW-Authenticate` | other header | body `error` |
/// |---|---|---|---|---|
/// | [`RequestError::MissingCredentials`] | 401 | `Bearer realm="…"` (no error code, RFC 6750 §3.1) | | `unauthorized` |
/// | [`RequestError::Malformed`] (credentials) | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` | | `invalid_request` |
/// | [`RequestError::MalformedBody`], [`RequestError::PasswordTooLong`] | 400 | none | | `invalid_request` |
/// | [`RequestError::UnsupportedGrantType`] | 400 | none | | `unsupported_grant_type` |
/// | [`RequestError::BodyTooLarge`] | 413 | none | | `invalid_request` |
/// | [`RequestError::UnsupportedMediaType`] | 415 | none | | `invalid_request` |
/// | [`RequestError::MethodNotAllowed`] | 405 | none | `Allow` | `invalid_request` |
/// | every [`Error::Token`] (expired, bad signature, revoked, …) | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` | | `invalid_token` |
/// | [`Denied::InsufficientScope`] | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` | | `insufficient_scope` |
/// | [`Denied::Csrf`] (cookie mode, see [`CookieConfig`](crate::CookieConfig)) | 403 | none | | `csrf_failed` |
/// | [`Error::InvalidGrant`] (login routes) | 401 | none | | `invalid_grant` |
/// | [`Error::Throttled`] (login routes) | 429 | none | `Retry-After` | `too_many_requests` |
/// | every [`Error::Unavailable`] (store, revocation, password pool, user directory) | 503 | none | `Retry-After: 1` | `temporarily_unavailable` |
/// | [`Error::Key`], [`Error::Config`], [`Error::Internal`] | 500 | none | | `server_error` |
///
/// `error_description` is the error's `Display` text (for example `token expired`), which never
/// contains the token or a claim value; 5xx answers carry a generic description instead of the
/// cause. The body is `{"error": …, "error_description": …}` with the same code by default;
/// [`ErrorBody`] selects RFC 9457 `application/problem+json` or an application's own body. The
/// status and the `WWW-Authenticate` header are always the table's.
///
/// Each refusal is logged through `tracing` under the target [`REJECTION_LOG_TARGET`]
/// (`tokengate::rejection`) with the status, the reason, and the token's `kid` and `sub` when they
/// are known (never the token): missing credentials at `DEBUG`, other 4xx at `INFO`, 5xx at
/// `ERROR`.
///
/// ```
/// use axum::response::IntoResponse;
/// use tokengate::{Algorithm, Error, Gate, Key, KeyRing, Verifier};
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let gate = Gate::builder(Verifier::builder(ring).issuer("i").audience("a").build()?)
///     .realm("example")
///     .build()?;
///
/// let rejection = gate.reject(Error::Token(tokengate::TokenError::Expired));
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(rejection.error_code(), "invalid_token");
/// let response = rejection.into_response();
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     r#"Bearer realm="example", error="invalid_token", error_description="token expired""#
/// );
/// # Ok::<(), Error>(())
/// ```
pub struct Rejection {
    error: Error,
    realm: Arc<str>,
    body: ErrorBody,
    kid: Option<Box<str>>,
    sub: Option<Box<str>>,
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("error", &self.error)
            .field("status", &self.status())
            .field("kid", &self.kid)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A rejection with the default realm ([`DEFAULT_REALM`]) and JSON body; use
/// [`Gate::reject`](crate::Gate::reject) for a gate's own.
impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Self::new(error, DEFAULT_REALM.into(), ErrorBody::Json)
    }
}

/// Answers the error as a [`Rejection`] with the default realm and JSON body, so that a handler
/// can return `Result<_, tokengate::Error>`.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Rejection::from(self).into_response()
    }
}

/// Longest `kid` or `sub` recorded in a log line; longer values are left out.
const MAX_LOGGED_LEN: usize = 256;

/// Keeps a value for logging only if it is short and has no control characters (so that it cannot
/// forge log lines in plain-text logs).
fn loggable(value: &str) -> Option<Box<str>> {
    (value.len() <= MAX_LOGGED_LEN && !value.chars().any(char::is_control)).then(|| value.into())
}

impl Rejection {
    pub(crate) fn new(error: Error, realm: Arc<str>, body: ErrorBody) -> Self {
        Self {
            error,
            realm,
            body,
            kid: None,
            sub: None,
        }
    }

    /// Records the token's `kid` for the log line (ignored when absent or unprintable).
    pub(crate) fn with_kid(mut self, kid: Option<&str>) -> Self {
        self.kid = kid.and_then(loggable);
        self
    }

    /// Records the token's `sub` for the log line (ignored when absent or unprintable).
    pub(crate) fn with_sub(mut self, sub: Option<&str>) -> Self {
        self.sub = sub.and_then(loggable);
        self
    }

    /// Why the request was refused.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The reason, consuming the rejection.
    #[must_use]
    pub fn into_error(self) -> Error {
        self.error
    }

    /// The `kid` of the refused token, when it was readable.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `sub` of the refused token, when it is known to come from a correctly signed token.
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// The HTTP status (see the table on [`Rejection`]).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        answer(&self.error).status
    }

    /// The body's `error` code: `unauthorized`, `invalid_request`, `invalid_token`,
    /// `insufficient_scope`, `csrf_failed`, `invalid_grant`, `unsupported_grant_type`,
    /// `too_many_requests`, `temporarily_unavailable` or `server_error`. Only `invalid_request`,
    /// `invalid_token` and `insufficient_scope` are RFC 6750 codes, and only they are put in a
    /// `WWW-Authenticate` header.
    #[must_use]
    pub fn error_code(&self) -> &'static str {
        answer(&self.error).code
    }

    /// The human-readable description sent to the client: the error's `Display` text for 4xx
    /// answers, a generic text for 5xx answers (whose cause is only logged).
    #[must_use]
    pub fn description(&self) -> String {
        let status = self.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            "authentication temporarily unavailable".to_owned()
        } else if status.is_server_error() {
            "internal error".to_owned()
        } else {
            quoted_safe(&self.error.to_string())
        }
    }

    /// The `scope` attribute of a 403 challenge: the required roles or permissions, separated by
    /// spaces. `None` for other refusals. Names that are not valid RFC 6750 `scope-token`s are
    /// left out.
    #[must_use]
    pub fn scope(&self) -> Option<String> {
        match &self.error {
            Error::Denied(Denied::InsufficientScope(requirement)) => {
                let scope = requirement
                    .names()
                    .filter(|n| crate::requirement::is_scope_token(n))
                    .collect::<Vec<_>>()
                    .join(" ");
                (!scope.is_empty()).then_some(scope)
            }
            _ => None,
        }
    }

    /// The `WWW-Authenticate` challenge, or `None` when the problem is not the bearer token (see
    /// the table on [`Rejection`]).
    #[must_use]
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let realm = &*self.realm;
        let value = match answer(&self.error).challenge {
            Challenge::None => return None,
            Challenge::Bare => format!("Bearer realm=\"{realm}\""),
            Challenge::WithError => {
                let mut v = format!(
                    "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{}\"",
                    self.error_code(),
                    self.description()
                );
                if let Some(scope) = self.scope() {
                    v.push_str(", scope=\"");
                    v.push_str(&scope);
                    v.push('"');
                }
                v
            }
        };
        // Every part was checked or sanitized above, so this cannot fail; if it ever did, the
        // bare challenge still goes out (the realm is validated by `GateBuilder::build`).
        HeaderValue::from_str(&value)
            .or_else(|_| HeaderValue::from_str(&format!("Bearer realm=\"{realm}\"")))
            .ok()
    }

    /// The `Retry-After` value: the wait of [`Error::Throttled`] in whole seconds (rounded up, at
    /// least 1), and 1 second for every 503. `None` otherwise.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        match &self.error {
            Error::Throttled { retry_after } => Some(whole_seconds(*retry_after)),
            Error::Unavailable(_) => Some(1),
            _ => None,
        }
    }

    fn log(&self) {
        let status = self.status().as_u16();
        let reason = &self.error;
        let kid = self.kid.as_deref();
        let sub = self.sub.as_deref();
        if matches!(self.error, Error::Request(RequestError::MissingCredentials)) {
            tracing::debug!(target: REJECTION_LOG_TARGET, status, %reason, kid, sub, "request refused");
        } else if self.status().is_server_error() {
            let cause = std::error::Error::source(&self.error).map(ToString::to_string);
            tracing::error!(
                target: REJECTION_LOG_TARGET,
                status,
                %reason,
                cause = cause.as_deref(),
                kid,
                sub,
                "request refused"
            );
        } else {
            tracing::info!(target: REJECTION_LOG_TARGET, status, %reason, kid, sub, "request refused");
        }
    }
}

/// Whole seconds, rounded up, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let mut secs = wait.as_secs();
    if wait.subsec_nanos() > 0 {
        secs = secs.saturating_add(1);
    }
    secs.max(1)
}

/// Replaces what RFC 6750 does not allow inside `error_description` (`"`, `\` and anything outside
/// printable ASCII) with `?`.
fn quoted_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[derive(Serialize)]
struct JsonBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    error: &'a str,
}

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let description = self.description();
        let mut response = match &self.body {
            ErrorBody::Json => Json(JsonBody {
                error: self.error_code(),
                error_description: &description,
            })
            .into_response(),
            ErrorBody::ProblemJson => {
                let mut r = Json(ProblemBody {
                    kind: "about:blank",
                    title: status.canonical_reason().unwrap_or("Error"),
                    status: status.as_u16(),
                    detail: &description,
                    error: self.error_code(),
                })
                .into_response();
                r.headers_mut().insert(CONTENT_TYPE, PROBLEM_JSON);
                r
            }
            ErrorBody::Custom(f) => f(&self),
        };
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match self.www_authenticate() {
            Some(challenge) => {
                headers.insert(WWW_AUTHENTICATE, challenge);
            }
            None => {
                headers.remove(WWW_AUTHENTICATE);
            }
        }
        if let Some(seconds) = self.retry_after() {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Error::Request(RequestError::MethodNotAllowed { allow }) = &self.error {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{
        InternalError, KeyError, SerializeError, TokenError, TokenPart, Unavailable,
    };
    use crate::requirement::Requirement;

    fn reject(error: Error) -> Rejection {
        Rejection::new(error, "r".into(), ErrorBody::Json)
    }

    /// Every variant of every group, each with the answer it must get: status, body code, and the
    /// `WWW-Authenticate` challenge's start (`None`: no challenge).
    fn every_variant() -> Vec<(Error, u16, &'static str, Option<&'static str>)> {
        let io = || std::io::Error::other("x");
        let boxed = || -> crate::error::BoxError { Box::new(io()) };
        let json_err = serde_json::from_str::<u8>("x").unwrap_err();
        let bare = Some(r#"Bearer realm="r""#);
        let invalid_request =
            Some(r#"Bearer realm="r", error="invalid_request", error_description=""#);
        let invalid_token = Some(r#"Bearer realm="r", error="invalid_token", error_description=""#);
        let scope = Some(r#"Bearer realm="r", error="insufficient_scope", error_description=""#);
        let token = |e: TokenError| (Error::Token(e), 401, "invalid_token", invalid_token);
        let request =
            |e: RequestError, status, code, challenge| (Error::Request(e), status, code, challenge);
        let unavailable =
            |e: Unavailable| (Error::Unavailable(e), 503, "temporarily_unavailable", None);
        let server = |e: Error| (e, 500, "server_error", None);
        vec![
            request(RequestError::MissingCredentials, 401, "unauthorized", bare),
            request(
                RequestError::Malformed("empty bearer token"),
                400,
                "invalid_request",
                invalid_request,
            ),
            request(
                RequestError::MalformedBody("missing password"),
                400,
                "invalid_request",
                None,
            ),
            request(
                RequestError::PasswordTooLong { max: 8 },
                400,
                "invalid_request",
                None,
            ),
            request(
                RequestError::BodyTooLarge { max: 8 },
                413,
                "invalid_request",
                None,
            ),
            request(
                RequestError::UnsupportedMediaType("use JSON"),
                415,
                "invalid_request",
                None,
            ),
            request(
                RequestError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
                None,
            ),
            request(
                RequestError::MethodNotAllowed { allow: "POST" },
                405,
                "invalid_request",
                None,
            ),
            token(TokenError::TooLarge { max: 8 }),
            token(TokenError::Malformed),
            token(TokenError::InvalidBase64(TokenPart::Header)),
            token(TokenError::InvalidJson(TokenPart::Claims)),
            token(TokenError::DuplicateMember(TokenPart::Claims)),
            token(TokenError::AlgorithmNone),
            token(TokenError::UnsupportedAlgorithm),
            token(TokenError::AlgorithmMismatch),
            token(TokenError::UnknownKeyId),
            token(TokenError::MissingKeyId),
            token(TokenError::WrongType),
            token(TokenError::UnsupportedCritical),
            token(TokenError::InvalidSignature),
            token(TokenError::InvalidClaim("exp")),
            token(TokenError::MissingClaim("exp")),
            token(TokenError::MissingAppClaim("tenant_id".into())),
            token(TokenError::InvalidAppClaim("tenant_id".into())),
            token(TokenError::Expired),
            token(TokenError::NotYetValid),
            token(TokenError::IssuedInFuture),
            token(TokenError::InvalidIssuer),
            token(TokenError::InvalidAudience),
            token(TokenError::Revoked),
            token(TokenError::RefreshReused),
            token(TokenError::SessionExpired),
            token(TokenError::SessionRevoked),
            (
                Error::Denied(Denied::InsufficientScope(Requirement::role("admin"))),
                403,
                "insufficient_scope",
                scope,
            ),
            (
                Error::Denied(Denied::Csrf("CSRF token missing")),
                403,
                "csrf_failed",
                None,
            ),
            (Error::InvalidGrant, 401, "invalid_grant", None),
            (
                Error::Throttled {
                    retry_after: Duration::from_secs(3),
                },
                429,
                "too_many_requests",
                None,
            ),
            unavailable(Unavailable::Revocation(boxed())),
            unavailable(Unavailable::Store(boxed())),
            unavailable(Unavailable::StoreFull { capacity: 1 }),
            unavailable(Unavailable::PasswordBusy),
            unavailable(Unavailable::Directory(boxed())),
            server(Error::Key(KeyError::Weak("k".into()))),
            server(Error::Key(KeyError::Invalid("k".into()))),
            server(Error::Key(KeyError::File {
                path: "p".into(),
                source: io(),
            })),
            server(Error::Key(KeyError::NoSigningKey)),
            server(Error::config("setting", "problem")),
            server(Error::Internal(InternalError::Crypto)),
            server(Error::Internal(InternalError::Serialize(
                SerializeError::new(json_err),
            ))),
            server(Error::Internal(InternalError::PasswordHashInvalid)),
        ]
    }

    /// A number per variant, by an exhaustive match without a wildcard: a new variant in any group
    /// fails to compile here until it is numbered, and then `every_variant_is_listed` fails until
    /// it is in `every_variant` with its expected answer.
    fn witness(error: &Error) -> usize {
        match error {
            Error::Request(e) => match e {
                RequestError::MissingCredentials => 0,
                RequestError::Malformed(_) => 1,
                RequestError::MalformedBody(_) => 2,
                RequestError::PasswordTooLong { .. } => 3,
                RequestError::BodyTooLarge { .. } => 4,
                RequestError::UnsupportedMediaType(_) => 5,
                RequestError::UnsupportedGrantType => 6,
                RequestError::MethodNotAllowed { .. } => 7,
            },
            Error::Token(e) => match e {
                TokenError::TooLarge { .. } => 8,
                TokenError::Malformed => 9,
                TokenError::InvalidBase64(_) => 10,
                TokenError::InvalidJson(_) => 11,
                TokenError::DuplicateMember(_) => 12,
                TokenError::AlgorithmNone => 13,
                TokenError::UnsupportedAlgorithm => 14,
                TokenError::AlgorithmMismatch => 15,
                TokenError::UnknownKeyId => 16,
                TokenError::MissingKeyId => 17,
                TokenError::WrongType => 18,
                TokenError::UnsupportedCritical => 19,
                TokenError::InvalidSignature => 20,
                TokenError::InvalidClaim(_) => 21,
                TokenError::MissingClaim(_) => 22,
                TokenError::MissingAppClaim(_) => 23,
                TokenError::InvalidAppClaim(_) => 24,
                TokenError::Expired => 25,
                TokenError::NotYetValid => 26,
                TokenError::IssuedInFuture => 27,
                TokenError::InvalidIssuer => 28,
                TokenError::InvalidAudience => 29,
                TokenError::Revoked => 30,
                TokenError::RefreshReused => 31,
                TokenError::SessionExpired => 32,
                TokenError::SessionRevoked => 33,
            },
            Error::Denied(Denied::InsufficientScope(_)) => 34,
            Error::Denied(Denied::Csrf(_)) => 35,
            Error::InvalidGrant => 36,
            Error::Throttled { .. } => 37,
            Error::Unavailable(e) => match e {
                Unavailable::Revocation(_) => 38,
                Unavailable::Store(_) => 39,
                Unavailable::StoreFull { .. } => 40,
                Unavailable::PasswordBusy => 41,
                Unavailable::Directory(_) => 42,
            },
            Error::Key(e) => match e {
                KeyError::Weak(_) => 43,
                KeyError::Invalid(_) => 44,
                KeyError::File { .. } => 45,
                KeyError::NoSigningKey => 46,
            },
            Error::Config { .. } => 47,
            Error::Internal(e) => match e {
                InternalError::Crypto => 48,
                InternalError::Serialize(_) => 49,
                InternalError::PasswordHashInvalid => 50,
            },
        }
    }

    #[test]
    fn every_variant_is_listed() {
        let mut seen: Vec<usize> = every_variant().iter().map(|(e, ..)| witness(e)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..=50).collect::<Vec<_>>());
    }

    #[test]
    fn every_variant_maps_to_its_status_code_and_headers() {
        for (error, status, code, challenge) in every_variant() {
            let token_error = error.is_token_error();
            let r = reject(error);
            let what = format!("{:?}", r.error());
            assert_eq!(r.status().as_u16(), status, "{what}");
            assert_eq!(r.error_code(), code, "{what}");
            // `is_token_error` and the mapping agree.
            assert_eq!(token_error, code == "invalid_token", "{what}");
            let header = r.www_authenticate();
            match challenge {
                None => assert!(header.is_none(), "{what}"),
                Some(start) if code == "unauthorized" => {
                    assert_eq!(header.expect("challenge"), start, "{what}");
                }
                Some(start) => {
                    let h = header.expect("challenge");
                    assert!(h.to_str().unwrap().starts_with(start), "{what}: {h:?}");
                }
            }
            let retry = r.retry_after();
            let response = r.into_response();
            assert_eq!(response.status().as_u16(), status, "{what}");
            let headers = response.headers();
            match status {
                503 => assert_eq!(headers[RETRY_AFTER], "1", "{what}"),
                429 => assert_eq!(headers[RETRY_AFTER], "3", "{what}"),
                _ => assert!(!headers.contains_key(RETRY_AFTER), "{what}"),
            }
            assert_eq!(retry.is_some(), headers.contains_key(RETRY_AFTER), "{what}");
            if status == 405 {
                assert_eq!(headers[ALLOW], "POST", "{what}");
            } else {
                assert!(!headers.contains_key(ALLOW), "{what}");
            }
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(whole_seconds(Duration::from_secs(60)), 60);
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let r = reject(Error::Key(KeyError::Invalid("secret detail".into())));
        assert_eq!(r.description(), "internal error");
        let r = reject(Error::Unavailable(Unavailable::Revocation(
            "redis down at 10.0.0.1".into(),
        )));
        assert_eq!(r.description(), "authentication temporarily unavailable");
    }

    #[test]
    fn descriptions_are_made_safe_for_quoted_strings() {
        assert_eq!(quoted_safe("a \"b\" \\ c\né"), "a ?b? ? c??");
    }

    #[test]
    fn scope_leaves_out_names_that_cannot_be_scope_tokens() {
        let r = reject(Error::Denied(Denied::InsufficientScope(
            Requirement::any_role(["ok", "not ok", "q\"x"]),
        )));
        assert_eq!(r.scope().as_deref(), Some("ok"));
        let r = reject(Error::Denied(Denied::InsufficientScope(Requirement::role(
            "bad name",
        ))));
        assert_eq!(r.scope(), None);
        let h = r.www_authenticate().unwrap();
        assert!(!h.to_str().unwrap().contains("scope="));
    }

    #[test]
    fn loggable_refuses_control_characters_and_long_values() {
        assert_eq!(loggable("user-1").as_deref(), Some("user-1"));
        assert_eq!(loggable("a\nb"), None);
        assert_eq!(loggable(&"x".repeat(300)), None);
    }
}
