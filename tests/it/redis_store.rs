//! The Redis store, against a real Redis (`REDIS_URL`, e.g. from `scripts/redis-test-server.sh`):
//! two instances (two `RedisStore`s with their own connections and views, each behind its own
//! `Sessions`/`Verifier` and axum router on a real socket) share logouts, refresh families,
//! reuse detection and throttling; rotation is atomic across them; a Redis outage fails closed and
//! recovers without a restart. Without `REDIS_URL` every test prints "skipped: REDIS_URL unset"
//! and passes.
#![cfg(feature = "redis")]
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::WWW_AUTHENTICATE;
use tokengate::{
    Algorithm, Claims, Clock, Error, Gate, Grant, Issuer, Key, KeyRing, ManualClock, NewFamily,
    NoExtra, RedisStore, Revocation, Rotation, Sessions, Store, SystemClock, ThrottlePolicy,
    TokenKind, TokenRef, Verifier,
};
use tokengate::{TokenError, Unavailable};

const SECRET: &[u8; 32] = b"redis-store-test-secret-32bytes!";
/// Longest wait for something that should happen within milliseconds (pub/sub) or a couple of
/// seconds (outage detection, reconnection).
const DEADLINE: Duration = Duration::from_secs(10);

fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: REDIS_URL unset (run scripts/redis-test-server.sh and export it)");
            None
        }
    }
}

/// A prefix no other test (or earlier run) uses.
fn prefix(test: &str) -> String {
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

async fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .build()
        .await
        .unwrap()
}

/// One server instance: its own store (connections, view), verifier, sessions and HTTP socket.
#[derive(Clone)]
struct Instance {
    store: RedisStore,
    sessions: Sessions,
    verifier: Verifier,
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

async fn instance(store: RedisStore) -> Instance {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, SECRET).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("api")
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("api")
        .revocation(std::sync::Arc::new(store.clone()))
        .build()
        .unwrap();
    let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(store.clone());
    let sessions = Sessions::builder(issuer, verifier.clone(), shared)
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
        store,
        sessions,
        verifier,
        addr,
    }
}

async fn pair(url: &str, test: &str) -> (Instance, Instance) {
    let p = prefix(test);
    (
        instance(store(url, &p).await).await,
        instance(store(url, &p).await).await,
    )
}

impl Instance {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get_me(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url("/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn post_refresh(&self, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/refresh"))
            .body(token.to_owned())
            .send()
            .await
            .unwrap()
    }
}

