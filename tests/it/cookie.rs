//! Cookie transport: the flags of every `Set-Cookie`, the access cookie read by the extractors and
//! guards, and the CSRF double-submit check (missing, wrong, from another session, safe vs unsafe
//! methods, bearer exemption), plus the "token in header and cookie" refusal.

use std::sync::Arc;

use crate::support::logs::captured;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use tokengate::Denied;
use tokengate::{
    Claims, CookieConfig, Error, Gate, Grant, Issuer, Key, KeyRing, MemoryStore, RequireLayer,
    RequireRole, Requirement, RoleHierarchy, SameSite, Sessions, Store, TokenPair, Verifier,
};

tokengate::role!(Admin = "admin");

const ACCESS_TTL: u64 = 600;
const IDLE: u64 = 3600;

struct Fixture {
    sessions: Sessions,
    issuer: Issuer,
    cookies: CookieConfig,
    app: Router,
}

fn ring() -> KeyRing {
    KeyRing::new(Key::from_secret(tokengate::Algorithm::HS256, &[5u8; 32]).expect("key"))
        .expect("ring")
}

fn cookie_config(secure: bool) -> CookieConfig {
    CookieConfig::builder()
        .secure(secure)
        .csrf_secret(*b"cookie-test-csrf-secret-32-bytes")
        .build()
        .expect("cookie config")
}

fn fixture_with(cookies: Option<CookieConfig>) -> Fixture {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let issuer = Issuer::builder(ring())
        .issuer("iss")
        .audience("aud")
        .access_ttl(Duration::from_secs(ACCESS_TTL))
        .build()
        .expect("issuer");
    let verifier = Verifier::builder(ring())
        .issuer("iss")
        .audience("aud")
        .revocation(store.clone())
        .build()
        .expect("verifier");
    let sessions = Sessions::builder(issuer.clone(), verifier.clone(), store)
        .idle_timeout(Duration::from_secs(IDLE))
        .build()
        .expect("sessions");
    let roles = RoleHierarchy::builder()
        .role("admin", ["editor"])
        .build()
        .expect("roles");
    let config = cookies.unwrap_or_else(|| cookie_config(true));
    let gate = Gate::builder(verifier)
        .realm("cookies")
        .roles(roles)
        .cookies(config.clone())
        .build()
        .expect("gate");
    let app = app(gate);
    Fixture {
        sessions,
        issuer,
        cookies: config,
        app,
    }
}

async fn whoami(claims: Claims) -> String {
    claims.sub
}

async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "nobody".to_owned(), |c| c.sub)
}

async fn admin(a: RequireRole<Admin>) -> String {
    a.sub.clone()
}

async fn plain() -> &'static str {
    "layer passed"
}

fn app(gate: Gate) -> Router {
    let layered = Router::new()
        .route("/layered", get(plain).post(plain))
        .layer(RequireLayer::new(gate.clone(), Requirement::role("admin")));
    Router::new()
        .route(
            "/notes",
            get(whoami)
                .post(whoami)
                .put(whoami)
                .patch(whoami)
                .delete(whoami)
                .head(whoami)
                .options(whoami),
        )
        .route("/maybe", get(maybe).post(maybe))
        .route("/admin", get(admin).post(admin))
        .with_state(gate)
        .merge(layered)
}

fn fixture() -> Fixture {
    fixture_with(None)
}

async fn login(f: &Fixture, who: &str, role: &str) -> TokenPair {
    f.sessions
        .start(Grant::new(who).role(role))
        .await
        .expect("session")
}

/// A request with optional access cookie, CSRF header and bearer header.
fn request(
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    bearer: Option<&str>,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        r = r.header(COOKIE, c);
    }
    if let Some(c) = csrf {
        r = r.header("x-csrf-token", c);
    }
    if let Some(b) = bearer {
        r = r.header(AUTHORIZATION, format!("Bearer {b}"));
    }
    r.body(Body::empty()).expect("request")
}

fn access_cookie(f: &Fixture, pair: &TokenPair) -> String {
    format!(
        "theme=dark; {}={}",
        f.cookies.access_name(),
        pair.access.token
    )
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        headers,
        String::from_utf8(body.to_vec()).expect("utf8"),
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("json body")
}

