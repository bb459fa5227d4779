//! The Redis store's cost on the request path and its propagation delay.
//!
//! - `redis_store/protected_*`: a token-protected axum handler (HS256, `Claims` extractor, the
//!   verifier's revocation check) through `oneshot`, with a `MemoryStore` and with a `RedisStore`
//!   in the same run. The revocation check answers from the local view, so the target is a
//!   Redis/memory throughput ratio of at least 0.9.
//! - Revocation propagation between two instances (two `RedisStore`s on one Redis): revoke on A,
//!   time until B's view refuses; median and p99 over 500 revocations, printed.
//!
//! Needs `REDIS_URL` (e.g. `eval "$(scripts/redis-test-server.sh)"; export REDIS_URL`); without it
//! the bench prints a message and measures nothing.
//!
//! `cargo bench --features redis --bench redis_store -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark whose setup fails should stop loudly"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http::header::AUTHORIZATION;
use tower::ServiceExt as _;

use tokengate::store::TokenRef;
use tokengate::{
    Algorithm, Claims, Clock, Gate, Grant, Issuer, Key, KeyRing, MemoryStore, RedisStore,
    Revocation, Store, SystemClock, TokenKind, Verifier,
};

async fn me(claims: Claims) -> String {
    claims.sub
}

fn prefix(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tg-bench:{what}:{}:{nanos}:", std::process::id())
}

fn bench(c: &mut Criterion) {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("redis_store bench skipped: REDIS_URL unset (see scripts/redis-test-server.sh)");
        return;
    };
    // A multi-threaded runtime: the store's subscription task runs beside the measured loop.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let ring = KeyRing::new(
        Key::from_secret(Algorithm::HS256, b"a-benchmark-secret-of-32-bytes!!").unwrap(),
    )
    .unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .unwrap();
    let token = issuer
        .issue_access(&Grant::new("user-42").role("editor"))
        .unwrap()
        .token;
    let bearer = format!("Bearer {token}");
    let app = |store: Arc<dyn Store>| {
        let verifier = Verifier::builder(ring.clone())
            .issuer("https://auth.example")
            .audience("api")
            .revocation(store)
            .build()
            .unwrap();
        Router::new()
            .route("/", get(me))
            .with_state(Gate::new(verifier))
    };

    let memory = MemoryStore::new();
    let redis_a = rt
        .block_on(RedisStore::builder(&url).prefix(prefix("a")).build())
        .unwrap();
    // Some revocations in both stores, so the lookups are not into empty maps.
    rt.block_on(async {
        let exp = SystemClock.now() + 3600;
        for i in 0..1000 {
            let jti = format!("revoked-{i}");
            memory.revoke_token(&jti, exp).await.unwrap();
            redis_a.revoke_token(&jti, exp).await.unwrap();
        }
    });
    let with_memory = app(Arc::new(memory));
    let with_redis = app(Arc::new(redis_a));
    let request = || {
        Request::get("/")
            .header(AUTHORIZATION, &bearer)
            .body(Body::empty())
            .unwrap()
    };
    for app in [&with_memory, &with_redis] {
        let res = rt.block_on(app.clone().oneshot(request())).unwrap();
        assert_eq!(res.status(), 200);
    }

    let mut group = c.benchmark_group("redis_store");
    for (name, app) in [
        ("protected_memory_store", &with_memory),
        ("protected_redis_store", &with_redis),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(black_box(app).clone().oneshot(request()))
                    .unwrap()
            });
        });
    }
    group.finish();

    propagation(&rt, &url);
}

/// Revoke on A, spin until B's view refuses: 500 samples, median and p99, from the start of A's
/// write (A's round trip included) and from the moment A's write returned.
fn propagation(rt: &tokio::runtime::Runtime, url: &str) {
    let p = prefix("propagation");
    let (a, b) = rt.block_on(async {
        (
            RedisStore::builder(url).prefix(&p).build().await.unwrap(),
            RedisStore::builder(url).prefix(&p).build().await.unwrap(),
        )
    });
    let now = SystemClock.now();
    let mut total = Vec::with_capacity(500);
    let mut after_write = Vec::with_capacity(500);
    rt.block_on(async {
        for i in 0..500 {
            let jti = format!("p-{i}");
            let t = TokenRef {
                kind: &TokenKind::Access,
                jti: &jti,
                sub: "user-42",
                sid: None,
                iat: now,
                exp: now + 600,
            };
            assert!(!b.is_revoked(t).await.unwrap());
            let start = Instant::now();
            a.revoke_token(&jti, now + 600).await.unwrap();
            let written = Instant::now();
            while !b.is_revoked(t).await.unwrap() {
                assert!(start.elapsed() < Duration::from_secs(5), "not propagated");
                tokio::task::yield_now().await;
            }
            total.push(start.elapsed());
            after_write.push(written.elapsed());
        }
    });
    report("from the start of A's write", &mut total);
    report("from the end of A's write", &mut after_write);
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "redis_store/propagation (revoke on A until B refuses, {what}, {} samples): \
         median {:?}, p99 {:?}, max {:?}",
        samples.len(),
        at(0.5),
        at(0.99),
        samples[samples.len() - 1]
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
