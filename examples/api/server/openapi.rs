//! `/openapi.json`: every route of the example server, every status it can answer, with its body
//! schema and headers, and its inputs marked required exactly when the server requires them.
//!
//! The refusals follow the crate's one mapping (`tokengate::Rejection`): which of them a route can
//! give is listed once, in [`REFUSALS`], and added to every operation by [`Refusals`].
//! `tests/it/example_api.rs` sends each refusal and checks it is listed; `scripts/api-fuzz.sh`
//! drives the release server from this document with Schemathesis.

use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

// These items only describe the routes (the `/auth/*` ones are served by `tokengate::AuthRouter`).
#[allow(dead_code)]
mod docs {
    use utoipa::ToSchema;

    /// A refusal: the crate's one body for every 4xx and 5xx answer.
    #[derive(ToSchema)]
    #[schema(as = Refusal)]
    pub(crate) struct Refusal {
        /// `invalid_request`, `unauthorized`, `invalid_token`, `insufficient_scope`,
        /// `csrf_failed`, `invalid_grant`, `unsupported_grant_type`, `too_many_requests` or
        /// `temporarily_unavailable`.
        pub(crate) error: String,
        /// What was wrong, for people (never a token, a claim value or a password).
        pub(crate) error_description: String,
    }

    /// `POST /auth/login` credentials (HTTP Basic instead of them is accepted too).
    #[derive(ToSchema)]
    pub(crate) struct LoginRequest {
        /// At most 256 bytes (64 characters of any kind fit).
        #[schema(min_length = 1, max_length = 64)]
        pub(crate) username: String,
        /// At most 1024 bytes (256 characters of any kind fit).
        #[schema(max_length = 256)]
        pub(crate) password: String,
        /// RFC 6749 §4.3; any other value is answered 400 `unsupported_grant_type`.
        pub(crate) grant_type: Option<PasswordGrant>,
        /// Ignored here, but read as a string (another type is answered 400).
        pub(crate) refresh_token: Option<String>,
    }