// ----- Set-Cookie flags -----

#[tokio::test]
async fn secure_cookies_have_host_prefixes_flags_paths_and_max_age() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    assert_eq!(pair.access.expires_in(), ACCESS_TTL as i64);
    assert_eq!(pair.refresh.expires_in(), IDLE as i64);
    let res = f.cookies.set(&pair).expect("set").into_response();
    let got: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let csrf = f.cookies.csrf_token(&pair.session);
    assert_eq!(
        got,
        [
            format!(
                "__Host-access_token={}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=600",
                pair.access.token
            ),
            format!(
                "__Secure-refresh_token={}; HttpOnly; SameSite=Lax; Secure; Path=/auth/session/refresh; Max-Age=3600",
                pair.refresh.token
            ),
            // Readable by scripts: no HttpOnly.
            format!("__Host-csrf_token={csrf}; SameSite=Lax; Secure; Path=/; Max-Age=3600"),
        ]
    );
    // Never a Domain attribute (host-only cookies; `__Host-` forbids it anyway).
    assert!(
        got.iter()
            .all(|c| !c.to_ascii_lowercase().contains("domain"))
    );
}

#[tokio::test]
async fn insecure_development_cookies_use_plain_names() {
    let f = fixture_with(Some(cookie_config(false)));
    assert_eq!(f.cookies.access_name(), "access_token");
    assert_eq!(f.cookies.refresh_name(), "refresh_token");
    assert_eq!(f.cookies.csrf_name(), "csrf_token");
    assert!(!f.cookies.secure());
    let pair = login(&f, "bob", "editor").await;
    let set = f.cookies.set(&pair).expect("set");
    let values: Vec<&str> = set
        .values()
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(values.len(), 3);
    assert!(values.iter().all(|v| !v.contains("Secure")));
    assert!(values[0].starts_with("access_token="));
    assert!(values[0].ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"));
    assert!(
        values[1].ends_with("; HttpOnly; SameSite=Lax; Path=/auth/session/refresh; Max-Age=3600")
    );
    assert!(values[2].ends_with("; SameSite=Lax; Path=/; Max-Age=3600"));
}

#[tokio::test]
async fn strict_same_site_and_custom_refresh_path() {
    let cookies = CookieConfig::builder()
        .same_site(SameSite::Strict)
        .refresh_path("/api/auth/session/refresh")
        .build()
        .expect("config");
    assert_eq!(cookies.same_site(), SameSite::Strict);
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let set = cookies.set(&pair).expect("set");
    let v: Vec<&str> = set
        .values()
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert!(v.iter().all(|c| c.contains("; SameSite=Strict; Secure; ")));
    assert!(v[1].contains("; Path=/api/auth/session/refresh; Max-Age="));
}

#[test]
fn clear_expires_every_cookie_with_matching_path_and_flags() {
    let secure = cookie_config(true).clear().into_response();
    let got: Vec<&str> = secure
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    let gone = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    assert_eq!(
        got,
        [
            format!("__Host-access_token=; HttpOnly; SameSite=Lax; Secure; Path=/; {gone}"),
            format!(
                "__Secure-refresh_token=; HttpOnly; SameSite=Lax; Secure; Path=/auth/session/refresh; {gone}"
            ),
            format!("__Host-csrf_token=; SameSite=Lax; Secure; Path=/; {gone}"),
        ]
    );
    let plain = cookie_config(false).clear();
    assert!(
        plain.values()[0]
            .to_str()
            .expect("ascii")
            .starts_with("access_token=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
    );
}

#[test]
fn bad_settings_are_refused_by_build() {
    assert!(matches!(
        CookieConfig::builder().csrf_secret(vec![0u8; 16]).build(),
        Err(Error::Config { setting, .. }) if setting == "csrf_secret"
    ));
    assert!(matches!(
        CookieConfig::builder().refresh_path("refresh").build(),
        Err(Error::Config { setting, .. }) if setting == "refresh_path"
    ));
}

// ----- reading the access cookie -----

#[tokio::test]
async fn safe_methods_need_no_csrf_token() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let cookie = access_cookie(&f, &pair);
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        let (status, _, body) = send(
            &f.app,
            request(method.clone(), "/notes", Some(&cookie), None, None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{method}");
        if method != Method::HEAD {
            assert_eq!(body, "bob");
        }
    }
}

#[tokio::test]
async fn unsafe_methods_with_the_session_csrf_token_pass() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let cookie = access_cookie(&f, &pair);
    // The value the browser reads from the CSRF cookie.
    let set = f.cookies.set(&pair).expect("set");
    let csrf_cookie = set.values()[2].to_str().expect("ascii");
    let csrf = csrf_cookie
        .strip_prefix("__Host-csrf_token=")
        .and_then(|r| r.split(';').next())
        .expect("csrf value");
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, _, body) = send(
            &f.app,
            request(method.clone(), "/notes", Some(&cookie), Some(csrf), None),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "bob"), "{method}");
    }
}

