//! Every refusal through a router: status, exact `WWW-Authenticate`, body (JSON, RFC 9457
//! problem+json, custom), and the `tracing` line (reason, kid, sub; never the token).

use crate::support::logs::captured;

use axum::Router;
use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use tokengate::KeyError;
use tokengate::{
    Algorithm, Claims, Error, ErrorBody, Gate, Grant, Issuer, Key, KeyRing, ManualClock,
    RequireRole, Verifier,
};

tokengate::role!(Admin = "admin");

const NOW: i64 = 1_700_000_000;

fn key() -> Key {
    Key::from_secret(Algorithm::HS256, &[4u8; 32])
        .expect("key")
        .with_kid("k1")
}

fn issuer_at(now: i64, iss: &str, aud: &str) -> Issuer {
    Issuer::builder(KeyRing::new(key()).expect("ring"))
        .issuer(iss)
        .audience(aud)
        .clock(ManualClock::new(now))
        .build()
        .expect("issuer")
}

fn gate(body: ErrorBody) -> Gate {
    captured();
    let verifier = Verifier::builder(KeyRing::new(key()).expect("ring"))
        .issuer("iss")
        .audience("aud")
        .clock(ManualClock::new(NOW))
        .max_token_size(1024)
        .build()
        .expect("verifier");
    Gate::builder(verifier)
        .realm("realm")
        .error_body(body)
        .build()
        .expect("gate")
}

fn app(body: ErrorBody) -> Router {
    async fn me(claims: Claims) -> String {
        claims.sub
    }
    async fn admin(_: RequireRole<Admin>) {}
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .with_state(gate(body))
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).expect("JSON body")
    }
}

async fn send(app: Router, uri: &str, token: Option<&str>) -> Answer {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &http::HeaderValue| v.to_str().expect("ascii").to_owned())
    };
    let (status, challenge, content_type) =
        (res.status(), header(WWW_AUTHENTICATE), header(CONTENT_TYPE));
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Answer {
        status,
        challenge,
        content_type,
        text: String::from_utf8(bytes.to_vec()).expect("utf-8"),
    }
}

fn b64(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn valid() -> String {
    issuer_at(NOW, "iss", "aud")
        .issue_access(&Grant::new("alice"))
        .expect("issue")
        .token
}

/// (token, expected `error_description`) for every kind of bad token a client can send.
fn bad_tokens() -> Vec<(String, &'static str)> {
    let claims = format!(
        r#"{{"iss":"iss","sub":"alice","aud":"aud","exp":{}}}"#,
        NOW + 60
    );
    vec![
        (
            issuer_at(NOW - 3600, "iss", "aud")
                .issue_access(&Grant::new("alice"))
                .expect("issue")
                .token,
            "token expired",
        ),
        // Issued by a clock an hour ahead: `nbf` (= `iat`) is in the future.
        (
            issuer_at(NOW + 3600, "iss", "aud")
                .issue_access(&Grant::new("alice"))
                .expect("issue")
                .token,
            "token not yet valid",
        ),
        (
            issuer_at(NOW, "other", "aud")
                .issue_access(&Grant::new("alice"))
                .expect("issue")
                .token,
            "token issuer not accepted",
        ),
        (
            issuer_at(NOW, "iss", "other")
                .issue_access(&Grant::new("alice"))
                .expect("issue")
                .token,
            "token audience not accepted",
        ),
        (
            issuer_at(NOW, "iss", "aud")
                .issue_refresh(&Grant::new("alice"))
                .expect("issue")
                .token,
            "wrong token type",
        ),
        (
            format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"at+jwt"}"#),
                b64(&claims)
            ),
            "unsecured token (alg none) refused",
        ),
        (
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"HS256","typ":"at+jwt","kid":"nope"}"#),
                b64(&claims)
            ),
            "unknown key id",
        ),
        (
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#),
                b64(&claims)
            ),
            "invalid signature",
        ),
        (
            format!(
                "{}.{}.c2ln",
                b64(r#"{"alg":"RS256","typ":"at+jwt","kid":"k1"}"#),
                b64(&claims)
            ),
            "algorithm does not match the key",
        ),
        ("abc.def".to_owned(), "token malformed"),
        ("a".repeat(2000), "token too large (more than 1024 bytes)"),
    ]
}

#[tokio::test]
async fn every_bad_token_is_401_invalid_token_with_its_reason() {
    for (token, description) in bad_tokens() {
        let a = send(app(ErrorBody::Json), "/me", Some(&token)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{description}");
        assert_eq!(
            a.challenge.as_deref(),
            Some(&*format!(
                r#"Bearer realm="realm", error="invalid_token", error_description="{description}""#
            ))
        );
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            a.json(),
            serde_json::json!({"error": "invalid_token", "error_description": description})
        );
        assert!(!a.text.contains(&token), "the token is never echoed");
    }
}

#[tokio::test]
async fn valid_token_passes_with_the_manual_clock() {
    let a = send(app(ErrorBody::Json), "/me", Some(&valid())).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "alice"));
}

