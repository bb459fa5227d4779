//! The `testing` feature: handler tests with minted tokens and a matching gate, no login.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use tower::ServiceExt as _;

use tokengate::testing::{TEST_AUDIENCE, TEST_ISSUER, TestTokens};
use tokengate::{Claims, Grant, RequirePermission, RequireRole};

tokengate::role!(Admin = "admin");
tokengate::permission!(DraftsWrite = "drafts:write");

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tenant {
    tenant_id: String,
}

fn app(tokens: &TestTokens) -> Router {
    async fn tenant(claims: Claims<Tenant>) -> String {
        format!("{} of {}", claims.sub, claims.extra.tenant_id)
    }
    Router::new()
        .route("/admin", get(|_: RequireRole<Admin>| async { "admin" }))
        .route(
            "/drafts",
            get(|_: RequirePermission<DraftsWrite>| async { "write" }),
        )
        .route("/tenant", get(tenant))
        .with_state(tokens.gate())
}

async fn call(app: &Router, uri: &str, token: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        challenge,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

#[tokio::test]
async fn minted_tokens_carry_roles_permissions_and_app_claims() {
    let tokens = TestTokens::new();
    let app = app(&tokens);
    let admin = tokens.access(&Grant::new("alice").role("admin"));
    assert_eq!(call(&app, "/admin", &admin).await.0, StatusCode::OK);
    let writer = tokens.access(&Grant::new("bob").permission("drafts:write"));
    assert_eq!(call(&app, "/drafts", &writer).await.0, StatusCode::OK);
    let (status, challenge, _) = call(&app, "/admin", &writer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    let tenant = tokens.access(&Grant::new("carol").extra(Tenant {
        tenant_id: "acme".into(),
    }));
    assert_eq!(
        call(&app, "/tenant", &tenant).await,
        (StatusCode::OK, String::new(), "carol of acme".into())
    );
    // The tokens are real: issuer, audience and typ as a verifier expects.
    let claims: Claims = tokens
        .verifier()
        .dangerous()
        .verify_without_revocation(&admin)
        .expect("valid");
    assert_eq!(claims.iss, TEST_ISSUER);
    assert!(claims.aud.iter().any(|a| a == TEST_AUDIENCE));
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused_with_their_reason() {
    let tokens = TestTokens::new();
    let app = app(&tokens);
    let grant = Grant::new("alice").role("admin");
    let (status, challenge, _) = call(&app, "/admin", &tokens.expired(&grant)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.ends_with(r#"error="invalid_token", error_description="token expired""#),
        "{challenge}"
    );
    let (status, challenge, _) = call(&app, "/admin", &tokens.not_yet_valid(&grant)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains(r#"error="invalid_token""#) && !challenge.contains("token expired"),
        "{challenge}"
    );
}

#[tokio::test]
async fn the_clock_moves_a_valid_token_past_its_expiry() {
    let tokens = TestTokens::new();
    let app = app(&tokens);
    let admin = tokens.access(
        &Grant::new("alice")
            .role("admin")
            .ttl(std::time::Duration::from_secs(60)),
    );
    assert_eq!(call(&app, "/admin", &admin).await.0, StatusCode::OK);
    tokens.clock().advance(60 + 300 + 1); // past exp and the largest leeway
    let (status, challenge, _) = call(&app, "/admin", &admin).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("token expired"), "{challenge}");
}

/// A token without a claim the application's type requires is refused naming the claim (it used
/// to say only "token claims is not a valid JSON object").
#[tokio::test]
async fn a_missing_app_claim_is_named_in_the_refusal() {
    let tokens = TestTokens::new();
    let app = app(&tokens);
    let plain = tokens.access(&Grant::new("dave"));
    let (status, challenge, body) = call(&app, "/tenant", &plain).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge
            .ends_with(r#"error="invalid_token", error_description="claim `tenant_id` missing""#),
        "{challenge}"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json"),
        serde_json::json!({"error": "invalid_token", "error_description": "claim `tenant_id` missing"})
    );
    #[derive(Serialize)]
    struct Numeric {
        tenant_id: u32,
    }
    let numeric = tokens.access(&Grant::new("erin").extra(Numeric { tenant_id: 7 }));
    let (status, challenge, _) = call(&app, "/tenant", &numeric).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.ends_with(r#"error_description="claim `tenant_id` has an invalid value""#),
        "{challenge}"
    );
}
