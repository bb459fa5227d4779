//! `/openapi.json`: every route of the example server, with the bearer security scheme.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

// The `/auth/*` routes are served by `tokengate::AuthRouter`; these items only describe them.
#[allow(dead_code)]
mod auth_docs {
    /// Log in with a username and password (JSON, form, or HTTP Basic).
    #[utoipa::path(post, path = "/auth/login", tag = "auth",
        request_body(content = serde_json::Value, description = r#"{"username": "...", "password": "..."}"#),
        responses(
            (status = 200, description = "RFC 6749 §5.1 token response: access_token, token_type, expires_in, refresh_token"),
            (status = 400, description = "malformed request"),
            (status = 401, description = "invalid_grant: bad credentials or disabled account"),
            (status = 429, description = "too many failures; see Retry-After"),
        ))]
    pub(crate) fn login() {}

    /// Exchange a refresh token for a new pair (the old one is spent).
    #[utoipa::path(post, path = "/auth/refresh", tag = "auth",
        request_body(content = serde_json::Value, description = r#"{"refresh_token": "..."}"#),
        responses(
            (status = 200, description = "a new token pair"),
            (status = 401, description = "spent, revoked, expired or wrong-type refresh token"),
        ))]
    pub(crate) fn refresh() {}

    /// Log out: the access token and its refresh family stop working.
    #[utoipa::path(post, path = "/auth/logout", tag = "auth",
        security(("bearer" = [])),
        responses((status = 204, description = "logged out"), (status = 401, description = "no valid token")))]
    pub(crate) fn logout() {}

    /// Liveness.
    #[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = r#"{"status":"ok"}"#)))]
    pub(crate) fn health() {}

    /// The caller's verified claims.
    #[utoipa::path(get, path = "/me", tag = "api", security(("bearer" = [])),
        responses((status = 200, description = "the caller's claims (sub, roles, ...)"), (status = 401, description = "no valid token")))]
    pub(crate) fn me() {}

    /// Drafts, for editors and admins.
    #[utoipa::path(get, path = "/editor/drafts", tag = "api", security(("bearer" = ["editor"])),
        responses((status = 200, description = "drafts"), (status = 401, description = "no valid token"), (status = 403, description = "insufficient_scope")))]
    pub(crate) fn drafts() {}

    /// Statistics, for admins.
    #[utoipa::path(get, path = "/admin/stats", tag = "api", security(("bearer" = ["admin"])),
        responses((status = 200, description = "statistics"), (status = 401, description = "no valid token"), (status = 403, description = "insufficient_scope")))]
    pub(crate) fn stats() {}

    /// The public signing keys.
    #[utoipa::path(get, path = "/.well-known/jwks.json", tag = "service", responses((status = 200, description = "JWK set")))]
    pub(crate) fn jwks() {}

    /// Cookie-mode login (browsers): the tokens are set as HttpOnly cookies, with a readable CSRF
    /// cookie whose value must come back in `X-CSRF-Token` on unsafe requests.
    #[utoipa::path(post, path = "/auth/session", tag = "auth",
        request_body(content = serde_json::Value, description = r#"{"username": "...", "password": "..."} (JSON only)"#),
        responses(
            (status = 200, description = "logged in; Set-Cookie: access, refresh and CSRF cookies"),
            (status = 401, description = "invalid_grant"),
            (status = 415, description = "not JSON"),
            (status = 429, description = "too many failures; see Retry-After"),
        ))]
    pub(crate) fn session_login() {}

    /// Cookie-mode logout: revokes the session and clears every cookie.
    #[utoipa::path(delete, path = "/auth/session", tag = "auth", security(("cookie" = [])),
        params(("X-CSRF-Token" = String, Header, description = "the CSRF cookie's value")),
        responses((status = 204, description = "logged out, cookies cleared"), (status = 403, description = "csrf_failed")))]
    pub(crate) fn session_logout() {}

    /// Cookie-mode refresh: rotates the refresh cookie and sets a new access cookie.
    #[utoipa::path(post, path = "/auth/session/refresh", tag = "auth", security(("cookie" = [])),
        params(("X-CSRF-Token" = String, Header, description = "the CSRF cookie's value")),
        responses(
            (status = 200, description = "new cookies"),
            (status = 401, description = "spent, revoked or missing refresh cookie"),
            (status = 403, description = "csrf_failed"),
        ))]
    pub(crate) fn session_refresh() {}

    /// The single-page demo (cookie mode).
    #[utoipa::path(get, path = "/", tag = "service", responses((status = 200, description = "HTML page")))]
    pub(crate) fn demo() {}
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tokengate example API", description = "A complete JWT auth service built with tokengate."),
    paths(
        auth_docs::login, auth_docs::refresh, auth_docs::logout, auth_docs::health, auth_docs::me,
        auth_docs::drafts, auth_docs::stats, auth_docs::jwks, auth_docs::session_login,
        auth_docs::session_logout, auth_docs::session_refresh, auth_docs::demo
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
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
        // Cookie mode; the name is `access_token` when the server runs with COOKIE_SECURE=false.
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-access_token",
                "HttpOnly access-token cookie set by POST /auth/session; unsafe methods also need \
                 the X-CSRF-Token header",
            ))),
        );
    }
}

/// The OpenAPI document.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