async fn assert_csrf_failed(app: &Router, req: Request<Body>, description: &str) {
    let (status, headers, body) = send(app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get(WWW_AUTHENTICATE).is_none());
    assert_eq!(
        json(&body),
        serde_json::json!({"error": "csrf_failed", "error_description": description})
    );
}

#[tokio::test]
async fn unsafe_methods_without_csrf_token_are_refused() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let cookie = access_cookie(&f, &pair);
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        assert_csrf_failed(
            &f.app,
            request(method, "/notes", Some(&cookie), None, None),
            "CSRF token missing",
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_csrf_token_is_refused() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let cookie = access_cookie(&f, &pair);
    let good = f.cookies.csrf_token(&pair.session);
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    for wrong in [
        "",
        "x",
        &good[..good.len() - 1],
        &flipped,
        &pair.access.token,
    ] {
        assert_csrf_failed(
            &f.app,
            request(Method::POST, "/notes", Some(&cookie), Some(wrong), None),
            "CSRF token does not match",
        )
        .await;
    }
    // Two headers, even if one is right.
    let mut req = request(Method::POST, "/notes", Some(&cookie), Some(&good), None);
    req.headers_mut()
        .append("x-csrf-token", "x".parse().expect("value"));
    assert_csrf_failed(&f.app, req, "multiple CSRF token headers").await;
}

#[tokio::test]
async fn csrf_token_from_another_session_is_refused() {
    let f = fixture();
    let mine = login(&f, "bob", "editor").await;
    let my_earlier = login(&f, "bob", "editor").await;
    let theirs = login(&f, "mallory", "editor").await;
    let cookie = access_cookie(&f, &mine);
    for other in [&my_earlier, &theirs] {
        let csrf = f.cookies.csrf_token(&other.session);
        assert_csrf_failed(
            &f.app,
            request(Method::POST, "/notes", Some(&cookie), Some(&csrf), None),
            "CSRF token does not match",
        )
        .await;
    }
    // A CSRF value made with another secret does not match either.
    let elsewhere = CookieConfig::builder().build().expect("config");
    let csrf = elsewhere.csrf_token(&mine.session);
    assert_csrf_failed(
        &f.app,
        request(Method::POST, "/notes", Some(&cookie), Some(&csrf), None),
        "CSRF token does not match",
    )
    .await;
}

