//! The one mapping from a refusal to an HTTP response (RFC 6750 §3).
//!
//! The table lives on [`Rejection`] (this module is private, its items are re-exported).

use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::error::Error;
use crate::web::gate::Gate;

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

/// The response class of a refusal; decided in exactly one place, [`class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Missing,
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
    Csrf,
    Unavailable,
    Internal,
}

/// The one exhaustive mapping. Adding an [`Error`] variant fails to compile here until it is
/// given a class.
fn class(error: &Error) -> Class {
    match error {
        Error::MissingCredentials => Class::Missing,
        Error::InvalidRequest(_) => Class::InvalidRequest,
        Error::TokenTooLarge { .. }
        | Error::Malformed
        | Error::InvalidBase64(_)
        | Error::InvalidJson(_)
        | Error::DuplicateMember(_)
        | Error::AlgorithmNone
        | Error::UnsupportedAlgorithm
        | Error::AlgorithmMismatch
        | Error::UnknownKeyId
        | Error::MissingKeyId
        | Error::WrongTokenType
        | Error::UnsupportedCritical
        | Error::InvalidSignature
        | Error::InvalidClaim(_)
        | Error::MissingClaim(_)
        | Error::Expired
        | Error::NotYetValid
        | Error::IssuedInFuture
        | Error::InvalidIssuer
        | Error::InvalidAudience
        | Error::Revoked
        | Error::RefreshReused
        | Error::SessionExpired
        | Error::SessionRevoked => Class::InvalidToken,
        Error::InsufficientScope(_) => Class::InsufficientScope,
        Error::CsrfFailed(_) => Class::Csrf,
        Error::RevocationUnavailable(_)
        | Error::StoreUnavailable(_)
        | Error::StoreFull { .. }
        | Error::PasswordBusy => Class::Unavailable,
        Error::PasswordTooLong { .. } => Class::InvalidRequest,
        Error::WeakKey(_)
        | Error::InvalidKey(_)
        | Error::MissingEnv(_)
        | Error::KeyFile { .. }
        | Error::Config(_)
        | Error::NoSigningKey
        | Error::Crypto
        | Error::Serialize(_)
        | Error::PasswordHashInvalid => Class::Internal,
    }
}

/// A refused request: the reason, and how to answer it. Returned by the [`Claims`](crate::Claims)
/// extractor, the [`rbac`](crate::RequireRole) guards and [`Gate::reject`]; turn it into the
/// response with [`IntoResponse`] (axum does this when an extractor fails).
///
/// Every refusal the extractors and guards produce is a `Rejection`: an [`Error`] plus the
/// [`Gate`]'s realm and body format. [`into_response`](IntoResponse::into_response)
/// answers it with exactly one row of this table (the only place the crate decides a status):
///
/// | error | status | `WWW-Authenticate` | body `error` |
/// |---|---|---|---|
/// | [`Error::MissingCredentials`] | 401 | `Bearer realm="…"` (no error code, RFC 6750 §3.1) | `unauthorized` |
/// | [`Error::InvalidRequest`] | 400 | `Bearer realm="…", error="invalid_request", error_description="…"` | `invalid_request` |
/// | every token error ([`Error::is_token_error`]: expired, bad signature, revoked, …) | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` | `invalid_token` |
/// | [`Error::InsufficientScope`] | 403 | `Bearer realm="…", error="insufficient_scope", error_description="…", scope="…"` | `insufficient_scope` |
/// | [`Error::CsrfFailed`] (cookie mode, see [`CookieConfig`](crate::CookieConfig)) | 403 | none | `csrf_failed` |
/// | [`Error::RevocationUnavailable`] | 503 | none | `temporarily_unavailable` |
/// | key, configuration and crypto errors | 500 | none | `server_error` |
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
/// let rejection = gate.reject(Error::Expired);
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
    gate: Gate,
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

/// Longest `kid` or `sub` recorded in a log line; longer values are left out.
const MAX_LOGGED_LEN: usize = 256;

/// Keeps a value for logging only if it is short and has no control characters (so that it cannot
/// forge log lines in plain-text logs).
fn loggable(value: &str) -> Option<Box<str>> {
    (value.len() <= MAX_LOGGED_LEN && !value.chars().any(char::is_control)).then(|| value.into())
}

