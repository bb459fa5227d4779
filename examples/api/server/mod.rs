//! The example server, as a library the binary (`main.rs`) and the integration tests share.

mod openapi;
mod routes;
mod settings;
mod users;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokengate::{
    AuthRouter, CookieConfig, Gate, Issuer, KeyRing, MemoryStore, Passwords, RedisStore,
    RoleHierarchy, Sessions, Store, Verifier,
};

pub(crate) use routes::AppState;
pub(crate) use settings::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, KeySource, Settings};
pub(crate) use users::SqliteUsers;

/// The realm named in `WWW-Authenticate` challenges.
pub(crate) const REALM: &str = "tokengate-example";

/// A built application: the router and the handles tests reach into.
#[derive(Debug, Clone)]
pub(crate) struct App {
    /// The whole HTTP surface.
    pub(crate) router: axum::Router,
    /// The users table.
    pub(crate) users: SqliteUsers,
    /// The token machinery (issuer, verifier, store).
    pub(crate) sessions: Sessions,
}

/// Builds the application from its settings: key ring, issuer, verifier, store, users, routes.
///
/// # Errors
/// A one-line message naming the setting that cannot be used.
pub(crate) async fn build(settings: Settings, passwords: Passwords) -> Result<App, String> {
    match &settings.key_source {
        KeySource::Development => tracing::warn!(
            kid = settings.key.kid(),
            "JWT_SECRET and JWT_KEY_FILE are unset: signing with the development key from keys/ \
             — a development key that is public in the repository; never use it in production"
        ),
        KeySource::Secret => {
            tracing::info!(alg = ?settings.key.algorithm(), "signing with JWT_SECRET")
        }
        KeySource::File(path) => {
            tracing::info!(alg = ?settings.key.algorithm(), kid = settings.key.kid(), path, "signing with JWT_KEY_FILE");
        }
    }
    let ring = Arc::new(KeyRing::new(settings.key).map_err(|e| format!("key: {e}"))?);
    let store: Arc<dyn Store> = match &settings.redis_url {
        None => {
            let memory = MemoryStore::new();
            // Expired revocations, families and counters leave memory once a minute.
            drop(memory.spawn_purger(Duration::from_secs(60)));
            Arc::new(memory)
        }
        Some(url) => {
            // Refuses to start when Redis cannot be reached or the URL is unusable; once running,
            // an outage answers 503 for requests whose revocation state is unknown (fail closed)
            // and recovers by itself. The error never repeats the URL (it may hold a password).
            let redis = RedisStore::connect(url.as_str())
                .await
                .map_err(|e| format!("REDIS_URL: {}", settings::describe(&e)))?;
            tracing::info!("using the Redis store");
            Arc::new(redis)
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
    let auth = AuthRouter::builder(
        sessions.clone(),
        passwords,
        Arc::new(users.clone()),
        gate.clone(),
    )
    .build()
    .map_err(|e| format!("auth router: {e}"))?;
    let state = AppState::new(gate, users.clone(), &ring);
    let router = routes::router(state, auth);
    Ok(App {
        router,
        users,
        sessions,
    })
}

/// Binds `settings.bind` and serves until `shutdown` completes, then drains open requests.
///
/// # Errors
/// A one-line message naming the setting that cannot be used (`BIND` when the address cannot be
/// listened on).
pub(crate) async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let passwords = Passwords::builder()
        .build()
        .map_err(|e| format!("passwords: {e}"))?;
    let bind = settings.bind;
    let app = build(settings, passwords).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("BIND: cannot listen on {bind}: {e}"))?;
    tracing::info!(addr = %bind, "listening");
    axum::serve(
        listener,
        app.router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
pub(crate) fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