/// Polls `f` until it returns true or the deadline passes; returns how long it took.
async fn eventually<F, Fut>(what: &str, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn logout_on_a_is_refused_on_b() {
    let Some(url) = redis_url() else { return };
    let (a, b) = pair(&url, "logout").await;
    let tokens = a.sessions.start(Grant::new("alice")).await.unwrap();
    let other = a.sessions.start(Grant::new("bob")).await.unwrap();
    assert_eq!(b.get_me(&tokens.access.token).await.status(), 200);

    let res = reqwest::Client::new()
        .post(a.url("/logout"))
        .bearer_auth(&tokens.access.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Refused on A at once (its own view), on B as soon as the message arrives.
    assert_eq!(a.get_me(&tokens.access.token).await.status(), 401);
    eventually("B refuses the logged-out token", || async {
        b.get_me(&tokens.access.token).await.status() == 401
    })
    .await;
    let res = b.get_me(&tokens.access.token).await;
    assert!(
        challenge(&res).contains(r#"error="invalid_token""#),
        "{}",
        challenge(&res)
    );
    assert!(matches!(
        b.verifier.verify::<NoExtra>(&tokens.access.token).await,
        Err(Error::Token(TokenError::Revoked))
    ));
    // The session's refresh token is refused on B too, another user's tokens are not.
    let res = b.post_refresh(&tokens.refresh.token).await;
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).contains("invalid_token"));
    assert_eq!(b.get_me(&other.access.token).await.status(), 200);
    assert_eq!(b.post_refresh(&other.refresh.token).await.status(), 200);
}

#[tokio::test]
async fn refresh_reuse_is_detected_across_instances() {
    let Some(url) = redis_url() else { return };
    let (a, b) = pair(&url, "reuse").await;
    let first = a.sessions.start(Grant::new("alice")).await.unwrap();
    let res = a.post_refresh(&first.refresh.token).await;
    assert_eq!(res.status(), 200);
    let second: serde_json::Value = res.json().await.unwrap();
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(b.get_me(&second_access).await.status(), 200);

    // The spent token, replayed on B: reuse, the family is revoked for both instances.
    assert!(matches!(
        b.sessions.refresh::<NoExtra>(&first.refresh.token).await,
        Err(Error::Token(TokenError::RefreshReused))
    ));
    assert!(matches!(
        a.sessions.refresh::<NoExtra>(&second_refresh).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    assert_eq!(b.get_me(&second_access).await.status(), 401);
    eventually(
        "A refuses the access tokens of the reused family",
        || async { a.get_me(&second_access).await.status() == 401 },
    )
    .await;
    assert_eq!(a.get_me(&first.access.token).await.status(), 401);
}

#[tokio::test]
async fn concurrent_refresh_from_both_instances_has_exactly_one_success() {
    let Some(url) = redis_url() else { return };
    let (a, b) = pair(&url, "race").await;
    for round in 0..25 {
        let tokens = a.sessions.start(Grant::new("alice")).await.unwrap();
        let (ra, rb) = tokio::join!(
            a.sessions.refresh::<NoExtra>(&tokens.refresh.token),
            b.sessions.refresh::<NoExtra>(&tokens.refresh.token),
        );
        let wins = usize::from(ra.is_ok()) + usize::from(rb.is_ok());
        assert_eq!(wins, 1, "round {round}: {ra:?} / {rb:?}");
        let loser = ra.err().or(rb.err()).unwrap();
        assert!(
            matches!(loser, Error::Token(TokenError::RefreshReused)),
            "round {round}: {loser:?}"
        );
    }
    // Over HTTP as well: two requests at once, one 200 and one 401.
    let tokens = b.sessions.start(Grant::new("carol")).await.unwrap();
    let (ra, rb) = tokio::join!(
        a.post_refresh(&tokens.refresh.token),
        b.post_refresh(&tokens.refresh.token)
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);
}

#[tokio::test]
async fn throttling_is_shared() {
    let Some(url) = redis_url() else { return };
    let (a, b) = pair(&url, "throttle").await;
    let policy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(120),
    };
    let key = "account:alice";
    assert_eq!(
        a.store.record_failure(key, &policy).await.unwrap().failures,
        1
    );
    assert_eq!(
        b.store.record_failure(key, &policy).await.unwrap().failures,
        2
    );
    assert!(!a.store.throttle(key).await.unwrap().is_locked());
    let locked = a.store.record_failure(key, &policy).await.unwrap();
    assert_eq!(locked.failures, 3);
    assert!(locked.is_locked());
    // B sees the lock; a failure while locked neither counts nor extends it.
    let seen = b.store.throttle(key).await.unwrap();
    assert_eq!(seen.failures, 3);
    let retry = seen.retry_after.unwrap();
    assert!(retry <= Duration::from_secs(120) && retry >= Duration::from_secs(110));
    let again = b.store.record_failure(key, &policy).await.unwrap();
    assert_eq!(again.failures, 3);
    assert!(again.retry_after.unwrap() <= retry);
    // Other keys are untouched; a reset on B unlocks on A.
    assert_eq!(a.store.throttle("account:bob").await.unwrap().failures, 0);
    b.store.reset_failures(key).await.unwrap();
    let after = a.store.throttle(key).await.unwrap();
    assert_eq!(after.failures, 0);
    assert!(!after.is_locked());
}

#[tokio::test]
async fn throttle_window_and_lockout_follow_the_clock() {
    let Some(url) = redis_url() else { return };
    let now = SystemClock.now();
    let clock = ManualClock::new(now);
    let s = RedisStore::builder(&url)
        .prefix(prefix("throttle-clock"))
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let policy = ThrottlePolicy {
        max_failures: 2,
        window: Duration::from_secs(10),
        lockout: Duration::from_secs(30),
    };
    s.record_failure("k", &policy).await.unwrap();
    clock.advance(10); // the window is over: counting starts again
    assert_eq!(s.throttle("k").await.unwrap().failures, 0);
    assert_eq!(s.record_failure("k", &policy).await.unwrap().failures, 1);
    assert!(s.record_failure("k", &policy).await.unwrap().is_locked());
    clock.advance(29);
    assert_eq!(
        s.throttle("k").await.unwrap().retry_after,
        Some(Duration::from_secs(1))
    );
    clock.advance(1); // the lock-out is over
    assert!(!s.throttle("k").await.unwrap().is_locked());
    let fresh = s.record_failure("k", &policy).await.unwrap();
    assert_eq!(fresh.failures, 1);
    assert!(!fresh.is_locked());
}

fn family(id: &str, jti: &str, now: i64) -> NewFamily {
    NewFamily {
        id: id.into(),
        sub: "alice".into(),
        jti: jti.into(),
        expires_at: now + 1000,
        idle_timeout: 100,
        keep_until: now + 2000,
    }
}

fn token<'a>(jti: &'a str, sub: &'a str, sid: Option<&'a str>, iat: i64) -> TokenRef<'a> {
    TokenRef {
        kind: &TokenKind::Access,
        jti,
        sub,
        sid,
        iat,
        exp: iat + 900,
    }
}