#[tokio::test]
async fn csrf_token_survives_a_refresh_of_the_same_session() {
    let f = fixture();
    let first = login(&f, "bob", "editor").await;
    let next = f
        .sessions
        .refresh::<tokengate::NoExtra>(&first.refresh.token)
        .await
        .expect("refresh");
    assert_eq!(next.session, first.session);
    let csrf = f.cookies.csrf_token(&first.session);
    let (status, _, _) = send(
        &f.app,
        request(
            Method::POST,
            "/notes",
            Some(&access_cookie(&f, &next)),
            Some(&csrf),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn token_without_session_cannot_pass_the_csrf_check() {
    let f = fixture();
    let token = f
        .issuer
        .issue_access(&Grant::new("svc"))
        .expect("token")
        .token;
    let cookie = format!("{}={token}", f.cookies.access_name());
    // Safe methods work...
    let (status, _, _) = send(
        &f.app,
        request(Method::GET, "/notes", Some(&cookie), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // ...unsafe ones cannot: there is no session to bind a CSRF value to.
    assert_csrf_failed(
        &f.app,
        request(
            Method::POST,
            "/notes",
            Some(&cookie),
            Some("anything"),
            None,
        ),
        "token is not bound to a session",
    )
    .await;
}

#[tokio::test]
async fn bearer_requests_need_no_csrf_token() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let (status, _, body) = send(
            &f.app,
            request(
                method.clone(),
                "/notes",
                None,
                None,
                Some(&pair.access.token),
            ),
        )
        .await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "bob"), "{method}");
    }
}

#[tokio::test]
async fn token_in_both_header_and_cookie_is_a_bad_request() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let cookie = access_cookie(&f, &pair);
    let csrf = f.cookies.csrf_token(&pair.session);
    for method in [Method::GET, Method::POST] {
        let (status, headers, body) = send(
            &f.app,
            request(
                method,
                "/notes",
                Some(&cookie),
                Some(&csrf),
                Some(&pair.access.token),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json(&body)["error"], "invalid_request");
        assert_eq!(
            headers[WWW_AUTHENTICATE],
            r#"Bearer realm="cookies", error="invalid_request", error_description="token in both the Authorization header and a cookie""#
        );
    }
}

#[tokio::test]
async fn access_cookie_sent_twice_is_a_bad_request() {
    let f = fixture_with(Some(cookie_config(false)));
    let pair = login(&f, "bob", "editor").await;
    let cookie = format!("access_token={0}; access_token={0}", pair.access.token);
    let (status, _, body) = send(
        &f.app,
        request(Method::GET, "/notes", Some(&cookie), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json(&body)["error_description"],
        "cookie sent more than once"
    );
}

#[tokio::test]
async fn bad_or_revoked_cookie_tokens_are_invalid_token() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let name = f.cookies.access_name().to_owned();
    // A refresh token is not an access token.
    for (cookie, description) in [
        (format!("{name}={}", pair.refresh.token), "wrong token type"),
        (
            format!("{name}=not.a.jwt"),
            "token header is not valid base64url",
        ),
    ] {
        let (status, headers, body) = send(
            &f.app,
            request(Method::GET, "/notes", Some(&cookie), None, None),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{description}");
        assert_eq!(json(&body)["error"], "invalid_token");
        assert_eq!(json(&body)["error_description"], description);
        assert!(
            headers[WWW_AUTHENTICATE]
                .to_str()
                .expect("ascii")
                .contains(r#"error="invalid_token""#)
        );
    }
    // Logged out: the cookie's token is revoked.
    let claims: Claims = f
        .sessions
        .verifier()
        .verify(&pair.access.token)
        .await
        .expect("valid before logout");
    f.sessions.logout(&claims).await.expect("logout");
    let (status, _, body) = send(
        &f.app,
        request(
            Method::GET,
            "/notes",
            Some(&access_cookie(&f, &pair)),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&body)["error_description"], "token revoked");
}

#[tokio::test]
async fn no_cookie_is_missing_credentials_and_optional_is_none() {
    let f = fixture();
    let (status, headers, _) = send(
        &f.app,
        request(Method::GET, "/notes", Some("theme=dark"), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[WWW_AUTHENTICATE], r#"Bearer realm="cookies""#);
    // A cleared (empty) access cookie counts as absent.
    let cleared = format!("{}=", f.cookies.access_name());
    let (status, _, body) = send(
        &f.app,
        request(Method::POST, "/maybe", Some(&cleared), None, None),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "nobody"));
    // Option<Claims> on an unsafe method still applies the CSRF check.
    let pair = login(&f, "bob", "editor").await;
    assert_csrf_failed(
        &f.app,
        request(
            Method::POST,
            "/maybe",
            Some(&access_cookie(&f, &pair)),
            None,
            None,
        ),
        "CSRF token missing",
    )
    .await;
}

#[tokio::test]
async fn gate_without_cookie_config_ignores_the_cookie() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let verifier = Verifier::builder(ring())
        .issuer("iss")
        .audience("aud")
        .revocation(store)
        .build()
        .expect("verifier");
    let gate = Gate::builder(verifier)
        .realm("cookies")
        .build()
        .expect("gate");
    assert!(gate.cookies().is_none());
    let app = app(gate);
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let (status, headers, _) = send(
        &app,
        request(
            Method::GET,
            "/notes",
            Some(&access_cookie(&f, &pair)),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[WWW_AUTHENTICATE], r#"Bearer realm="cookies""#);
}

#[tokio::test]
async fn role_guards_read_the_cookie_and_apply_the_csrf_check() {
    let f = fixture();
    let admin = login(&f, "alice", "admin").await;
    let editor = login(&f, "bob", "editor").await;
    let admin_cookie = access_cookie(&f, &admin);
    let admin_csrf = f.cookies.csrf_token(&admin.session);
    for path in ["/admin", "/layered"] {
        let (status, _, _) = send(
            &f.app,
            request(Method::GET, path, Some(&admin_cookie), None, None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (status, _, _) = send(
            &f.app,
            request(
                Method::POST,
                path,
                Some(&admin_cookie),
                Some(&admin_csrf),
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_csrf_failed(
            &f.app,
            request(Method::POST, path, Some(&admin_cookie), None, None),
            "CSRF token missing",
        )
        .await;
        // The editor is authenticated by cookie but lacks the role.
        let (status, _, body) = send(
            &f.app,
            request(
                Method::GET,
                path,
                Some(&access_cookie(&f, &editor)),
                None,
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(json(&body)["error"], "insufficient_scope");
    }
}

#[tokio::test]
async fn authenticate_without_a_method_treats_cookie_requests_as_unsafe() {
    let f = fixture();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let gate = Gate::builder(
        Verifier::builder(ring())
            .issuer("iss")
            .audience("aud")
            .revocation(store)
            .build()
            .expect("verifier"),
    )
    .cookies(f.cookies.clone())
    .build()
    .expect("gate");
    let pair = login(&f, "bob", "editor").await;
    let mut headers = http::HeaderMap::new();
    headers.insert(COOKIE, access_cookie(&f, &pair).parse().expect("value"));
    let err = gate
        .authenticate::<tokengate::NoExtra>(&headers)
        .await
        .expect_err("needs csrf");
    assert!(matches!(
        err.error(),
        Error::Denied(Denied::Csrf("CSRF token missing"))
    ));
    let ok = gate
        .authenticate_request::<tokengate::NoExtra>(&Method::GET, &headers)
        .await
        .expect("safe")
        .expect("claims");
    assert_eq!(ok.sub, "bob");
    headers.insert(
        "x-csrf-token",
        f.cookies.csrf_token(&pair.session).parse().expect("value"),
    );
    assert!(
        gate.authenticate::<tokengate::NoExtra>(&headers)
            .await
            .is_ok()
    );
}

// ----- secrets and the development warning -----

#[test]
fn insecure_cookies_log_a_warning_that_names_no_secret() {
    let captured = captured();
    let secret = *b"warning-test-csrf-secret-32bytes";
    {
        let _span = tracing::info_span!("warn_test").entered();
        CookieConfig::builder()
            .secure(false)
            .csrf_secret(secret)
            .build()
            .expect("config");
    }
    let text = captured.text();
    let lines = captured.in_span("warn_test");
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["level"], "WARN");
    assert_eq!(lines[0]["target"], "tokengate::cookie");
    assert!(
        lines[0]["fields"]["message"]
            .as_str()
            .expect("message")
            .contains("cookies are not Secure")
    );
    assert!(!text.contains("warning-test-csrf-secret"));
}

#[tokio::test]
async fn debug_output_never_shows_tokens_or_keys() {
    let f = fixture();
    let pair = login(&f, "bob", "editor").await;
    let set = f.cookies.set(&pair).expect("set");
    let debug = format!("{set:?} {:?}", f.cookies);
    assert!(debug.contains("__Host-access_token"));
    assert!(!debug.contains(&pair.access.token));
    assert!(!debug.contains(&pair.refresh.token));
    assert!(!debug.contains(&f.cookies.csrf_token(&pair.session)));
    assert!(!debug.contains("cookie-test-csrf-secret"));
}
