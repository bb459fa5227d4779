//! The `/auth` router over a real socket with a real HTTP client, played like a mobile client:
//! login (JSON, form, Basic) → guarded route → refresh → reuse detection → logout; throttling per
//! account and per address; disabled users; rehash on login; every malformed input; equal answers
//! for an unknown user and a wrong password; nothing secret in the logs.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::logs::captured;
use std::time::Duration;

use async_trait::async_trait;
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate::Unavailable;
use tokengate::store::{NewFamily, RevocationFuture, Rotation, Throttle, TokenRef};
use tokengate::{
    Algorithm, AuthRouter, BoxError, Claims, Gate, Issuer, Key, KeyRing, MemoryStore, PasswordHash,
    Passwords, Revocation, Sessions, Store, ThrottlePolicy, UserDirectory, UserRecord, Verifier,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// ----- an in-memory user directory -----

/// The application's claim the `/tenant` route reads.
#[derive(Clone, serde::Deserialize)]
struct Tenant {
    tenant_id: String,
}

#[derive(Default)]
struct Users {
    /// username → record
    by_name: Mutex<HashMap<String, UserRecord>>,
    hash_updates: AtomicUsize,
    /// When set, every lookup fails (the database is down).
    down: AtomicBool,
    /// subject → the application's claims for that user's tokens.
    claims: Mutex<HashMap<String, tokengate::AppClaims>>,
}

impl Users {
    fn insert(&self, username: &str, record: UserRecord) {
        self.by_name
            .lock()
            .unwrap()
            .insert(username.to_owned(), record);
    }

    fn edit(&self, username: &str, f: impl FnOnce(&mut UserRecord)) {
        f(self.by_name.lock().unwrap().get_mut(username).unwrap());
    }

    fn hash_of(&self, username: &str) -> String {
        self.by_name.lock().unwrap()[username].password_hash.clone()
    }

    fn check_up(&self) -> Result<(), BoxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err("database unreachable".into());
        }
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for Users {
    async fn find_by_username(&self, username: &str) -> Result<Option<UserRecord>, BoxError> {
        self.check_up()?;
        Ok(self.by_name.lock().unwrap().get(username).cloned())
    }

    async fn find_by_subject(&self, subject: &str) -> Result<Option<UserRecord>, BoxError> {
        self.check_up()?;
        Ok(self
            .by_name
            .lock()
            .unwrap()
            .values()
            .find(|u| u.subject == subject)
            .cloned())
    }

    async fn update_password_hash(
        &self,
        subject: &str,
        hash: &PasswordHash,
    ) -> Result<(), BoxError> {
        let mut users = self.by_name.lock().unwrap();
        let user = users
            .values_mut()
            .find(|u| u.subject == subject)
            .ok_or("no such subject")?;
        user.password_hash = hash.as_str().to_owned();
        self.hash_updates.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn claims(&self, user: &UserRecord) -> Result<tokengate::AppClaims, BoxError> {
        self.check_up()?;
        Ok(self
            .claims
            .lock()
            .unwrap()
            .get(&user.subject)
            .cloned()
            .unwrap_or_default())
    }
}

// ----- a store that can go down -----

/// A [`MemoryStore`] that fails every call while `down` is set (Redis unreachable, say).
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), tokengate::Error> {
        if self.down.load(Ordering::SeqCst) {
            return Err(tokengate::Error::Unavailable(Unavailable::Store(
                "connection refused".into(),
            )));
        }
        Ok(())
    }
}

impl Revocation for Flaky {
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> RevocationFuture<'a> {
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err::<bool, BoxError>("connection refused".into()) });
        }
        self.inner.is_revoked(token)
    }
}