    /// The only grant type of `POST /auth/login`.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub(crate) enum PasswordGrant {
        /// RFC 6749 §4.3.
        Password,
    }

    /// `POST /auth/refresh`.
    #[derive(ToSchema)]
    pub(crate) struct RefreshRequest {
        /// The refresh token of the pair to rotate.
        #[schema(min_length = 1)]
        pub(crate) refresh_token: String,
        /// RFC 6749 §6; any other value is answered 400 `unsupported_grant_type`.
        pub(crate) grant_type: Option<RefreshGrant>,
        /// Ignored here, but read as a string (another type is answered 400).
        pub(crate) username: Option<String>,
        /// Ignored here, but read as a string (another type is answered 400).
        pub(crate) password: Option<String>,
    }

    /// The only grant type of `POST /auth/refresh`.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub(crate) enum RefreshGrant {
        /// RFC 6749 §6.
        RefreshToken,
    }

    /// An RFC 6749 §5.1 token response.
    #[derive(ToSchema)]
    pub(crate) struct TokenPair {
        /// The access token (a JWT).
        pub(crate) access_token: String,
        /// Always `Bearer`.
        #[schema(pattern = "^Bearer$")]
        pub(crate) token_type: String,
        /// Seconds until the access token expires.
        pub(crate) expires_in: i64,
        /// The refresh token (single use).
        pub(crate) refresh_token: String,
    }

    /// The answer of the cookie-mode routes (the tokens are in `Set-Cookie`).
    #[derive(ToSchema)]
    pub(crate) struct CookieSession {
        /// Always `cookie`.
        #[schema(pattern = "^cookie$")]
        pub(crate) token_type: String,
        /// Seconds until the access cookie's token expires.
        pub(crate) expires_in: i64,
    }

    /// `GET /health`.
    #[derive(ToSchema)]
    pub(crate) struct Health {
        /// Always `ok`.
        #[schema(pattern = "^ok$")]
        pub(crate) status: String,
    }

    /// The caller's verified claims (more members may follow).
    #[derive(ToSchema)]
    pub(crate) struct Claims {
        /// Issuer.
        pub(crate) iss: String,
        /// Subject: the user's id.
        pub(crate) sub: String,
        /// Audience: one string, or several.
        pub(crate) aud: Audience,
        /// Expiry (seconds since the epoch).
        pub(crate) exp: i64,
        /// Roles, when any.
        pub(crate) roles: Option<Vec<String>>,
    }

    /// A token's audience: one string, or several.
    #[derive(ToSchema, serde::Serialize)]
    #[serde(untagged)]
    pub(crate) enum Audience {
        /// One audience.
        One(String),
        /// Several.
        Many(Vec<String>),
    }

    /// One draft.
    #[derive(ToSchema)]
    pub(crate) struct Draft {
        /// Its id.
        pub(crate) id: i64,
        /// Its title.
        pub(crate) title: String,
    }

    /// `GET /editor/drafts`.
    #[derive(ToSchema)]
    pub(crate) struct Drafts {
        /// The drafts.
        pub(crate) drafts: Vec<Draft>,
        /// The caller's subject.
        pub(crate) viewer: String,
    }

    /// `GET /admin/stats`.
    #[derive(ToSchema)]
    pub(crate) struct Stats {
        /// Number of users.
        pub(crate) users: i64,
    }

    /// A JWK set (RFC 7517 §5); empty for an HS256 secret.
    #[derive(ToSchema)]
    pub(crate) struct Jwks {
        /// The public keys.
        pub(crate) keys: Vec<serde_json::Map<String, serde_json::Value>>,
    }

    /// Log in with a username and password: JSON, a form
    /// (`application/x-www-form-urlencoded`, same members) or HTTP Basic (then no credentials in
    /// the body).
    #[utoipa::path(post, path = "/auth/login", tag = "auth",
        request_body(content = LoginRequest, content_type = "application/json"),
        responses((status = 200, description = "RFC 6749 §5.1 token response", body = TokenPair)))]
    pub(crate) fn login() {}

    /// Exchange a refresh token for a new pair (the presented one is spent). JSON or form.
    #[utoipa::path(post, path = "/auth/refresh", tag = "auth",
        request_body(content = RefreshRequest, content_type = "application/json"),
        responses((status = 200, description = "a new token pair", body = TokenPair)))]
    pub(crate) fn refresh() {}

    /// Log out: the access token and its refresh family stop working.
    #[utoipa::path(post, path = "/auth/logout", tag = "auth",
        security(("bearer" = []), ("cookie" = [])),
        params(("X-CSRF-Token" = Option<String>, Header,
            description = "the CSRF cookie's value; required with the access cookie, not with a bearer token")),
        responses((status = 204, description = "logged out")))]
    pub(crate) fn logout() {}

    /// Liveness; touches no store.
    #[utoipa::path(get, path = "/health", tag = "service",
        responses((status = 200, description = "alive", body = Health)))]
    pub(crate) fn health() {}

    /// The caller's verified claims.
    #[utoipa::path(get, path = "/me", tag = "api", security(("bearer" = []), ("cookie" = [])),
        responses((status = 200, description = "the caller's claims (sub, roles, ...)", body = Claims)))]
    pub(crate) fn me() {}

    /// Drafts, for editors and admins.
    #[utoipa::path(get, path = "/editor/drafts", tag = "api",
        security(("bearer" = ["editor"]), ("cookie" = ["editor"])),
        responses((status = 200, description = "drafts", body = Drafts)))]
    pub(crate) fn drafts() {}

    /// Statistics, for admins.
    #[utoipa::path(get, path = "/admin/stats", tag = "api",
        security(("bearer" = ["admin"]), ("cookie" = ["admin"])),
        responses((status = 200, description = "statistics", body = Stats)))]
    pub(crate) fn stats() {}

    /// The public signing keys.
    #[utoipa::path(get, path = "/.well-known/jwks.json", tag = "service",
        responses((status = 200, description = "JWK set", body = Jwks)))]
    pub(crate) fn jwks() {}

    /// This document.
    #[utoipa::path(get, path = "/openapi.json", tag = "service",
        responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
    pub(crate) fn openapi() {}

    /// Cookie-mode login (browsers): the tokens are set as HttpOnly cookies, with a readable CSRF
    /// cookie whose value must come back in `X-CSRF-Token` on unsafe requests. JSON only.
    #[utoipa::path(post, path = "/auth/session", tag = "auth",
        request_body(content = LoginRequest, content_type = "application/json"),
        responses((status = 200, description = "logged in; Set-Cookie: access, refresh and CSRF cookies", body = CookieSession)))]
    pub(crate) fn session_login() {}

    /// Cookie-mode logout: revokes the session (access cookie with its `X-CSRF-Token`, or a
    /// bearer token) and deletes every cookie. Without credentials there is nothing to revoke:
    /// 204, cookies deleted.
    #[utoipa::path(delete, path = "/auth/session", tag = "auth",
        security((), ("cookie" = []), ("bearer" = [])),
        params(("X-CSRF-Token" = Option<String>, Header,
            description = "the CSRF cookie's value; required with the access cookie")),
        responses((status = 204, description = "logged out (or nothing to revoke); Set-Cookie deletes every cookie")))]
    pub(crate) fn session_logout() {}

    /// Cookie-mode refresh: rotates the refresh cookie and sets a new access cookie.
    #[utoipa::path(post, path = "/auth/session/refresh", tag = "auth",
        security(("refresh_cookie" = [])),
        params(("X-CSRF-Token" = Option<String>, Header,
            description = "the CSRF cookie's value; required with a live refresh cookie")),
        responses((status = 200, description = "new cookies", body = CookieSession)))]
    pub(crate) fn session_refresh() {}

    /// The single-page demo (cookie mode).
    #[utoipa::path(get, path = "/", tag = "service",
        responses((status = 200, description = "HTML page", content_type = "text/html", body = String)))]
    pub(crate) fn demo() {}
}

