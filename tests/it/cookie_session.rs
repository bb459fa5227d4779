//! The cookie-mode routes of the `/auth` router, driven with `oneshot`: `POST /auth/session`
//! (the `/login` credential check and throttling, cookies instead of a token body, JSON only),
//! `POST /auth/session/refresh` (refresh cookie + CSRF header, rotation, dead tokens clear the
//! cookies), `DELETE /auth/session` (revokes the session, clears every cookie, CSRF-checked).

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, SET_COOKIE};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tokengate::async_trait;
use tower::ServiceExt as _;

use tokengate::{
    Algorithm, AuthRouter, BoxError, Claims, CookieConfig, Gate, Issuer, Key, KeyRing, MemoryStore,
    Passwords, Sessions, Store, ThrottlePolicy, UserDirectory, UserRecord, Verifier,
};

struct Users(HashMap<String, UserRecord>);

#[async_trait]
impl UserDirectory for Users {
    async fn find_by_username(&self, username: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok(self.0.get(username).cloned())
    }
    async fn find_by_subject(&self, subject: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok(self.0.values().find(|u| u.subject == subject).cloned())
    }
}

async fn app_with(cookies: Option<CookieConfig>) -> Router {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[8; 32]).unwrap()).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("aud")
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("aud")
        .revocation(store.clone())
        .build()
        .unwrap();
    let sessions = Sessions::builder(issuer, verifier.clone(), store)
        .build()
        .unwrap();
    let passwords = Passwords::builder()
        .memory_kib(256)
        .iterations(1)
        .workers(2)
        .build()
        .unwrap();
    let mut users = HashMap::new();
    for (name, sub, role) in [("bob", "u-bob", "editor"), ("alice", "u-alice", "admin")] {
        users.insert(
            name.to_owned(),
            UserRecord {
                subject: sub.into(),
                password_hash: passwords
                    .hash(&format!("{name}-pw"))
                    .await
                    .unwrap()
                    .into_string(),
                roles: vec![role.into()],
                permissions: vec![],
                disabled: false,
            },
        );
    }
    let mut gate = Gate::builder(verifier);
    if let Some(c) = cookies {
        gate = gate.cookies(c);
    }
    let gate = gate.build().unwrap();
    let auth = AuthRouter::builder(sessions, passwords, Arc::new(Users(users)), gate.clone())
        .account_throttle(ThrottlePolicy {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    async fn me(claims: Claims) -> String {
        claims.sub
    }
    Router::new()
        .route("/me", get(me))
        .route("/notes", post(me))
        .with_state(gate)
        .nest("/auth", auth.router())
}

fn config() -> CookieConfig {
    CookieConfig::builder()
        .csrf_secret(*b"session-test-csrf-secret-32bytes")
        .build()
        .unwrap()
}

async fn app() -> Router {
    app_with(Some(config())).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// `Set-Cookie` name → (value, whole header).
    fn set_cookies(&self) -> HashMap<String, (String, String)> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| {
                let v = v.to_str().unwrap().to_owned();
                let (pair, _) = v.split_once(';').unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                (name.to_owned(), (value.to_owned(), v.clone()))
            })
            .collect()
    }

    fn cookie(&self, name: &str) -> String {
        self.set_cookies()[name].0.clone()
    }

    /// Every cookie deleted (`Max-Age=0`).
    fn clears_all(&self) -> bool {
        let c = self.set_cookies();
        c.len() == 3
            && [
                "__Host-access_token",
                "__Secure-refresh_token",
                "__Host-csrf_token",
            ]
            .iter()
            .all(|n| {
                c.get(*n)
                    .is_some_and(|(v, h)| v.is_empty() && h.contains("Max-Age=0"))
            })
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn login_req(body: &str) -> Request<Body> {
    Request::post("/auth/session")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn req(method: Method, uri: &str, cookie: Option<&str>, csrf: Option<&str>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        r = r.header(COOKIE, c);
    }
    if let Some(c) = csrf {
        r = r.header("x-csrf-token", c);
    }
    r.body(Body::empty()).unwrap()
}

/// A browser's cookies after a cookie login or refresh.
struct Browser {
    access: String,
    refresh: String,
    csrf: String,
}

impl Browser {
    fn from(answer: &Answer) -> Self {
        Self {
            access: answer.cookie("__Host-access_token"),
            refresh: answer.cookie("__Secure-refresh_token"),
            csrf: answer.cookie("__Host-csrf_token"),
        }
    }
    /// What the browser sends to paths under `/` (not the refresh cookie).
    fn site(&self) -> String {
        format!(
            "__Host-access_token={}; __Host-csrf_token={}",
            self.access, self.csrf
        )
    }
    /// What the browser sends to `/auth/session/refresh`.
    fn refresh_path(&self) -> String {
        format!("{}; __Secure-refresh_token={}", self.site(), self.refresh)
    }
}

async fn log_in(app: &Router, who: &str) -> Browser {
    let a = send(
        app,
        login_req(&format!(r#"{{"username":"{who}","password":"{who}-pw"}}"#)),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    Browser::from(&a)
}

#[tokio::test]
async fn cookie_routes_exist_only_with_a_cookie_config() {
    let app = app_with(None).await;
    let a = send(&app, login_req(r#"{"username":"bob","password":"bob-pw"}"#)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(&app, req(Method::POST, "/auth/session/refresh", None, None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_methods_are_405_naming_the_allowed_ones() {
    let app = app().await;
    let a = send(&app, req(Method::GET, "/auth/session", None, None)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST, DELETE");
    assert_eq!(a.body["error"], "invalid_request");
    let a = send(&app, req(Method::GET, "/auth/session/refresh", None, None)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST");
}

#[tokio::test]
async fn cookie_login_sets_three_cookies_and_returns_no_token() {
    let app = app().await;
    let a = send(&app, login_req(r#"{"username":"bob","password":"bob-pw"}"#)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[CACHE_CONTROL], "no-store");
    assert_eq!(a.body, json!({"token_type": "cookie", "expires_in": 900}));
    let c = a.set_cookies();
    assert_eq!(c.len(), 3);
    assert!(
        c["__Host-access_token"]
            .1
            .ends_with("; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=900")
    );
    assert!(
        c["__Secure-refresh_token"]
            .1
            .contains("; Path=/auth/session/refresh; Max-Age=")
    );
    assert!(!c["__Host-csrf_token"].1.contains("HttpOnly"));
    // The cookie authenticates: safe method without CSRF, unsafe with it.
    let b = Browser::from(&a);
    let me = send(&app, req(Method::GET, "/me", Some(&b.site()), None)).await;
    assert_eq!((me.status, me.body), (StatusCode::OK, json!("u-bob")));
    let post = send(
        &app,
        req(Method::POST, "/notes", Some(&b.site()), Some(&b.csrf)),
    )
    .await;
    assert_eq!(post.status, StatusCode::OK);
    let post = send(&app, req(Method::POST, "/notes", Some(&b.site()), None)).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_eq!(post.body["error"], "csrf_failed");
}

#[tokio::test]
async fn cookie_login_refuses_bad_credentials_without_cookies() {
    let app = app().await;
    for body in [
        r#"{"username":"bob","password":"wrong"}"#,
        r#"{"username":"nobody","password":"bob-pw"}"#,
    ] {
        let a = send(&app, login_req(body)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.body["error"], "invalid_grant");
        assert!(a.headers.get(SET_COOKIE).is_none());
    }
    let a = send(&app, login_req(r#"{"username":"bob"}"#)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"], "invalid_request");
}

#[tokio::test]
async fn cookie_login_takes_json_only() {
    let app = app().await;
    let form = Request::post("/auth/session")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=bob&password=bob-pw"))
        .unwrap();
    let basic = Request::post("/auth/session")
        .header(AUTHORIZATION, "Basic Ym9iOmJvYi1wdw==")
        .body(Body::empty())
        .unwrap();
    for r in [form, basic] {
        let a = send(&app, r).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(a.body["error"], "invalid_request");
        assert!(a.headers.get(SET_COOKIE).is_none());
    }
}

#[tokio::test]
async fn cookie_login_shares_the_account_throttle_with_login() {
    let app = app().await;
    // Three failures through the cookie route lock the account (max_failures = 3)...
    for _ in 0..3 {
        let a = send(&app, login_req(r#"{"username":"bob","password":"wrong"}"#)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    // ...for both routes, even with the right password.
    let a = send(&app, login_req(r#"{"username":"bob","password":"bob-pw"}"#)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.headers.contains_key("retry-after"));
    let token_login = Request::post("/auth/login")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"username":"bob","password":"bob-pw"}"#))
        .unwrap();
    assert_eq!(
        send(&app, token_login).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn refresh_needs_the_session_csrf_token_and_rotates() {
    let app = app().await;
    let bob = log_in(&app, "bob").await;
    let alice = log_in(&app, "alice").await;
    let path = "/auth/session/refresh";
    // Missing, wrong, another session's: 403, and the refresh token is not spent.
    for (csrf, description) in [
        (None, "CSRF token missing"),
        (Some("nope"), "CSRF token does not match"),
        (Some(alice.csrf.as_str()), "CSRF token does not match"),
    ] {
        let a = send(
            &app,
            req(Method::POST, path, Some(&bob.refresh_path()), csrf),
        )
        .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert_eq!(
            a.body,
            json!({"error": "csrf_failed", "error_description": description})
        );
        assert!(a.headers.get(SET_COOKIE).is_none());
    }
    let a = send(
        &app,
        req(
            Method::POST,
            path,
            Some(&bob.refresh_path()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["token_type"], "cookie");
    let next = Browser::from(&a);
    assert_ne!(next.access, bob.access);
    assert_ne!(next.refresh, bob.refresh);
    assert_eq!(next.csrf, bob.csrf, "the CSRF value belongs to the session");
    let me = send(&app, req(Method::GET, "/me", Some(&next.site()), None)).await;
    assert_eq!(me.status, StatusCode::OK);
    // The spent refresh token again: reuse → 401 invalid_grant, cookies cleared, session over.
    let a = send(
        &app,
        req(
            Method::POST,
            path,
            Some(&bob.refresh_path()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_grant");
    assert!(a.clears_all());
    let me = send(&app, req(Method::GET, "/me", Some(&next.site()), None)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_without_refresh_cookie_is_invalid_grant_and_clears() {
    let app = app().await;
    let bob = log_in(&app, "bob").await;
    let a = send(
        &app,
        req(
            Method::POST,
            "/auth/session/refresh",
            Some(&bob.site()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_grant");
    assert!(a.clears_all());
    // An access token in the refresh cookie is the wrong type.
    let wrong = format!("__Secure-refresh_token={}", bob.access);
    let a = send(
        &app,
        req(
            Method::POST,
            "/auth/session/refresh",
            Some(&wrong),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.clears_all());
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_every_cookie() {
    let app = app().await;
    let bob = log_in(&app, "bob").await;
    // Without the CSRF header: refused, nothing revoked, nothing cleared.
    let a = send(
        &app,
        req(Method::DELETE, "/auth/session", Some(&bob.site()), None),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.body["error"], "csrf_failed");
    assert!(a.headers.get(SET_COOKIE).is_none());
    let me = send(&app, req(Method::GET, "/me", Some(&bob.site()), None)).await;
    assert_eq!(me.status, StatusCode::OK);

    let a = send(
        &app,
        req(
            Method::DELETE,
            "/auth/session",
            Some(&bob.site()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.headers[CACHE_CONTROL], "no-store");
    assert!(a.clears_all());
    // The access token and the refresh token are dead, not just forgotten.
    let me = send(&app, req(Method::GET, "/me", Some(&bob.site()), None)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body["error_description"], "token revoked");
    let r = send(
        &app,
        req(
            Method::POST,
            "/auth/session/refresh",
            Some(&bob.refresh_path()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Logging out again with the dead cookie: 401, and the cookies are cleared once more.
    let again = send(
        &app,
        req(
            Method::DELETE,
            "/auth/session",
            Some(&bob.site()),
            Some(&bob.csrf),
        ),
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.clears_all());
}

#[tokio::test]
async fn logout_without_credentials_just_clears_and_bearer_logout_works() {
    let app = app().await;
    let a = send(&app, req(Method::DELETE, "/auth/session", None, None)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.clears_all());
    // A bearer token needs no CSRF header.
    let token_login = Request::post("/auth/login")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"username":"bob","password":"bob-pw"}"#))
        .unwrap();
    let t = send(&app, token_login).await;
    let access = t.body["access_token"].as_str().unwrap().to_owned();
    let logout = Request::delete("/auth/session")
        .header(AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, logout).await.status, StatusCode::NO_CONTENT);
    let me = Request::get("/me")
        .header(AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, me).await.status, StatusCode::UNAUTHORIZED);
}
