//! Cost of protecting a handler: the same handler through `oneshot`, unprotected, behind the
//! `Claims` extractor, behind the `SharedClaims` extractor, behind a `RequireRole` extractor and
//! behind a `RequireLayer`, all HS256, plus `Verifier::verify` and `Verifier::verify_shared`
//! alone, `Gate::authenticate` alone (header parsing + verify) and an empty `block_on`, in the same
//! run. The token is presented again and again, so verification is answered by the verifier's
//! cache throughout, as for a client's repeated requests.
//!
//! Extraction + guard overhead beyond verification =
//! (protected − unprotected) − (verify − block_on baseline); the target is at most 1 µs. For the
//! layer, `passthrough_layer` (a tower layer of the same shape that does nothing) separates the
//! cost of being a boxed tower layer in axum from the guard's own.
//!
//! `cargo bench --bench protected -- --warm-up-time 1 --measurement-time 3`

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use http::header::AUTHORIZATION;
use tower::{Service, ServiceExt as _};

use tokengate::{
    Algorithm, Claims, Gate, Grant, Issuer, Key, KeyRing, NoExtra, RequireLayer, RequireRole,
    RoleHierarchy, SharedClaims, Verifier,
};

tokengate::role!(Viewer = "viewer");

/// A tower service with the same shape as `RequireService` (clone the inner service, box the
/// future) but no authentication: what any such layer costs, to separate it from the guard.
#[derive(Clone)]
struct Passthrough<S>(S);

impl<S> Service<Request<Body>> for Passthrough<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let clone = self.0.clone();
        let mut inner = std::mem::replace(&mut self.0, clone);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

async fn open() -> &'static str {
    "ok"
}

async fn with_claims(_: Claims) -> &'static str {
    "ok"
}

async fn with_shared(_: SharedClaims) -> &'static str {
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
    let shared = Router::new()
        .route("/", get(with_shared))
        .with_state(gate.clone());
    let guarded = Router::new()
        .route("/", get(with_role))
        .with_state(gate.clone());
    let passthrough = Router::new()
        .route("/", get(open))
        .route_layer(tower::layer::layer_fn(Passthrough))
        .with_state(gate.clone());
    let layered = Router::new()
        .route("/", get(open))
        .route_layer(RequireLayer::roles::<Viewer>(gate.clone()))
        .with_state(gate.clone());

    let request = || {
        Request::get("/")
            .header(AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request")
    };
    // Every variant answers 200 before being measured.
    for app in [
        &unprotected,
        &protected,
        &shared,
        &guarded,
        &passthrough,
        &layered,
    ] {
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
    group.bench_function("verify_shared_hs256", |b| {
        b.iter(|| {
            rt.block_on(verifier.verify_shared::<NoExtra>(black_box(&token)))
                .expect("valid")
        });
    });
    let mut headers = http::HeaderMap::new();
    headers.insert(AUTHORIZATION, bearer.parse().expect("header value"));
    group.bench_function("gate_authenticate", |b| {
        b.iter(|| {
            rt.block_on(gate.authenticate::<NoExtra>(black_box(&headers)))
                .expect("valid")
        });
    });
    for (name, app) in [
        ("unprotected", &unprotected),
        ("claims_extractor", &protected),
        ("shared_claims_extractor", &shared),
        ("require_role_extractor", &guarded),
        ("passthrough_layer", &passthrough),
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
