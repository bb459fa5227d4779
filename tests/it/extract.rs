//! The `Claims` extractor through a router: header parsing, `Option` semantics, app state via
//! `FromRef`, the 400 cases, and the revocation hook (revoked → 401, unknown → 503).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::routing::get;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;

use tokengate::store::{RevocationFuture, TokenRef};
use tokengate::{
    Algorithm, BoxError, Claims, Gate, Grant, Issuer, Key, KeyRing, Revocation, Verifier,
};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn ring() -> KeyRing {
    KeyRing::new(
        Key::from_secret(Algorithm::HS256, SECRET)
            .expect("key")
            .with_kid("k1"),
    )
    .expect("ring")
}

fn issuer() -> Issuer {
    Issuer::builder(ring())
        .issuer("iss")
        .audience("aud")
        .build()
        .expect("issuer")
}

fn gate_with(verifier: Verifier) -> Gate {
    Gate::builder(verifier).realm("test").build().expect("gate")
}

fn gate() -> Gate {
    gate_with(
        Verifier::builder(ring())
            .issuer("iss")
            .audience("aud")
            .build()
            .expect("verifier"),
    )
}

fn token<T: Serialize>(grant: &Grant<T>) -> String {
    issuer().issue_access(grant).expect("issue").token
}

async fn me(claims: Claims) -> String {
    claims.sub
}

async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub)
}

fn app(gate: Gate) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .with_state(gate)
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: serde_json::Value,
    text: String,
}

async fn send(app: Router, uri: &str, auth: &[&str]) -> Answer {
    let mut req = Request::get(uri);
    for value in auth {
        req = req.header(AUTHORIZATION, *value);
    }
    let res = app
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        challenge,
        body,
        text,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn valid_token_is_extracted_with_any_scheme_case() {
    let t = token(&Grant::new("alice"));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let a = send(app(gate()), "/me", &[&format!("{scheme} {t}")]).await;
        assert_eq!(a.status, StatusCode::OK, "{scheme}");
        assert_eq!(a.text, "alice");
    }
}

