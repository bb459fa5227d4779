//! What only the Redis store has, against a real Redis (`REDIS_URL`, e.g. from
//! `scripts/redis-test-server.sh`): settings refused before connecting, keys that expire with
//! what they describe, and the local revocation view (a Redis outage fails closed and recovers
//! without a restart, data lost by Redis stays revoked, a silent Redis is noticed, bounded
//! staleness, the background task's lifetime). The `Store` contract it shares with the memory
//! store, including what two instances on one Redis share, is in `contract`. Without `REDIS_URL`
//! every test prints "skipped: REDIS_URL unset" and passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokengate::store::Rotation;
use tokengate::{Clock, Error, Grant, ManualClock, NoExtra, RedisStore, Revocation as _};
use tokengate::{Store, SystemClock, Unavailable};

use super::harness::{eventually, family, instance, prefix, redis_url, token};

async fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .build()
        .await
        .unwrap()
}

/// The storage side of the contract cases on revocations (whose records the memory store purges,
/// see `memory`): Redis keys expire with what they describe, so Redis drops them by itself.
#[tokio::test]
async fn keys_expire_with_what_they_describe() {
    let Some(url) = redis_url() else { return };
    let now = SystemClock.now();
    let clock = ManualClock::new(now);
    let p = prefix("keys");
    let s = RedisStore::builder(&url)
        .prefix(&p)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let expiry_conn = conn.clone();
    let expiry = |key: String| {
        let mut conn = expiry_conn.clone();
        async move {
            redis::cmd("EXPIRETIME")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };

    // A family expires at its keep_until, however it was used: rotated, then revoked by a reuse.
    s.create_family(family("f", "r1", now)).await.unwrap();
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    clock.advance(99);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    assert_eq!(s.rotate("f", "r1", "r4").await.unwrap(), Rotation::Reused);
    assert_eq!(expiry(format!("{p}fam:f")).await, now + 2000);
    let fam_score: i64 = redis::cmd("ZSCORE")
        .arg(format!("{p}revoked:fam"))
        .arg("f")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fam_score, now + 2000);
    assert_eq!(expiry(format!("{p}revoked:fam")).await, now + 2000);

    // Revoked jtis: each kept until its exp + MAX_LEEWAY, the index until the latest of them.
    s.revoke_token("j1", now + 60).await.unwrap();
    s.revoke_token("j2", now + 30).await.unwrap();
    assert_eq!(expiry(format!("{p}revoked:jti")).await, now + 60 + 300);
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

    // A subject's cut-off is kept until its latest keep_until; an earlier cut-off never lowers it.
    s.revoke_subject("alice", now, now + 500).await.unwrap();
    s.revoke_subject("alice", now - 100, now + 600)
        .await
        .unwrap();
    let (at, keep): (Option<i64>, Option<i64>) = redis::pipe()
        .cmd("HGET")
        .arg(format!("{p}cutoff"))
        .arg("alice")
        .cmd("ZSCORE")
        .arg(format!("{p}cutoff:keep"))
        .arg("alice")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((at, keep), (Some(now), Some(now + 600)));
    assert_eq!(expiry(format!("{p}cutoff")).await, now + 600);
    assert_eq!(expiry(format!("{p}cutoff:keep")).await, now + 600);
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
    // Two instances, each with its own store (kept at hand for what only a RedisStore says).
    let (store_a, store_b) = (
        build(server.url(), p.clone()).await,
        build(server.url(), p.clone()).await,
    );
    let a = instance(Arc::new(store_a.clone()), SystemClock).await;
    let b = instance(Arc::new(store_b.clone()), SystemClock).await;
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
    for (store, inst) in [(&store_a, &a), (&store_b, &b)] {
        eventually("the instance fails closed", || async {
            inst.get_me(&valid.access.token).await.status() == 503
        })
        .await;
        assert!(!store.is_current());
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
            store.revoke_token("j", SystemClock.now() + 60).await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
        assert!(matches!(
            store.throttle("account:alice").await,
            Err(Error::Unavailable(Unavailable::Store(_)))
        ));
    }

    // Redis returns on the same port: both recover by themselves.
    let server = PrivateRedis::start(port, &dir_path).await;
    for (store, inst) in [(&store_a, &a), (&store_b, &b)] {
        eventually("the instance recovers", || async {
            inst.get_me(&valid.access.token).await.status() == 200
        })
        .await;
        assert!(store.is_current());
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
    let c = instance(Arc::new(c), SystemClock).await;
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