/// How a route is entered, which decides the refusals it can give.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A login body (`/auth/login`, `/auth/session`): throttled.
    Login,
    /// A refresh body (`/auth/refresh`) or cookie (`/auth/session/refresh`).
    Refresh,
    /// An access token (bearer or cookie), no role.
    Authenticated,
    /// An access token and a role (`/editor/drafts`, `/admin/stats`).
    Guarded,
    /// Nothing: never refused.
    Open,
}

/// Every refusal each operation can answer (besides its success, documented on the operation).
const REFUSALS: &[(&str, HttpMethod, Kind, &[u16])] = &[
    (
        "/auth/login",
        HttpMethod::Post,
        Kind::Login,
        &[400, 401, 413, 415, 429, 503],
    ),
    (
        "/auth/session",
        HttpMethod::Post,
        Kind::Login,
        &[400, 401, 413, 415, 429, 503],
    ),
    (
        "/auth/refresh",
        HttpMethod::Post,
        Kind::Refresh,
        &[400, 401, 413, 415, 503],
    ),
    (
        "/auth/session/refresh",
        HttpMethod::Post,
        Kind::Refresh,
        &[400, 401, 403, 503],
    ),
    (
        "/auth/logout",
        HttpMethod::Post,
        Kind::Authenticated,
        &[400, 401, 403, 503],
    ),
    (
        "/auth/session",
        HttpMethod::Delete,
        Kind::Authenticated,
        &[400, 401, 403, 503],
    ),
    (
        "/me",
        HttpMethod::Get,
        Kind::Authenticated,
        &[400, 401, 503],
    ),
    (
        "/editor/drafts",
        HttpMethod::Get,
        Kind::Guarded,
        &[400, 401, 403, 503],
    ),
    (
        "/admin/stats",
        HttpMethod::Get,
        Kind::Guarded,
        &[400, 401, 403, 503],
    ),
    ("/health", HttpMethod::Get, Kind::Open, &[]),
    ("/", HttpMethod::Get, Kind::Open, &[]),
    ("/.well-known/jwks.json", HttpMethod::Get, Kind::Open, &[]),
    ("/openapi.json", HttpMethod::Get, Kind::Open, &[]),
];