#[tokio::test]
async fn missing_credentials_is_401_without_error_code() {
    let a = send(app(gate()), "/me", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="test""#));
    assert_eq!(
        a.body,
        serde_json::json!({"error": "unauthorized", "error_description": "bearer token required"})
    );
}

#[tokio::test]
async fn other_scheme_counts_as_no_bearer_credentials() {
    let a = send(app(gate()), "/me", &["Basic YWxpY2U6c2VjcmV0"]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="test""#));
    assert_eq!(a.body["error"], "unauthorized");
    // ... so the optional extractor sees no credentials.
    let a = send(app(gate()), "/maybe", &["Basic YWxpY2U6c2VjcmV0"]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.text, "anonymous");
    // A scheme is a whole word: `Bearerx`, or `Bearer` glued to its value by a tab, is another one.
    let t = token(&Grant::new("alice"));
    for other in [
        format!("Bearerx {t}"),
        format!("Bearer\t{t}"),
        format!("Bear {t}"),
    ] {
        let a = send(app(gate()), "/maybe", &[&other]).await;
        assert_eq!(a.status, StatusCode::OK, "{other}");
        assert_eq!(a.text, "anonymous", "{other}");
    }
}

#[tokio::test]
async fn query_string_tokens_are_never_read() {
    let t = token(&Grant::new("alice"));
    let a = send(app(gate()), &format!("/me?access_token={t}"), &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="test""#));
    let a = send(app(gate()), &format!("/maybe?access_token={t}"), &[]).await;
    assert_eq!(a.text, "anonymous");
}

#[tokio::test]
async fn bad_token_is_401_invalid_token_and_never_echoed() {
    // Signed with another secret of the same algorithm.
    let other = KeyRing::new(
        Key::from_secret(Algorithm::HS256, &[9u8; 32])
            .expect("key")
            .with_kid("k1"),
    )
    .expect("ring");
    let forger = Issuer::builder(other)
        .issuer("iss")
        .audience("aud")
        .build()
        .expect("issuer");
    let tampered = forger
        .issue_access(&Grant::new("alice").role("admin"))
        .expect("issue")
        .token;
    let a = send(app(gate()), "/me", &[&bearer(&tampered)]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge.as_deref(),
        Some(
            r#"Bearer realm="test", error="invalid_token", error_description="invalid signature""#
        )
    );
    assert_eq!(
        a.body,
        serde_json::json!({"error": "invalid_token", "error_description": "invalid signature"})
    );
    assert!(!a.text.contains(&tampered));
}

#[tokio::test]
async fn option_semantics() {
    // Absent → None.
    let a = send(app(gate()), "/maybe", &[]).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "anonymous"));
    // Valid → Some.
    let a = send(
        app(gate()),
        "/maybe",
        &[&bearer(&token(&Grant::new("bob")))],
    )
    .await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "bob"));
    // Present but bad → the rejection, never a silent None.
    let a = send(app(gate()), "/maybe", &["Bearer not.a.token"]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_token");
    // Malformed → 400, not None.
    let a = send(app(gate()), "/maybe", &["Bearer "]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let t = token(&Grant::new("alice"));
    let t_padded_inside = format!("Bearer {}={}", &t[..10], &t[10..]);
    let cases: [(&[&str], &str); 10] = [
        (
            &[&bearer(&t), &bearer(&t)],
            "multiple Authorization headers",
        ),
        (&["Bearer "], "empty bearer token"),
        (&["Bearer"], "empty bearer token"),
        (&["bearer  \t "], "empty bearer token"),
        (&["Bearer abc def"], "malformed bearer token"),
        (&["Bearer ab,c"], "malformed bearer token"),
        (&["Bearer =="], "malformed bearer token"),
        (&[&t_padded_inside], "malformed bearer token"),
        (&["Bearer abc\"def"], "malformed bearer token"),
        (&["BEARER a.b.c é"], "malformed bearer token"),
    ];
    for (headers, description) in cases {
        for uri in ["/me", "/maybe"] {
            let a = send(app(gate()), uri, headers).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{headers:?}");
            assert_eq!(
                a.challenge.as_deref(),
                Some(&*format!(
                    r#"Bearer realm="test", error="invalid_request", error_description="{description}""#
                )),
            );
            assert_eq!(
                a.body,
                serde_json::json!({"error": "invalid_request", "error_description": description})
            );
        }
    }
}

// ----- application state holding a Gate -----

#[derive(Clone)]
struct AppState {
    gate: Gate,
    greeting: &'static str,
}

impl FromRef<AppState> for Gate {
    fn from_ref(state: &AppState) -> Self {
        state.gate.clone()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn gate_inside_app_state_and_app_claims() {
    async fn handler(
        axum::extract::State(state): axum::extract::State<AppState>,
        claims: Claims<Tenant>,
    ) -> String {
        format!(
            "{} {} of {}",
            state.greeting, claims.sub, claims.extra.tenant
        )
    }
    let app = Router::new().route("/", get(handler)).with_state(AppState {
        gate: gate(),
        greeting: "hi",
    });
    let t = token(&Grant::new("carol").extra(Tenant {
        tenant: "acme".into(),
    }));
    let a = send(app.clone(), "/", &[&bearer(&t)]).await;
    assert_eq!(
        (a.status, a.text.as_str()),
        (StatusCode::OK, "hi carol of acme")
    );

    // A token without the app's required claim is invalid for this extractor.
    let a = send(app, "/", &[&bearer(&token(&Grant::new("dave")))]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_token");
}

// ----- revocation hook -----

#[derive(Debug)]
enum Hook {
    Revoked,
    Down,
    Fine(AtomicUsize),
}

impl Revocation for Hook {
    fn is_revoked<'a>(&'a self, _token: TokenRef<'a>) -> RevocationFuture<'a> {
        Box::pin(async move {
            match self {
                Self::Revoked => Ok(true),
                Self::Down => Err(BoxError::from("store unreachable")),
                Self::Fine(calls) => {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(false)
                }
            }
        })
    }
}

fn gate_with_hook(hook: Arc<Hook>) -> Gate {
    gate_with(
        Verifier::builder(ring())
            .issuer("iss")
            .audience("aud")
            .revocation(hook)
            .build()
            .expect("verifier"),
    )
}

#[tokio::test]
async fn revoked_token_is_401_invalid_token() {
    let t = token(&Grant::new("alice"));
    let a = send(
        app(gate_with_hook(Arc::new(Hook::Revoked))),
        "/me",
        &[&bearer(&t)],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge.as_deref(),
        Some(r#"Bearer realm="test", error="invalid_token", error_description="token revoked""#)
    );
    assert_eq!(
        a.body,
        serde_json::json!({"error": "invalid_token", "error_description": "token revoked"})
    );
    // Optional extraction does not hide it either.
    let a = send(
        app(gate_with_hook(Arc::new(Hook::Revoked))),
        "/maybe",
        &[&bearer(&t)],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_revocation_state_is_503_with_generic_body() {
    let t = token(&Grant::new("alice"));
    for uri in ["/me", "/maybe"] {
        let a = send(
            app(gate_with_hook(Arc::new(Hook::Down))),
            uri,
            &[&bearer(&t)],
        )
        .await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(a.challenge, None);
        assert_eq!(
            a.body,
            serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "authentication temporarily unavailable"
            })
        );
        assert!(!a.text.contains("store unreachable"));
    }
}

#[tokio::test]
async fn extractor_consults_the_revocation_hook() {
    let hook = Arc::new(Hook::Fine(AtomicUsize::new(0)));
    let t = token(&Grant::new("alice"));
    let a = send(
        app(gate_with_hook(Arc::clone(&hook))),
        "/me",
        &[&bearer(&t)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let Hook::Fine(calls) = &*hook else {
        unreachable!()
    };
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

// ----- SharedClaims: the same answers as Claims, without copying the claims -----

async fn me_shared(claims: tokengate::SharedClaims) -> String {
    claims.sub.clone()
}

async fn maybe_shared(claims: Option<tokengate::SharedClaims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub.clone())
}

async fn json_owned(claims: Claims) -> axum::Json<Claims> {
    axum::Json(claims)
}

async fn json_shared(claims: tokengate::SharedClaims) -> axum::Json<tokengate::SharedClaims> {
    axum::Json(claims)
}

#[tokio::test]
async fn shared_claims_answer_exactly_like_claims() {
    let app = Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/json", get(json_owned))
        .route("/shared/me", get(me_shared))
        .route("/shared/maybe", get(maybe_shared))
        .route("/shared/json", get(json_shared))
        .with_state(gate());
    let t = token(&Grant::new("alice").role("admin"));
    let (signing_input, _) = t.rsplit_once('.').unwrap();
    let forged = format!("{signing_input}.AAAA");
    let valid = bearer(&t);
    let forged = bearer(&forged);
    let cases: [&[&str]; 7] = [
        &[&valid],
        &[&valid], // a second time: from the cache
        &[],
        &["Basic YWxpY2U6c2VjcmV0"],
        &[&forged],
        &["Bearer a,b"],
        &[&valid, &valid],
    ];
    for headers in cases {
        for route in ["me", "maybe", "json"] {
            let owned = send(app.clone(), &format!("/{route}"), headers).await;
            let shared = send(app.clone(), &format!("/shared/{route}"), headers).await;
            assert_eq!(owned.status, shared.status, "{route} {headers:?}");
            assert_eq!(owned.challenge, shared.challenge, "{route} {headers:?}");
            assert_eq!(owned.text, shared.text, "{route} {headers:?}");
        }
    }
    // The cases above include both outcomes.
    let ok = send(app.clone(), "/shared/json", &[&valid]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["sub"], "alice");
    assert_eq!(ok.body["roles"], serde_json::json!(["admin"]));
    let bad = send(app, "/shared/me", &[&forged]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn shared_claims_behind_a_role_layer_reuse_its_claims() {
    let gate = gate();
    let app = Router::new()
        .route("/admin", get(me_shared))
        .route_layer(tokengate::RequireLayer::new(
            gate.clone(),
            tokengate::Requirement::role("admin"),
        ))
        .with_state(gate);
    let admin = send(
        app.clone(),
        "/admin",
        &[&bearer(&token(&Grant::new("ann").role("admin")))],
    )
    .await;
    assert_eq!((admin.status, admin.text.as_str()), (StatusCode::OK, "ann"));
    let viewer = send(
        app,
        "/admin",
        &[&bearer(&token(&Grant::new("vic").role("viewer")))],
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
}