#[tokio::test]
async fn rotation_outcomes_and_expiring_keys() {
    let Some(url) = redis_url() else { return };
    let now = SystemClock.now();
    let clock = ManualClock::new(now);
    let p = prefix("rotation");
    let s = RedisStore::builder(&url)
        .prefix(&p)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    s.create_family(family("f", "r1", now)).await.unwrap();
    assert!(matches!(
        s.create_family(family("f", "x", now)).await,
        Err(Error::Config { .. })
    ));
    assert_eq!(
        s.rotate("nope", "r1", "r2").await.unwrap(),
        Rotation::Unknown
    );
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    clock.advance(99);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    clock.advance(100); // idle for the whole idle timeout
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Expired);
    assert!(
        !s.is_revoked(token("a", "alice", Some("f"), now))
            .await
            .unwrap()
    );
    assert_eq!(s.rotate("f", "r1", "r4").await.unwrap(), Rotation::Reused);
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Revoked);
    assert!(
        s.is_revoked(token("a", "alice", Some("f"), now))
            .await
            .unwrap()
    );
    assert!(!s.revoke_family("unknown").await.unwrap());

    // Keys expire with what they describe.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let fam_expiry: i64 = redis::cmd("EXPIRETIME")
        .arg(format!("{p}fam:f"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fam_expiry, now + 2000);
    s.revoke_token("j1", now + 60).await.unwrap();
    s.revoke_token("j2", now + 30).await.unwrap();
    let jti_expiry: i64 = redis::cmd("EXPIRETIME")
        .arg(format!("{p}revoked:jti"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(jti_expiry, now + 60 + 300); // exp + MAX_LEEWAY of the latest
    let score: i64 = redis::cmd("ZSCORE")
        .arg(format!("{p}revoked:jti"))
        .arg("j2")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(score, now + 30 + 300);
    // A token no verifier accepts any more is not stored.
    s.revoke_token("old", now - 301).await.unwrap();
    let old: Option<i64> = redis::cmd("ZSCORE")
        .arg(format!("{p}revoked:jti"))
        .arg("old")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(old, None);
}

#[tokio::test]
async fn views_load_existing_revocations_and_follow_cutoffs() {
    let Some(url) = redis_url() else { return };
    let now = SystemClock.now();
    let p = prefix("load");
    let a = store(&url, &p).await;
    a.revoke_token("j1", now + 60).await.unwrap();
    a.create_family(family("f", "r1", now)).await.unwrap();
    assert!(a.revoke_family("f").await.unwrap());
    a.revoke_subject("alice", now - 10, now + 1000)
        .await
        .unwrap();
    // A later instance loads all three kinds at start.
    let b = store(&url, &p).await;
    assert!(b.is_current());
    assert!(b.is_revoked(token("j1", "bob", None, now)).await.unwrap());
    assert!(
        b.is_revoked(token("x", "bob", Some("f"), now))
            .await
            .unwrap()
    );
    assert!(
        b.is_revoked(token("x", "alice", None, now - 10))
            .await
            .unwrap()
    );
    assert!(
        !b.is_revoked(token("x", "alice", None, now - 9))
            .await
            .unwrap()
    );
    assert!(!b.is_revoked(token("x", "bob", None, now)).await.unwrap());
    // A later cut-off reaches b by pub/sub; an earlier one never lowers it.
    a.revoke_subject("alice", now, now + 1000).await.unwrap();
    eventually("b follows the later cut-off", || async {
        b.is_revoked(token("x", "alice", None, now)).await.unwrap()
    })
    .await;
    b.revoke_subject("alice", now - 100, now + 1000)
        .await
        .unwrap();
    assert!(a.is_revoked(token("x", "alice", None, now)).await.unwrap());
    let c = store(&url, &p).await;
    assert!(c.is_revoked(token("x", "alice", None, now)).await.unwrap());
    assert!(
        !c.is_revoked(token("x", "alice", None, now + 1))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn bad_settings_are_refused() {
    // No Redis needed: refused before any connection.
    for url in ["", "http://127.0.0.1:6379", "127.0.0.1:6379"] {
        let err = RedisStore::connect(url).await.unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
        assert!(err.to_string().contains("redis url"), "{err}");
    }
    let err = RedisStore::connect("redis://user:hunter2@[bad")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }));
    assert!(!err.to_string().contains("hunter2"));
    let err = RedisStore::builder("redis://127.0.0.1:1")
        .prefix("")
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: prefix: must not be empty"
    );
    let err = RedisStore::builder("redis://127.0.0.1:1")
        .timeout(Duration::ZERO)
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");
    // Nothing listens on a free port: unavailable, and the error does not show the password.
    let port = free_port();
    let err = RedisStore::builder(format!("redis://:hunter2@127.0.0.1:{port}"))
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(Unavailable::Store(_))),
        "{err:?}"
    );
    assert!(!format!("{err:?}").contains("hunter2"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private redis-server (its own port and directory), killed on drop. It keeps its data in an
/// append-only file so that a restart finds what was written before the kill.
struct PrivateRedis {
    child: tokio::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl PrivateRedis {
    async fn start(port: u16, dir: &std::path::Path) -> Self {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server on PATH (scripts/redis-test-server.sh installs it)");
        let url = format!("redis://127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str()).unwrap();
        eventually("the private redis-server answers", || async {
            match client.get_multiplexed_async_connection().await {
                Ok(mut c) => redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await;
        Self {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: connections stay open, nothing answers.
    fn signal(&self, sig: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn kill(mut self) -> (u16, std::path::PathBuf) {
        self.child.kill().await.unwrap();
        (self.port, self.dir.clone())
    }
}

#[tokio::test]
async fn redis_outage_fails_closed_then_recovers() {
    // REDIS_URL only gates the test (a machine with Redis); this one runs its own server.
    let Some(_) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = PrivateRedis::start(free_port(), dir.path()).await;
    let p = prefix("outage");
    let build = |url: String, p: String| async move {
        RedisStore::builder(url)
            .prefix(p)
            .timeout(Duration::from_millis(300))
            .heartbeat(Duration::from_millis(200))
            .build()
            .await
            .unwrap()
    };
    let a = instance(build(server.url(), p.clone()).await).await;
    let b = instance(build(server.url(), p.clone()).await).await;
    let revoked = a.sessions.start(Grant::new("alice")).await.unwrap();
    let valid = a.sessions.start(Grant::new("bob")).await.unwrap();
    a.sessions
        .logout(
            &a.verifier
                .verify::<NoExtra>(&revoked.access.token)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    eventually("B refuses the logged-out token", || async {
        b.get_me(&revoked.access.token).await.status() == 401
    })
    .await;

    let (port, dir_path) = server.kill().await;
    // Both instances notice, and answer 503 rather than guess.
    for inst in [&a, &b] {
        eventually("the instance fails closed", || async {
            inst.get_me(&valid.access.token).await.status() == 503
        })
        .await;
        assert!(!inst.store.is_current());
        assert!(matches!(
            inst.verifier.verify::<NoExtra>(&valid.access.token).await,
            Err(Error::Unavailable(Unavailable::Revocation(_)))
        ));
        assert!(matches!(
            inst.verifier.verify::<NoExtra>(&revoked.access.token).await,
            Err(Error::Unavailable(Unavailable::Revocation(_)))
        ));
        assert_eq!(inst.post_refresh(&valid.refresh.token).await.status(), 503);
        assert!(matches!(
            inst.sessions.refresh::<NoExtra>(&valid.refresh.token).await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
        assert!(matches!(
            inst.sessions.start(Grant::new("carol")).await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
        assert!(matches!(
            inst.store.revoke_token("j", SystemClock.now() + 60).await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
        assert!(matches!(
            inst.store.throttle("account:alice").await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
    }

    // Redis returns on the same port: both recover by themselves.
    let server = PrivateRedis::start(port, &dir_path).await;
    for inst in [&a, &b] {
        eventually("the instance recovers", || async {
            inst.get_me(&valid.access.token).await.status() == 200
        })
        .await;
        assert!(inst.store.is_current());
        // Nothing already revoked became valid again.
        assert_eq!(inst.get_me(&revoked.access.token).await.status(), 401);
        assert_eq!(
            inst.post_refresh(&revoked.refresh.token).await.status(),
            401
        );
    }
    // Pub/sub works again: a logout on B reaches A.
    b.sessions
        .logout(
            &b.verifier
                .verify::<NoExtra>(&valid.access.token)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    eventually(
        "A refuses a token logged out on B after the outage",
        || async { a.get_me(&valid.access.token).await.status() == 401 },
    )
    .await;
    // A fresh instance loads the revocations made before the outage.
    let c = build(server.url(), p).await;
    let c = instance(c).await;
    assert_eq!(c.get_me(&revoked.access.token).await.status(), 401);
    drop(server);
}

#[tokio::test]
async fn running_views_keep_revocations_when_redis_comes_back_empty() {
    let Some(_) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = PrivateRedis::start(free_port(), dir.path()).await;
    let p = prefix("data-loss");
    let build = || {
        RedisStore::builder(server.url())
            .prefix(&p)
            .timeout(Duration::from_millis(300))
            .heartbeat(Duration::from_millis(200))
            .build()
    };
    let (a, b) = (build().await.unwrap(), build().await.unwrap());
    let now = SystemClock.now();
    a.revoke_token("j1", now + 60).await.unwrap();
    a.revoke_subject("alice", now, now + 600).await.unwrap();
    eventually("B has both revocations", || async {
        b.is_revoked(token("j1", "bob", None, now)).await.unwrap()
            && b.is_revoked(token("x", "alice", None, now)).await.unwrap()
    })
    .await;
    let (port, _) = server.kill().await;
    for s in [&a, &b] {
        eventually("the store notices the outage", || async { !s.is_current() }).await;
    }
    // Back on the same port, with nothing: a fresh directory, no data.
    let empty = tempfile::tempdir().unwrap();
    let _server = PrivateRedis::start(port, empty.path()).await;
    for s in [&a, &b] {
        eventually("the store reloads", || async { s.is_current() }).await;
        assert!(s.is_revoked(token("j1", "bob", None, now)).await.unwrap());
        assert!(s.is_revoked(token("x", "alice", None, now)).await.unwrap());
        assert!(
            !s.is_revoked(token("x", "alice", None, now + 1))
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn a_silent_redis_is_noticed_by_the_heartbeat() {
    let Some(_) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = PrivateRedis::start(free_port(), dir.path()).await;
    let s = RedisStore::builder(server.url())
        .prefix(prefix("frozen"))
        .timeout(Duration::from_millis(300))
        .heartbeat(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let now = SystemClock.now();
    assert!(!s.is_revoked(token("j", "a", None, now)).await.unwrap());
    // The connection stays open but nothing answers: only the heartbeat can tell.
    server.signal("-STOP");
    eventually("the heartbeat notices", || async {
        s.is_revoked(token("j", "a", None, now)).await.is_err()
    })
    .await;
    assert!(matches!(
        s.revoke_token("j", now + 60).await,
        Err(Error::Unavailable(Unavailable::Store(_)))
    ));
    server.signal("-CONT");
    eventually("the store recovers", || async {
        s.is_revoked(token("j", "a", None, now)).await.is_ok()
    })
    .await;
    s.revoke_token("j", now + 60).await.unwrap();
    assert!(s.is_revoked(token("j", "a", None, now)).await.unwrap());
}

#[tokio::test]
async fn allowing_staleness_answers_from_the_last_view_for_a_bounded_time() {
    let Some(_) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = PrivateRedis::start(free_port(), dir.path()).await;
    let s = RedisStore::builder(server.url())
        .prefix(prefix("stale"))
        .timeout(Duration::from_millis(300))
        .heartbeat(Duration::from_millis(200))
        .dangerous_allow_stale(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let now = SystemClock.now();
    s.revoke_token("j1", now + 60).await.unwrap();
    let _ = server.kill().await;
    eventually("the store notices the outage", || async { !s.is_current() }).await;
    let since = Instant::now();
    // Within the allowance: answers from the last view (revoked stays revoked).
    assert!(s.is_revoked(token("j1", "a", None, now)).await.unwrap());
    assert!(!s.is_revoked(token("j2", "a", None, now)).await.unwrap());
    // Past it: fail closed.
    eventually("the allowance runs out", || async {
        s.is_revoked(token("j2", "a", None, now)).await.is_err()
    })
    .await;
    assert!(since.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn a_store_outliving_its_runtime_fails_closed() {
    let Some(url) = redis_url() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(store(&url, &prefix("runtime")));
    assert!(s.is_current());
    // The task that kept the view current is gone with its runtime.
    drop(rt);
    assert!(!s.is_current());
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = SystemClock.now();
    assert!(
        other
            .block_on(s.is_revoked(token("j", "a", None, now)))
            .is_err()
    );
}

#[tokio::test]
async fn the_background_task_stops_when_the_store_is_dropped() {
    let Some(url) = redis_url() else { return };
    let p = prefix("drop");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("{p}events");
    let subscribers = |mut conn: redis::aio::MultiplexedConnection| {
        let channel = channel.clone();
        async move {
            let (_, n): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut conn)
                .await
                .unwrap();
            n
        }
    };
    let s = store(&url, &p).await;
    let clone = s.clone();
    assert_eq!(subscribers(conn.clone()).await, 1);
    drop(s);
    assert_eq!(subscribers(conn.clone()).await, 1); // a clone keeps it alive
    drop(clone);
    eventually("the subscription is closed", || {
        let c = conn.clone();
        async { subscribers(c).await == 0 }
    })
    .await;
    let _: () = redis::cmd("PING").query_async(&mut conn).await.unwrap();
}