#[async_trait]
impl Store for Flaky {
    async fn revoke_token(&self, jti: &str, exp: i64) -> Result<(), tokengate::Error> {
        self.check()?;
        self.inner.revoke_token(jti, exp).await
    }
    async fn create_family(&self, family: NewFamily) -> Result<(), tokengate::Error> {
        self.check()?;
        self.inner.create_family(family).await
    }
    async fn rotate(
        &self,
        family: &str,
        presented: &str,
        next: &str,
    ) -> Result<Rotation, tokengate::Error> {
        self.check()?;
        self.inner.rotate(family, presented, next).await
    }
    async fn revoke_family(&self, family: &str) -> Result<bool, tokengate::Error> {
        self.check()?;
        self.inner.revoke_family(family).await
    }
    async fn revoke_subject(
        &self,
        sub: &str,
        cutoff: i64,
        keep_until: i64,
    ) -> Result<(), tokengate::Error> {
        self.check()?;
        self.inner.revoke_subject(sub, cutoff, keep_until).await
    }
    async fn record_failure(
        &self,
        key: &str,
        policy: &ThrottlePolicy,
    ) -> Result<Throttle, tokengate::Error> {
        self.check()?;
        self.inner.record_failure(key, policy).await
    }
    async fn throttle(&self, key: &str) -> Result<Throttle, tokengate::Error> {
        self.check()?;
        self.inner.throttle(key).await
    }
    async fn reset_failures(&self, key: &str) -> Result<(), tokengate::Error> {
        self.check()?;
        self.inner.reset_failures(key).await
    }
}

// ----- the server -----

fn small_passwords() -> Passwords {
    Passwords::builder()
        .memory_kib(256)
        .iterations(1)
        .workers(2)
        .build()
        .unwrap()
}

struct Options {
    passwords: Passwords,
    account: ThrottlePolicy,
    client: ThrottlePolicy,
    /// Serve with `ConnectInfo<SocketAddr>` (the client address).
    connect_info: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            passwords: small_passwords(),
            account: ThrottlePolicy::ACCOUNT,
            client: ThrottlePolicy::CLIENT,
            connect_info: true,
        }
    }
}

struct Server {
    addr: SocketAddr,
    http: reqwest::Client,
    users: Arc<Users>,
    passwords: Passwords,
    store: Arc<Flaky>,
}

impl Server {
    async fn start(options: Options) -> Self {
        init_logs();
        let flaky = Arc::new(Flaky::default());
        let store: Arc<dyn Store> = flaky.clone();
        let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[42; 32]).unwrap()).unwrap();
        let issuer = Issuer::builder(ring.clone())
            .issuer("https://auth.test")
            .audience("mobile")
            .build()
            .unwrap();
        let verifier = Verifier::builder(ring)
            .issuer("https://auth.test")
            .audience("mobile")
            .revocation(store.clone())
            .build()
            .unwrap();
        let sessions = Sessions::builder(issuer, verifier.clone(), store)
            .build()
            .unwrap();
        let gate = Gate::new(verifier);
        let users = Arc::new(Users::default());
        let auth = AuthRouter::builder(
            sessions,
            options.passwords.clone(),
            users.clone(),
            gate.clone(),
        )
        .account_throttle(options.account)
        .client_throttle(options.client)
        .build()
        .unwrap();
        let app = Router::new()
            .route("/me", get(|claims: Claims| async move { Json(claims) }))
            .route(
                "/tenant",
                get(|claims: Claims<Tenant>| async move { claims.extra.tenant_id }),
            )
            .nest("/auth", auth.router())
            .with_state(gate);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        if options.connect_info {
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
                .unwrap();
            });
        } else {
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        Self {
            addr,
            http: reqwest::Client::new(),
            users,
            passwords: options.passwords,
            store: flaky,
        }
    }

    async fn add_user(&self, username: &str, password: &str, roles: &[&str]) {
        let hash = self.passwords.hash(password).await.unwrap();
        self.users.insert(
            username,
            UserRecord {
                subject: format!("sub-{username}"),
                password_hash: hash.into_string(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                permissions: vec![],
                disabled: false,
            },
        );
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path))
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post("/auth/login")
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post("/auth/refresh")
            .json(&json!({ "refresh_token": refresh_token }))
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }
}

