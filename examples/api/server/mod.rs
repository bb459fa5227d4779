//! The example server, as a library the binary (`main.rs`) and the integration tests share.

mod openapi;
mod routes;
mod settings;
mod users;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokengate::{
    AuthRouter, CookieConfig, Gate, Issuer, KeyRing, MemoryStore, Passwords, RoleHierarchy, Sessions, Store,
    Verifier,
};

pub use routes::AppState;
pub use settings::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, KeySource, SettingError, Settings};
pub use users::{DEMO_USERS, SqliteUsers};

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "tokengate-example";

/// A built application: the router and the handles tests reach into.
#[derive(Debug, Clone)]
pub struct App {
    /// The whole HTTP surface.
    pub router: axum::Router,
    /// The users table.
    pub users: SqliteUsers,
    /// The token machinery (issuer, verifier, store).
    pub sessions: Sessions,
}

/// Builds the application from its settings: key ring, issuer, verifier, store, users, routes.
///
/// # Errors
/// A one-line message naming the setting that cannot be used.
pub async fn build(settings: Settings, passwords: Passwords) -> Result<App, String> {
    match &settings.key_source {
        KeySource::Development => tracing::warn!(
            kid = settings.key.kid(),
            "JWT_SECRET and JWT_KEY_FILE are unset: signing with the development key from keys/ \
             — a development key that is public in the repository; never use it in production"
        ),
        KeySource::Secret => tracing::info!(alg = ?settings.key.algorithm(), "signing with JWT_SECRET"),
        KeySource::File(path) => {
            tracing::info!(alg = ?settings.key.algorithm(), kid = settings.key.kid(), path, "signing with JWT_KEY_FILE");
        }
    }
    let ring = Arc::new(KeyRing::new(settings.key).map_err(|e| format!("key: {e}"))?);
    let store: Arc<dyn Store> = match &settings.redis_url {
        None => Arc::new(MemoryStore::new()),
        Some(_) => {
            return Err("REDIS_URL: this build of the example has no Redis store yet; unset REDIS_URL".into());
        }
    };
    let issuer = Issuer::builder(Arc::clone(&ring))
        .issuer(&settings.issuer)
        .audience(&settings.audience)
        .access_ttl(Duration::from_secs(15 * 60))
        .build()
        .map_err(|e| format!("JWT_ISSUER/JWT_AUDIENCE: {e}"))?;
    let verifier = Verifier::builder(Arc::clone(&ring))
        .issuer(&settings.issuer)
        .audience(&settings.audience)
        .revocation(store.clone())
        .build()
        .map_err(|e| format!("JWT_ISSUER/JWT_AUDIENCE: {e}"))?;
    let roles = RoleHierarchy::builder()
        .role("admin", ["editor"])
        .role("editor", ["viewer"])
        .build()
        .map_err(|e| format!("role hierarchy: {e}"))?;
    let mut cookies = CookieConfig::builder().secure(settings.cookie_secure);
    if let Some(secret) = &settings.csrf_secret {
        cookies = cookies.csrf_secret(secret.as_bytes());
    }
    let cookies = cookies
        .build()
        .map_err(|e| format!("COOKIE_SECURE/CSRF_SECRET: {e}"))?;
    let gate = Gate::builder(verifier.clone())
        .realm(REALM)
        .roles(roles)
        .cookies(cookies)
        .build()
        .map_err(|e| format!("realm: {e}"))?;
    let sessions = Sessions::builder(issuer, verifier, store)
        .build()
        .map_err(|e| format!("sessions: {e}"))?;
    let users = SqliteUsers::open(&settings.database_url, &passwords).await?;
    let auth = AuthRouter::builder(sessions.clone(), passwords, Arc::new(users.clone()), gate.clone())
        .build()
        .map_err(|e| format!("auth router: {e}"))?;
    let state = AppState::new(gate, users.clone(), &ring);
    let router = routes::router(state, auth);
    Ok(App { router, users, sessions })
}

/// Binds `settings.bind` and serves until `shutdown` completes, then drains open requests.
///
/// # Errors
/// A one-line message naming the setting that cannot be used (`BIND` when the address cannot be
/// listened on).
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    let passwords = Passwords::builder().build().map_err(|e| format!("passwords: {e}"))?;
    let bind = settings.bind;
    let app = build(settings, passwords).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("BIND: cannot listen on {bind}: {e}"))?;
    tracing::info!(addr = %bind, "listening");
    axum::serve(
        listener,
        app.router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

/// Structured logs on stderr; `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` for JSON.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
