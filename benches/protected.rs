//! Cost of protecting a handler: the same handler through `oneshot`, unprotected, behind the
//! `Claims` extractor, behind a `RequireRole` extractor and behind a `RequireRoleLayer`, all HS256,
//! plus `Verifier::verify` alone and an empty `block_on`, in the same run.
//!
//! Extraction + guard overhead beyond verification =
//! (protected − unprotected) − (verify − block_on baseline); the target is at most 1 µs.
//!
//! `cargo bench --bench protected -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http::header::AUTHORIZATION;
use tower::ServiceExt as _;

use tokengate::{
    Algorithm, Claims, Gate, Grant, Issuer, Key, KeyRing, NoExtra, RequireRole, RequireRoleLayer,
    RoleHierarchy, Verifier,
};

tokengate::role!(Viewer = "viewer");

async fn open() -> &'static str {
    "ok"
}

async fn with_claims(_: Claims) -> &'static str {
    "ok"
}

async fn with_role(_: RequireRole<Viewer>) -> &'static str {
    "ok"
}

fn bench(c: &mut Criterion) {
    let ring = KeyRing::new(
        Key::from_secret(Algorithm::HS256, b"a-benchmark-secret-of-32-bytes!!").expect("key"),
    )
    .expect("ring");
    let issuer = Issuer::builder(ring.clone())
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .expect("issuer");
    let verifier = Verifier::builder(ring)
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .expect("verifier");
    let gate = Gate::builder(verifier.clone())
        .roles(
            RoleHierarchy::builder()
                .role("admin", ["editor"])
                .role("editor", ["viewer"])
                .build()
                .expect("hierarchy"),
        )
        .build()
        .expect("gate");
    // An editor: the viewer guard passes through the hierarchy.
    let token = issuer
        .issue_access(&Grant::new("user-42").role("editor"))
        .expect("issue")
        .token;
    let bearer = format!("Bearer {token}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let unprotected = Router::new().route("/", get(open)).with_state(gate.clone());
    let protected = Router::new()
        .route("/", get(with_claims))
        .with_state(gate.clone());
    let guarded = Router::new()
        .route("/", get(with_role))
        .with_state(gate.clone());
    let layered = Router::new()
        .route("/", get(open))
        .route_layer(RequireRoleLayer::roles::<Viewer>(gate.clone()))
        .with_state(gate);

    let request = || {
        Request::get("/")
            .header(AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request")
    };
    // Every variant answers 200 before being measured.
    for app in [&unprotected, &protected, &guarded, &layered] {
        let res = rt
            .block_on(app.clone().oneshot(request()))
            .expect("infallible");
        assert_eq!(res.status(), 200);
    }

    let mut group = c.benchmark_group("protected");
    group.bench_function("block_on_baseline", |b| {
        b.iter(|| rt.block_on(async { black_box(1) }));
    });
    group.bench_function("verify_hs256", |b| {
        b.iter(|| {
            rt.block_on(verifier.verify::<NoExtra>(black_box(&token)))
                .expect("valid")
        });
    });
    for (name, app) in [
        ("unprotected", &unprotected),
        ("claims_extractor", &protected),
        ("require_role_extractor", &guarded),
        ("require_role_layer", &layered),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(app.clone().oneshot(request()))
                    .expect("infallible")
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
