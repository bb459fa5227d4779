//! What the store tests share: the store under test ([`Harness`]: a backend, its clock, and more
//! handles on the same state), service instances over HTTP ([`Instance`]), and small helpers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::WWW_AUTHENTICATE;
use tokengate::store::{NewFamily, TokenRef};
use tokengate::{
    Algorithm, Claims, Clock, Gate, Issuer, Key, KeyRing, ManualClock, MemoryStore, NoExtra,
    Sessions, Store, TokenKind, Verifier,
};
#[cfg(feature = "redis")]
use tokengate::{RedisStore, SystemClock};

/// The memory store's starting time: fixed, since its clock alone decides every expiry.
pub(crate) const T0: i64 = 1_700_000_000;
/// The HMAC secret of every [`Instance`].
const SECRET: &[u8; 32] = b"redis-store-test-secret-32bytes!";
/// Longest wait for something that should happen within milliseconds (pub/sub) or a couple of
/// seconds (outage detection, reconnection).
pub(crate) const DEADLINE: Duration = Duration::from_secs(10);

/// A store under test, as the code using it holds it (`Arc<dyn Store>`), with the clock it was
/// built with.
pub(crate) struct Harness {
    /// The store under test.
    pub(crate) store: Arc<dyn Store>,
    /// The store's clock (also given to the issuers and verifiers of [`Harness::pair`]).
    pub(crate) clock: ManualClock,
    /// Where `clock` started.
    pub(crate) t0: i64,
    backend: Backend,
}

enum Backend {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis {
        url: String,
        prefix: String,
    },
}

impl Harness {
    /// A fresh `MemoryStore` on a [`ManualClock`] at [`T0`].
    pub(crate) fn memory() -> Self {
        let clock = ManualClock::new(T0);
        let store = MemoryStore::builder().clock(clock.clone()).build().unwrap();
        Self {
            store: Arc::new(store.clone()),
            clock,
            t0: T0,
            backend: Backend::Memory(store),
        }
    }

    /// A `RedisStore` on `REDIS_URL` under a prefix no other test (or earlier run) uses; `None`
    /// (after printing "skipped: REDIS_URL unset") without `REDIS_URL`.
    ///
    /// Its [`ManualClock`] starts at the real time: the scripts compare times given by the
    /// store's clock, but Redis expires keys by its own, so a clock far from real time (like the
    /// memory store's [`T0`]) would have Redis drop every record at once. Moving it forward by
    /// minutes, as the cases do, is fine (keys then expire later than the store's clock says, which
    /// no case can observe through the `Store` trait).
    #[cfg(feature = "redis")]
    pub(crate) async fn redis(case: &str) -> Option<Self> {
        let url = redis_url()?;
        let t0 = SystemClock.now();
        let clock = ManualClock::new(t0);
        let prefix = prefix(case);
        let store = redis_store(&url, &prefix, &clock).await;
        Some(Self {
            store: Arc::new(store),
            clock,
            t0,
            backend: Backend::Redis { url, prefix },
        })
    }

    /// Another handle on the same state, as a second instance of a service holds it: a clone of
    /// the memory store; for Redis a new `RedisStore` on the same prefix and clock (its own
    /// connections and local view, loaded now).
    pub(crate) async fn another(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Memory(store) => Arc::new(store.clone()),
            #[cfg(feature = "redis")]
            Backend::Redis { url, prefix } => Arc::new(redis_store(url, prefix, &self.clock).await),
        }
    }

    /// Two service instances: A over [`Harness::store`], B over [`Harness::another`].
    pub(crate) async fn pair(&self) -> (Instance, Instance) {
        (
            instance(self.store.clone(), self.clock.clone()).await,
            instance(self.another().await, self.clock.clone()).await,
        )
    }
}

/// `REDIS_URL`, or `None` after printing why the test is skipped.
#[cfg(feature = "redis")]
pub(crate) fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: REDIS_URL unset (run scripts/redis-test-server.sh and export it)");
            None
        }
    }
}

/// A prefix no other test (or earlier run) uses.
#[cfg(feature = "redis")]
pub(crate) fn prefix(test: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "tg-test:{test}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A `RedisStore` on `url` under `prefix` with `clock`; its view is current once built.
#[cfg(feature = "redis")]
async fn redis_store(url: &str, prefix: &str, clock: &ManualClock) -> RedisStore {
    let store = RedisStore::builder(url)
        .prefix(prefix)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    assert!(store.is_current());
    store
}

/// A family of "alice" created at `t0`: absolute lifetime 1000 s, idle timeout 100 s, kept until
/// `t0 + 2000`.
pub(crate) fn family(id: &str, jti: &str, t0: i64) -> NewFamily {
    NewFamily {
        id: id.into(),
        sub: "alice".into(),
        jti: jti.into(),
        expires_at: t0 + 1000,
        idle_timeout: 100,
        keep_until: t0 + 2000,
    }
}

/// An access token as the revocation check sees it.
pub(crate) fn token<'a>(
    jti: &'a str,
    sub: &'a str,
    sid: Option<&'a str>,
    iat: i64,
) -> TokenRef<'a> {
    TokenRef {
        kind: &TokenKind::Access,
        jti,
        sub,
        sid,
        iat,
        exp: iat + 900,
    }
}

/// Polls `f` until it returns true or [`DEADLINE`] passes; returns how long it took.
pub(crate) async fn eventually<F, Fut>(what: &str, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// One service instance over a store handle: its own verifier, sessions and HTTP socket.
#[derive(Clone)]
pub(crate) struct Instance {
    pub(crate) sessions: Sessions,
    pub(crate) verifier: Verifier,
    addr: SocketAddr,
}

#[derive(Clone)]
struct App {
    gate: Gate,
    sessions: Sessions,
}

impl axum::extract::FromRef<App> for Gate {
    fn from_ref(app: &App) -> Self {
        app.gate.clone()
    }
}

async fn me(claims: Claims) -> String {
    claims.sub
}

async fn logout(State(app): State<App>, claims: Claims) -> Response {
    match app.sessions.logout(&claims).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => app.gate.reject(e).into_response(),
    }
}

async fn refresh(State(app): State<App>, token: String) -> Response {
    match app.sessions.refresh::<NoExtra>(&token).await {
        Ok(pair) => Json(serde_json::json!({
            "access_token": pair.access.token,
            "refresh_token": pair.refresh.token,
        }))
        .into_response(),
        Err(e) => app.gate.reject(e).into_response(),
    }
}

/// Starts an instance over `store` (its verifier's revocation hook and its sessions' store), with
/// `clock` for its issuer and verifier, serving `/me`, `/logout` and `/refresh` on a free port.
pub(crate) async fn instance(store: Arc<dyn Store>, clock: impl Clock + Clone) -> Instance {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, SECRET).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("api")
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("api")
        .clock(clock)
        .revocation(store.clone())
        .build()
        .unwrap();
    let sessions = Sessions::builder(issuer, verifier.clone(), store)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/refresh", post(refresh))
        .with_state(App {
            gate: Gate::builder(verifier.clone())
                .realm("test")
                .build()
                .unwrap(),
            sessions: sessions.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Instance {
        sessions,
        verifier,
        addr,
    }
}

impl Instance {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get_me(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post_refresh(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/refresh"))
            .body(token.to_owned())
            .send()
            .await
            .unwrap()
    }
}

/// The `WWW-Authenticate` challenge of a response ("" without one).
pub(crate) fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