#[tokio::test]
async fn problem_json_body() {
    let a = send(app(ErrorBody::ProblemJson), "/me", Some(&bad_tokens()[0].0)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(
        a.challenge.as_deref(),
        Some(r#"Bearer realm="realm", error="invalid_token", error_description="token expired""#)
    );
    assert_eq!(
        a.json(),
        serde_json::json!({
            "type": "about:blank", "title": "Unauthorized", "status": 401,
            "detail": "token expired", "error": "invalid_token"
        })
    );
    let a = send(app(ErrorBody::ProblemJson), "/me", None).await;
    assert_eq!(a.json()["status"], 401);
    assert_eq!(a.json()["error"], "unauthorized");
    let user = issuer_at(NOW, "iss", "aud")
        .issue_access(&Grant::new("bob"))
        .expect("issue")
        .token;
    let a = send(app(ErrorBody::ProblemJson), "/admin", Some(&user)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.json(),
        serde_json::json!({
            "type": "about:blank", "title": "Forbidden", "status": 403,
            "detail": "requires role admin", "error": "insufficient_scope"
        })
    );
}

#[tokio::test]
async fn custom_body_keeps_status_and_challenge() {
    let body = ErrorBody::custom(|r| {
        // Even a custom body that picks another status cannot change the answer's status.
        (
            StatusCode::IM_A_TEAPOT,
            format!("nope: {} ({})", r.error_code(), r.description()),
        )
            .into_response()
    });
    let a = send(app(body.clone()), "/me", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.challenge.as_deref(), Some(r#"Bearer realm="realm""#));
    assert_eq!(a.text, "nope: unauthorized (bearer token required)");
    let a = send(app(body), "/me", Some("abc.def")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.text, "nope: invalid_token (token malformed)");
}

#[tokio::test]
async fn server_errors_are_500_with_a_generic_body_and_no_challenge() {
    for body in [ErrorBody::Json, ErrorBody::ProblemJson] {
        let res = gate(body)
            .reject(Error::Key(KeyError::Invalid(
                "a detail that must stay private".into(),
            )))
            .into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        let text = String::from_utf8(
            res.into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec(),
        )
        .expect("utf-8");
        assert!(text.contains(r#""error":"server_error""#), "{text}");
        assert!(text.contains("internal error"), "{text}");
        assert!(!text.contains("private"), "{text}");
    }
}

// ----- logging -----

#[tokio::test]
async fn refusals_are_logged_with_reason_kid_and_sub_never_the_token() {
    let expired = bad_tokens()[0].0.clone();
    let forged = bad_tokens()[7].0.clone();
    let user = issuer_at(NOW, "iss", "aud")
        .issue_access(&Grant::new("bob"))
        .expect("issue")
        .token;
    async {
        send(app(ErrorBody::Json), "/me", Some(&expired)).await;
        send(app(ErrorBody::Json), "/me", Some(&forged)).await;
        send(app(ErrorBody::Json), "/admin", Some(&user)).await;
        send(app(ErrorBody::Json), "/me", None).await;
    }
    .instrument(tracing::info_span!("log_test"))
    .await;

    let lines = captured().in_span("log_test");
    let all = serde_json::to_string(&lines).expect("json");
    for token in [&expired, &forged, &user] {
        assert!(!all.contains(token.as_str()), "a token was logged");
    }
    let refusals: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == tokengate::REJECTION_LOG_TARGET)
        .collect();
    assert_eq!(refusals.len(), 4, "{all}");
    let f = |i: usize| &refusals[i]["fields"];
    // Expired: signed by us, so kid and sub are both known.
    assert_eq!(
        (f(0)["status"].as_u64(), &f(0)["reason"]),
        (Some(401), &"token expired".into())
    );
    assert_eq!(
        (&f(0)["kid"], &f(0)["sub"]),
        (&"k1".into(), &"alice".into())
    );
    assert_eq!(refusals[0]["level"], "INFO");
    // Bad signature: the kid is readable, the sub is not trusted and not logged.
    assert_eq!(f(1)["reason"], "invalid signature");
    assert_eq!(f(1)["kid"], "k1");
    assert!(f(1).get("sub").is_none());
    // Insufficient scope: the sub is known.
    assert_eq!(
        (f(2)["status"].as_u64(), &f(2)["sub"]),
        (Some(403), &"bob".into())
    );
    assert_eq!(f(2)["reason"], "requires role admin");
    // Missing credentials: DEBUG, nothing else known.
    assert_eq!(refusals[3]["level"], "DEBUG");
    assert_eq!(f(3)["reason"], "bearer token required");
}

/// A custom endpoint returning `Result<TokenPair, tokengate::Error>` answers as the ready router
/// does: the RFC 6749 token response (never cached) on success, the one mapping on refusal.
#[tokio::test]
async fn custom_endpoints_answer_token_pairs_and_errors_like_the_ready_router() {
    use std::sync::Arc;
    use tokengate::{MemoryStore, Sessions, TokenPair};

    let store = Arc::new(MemoryStore::new());
    let ring = KeyRing::new(key()).expect("ring");
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("aud")
        .build()
        .expect("issuer");
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("aud")
        .revocation(store.clone())
        .build()
        .expect("verifier");
    let sessions = Sessions::builder(issuer, verifier, store)
        .build()
        .expect("sessions");
    let login = {
        let sessions = sessions.clone();
        move || async move {
            let pair: Result<TokenPair, Error> = sessions.start(Grant::new("alice")).await;
            pair
        }
    };
    let app = Router::new().route("/custom/login", get(login)).route(
        "/custom/refused",
        get(|| async { Err::<TokenPair, _>(Error::InvalidGrant) }),
    );
    let ok = app
        .clone()
        .oneshot(
            Request::get("/custom/login")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    assert_eq!(ok.headers()["pragma"], "no-cache");
    assert_eq!(ok.headers()[CONTENT_TYPE], "application/json");
    let body: serde_json::Value =
        serde_json::from_slice(&ok.into_body().collect().await.expect("body").to_bytes())
            .expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert!(body["expires_in"].as_i64().expect("expires_in") > 0);

    let refused = app
        .oneshot(
            Request::get("/custom/refused")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(WWW_AUTHENTICATE).is_none());
    let body: serde_json::Value = serde_json::from_slice(
        &refused
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes(),
    )
    .expect("json");
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "invalid credentials or grant"})
    );
}
