//! `Auth`: one builder wires the whole service, with logout that works.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use http::StatusCode;
use serde_json::{Value, json};

use tokengate::{
    Algorithm, AppClaims, Auth, BoxError, Claims, Error, Key, KeyRing, Passwords, RequireRole,
    UserDirectory, UserRecord,
};

tokengate::role!(Admin = "admin");

#[derive(Clone, serde::Deserialize)]
struct Tenant {
    tenant_id: String,
}

struct Users(UserRecord);

#[tokengate::async_trait]
impl UserDirectory for Users {
    async fn find_by_username(&self, name: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok((name == "alice").then(|| self.0.clone()))
    }
    async fn find_by_subject(&self, sub: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok((sub == self.0.subject).then(|| self.0.clone()))
    }
    async fn claims(&self, _: &UserRecord) -> Result<AppClaims, BoxError> {
        Ok([("tenant_id".to_owned(), json!("acme"))]
            .into_iter()
            .collect())
    }
}

fn ring() -> KeyRing {
    KeyRing::new(Key::from_secret(Algorithm::HS256, &[5u8; 32]).unwrap()).unwrap()
}

fn passwords() -> Passwords {
    Passwords::builder()
        .memory_kib(256)
        .iterations(1)
        .build()
        .unwrap()
}

#[tokio::test]
async fn one_builder_wires_login_guards_app_claims_and_a_logout_that_revokes() {
    let passwords = passwords();
    let alice = UserRecord {
        subject: "u-1".into(),
        password_hash: passwords.hash("alice-pw").await.unwrap().into_string(),
        roles: vec!["admin".into()],
        permissions: vec![],
        disabled: false,
    };
    let auth = Auth::builder(ring())
        .issuer("https://auth.test")
        .audience("api")
        .users(Arc::new(Users(alice)))
        .passwords(passwords)
        .realm("svc")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/admin", get(|_: RequireRole<Admin>| async { "admin" }))
        .route(
            "/tenant",
            get(|c: Claims<Tenant>| async move { c.extra.tenant_id }),
        )
        .nest("/auth", auth.router())
        .with_state(auth.gate());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");

    let login: Value = http
        .post(url("/auth/login"))
        .json(&json!({"username": "alice", "password": "alice-pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_owned();
    let get = |path: &'static str, token: &str| http.get(url(path)).bearer_auth(token).send();
    assert_eq!(
        get("/admin", &access).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/tenant", &access).await.unwrap().text().await.unwrap(),
        "acme"
    );

    let out = http
        .post(url("/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = get("/admin", &access).await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        after.headers()["www-authenticate"],
        r#"Bearer realm="svc", error="invalid_token", error_description="token revoked""#
    );
    // The parts agree: a token the issuer mints verifies with the verifier.
    let minted = auth
        .issuer()
        .issue_access(&tokengate::Grant::new("bob"))
        .unwrap();
    let claims: Claims = auth.verifier().verify(&minted.token).await.unwrap();
    assert_eq!(claims.sub, "bob");
}

#[test]
fn an_incomplete_setup_is_refused_naming_what_is_missing() {
    let users = || -> Arc<dyn UserDirectory> {
        Arc::new(Users(UserRecord {
            subject: "u".into(),
            password_hash: String::new(),
            roles: vec![],
            permissions: vec![],
            disabled: false,
        }))
    };
    let setting = |r: Result<Auth, Error>| match r {
        Err(Error::Config { setting, .. }) => setting.into_owned(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        setting(Auth::builder(ring()).audience("api").users(users()).build()),
        "issuer"
    );
    assert_eq!(
        setting(Auth::builder(ring()).issuer("i").users(users()).build()),
        "audience"
    );
    assert_eq!(
        setting(Auth::builder(ring()).issuer("i").audience("api").build()),
        "users"
    );
    assert_eq!(
        setting(
            Auth::builder(ring())
                .issuer("i")
                .audience("api")
                .users(users())
                .realm("bad \"realm\"")
                .passwords(passwords())
                .build()
        ),
        "realm"
    );
}