impl Rejection {
    pub(crate) fn new(error: Error, gate: Gate) -> Self {
        Self {
            error,
            gate,
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

    /// The HTTP status: 400, 401, 403, 500 or 503 (see the table on [`Rejection`]).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match class(&self.error) {
            Class::Missing | Class::InvalidToken => StatusCode::UNAUTHORIZED,
            Class::InvalidRequest => StatusCode::BAD_REQUEST,
            Class::InsufficientScope | Class::Csrf => StatusCode::FORBIDDEN,
            Class::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Class::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error` code: `unauthorized`, `invalid_request`, `invalid_token`,
    /// `insufficient_scope`, `csrf_failed`, `temporarily_unavailable` or `server_error`. The first
    /// and `csrf_failed` are not RFC 6750 codes and are therefore never put in a `WWW-Authenticate`
    /// header.
    #[must_use]
    pub fn error_code(&self) -> &'static str {
        match class(&self.error) {
            Class::Missing => "unauthorized",
            Class::InvalidRequest => "invalid_request",
            Class::InvalidToken => "invalid_token",
            Class::InsufficientScope => "insufficient_scope",
            Class::Csrf => "csrf_failed",
            Class::Unavailable => "temporarily_unavailable",
            Class::Internal => "server_error",
        }
    }

    /// The human-readable description sent to the client: the error's `Display` text for 4xx
    /// answers, a generic text for 5xx answers (whose cause is only logged).
    #[must_use]
    pub fn description(&self) -> String {
        match class(&self.error) {
            Class::Unavailable => "authentication temporarily unavailable".to_owned(),
            Class::Internal => "internal error".to_owned(),
            _ => quoted_safe(&self.error.to_string()),
        }
    }

    /// The `scope` attribute of a 403 challenge: the required roles or permissions, separated by
    /// spaces. `None` for other refusals. Names that are not valid RFC 6750 `scope-token`s are
    /// left out.
    #[must_use]
    pub fn scope(&self) -> Option<String> {
        match &self.error {
            Error::InsufficientScope(requirement) => {
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

    /// The `WWW-Authenticate` challenge, or `None` for 5xx answers.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let realm = self.gate.realm();
        let class = class(&self.error);
        let value = match class {
            // Not a bearer-token problem: the token was fine, the request was not.
            Class::Csrf | Class::Unavailable | Class::Internal => return None,
            Class::Missing => format!("Bearer realm=\"{realm}\""),
            Class::InvalidRequest | Class::InvalidToken | Class::InsufficientScope => {
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

    fn log(&self) {
        let status = self.status().as_u16();
        let reason = &self.error;
        let kid = self.kid.as_deref();
        let sub = self.sub.as_deref();
        match class(&self.error) {
            Class::Missing => {
                tracing::debug!(target: REJECTION_LOG_TARGET, status, %reason, kid, sub, "request refused");
            }
            Class::InvalidRequest
            | Class::InvalidToken
            | Class::InsufficientScope
            | Class::Csrf => {
                tracing::info!(target: REJECTION_LOG_TARGET, status, %reason, kid, sub, "request refused");
            }
            Class::Unavailable | Class::Internal => {
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
            }
        }
    }
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
        let mut response = match self.gate.error_body() {
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
        match self.www_authenticate() {
            Some(challenge) => {
                response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
            }
            None => {
                response.headers_mut().remove(WWW_AUTHENTICATE);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Key, KeyRing, Requirement, TokenPart, Verifier};

    fn gate() -> Gate {
        let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap()).unwrap();
        let verifier = Verifier::builder(ring)
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        Gate::builder(verifier).realm("r").build().unwrap()
    }

    /// Every variant, with the status and code it must map to. A new variant must be added here.
    fn every_variant() -> Vec<(Error, u16, &'static str)> {
        let io = || std::io::Error::other("x");
        let json_err = serde_json::from_str::<u8>("x").unwrap_err();
        vec![
            (Error::MissingCredentials, 401, "unauthorized"),
            (
                Error::InvalidRequest("empty bearer token"),
                400,
                "invalid_request",
            ),
            (Error::TokenTooLarge { max: 8 }, 401, "invalid_token"),
            (Error::Malformed, 401, "invalid_token"),
            (
                Error::InvalidBase64(TokenPart::Header),
                401,
                "invalid_token",
            ),
            (Error::InvalidJson(TokenPart::Claims), 401, "invalid_token"),
            (
                Error::DuplicateMember(TokenPart::Claims),
                401,
                "invalid_token",
            ),
            (Error::AlgorithmNone, 401, "invalid_token"),
            (Error::UnsupportedAlgorithm, 401, "invalid_token"),
            (Error::AlgorithmMismatch, 401, "invalid_token"),
            (Error::UnknownKeyId, 401, "invalid_token"),
            (Error::MissingKeyId, 401, "invalid_token"),
            (Error::WrongTokenType, 401, "invalid_token"),
            (Error::UnsupportedCritical, 401, "invalid_token"),
            (Error::InvalidSignature, 401, "invalid_token"),
            (Error::InvalidClaim("exp"), 401, "invalid_token"),
            (Error::MissingClaim("exp"), 401, "invalid_token"),
            (Error::Expired, 401, "invalid_token"),
            (Error::NotYetValid, 401, "invalid_token"),
            (Error::IssuedInFuture, 401, "invalid_token"),
            (Error::InvalidIssuer, 401, "invalid_token"),
            (Error::InvalidAudience, 401, "invalid_token"),
            (Error::Revoked, 401, "invalid_token"),
            (
                Error::InsufficientScope(Requirement::role("admin")),
                403,
                "insufficient_scope",
            ),
            (Error::CsrfFailed("CSRF token missing"), 403, "csrf_failed"),
            (
                Error::RevocationUnavailable(Box::new(io())),
                503,
                "temporarily_unavailable",
            ),
            (Error::WeakKey("k".into()), 500, "server_error"),
            (Error::InvalidKey("k".into()), 500, "server_error"),
            (Error::MissingEnv("K".into()), 500, "server_error"),
            (
                Error::KeyFile {
                    path: "p".into(),
                    source: io(),
                },
                500,
                "server_error",
            ),
            (Error::Config("c".into()), 500, "server_error"),
            (Error::NoSigningKey, 500, "server_error"),
            (Error::Crypto, 500, "server_error"),
            (Error::Serialize(json_err), 500, "server_error"),
        ]
    }

    #[test]
    fn every_variant_maps_to_its_status_and_code() {
        let gate = gate();
        for (error, status, code) in every_variant() {
            let token_error = error.is_token_error();
            let r = gate.reject(error);
            assert_eq!(r.status().as_u16(), status, "{:?}", r.error());
            assert_eq!(r.error_code(), code, "{:?}", r.error());
            // `is_token_error` and the mapping agree.
            assert_eq!(token_error, code == "invalid_token", "{:?}", r.error());
            let header = r.www_authenticate();
            match status {
                500 | 503 => assert!(header.is_none()),
                403 if code == "csrf_failed" => assert!(header.is_none()),
                401 if code == "unauthorized" => assert_eq!(header.unwrap(), r#"Bearer realm="r""#),
                _ => {
                    let h = header.unwrap();
                    let h = h.to_str().unwrap();
                    assert!(
                        h.starts_with(&format!(
                            r#"Bearer realm="r", error="{code}", error_description=""#
                        )),
                        "{h}"
                    );
                }
            }
        }
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let gate = gate();
        let r = gate.reject(Error::InvalidKey("secret detail".into()));
        assert_eq!(r.description(), "internal error");
        let r = gate.reject(Error::RevocationUnavailable(
            "redis down at 10.0.0.1".into(),
        ));
        assert_eq!(r.description(), "authentication temporarily unavailable");
    }

    #[test]
    fn descriptions_are_made_safe_for_quoted_strings() {
        assert_eq!(quoted_safe("a \"b\" \\ c\né"), "a ?b? ? c??");
    }

    #[test]
    fn scope_leaves_out_names_that_cannot_be_scope_tokens() {
        let gate = gate();
        let r = gate.reject(Error::InsufficientScope(Requirement::any_role([
            "ok", "not ok", "q\"x",
        ])));
        assert_eq!(r.scope().as_deref(), Some("ok"));
        let r = gate.reject(Error::InsufficientScope(Requirement::role("bad name")));
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