/// A successful token answer: RFC 6749 §5.1 shape, not cacheable. Returns (access, refresh).
async fn tokens(response: reqwest::Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// A JSON error answer with this status and `error` code; returns the body.
async fn refused(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

// ----- captured logs -----

/// Installs the binary's one capturing subscriber (see `support::logs`).
fn init_logs() {
    captured();
}

fn logged() -> String {
    captured().text()
}

// ----- the mobile client's life -----

#[tokio::test]
async fn mobile_client_login_refresh_reuse_logout() {
    let s = Server::start(Options::default()).await;
    s.add_user("mia", "längeres Passwort 🔑 with spaces", &["viewer"])
        .await;

    // Log in, call a guarded route.
    let (access1, refresh1) =
        tokens(s.login("mia", "längeres Passwort 🔑 with spaces").await).await;
    let me = s.me(&access1).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["sub"], "sub-mia");
    assert_eq!(me["roles"], json!(["viewer"]));

    // Roles changed since: the refresh re-reads the user.
    s.users.edit("mia", |u| u.roles = vec!["editor".to_owned()]);
    let (access2, refresh2) = tokens(s.refresh(&refresh1).await).await;
    let me: Value = s.me(&access2).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["editor"]));

    // The spent refresh token is refused — and its reuse revokes the whole family...
    refused(
        s.refresh(&refresh1).await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    // ...so the newest access token and the newest refresh token stop working too.
    let me = s.me(&access2).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(
        me.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    refused(
        s.refresh(&refresh2).await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;

    // A new login, then logout: the access token and its refresh token are refused.
    let (access3, refresh3) =
        tokens(s.login("mia", "längeres Passwort 🔑 with spaces").await).await;
    assert_eq!(s.me(&access3).await.status(), StatusCode::OK);
    let out = s
        .post("/auth/logout")
        .bearer_auth(&access3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(out.headers()["cache-control"], "no-store");
    let me = s.me(&access3).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    refused(
        s.refresh(&refresh3).await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    // Logging out again with the dead token is the gate's 401.
    let again = s
        .post("/auth/logout")
        .bearer_auth(&access3)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_needs_a_valid_access_token() {
    let s = Server::start(Options::default()).await;
    s.add_user("lou", "pw-lou", &[]).await;
    let (access, refresh) = tokens(s.login("lou", "pw-lou").await).await;

    // No token: the bare challenge.
    let none = s.post("/auth/logout").send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["cache-control"], "no-store");
    assert_eq!(none.headers()["www-authenticate"], r#"Bearer realm="api""#);
    // A refresh token is not an access token.
    let wrong = s
        .post("/auth/logout")
        .bearer_auth(&refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    // Neither refusal logged anyone out.
    assert_eq!(s.me(&access).await.status(), StatusCode::OK);
    tokens(s.refresh(&refresh).await).await;
}

#[tokio::test]
async fn refresh_refuses_wrong_type_and_garbage_as_invalid_grant() {
    let s = Server::start(Options::default()).await;
    s.add_user("rex", "pw-rex", &[]).await;
    let (access, _) = tokens(s.login("rex", "pw-rex").await).await;
    for token in [access.as_str(), "not.a.token", "abc"] {
        refused(
            s.refresh(token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
    }
}

// ----- credentials in every form -----

#[tokio::test]
async fn json_form_and_basic_logins() {
    let s = Server::start(Options::default()).await;
    s.add_user("ana", "p@ss:word with colon", &[]).await;
    let password = "p@ss:word with colon";

    tokens(s.login("ana", password).await).await;
    // JSON with grant_type and an unknown member.
    tokens(
        s.post("/auth/login")
            .json(&json!({"grant_type": "password", "username": "ana", "password": password, "client_id": "app"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A form, with and without grant_type (RFC 6749 §4.3).
    for form in [
        vec![("username", "ana"), ("password", password)],
        vec![
            ("grant_type", "password"),
            ("username", "ana"),
            ("password", password),
        ],
    ] {
        tokens(s.post("/auth/login").form(&form).send().await.unwrap()).await;
    }
    // HTTP Basic, without a body and with a grant_type-only form.
    tokens(
        s.post("/auth/login")
            .basic_auth("ana", Some(password))
            .send()
            .await
            .unwrap(),
    )
    .await;
    tokens(
        s.post("/auth/login")
            .basic_auth("ana", Some(password))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A refresh as a form too.
    let (_, refresh) = tokens(s.login("ana", password).await).await;
    tokens(
        s.post("/auth/refresh")
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Wrong password through each transport: the same 401.
    refused(
        s.post("/auth/login")
            .basic_auth("ana", Some("nope"))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    refused(
        s.post("/auth/login")
            .form(&[("username", "ana"), ("password", "nope")])
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
}

/// (path, content type, body, extra headers, status, error code)
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    String,
    Vec<(&'a str, String)>,
    u16,
    &'a str,
);

#[tokio::test]
async fn malformed_requests_get_exact_4xx_json_errors() {
    let s = Server::start(Options::default()).await;
    s.add_user("max", "pw-max", &[]).await;
    let json_ct = "application/json";
    let form_ct = "application/x-www-form-urlencoded";
    let long_user = "u".repeat(257);
    let long_password = "p".repeat(1025);
    let too_big = format!(
        r#"{{"username":"max","password":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let cases: Vec<Case<'_>> = vec![
        // (path, content type, body, extra headers, status, error)
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"["max","pw-max"]"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#""max""#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"max"}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"password":"pw-max"}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":7,"password":"pw-max"}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"max","password":null}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"max","username":"x","password":"pw-max"}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"","password":"pw-max"}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            format!(r#"{{"username":"{long_user}","password":"pw-max"}}"#),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            format!(r#"{{"username":"max","password":"{long_password}"}}"#),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"grant_type":"client_credentials","username":"max","password":"pw-max"}"#.into(),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            "/auth/login",
            Some(json_ct),
            "".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            too_big.clone(),
            vec![],
            413,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(form_ct),
            "username=max".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(form_ct),
            "username=max&username=x&password=pw-max".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(form_ct),
            "grant_type=refresh_token&username=max&password=pw-max".into(),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            "/auth/login",
            Some("text/plain"),
            "username=max&password=pw-max".into(),
            vec![],
            415,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some("application/xml"),
            "<login/>".into(),
            vec![],
            415,
            "invalid_request",
        ),
        (
            "/auth/login",
            None,
            r#"{"username":"max","password":"pw-max"}"#.into(),
            vec![],
            415,
            "invalid_request",
        ),
        (
            "/auth/login",
            None,
            "".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            None,
            "".into(),
            vec![("authorization", "Basic !!!".into())],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            None,
            "".into(),
            vec![("authorization", "Basic bWF4".into())],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            Some(json_ct),
            r#"{"username":"max","password":"pw-max"}"#.into(),
            vec![("authorization", "Basic bWF4OnB3LW1heA==".into())],
            400,
            "invalid_request",
        ),
        (
            "/auth/login",
            None,
            "".into(),
            vec![
                ("authorization", "Basic bWF4OnB3LW1heA==".into()),
                ("authorization", "Basic bWF4OnB3LW1heA==".into()),
            ],
            400,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some(json_ct),
            "{}".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some(json_ct),
            r#"{"refresh_token":""}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some(json_ct),
            r#"{"refresh_token":42}"#.into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some(json_ct),
            r#"{"grant_type":"password","refresh_token":"a.b.c"}"#.into(),
            vec![],
            400,
            "unsupported_grant_type",
        ),
        (
            "/auth/refresh",
            Some(form_ct),
            "".into(),
            vec![],
            400,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some("text/plain"),
            "a.b.c".into(),
            vec![],
            415,
            "invalid_request",
        ),
        (
            "/auth/refresh",
            Some(json_ct),
            too_big,
            vec![],
            413,
            "invalid_request",
        ),
    ];
    for (i, (path, ct, body, headers, status, code)) in cases.into_iter().enumerate() {
        let mut request = s.post(path).body(body);
        if let Some(ct) = ct {
            request = request.header("content-type", ct);
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "case {i}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "case {i}: {body}");
        assert!(body["error_description"].is_string(), "case {i}");
    }

    // Another method: 405 with a JSON body and `Allow`.
    let get = s.http.get(s.url("/auth/login")).send().await.unwrap();
    assert_eq!(get.headers()["allow"], "POST");
    refused(get, StatusCode::METHOD_NOT_ALLOWED, "invalid_request").await;

    // None of these counted as a failed login: the account is not locked.
    tokens(s.login("max", "pw-max").await).await;
}

/// A chunked body (no `Content-Length`) over the limit is cut off at the limit: 413.
#[tokio::test]
async fn oversized_chunked_body_is_413() {
    let s = Server::start(Options::default()).await;
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let mut request = Vec::new();
    write!(
        request,
        "POST /auth/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    for _ in 0..20 {
        let chunk = "x".repeat(1024);
        write!(request, "{:x}\r\n{chunk}\r\n", chunk.len()).unwrap();
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""error":"invalid_request""#), "{answer}");
}

// ----- throttling -----

#[tokio::test]
async fn account_locks_after_ten_failures_with_retry_after() {
    let s = Server::start(Options::default()).await;
    s.add_user("tom", "pw-tom", &[]).await;
    s.add_user("amy", "pw-amy", &[]).await;
    for _ in 0..10 {
        refused(
            s.login("tom", "guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
    }
    // Locked: even the right password gets 429, before any password work.
    let locked = s.login("tom", "pw-tom").await;
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    refused(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // Another account from the same address is not affected (the address budget is 100).
    tokens(s.login("amy", "pw-amy").await).await;
    // The lock-out is per account whatever the spelling of its name.
    let shouting = s.login("TOM", "pw-tom").await;
    assert_eq!(shouting.status(), StatusCode::TOO_MANY_REQUESTS);

    // An unknown username locks the same way (a lock-out says nothing about existence).
    for _ in 0..10 {
        refused(
            s.login("nobody", "guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
    }
    assert_eq!(
        s.login("nobody", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn success_resets_the_account_counter() {
    let s = Server::start(Options::default()).await;
    s.add_user("sam", "pw-sam", &[]).await;
    for _ in 0..2 {
        for _ in 0..9 {
            refused(
                s.login("sam", "guess").await,
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
            )
            .await;
        }
        // 9 + 9 failures would have locked the account at the 10th without the reset.
        tokens(s.login("sam", "pw-sam").await).await;
    }
}

#[tokio::test]
async fn client_address_budget_locks_every_account_from_it() {
    let s = Server::start(Options {
        client: ThrottlePolicy {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
        },
        ..Options::default()
    })
    .await;
    s.add_user("kim", "pw-kim", &[]).await;
    // X-Forwarded-For is not trusted: the three failures all count for 127.0.0.1.
    for (name, forwarded) in [
        ("a", "198.51.100.1"),
        ("b", "198.51.100.2"),
        ("c", "198.51.100.3"),
    ] {
        refused(
            s.post("/auth/login")
                .header("x-forwarded-for", forwarded)
                .json(&json!({"username": name, "password": "guess"}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
    }
    // Three accounts, one failure each: the address is locked, even for a right password.
    let locked = s.login("kim", "pw-kim").await;
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    refused(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

#[tokio::test]
async fn invalid_tokens_never_count_as_login_failures() {
    let s = Server::start(Options {
        client: ThrottlePolicy {
            max_failures: 2,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        },
        ..Options::default()
    })
    .await;
    s.add_user("ivy", "pw-ivy", &[]).await;
    for _ in 0..5 {
        refused(
            s.refresh("garbage.refresh.token").await,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
        let out = s
            .post("/auth/logout")
            .bearer_auth("garbage.access.token")
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(s.me("garbage.access.token").await.status(), 401);
    }
    tokens(s.login("ivy", "pw-ivy").await).await;
}

// ----- disabled users, rehash -----

#[tokio::test]
async fn disabled_user_can_neither_log_in_nor_refresh() {
    let s = Server::start(Options::default()).await;
    s.add_user("dan", "pw-dan", &[]).await;
    let (access, refresh) = tokens(s.login("dan", "pw-dan").await).await;
    let wrong = refused(
        s.login("dan", "wrong").await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;

    s.users.edit("dan", |u| u.disabled = true);
    // The right password of a disabled user: the very same answer as a wrong password.
    let disabled = refused(
        s.login("dan", "pw-dan").await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    assert_eq!(disabled, wrong);
    refused(
        s.refresh(&refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    // The refusal ended the session: its access token is refused, and re-enabling the user does
    // not bring the session back.
    assert_eq!(s.me(&access).await.status(), StatusCode::UNAUTHORIZED);
    s.users.edit("dan", |u| u.disabled = false);
    refused(
        s.refresh(&refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    tokens(s.login("dan", "pw-dan").await).await;
}

#[tokio::test]
async fn login_rehashes_a_hash_with_old_parameters() {
    let s = Server::start(Options::default()).await; // memory_kib 256, t = 1
    let old = Passwords::builder()
        .memory_kib(128)
        .iterations(2)
        .workers(1)
        .build()
        .unwrap();
    let old_hash = old.hash("pw-ole").await.unwrap().into_string();
    s.users.insert(
        "ole",
        UserRecord {
            subject: "sub-ole".into(),
            password_hash: old_hash.clone(),
            roles: vec![],
            permissions: vec![],
            disabled: false,
        },
    );
    assert!(s.passwords.needs_rehash(&old_hash).unwrap());

    // A failed login does not rehash.
    refused(
        s.login("ole", "wrong").await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    assert_eq!(s.users.hash_updates.load(Ordering::SeqCst), 0);

    tokens(s.login("ole", "pw-ole").await).await;
    let new_hash = s.users.hash_of("ole");
    assert_ne!(new_hash, old_hash, "the old hash is no longer stored");
    assert!(new_hash.contains("m=256,t=1,p=1"), "{new_hash}");
    assert!(!s.passwords.needs_rehash(&new_hash).unwrap());
    assert_eq!(s.users.hash_updates.load(Ordering::SeqCst), 1);

    // The new hash verifies; logging in again does not rehash again.
    tokens(s.login("ole", "pw-ole").await).await;
    assert_eq!(s.users.hash_of("ole"), new_hash);
    assert_eq!(s.users.hash_updates.load(Ordering::SeqCst), 1);
}

// ----- equal answers -----

/// Status, headers (all but `Date`) and body of a response.
async fn answer(response: reqwest::Response) -> (u16, Vec<(String, Vec<u8>)>, Vec<u8>) {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, Vec<u8>)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    headers.sort();
    let body = response.bytes().await.unwrap().to_vec();
    (status, headers, body)
}

/// With realistic argon2 parameters (the OWASP defaults), an unknown user, a wrong password and a
/// disabled user's right password get byte-identical answers.
#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_answer_identically() {
    let s = Server::start(Options {
        passwords: Passwords::builder().workers(2).build().unwrap(),
        ..Options::default()
    })
    .await;
    s.add_user("eve", "pw-eve-correct", &[]).await;
    s.add_user("off", "pw-off-correct", &[]).await;
    s.users.edit("off", |u| u.disabled = true);

    let unknown = answer(s.login("no-such-user", "pw-eve-correct").await).await;
    let wrong = answer(s.login("eve", "not-the-password").await).await;
    let disabled = answer(s.login("off", "pw-off-correct").await).await;
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert_eq!(unknown, disabled);
    let body: Value = serde_json::from_slice(&unknown.2).unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

// ----- infrastructure failures -----

#[tokio::test]
async fn directory_down_is_503_and_not_a_failure() {
    let s = Server::start(Options {
        account: ThrottlePolicy {
            max_failures: 1,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        },
        ..Options::default()
    })
    .await;
    s.add_user("joe", "pw-joe", &[]).await;
    let (_, refresh) = tokens(s.login("joe", "pw-joe").await).await;
    s.users.down.store(true, Ordering::SeqCst);
    refused(
        s.login("joe", "pw-joe").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    refused(
        s.refresh(&refresh).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    s.users.down.store(false, Ordering::SeqCst);
    // Neither the outage (one-failure policy) nor the failed refresh spent anything.
    tokens(s.refresh(&refresh).await).await;
    tokens(s.login("joe", "pw-joe").await).await;
}

#[tokio::test]
async fn saturated_password_pool_is_503_with_retry_after() {
    // One hashing thread, no queue, realistic cost: concurrent logins beyond one are refused.
    let s = Server::start(Options {
        passwords: Passwords::builder().workers(1).queue(0).build().unwrap(),
        ..Options::default()
    })
    .await;
    s.add_user("zoe", "pw-zoe", &[]).await;
    let attempts = (0..6).map(|_| s.login("zoe", "pw-zoe"));
    let responses = futures_util::future::join_all(attempts).await;
    let mut busy = 0;
    let mut ok = 0;
    for r in responses {
        match r.status() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(r.headers()["retry-after"], "1");
                refused(
                    r,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                )
                .await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
}

// ----- logs -----

#[tokio::test]
async fn logs_name_the_subject_on_success_and_nothing_secret() {
    let s = Server::start(Options::default()).await;
    let hash = s.passwords.hash("pw-logan-secret-91c2").await.unwrap();
    s.users.insert(
        "logan-7f3a",
        UserRecord {
            subject: "u-0042".into(),
            password_hash: hash.into_string(),
            roles: vec![],
            permissions: vec![],
            disabled: false,
        },
    );
    refused(
        s.login("typed-name-55e1", "typed-password-0b9d").await,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
    )
    .await;
    let (access, refresh) = tokens(s.login("logan-7f3a", "pw-logan-secret-91c2").await).await;
    let (access2, refresh2) = tokens(s.refresh(&refresh).await).await;
    let _ = s.refresh(&refresh).await; // reuse
    let out = s
        .post("/auth/logout")
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::UNAUTHORIZED); // the reuse ended the session

    let logs = logged();
    assert!(
        captured()
            .lines()
            .iter()
            .any(|l| l["fields"]["message"] == "login succeeded" && l["fields"]["sub"] == "u-0042"),
        "{logs}"
    );
    assert!(logs.contains("login refused: bad credentials"), "{logs}");
    for secret in [
        "typed-name-55e1",
        "typed-password-0b9d",
        "pw-logan-secret-91c2",
        "logan-7f3a", // the username as typed, even on success (the subject is logged)
        access.as_str(),
        refresh.as_str(),
        access2.as_str(),
        refresh2.as_str(),
        "$argon2id$",
    ] {
        assert!(!logs.contains(secret), "{secret} logged");
    }
}

#[tokio::test]
async fn corrupt_stored_hash_is_500_without_detail() {
    let s = Server::start(Options::default()).await;
    s.users.insert(
        "bad",
        UserRecord {
            subject: "sub-bad".into(),
            password_hash: "$argon2id$v=19$m=oops".into(),
            roles: vec![],
            permissions: vec![],
            disabled: false,
        },
    );
    let body = refused(
        s.login("bad", "whatever").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
    )
    .await;
    assert_eq!(body["error_description"], "internal error");
}

/// Asserts that `result` is the build error naming the missing revocation hook.
fn assert_needs_revocation<T: std::fmt::Debug>(result: Result<T, tokengate::Error>) {
    match result {
        Err(e @ tokengate::Error::Config { .. }) => {
            assert_eq!(e.setting(), Some("revocation"), "{e}");
        }
        other => panic!("expected Error::Config naming `revocation`, got {other:?}"),
    }
}

/// Regression: a verifier built without `.revocation(store)` (as the README's "In your service"
/// verifier was), `Sessions` and the ready router all built, and after logout the access token
/// kept verifying. Logout without a revocation hook is now a build error.
#[tokio::test]
async fn logout_without_a_revocation_hook_is_a_build_error() {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[2; 32]).unwrap()).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let issuer = Issuer::builder(ring.clone())
        .issuer("i")
        .audience("a")
        .build()
        .unwrap();
    let verifier = |hook: Option<Arc<dyn Store>>| {
        let mut b = Verifier::builder(ring.clone()).issuer("i").audience("a");
        if let Some(store) = hook {
            b = b.revocation(store);
        }
        b.build().unwrap()
    };
    let (bare, hooked) = (verifier(None), verifier(Some(store.clone())));

    // Sessions over a verifier without a hook.
    assert_needs_revocation(Sessions::builder(issuer.clone(), bare.clone(), store.clone()).build());
    // The router with a gate without a hook (the sessions' own verifier has one).
    let sessions = Sessions::builder(issuer, hooked.clone(), store)
        .build()
        .unwrap();
    let router = |gate: Gate| {
        AuthRouter::builder(
            sessions.clone(),
            small_passwords(),
            Arc::new(Users::default()),
            gate,
        )
        .build()
    };
    assert_needs_revocation(router(Gate::new(bare)));

    // Hooks everywhere: it builds, and a logged-out access token is refused.
    router(Gate::new(hooked.clone())).unwrap();
    let pair = sessions.start(tokengate::Grant::new("u-1")).await.unwrap();
    let claims: Claims = hooked.verify(&pair.access.token).await.unwrap();
    sessions.logout(&claims).await.unwrap();
    assert!(matches!(
        hooked
            .verify::<tokengate::NoExtra>(&pair.access.token)
            .await,
        Err(tokengate::Error::Token(tokengate::TokenError::Revoked))
    ));
}

#[tokio::test]
async fn builder_refuses_unusable_settings_and_applies_max_body_bytes() {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[1; 32]).unwrap()).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let issuer = Issuer::builder(ring.clone())
        .issuer("i")
        .audience("a")
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("i")
        .audience("a")
        .revocation(store.clone())
        .build()
        .unwrap();
    let sessions = Sessions::builder(issuer, verifier.clone(), store)
        .build()
        .unwrap();
    let builder = || {
        AuthRouter::builder(
            sessions.clone(),
            small_passwords(),
            Arc::new(Users::default()),
            Gate::new(verifier.clone()),
        )
    };
    let zero = ThrottlePolicy {
        max_failures: 0,
        ..ThrottlePolicy::ACCOUNT
    };
    let no_window = ThrottlePolicy {
        window: Duration::ZERO,
        ..ThrottlePolicy::CLIENT
    };
    for (result, setting) in [
        (builder().account_throttle(zero).build(), "account_throttle"),
        (
            builder().client_throttle(no_window).build(),
            "client_throttle",
        ),
        (builder().max_body_bytes(0).build(), "max_body_bytes"),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, tokengate::Error::Config { setting: s, .. } if s == setting),
            "{err}"
        );
    }

    // A small body limit applies to every route.
    let auth = builder().max_body_bytes(32).build().unwrap();
    let app: Router = Router::new().nest("/auth", auth.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    for path in ["/auth/login", "/auth/refresh"] {
        let r = http
            .post(format!("http://{addr}{path}"))
            .json(&json!({"username": "someone", "password": "p", "refresh_token": "t"}))
            .send()
            .await
            .unwrap();
        refused(r, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
    }
}

#[tokio::test]
async fn store_down_is_503_everywhere_and_nothing_is_lost() {
    let s = Server::start(Options::default()).await;
    s.add_user("una", "pw-una", &[]).await;
    let (access, refresh) = tokens(s.login("una", "pw-una").await).await;
    s.store.down.store(true, Ordering::SeqCst);
    refused(
        s.login("una", "pw-una").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    refused(
        s.refresh(&refresh).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    let out = s
        .post("/auth/logout")
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    refused(
        out,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    // The guarded route fails closed too.
    assert_eq!(
        s.me(&access).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    s.store.down.store(false, Ordering::SeqCst);
    // The session survived the outage untouched.
    assert_eq!(s.me(&access).await.status(), StatusCode::OK);
    tokens(s.refresh(&refresh).await).await;
}

/// Served without `ConnectInfo`, the router counts per account only (documented).
#[tokio::test]
async fn without_connect_info_only_accounts_are_counted() {
    let s = Server::start(Options {
        client: ThrottlePolicy {
            max_failures: 1,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        },
        connect_info: false,
        ..Options::default()
    })
    .await;
    s.add_user("nia", "pw-nia", &[]).await;
    for name in ["a", "b", "c"] {
        refused(
            s.login(name, "guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        )
        .await;
    }
    tokens(s.login("nia", "pw-nia").await).await;
}

// ----- the application's claims through the ready router -----

/// The directory's `claims` reach the tokens at login, and are read again at refresh: a changed
/// tenant and changed roles reach the refreshed token (the router used to mint only roles and
/// permissions, so apps rewrote login and refresh to carry a `tenant_id`).
#[tokio::test]
async fn the_ready_router_carries_the_apps_claims_and_rereads_them_at_refresh() {
    let s = Server::start(Options::default()).await;
    s.add_user("mia", "mia-password", &["viewer"]).await;
    let set_tenant = |tenant: &str| {
        s.users.claims.lock().unwrap().insert(
            "sub-mia".into(),
            [("tenant_id".to_owned(), json!(tenant))]
                .into_iter()
                .collect(),
        );
    };
    set_tenant("acme");
    let (access, refresh) = tokens(s.login("mia", "mia-password").await).await;
    let tenant = s
        .http
        .get(s.url("/tenant"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(tenant.status(), StatusCode::OK);
    assert_eq!(tenant.text().await.unwrap(), "acme");

    set_tenant("globex");
    s.users.edit("mia", |u| u.roles = vec!["admin".into()]);
    let (access2, _) = tokens(s.refresh(&refresh).await).await;
    let tenant = s
        .http
        .get(s.url("/tenant"))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(tenant.text().await.unwrap(), "globex");
    let me: Value = s
        .http
        .get(s.url("/me"))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["admin"]));

    // A token without the claim is refused by a handler that needs it, naming the claim.
    s.add_user("noel", "noel-password", &[]).await;
    let (plain, _) = tokens(s.login("noel", "noel-password").await).await;
    let refused = s
        .http
        .get(s.url("/tenant"))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error_description"], "claim `tenant_id` missing");
}

/// A directory that hands out a claim tokengate writes itself (`roles` here) cannot grant it: the
/// login fails (500, cause logged), no token is minted.
#[tokio::test]
async fn directory_claims_cannot_set_a_claim_tokengate_writes() {
    let s = Server::start(Options::default()).await;
    s.add_user("max", "max-password", &["viewer"]).await;
    s.users.claims.lock().unwrap().insert(
        "sub-max".into(),
        [("roles".to_owned(), json!(["admin"]))]
            .into_iter()
            .collect(),
    );
    let r = s.login("max", "max-password").await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "server_error");
    assert!(body.get("access_token").is_none());
}