/// What a refusal with `status` means on a route of `kind`, and which headers it always carries.
fn refusal(status: u16, kind: Kind) -> (&'static str, &'static [&'static str]) {
    let credentials = matches!(kind, Kind::Authenticated | Kind::Guarded);
    match status {
        400 if credentials => (
            "invalid_request: malformed credentials (an empty or malformed bearer token, two \
             Authorization headers, a token both in the header and a cookie)",
            &["WWW-Authenticate"],
        ),
        400 if kind == Kind::Refresh => (
            "invalid_request (a missing or empty refresh_token, a malformed body, a cookie sent \
             twice) or unsupported_grant_type",
            &[],
        ),
        400 => (
            "invalid_request (a missing username or password, a malformed body, a too long \
             username or password) or unsupported_grant_type",
            &[],
        ),
        401 if credentials => (
            "no credentials (challenge without error code) or invalid_token (expired, revoked, \
             bad signature, ...)",
            &["WWW-Authenticate"],
        ),
        401 => (
            "invalid_grant: bad credentials, or a spent, revoked, expired or missing refresh token",
            &[],
        ),
        403 if kind == Kind::Guarded => (
            "insufficient_scope: the caller lacks the role",
            &["WWW-Authenticate"],
        ),
        403 => (
            "csrf_failed: cookie credentials without the session's X-CSRF-Token",
            &[],
        ),
        413 => ("invalid_request: the body is over 16 KiB", &[]),
        415 => (
            "invalid_request: the body is not JSON (or, where accepted, a form)",
            &[],
        ),
        429 => (
            "too_many_requests: too many failed logins for the account or the client address",
            &["Retry-After"],
        ),
        503 => (
            "temporarily_unavailable: the store, the user directory or the password pool cannot \
             answer now (fail closed)",
            &["Retry-After"],
        ),
        _ => ("refused", &[]),
    }
}

fn header_description(name: &str) -> &'static str {
    match name {
        "WWW-Authenticate" => {
            "RFC 6750 §3 challenge: Bearer realm=\"...\" (with error, error_description and, for 403, scope)"
        }
        "Retry-After" => "seconds to wait before trying again",
        _ => "",
    }
}

/// Adds the refusals of [`REFUSALS`] to each operation, and the security schemes.
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, method, kind, statuses) in REFUSALS {
            let Some(operation) = operation(openapi, path, method) else {
                continue;
            };
            for status in *statuses {
                let (description, headers) = refusal(*status, *kind);
                let mut response = ResponseBuilder::new().description(description).content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("Refusal"))),
                );
                for name in headers {
                    let schema = if *name == "Retry-After" {
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::Type::String)
                            .pattern(Some("^[0-9]+$"))
                            .build()
                    } else {
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::Type::String)
                            .pattern(Some("^Bearer realm=\""))
                            .build()
                    };
                    response = response.header(
                        *name,
                        HeaderBuilder::new()
                            .schema(schema)
                            .description(Some(header_description(name)))
                            .build(),
                    );
                }
                operation
                    .responses
                    .responses
                    .insert(status.to_string(), response.build().into());
            }
        }

        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // Cookie mode; the names lose their `__Host-` / `__Secure-` prefix when the server runs
        // with COOKIE_SECURE=false.
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-access_token",
                "HttpOnly access-token cookie set by POST /auth/session; unsafe methods also need \
                 the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Secure-refresh_token",
                "HttpOnly refresh-token cookie set by POST /auth/session, sent only to \
                 /auth/session/refresh",
            ))),
        );
    }
}

fn operation<'a>(
    openapi: &'a mut utoipa::openapi::OpenApi,
    path: &str,
    method: &HttpMethod,
) -> Option<&'a mut Operation> {
    let item = openapi.paths.paths.get_mut(path)?;
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokengate example API",
        description = "A complete JWT auth service built with tokengate. Every refusal is \
            `{\"error\", \"error_description\"}` JSON. Another method on a listed path is answered \
            405 with `Allow`."
    ),
    paths(
        docs::login, docs::refresh, docs::logout, docs::health, docs::me, docs::drafts,
        docs::stats, docs::jwks, docs::openapi, docs::session_login, docs::session_logout,
        docs::session_refresh, docs::demo
    ),
    components(schemas(docs::Refusal)),
    modifiers(&Refusals)
)]
struct ApiDoc;

/// The OpenAPI document. Every response header it lists is always sent, so each is marked
/// `required` (which utoipa's header type cannot say).
pub(crate) fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut() {
                let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for response in responses.values_mut() {
                    if let Some(headers) =
                        response.get_mut("headers").and_then(Value::as_object_mut)
                    {
                        for header in headers.values_mut().filter_map(Value::as_object_mut) {
                            header.insert("required".into(), Value::Bool(true));
                        }
                    }
                }
            }
        }
    }
    doc
}
