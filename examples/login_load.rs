//! A minimal server for `scripts/load-login.sh`: one user, one token-protected route, the `/auth`
//! router, OWASP argon2id parameters. Not a template for a real service (the HMAC secret is a
//! constant).
//!
//! `BIND` (default `127.0.0.1:3900`); the password pool from `HASH_WORKERS` (default: the cores
//! this process may run on), `HASH_QUEUE` (default 16 per worker) and `HASH_LOW_PRIORITY`
//! (default 1: nice 19). The user is `load` / `load-test-password`.
//!
//! `GET /protected` answers the caller's `sub`; `POST /auth/login` logs in.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use tokengate::{
    Algorithm, AuthRouter, BoxError, Claims, Gate, Issuer, Key, KeyRing, MemoryStore, Passwords,
    Sessions, Store, UserDirectory, UserRecord, Verifier,
};

/// The only user.
struct OneUser(UserRecord);

#[tokengate::async_trait]
impl UserDirectory for OneUser {
    async fn find_by_username(&self, username: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok((username == "load").then(|| self.0.clone()))
    }

    async fn find_by_subject(&self, subject: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok((subject == self.0.subject).then(|| self.0.clone()))
    }
}

fn env_usize(name: &str) -> Result<Option<usize>, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}: not a number: {v}")),
        Err(_) => Ok(None),
    }
}

async fn run() -> Result<(), String> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3900".into())
        .parse()
        .map_err(|e| format!("BIND: {e}"))?;
    let mut passwords = Passwords::builder();
    if let Some(n) = env_usize("HASH_WORKERS")? {
        passwords = passwords.workers(n);
    }
    if let Some(n) = env_usize("HASH_QUEUE")? {
        passwords = passwords.queue(n);
    }
    if std::env::var("HASH_LOW_PRIORITY").is_ok_and(|v| v == "0") {
        passwords = passwords.low_priority(false);
    }
    let passwords = passwords.build().map_err(|e| format!("passwords: {e}"))?;

    let ring = KeyRing::new(
        Key::from_secret(Algorithm::HS256, b"login-load-example-secret-32-b!!")
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let issuer = Issuer::builder(ring.clone())
        .issuer("login-load")
        .audience("api")
        .build()
        .map_err(|e| e.to_string())?;
    let verifier = Verifier::builder(ring)
        .issuer("login-load")
        .audience("api")
        .revocation(store.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let sessions = Sessions::builder(issuer, verifier.clone(), store)
        .build()
        .map_err(|e| e.to_string())?;
    let gate = Gate::new(verifier);
    let user = UserRecord {
        subject: "load-user".into(),
        password_hash: passwords
            .hash("load-test-password")
            .await
            .map_err(|e| e.to_string())?
            .into_string(),
        roles: vec!["viewer".into()],
        permissions: vec![],
        disabled: false,
    };
    eprintln!("{passwords:?}");
    let auth = AuthRouter::builder(sessions, passwords, Arc::new(OneUser(user)), gate.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/protected", get(|c: Claims| async move { Json(c.sub) }))
        .nest("/auth", auth.router())
        .with_state(gate);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("BIND: {e}"))?;
    eprintln!("listening on {bind}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
