//! Role and permission guards, all three forms: extractor, layer, plain check. Hierarchy,
//! any-of / all-of, 401 vs 403, failing closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use tokengate::store::{RevocationFuture, TokenRef};
use tokengate::{
    AllOf, AnyOf, Claims, Error, Gate, Grant, Issuer, Key, KeyRing, RequireLayer,
    RequirePermission, RequireRole, Requirement, Revocation, RoleHierarchy, Verifier,
};

tokengate::role!(Admin = "admin");
tokengate::role!(Editor = "editor");
tokengate::role!(Viewer = "viewer");
tokengate::role!(Auditor = "auditor");
tokengate::permission!(DraftsRead = "drafts:read");
tokengate::permission!(DraftsWrite = "drafts:write");

fn ring() -> KeyRing {
    KeyRing::new(Key::from_secret(tokengate::Algorithm::HS256, &[5u8; 32]).expect("key"))
        .expect("ring")
}

fn hierarchy() -> RoleHierarchy {
    RoleHierarchy::builder()
        .role("admin", ["editor"])
        .role("editor", ["viewer"])
        .build()
        .expect("hierarchy")
}

fn verifier() -> tokengate::VerifierBuilder {
    Verifier::builder(ring()).issuer("iss").audience("aud")
}

fn gate() -> Gate {
    Gate::builder(verifier().build().expect("verifier"))
        .realm("rbac")
        .roles(hierarchy())
        .build()
        .expect("gate")
}

fn token(grant: &Grant) -> String {
    Issuer::builder(ring())
        .issuer("iss")
        .audience("aud")
        .build()
        .expect("issuer")
        .issue_access(grant)
        .expect("issue")
        .token
}

fn with_roles(roles: &[&str]) -> String {
    token(&Grant::new("u").roles(roles.iter().copied()))
}

fn with_permissions(perms: &[&str]) -> String {
    token(&Grant::new("u").permissions(perms.iter().copied()))
}

async fn call(
    app: &Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, serde_json::Value) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status();
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, challenge, body)
}

fn assert_403(
    answer: &(StatusCode, Option<String>, serde_json::Value),
    description: &str,
    scope: &str,
) {
    assert_eq!(answer.0, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.1.as_deref(),
        Some(&*format!(
            r#"Bearer realm="rbac", error="insufficient_scope", error_description="{description}", scope="{scope}""#
        ))
    );
    assert_eq!(
        answer.2,
        serde_json::json!({"error": "insufficient_scope", "error_description": description})
    );
}

fn assert_401_bare(answer: &(StatusCode, Option<String>, serde_json::Value)) {
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.1.as_deref(), Some(r#"Bearer realm="rbac""#));
    assert_eq!(answer.2["error"], "unauthorized");
}

// ----- extractor form -----

fn extractor_app() -> Router {
    async fn admin(a: RequireRole<Admin>) -> String {
        a.sub.clone()
    }
    async fn viewer(_: RequireRole<Viewer>) {}
    async fn drafts(_: RequireRole<AnyOf<(Editor, Auditor)>>) {}
    async fn both(_: RequireRole<AllOf<(Viewer, Auditor)>>) {}
    async fn read(_: RequirePermission<DraftsRead>) {}
    async fn write(_: RequirePermission<AllOf<(DraftsRead, DraftsWrite)>>) {}
    async fn either(_: RequirePermission<AnyOf<(DraftsRead, DraftsWrite)>>) {}
    Router::new()
        .route("/admin", get(admin))
        .route("/viewer", get(viewer))
        .route("/drafts", get(drafts))
        .route("/both", get(both))
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/either", get(either))
        .with_state(gate())
}

#[tokio::test]
async fn extractor_401_without_or_with_bad_token_403_without_role() {
    let app = extractor_app();
    assert_401_bare(&call(&app, "/admin", None).await);
    let bad = call(&app, "/admin", Some("a.b.c")).await;
    assert_eq!(bad.0, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.2["error"], "invalid_token");
    let (status, _, _) = call(&app, "/admin", Some(&with_roles(&["admin"]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_403(
        &call(&app, "/admin", Some(&with_roles(&["editor"]))).await,
        "requires role admin",
        "admin",
    );
    assert_403(
        &call(&app, "/admin", Some(&with_roles(&[]))).await,
        "requires role admin",
        "admin",
    );
}

#[tokio::test]
async fn extractor_applies_the_hierarchy_transitively() {
    let app = extractor_app();
    for roles in [
        &["viewer"][..],
        &["editor"],
        &["admin"],
        &["other", "admin"],
    ] {
        let (status, _, _) = call(&app, "/viewer", Some(&with_roles(roles))).await;
        assert_eq!(status, StatusCode::OK, "{roles:?}");
    }
    assert_403(
        &call(&app, "/viewer", Some(&with_roles(&["auditor"]))).await,
        "requires role viewer",
        "viewer",
    );
    // Inclusion goes one way only.
    assert_403(
        &call(&app, "/admin", Some(&with_roles(&["viewer", "editor"]))).await,
        "requires role admin",
        "admin",
    );
}

#[tokio::test]
async fn extractor_any_of_and_all_of_roles() {
    let app = extractor_app();
    for roles in [&["editor"][..], &["auditor"], &["admin"]] {
        assert_eq!(
            call(&app, "/drafts", Some(&with_roles(roles))).await.0,
            StatusCode::OK,
            "{roles:?}"
        );
    }
    assert_403(
        &call(&app, "/drafts", Some(&with_roles(&["viewer"]))).await,
        "requires one of the roles editor, auditor",
        "editor auditor",
    );
    // all-of: each through the hierarchy (admin ⊇ viewer).
    assert_eq!(
        call(&app, "/both", Some(&with_roles(&["admin", "auditor"])))
            .await
            .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/both", Some(&with_roles(&["admin"]))).await,
        "requires all of the roles viewer, auditor",
        "viewer auditor",
    );
}

#[tokio::test]
async fn extractor_permissions_exact_any_all() {
    let app = extractor_app();
    assert_eq!(
        call(&app, "/read", Some(&with_permissions(&["drafts:read"])))
            .await
            .0,
        StatusCode::OK
    );
    // Roles do not grant permissions, and permissions have no hierarchy.
    assert_403(
        &call(&app, "/read", Some(&with_roles(&["admin"]))).await,
        "requires permission drafts:read",
        "drafts:read",
    );
    assert_eq!(
        call(
            &app,
            "/write",
            Some(&with_permissions(&["drafts:write", "drafts:read"]))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/write", Some(&with_permissions(&["drafts:write"]))).await,
        "requires all of the permissions drafts:read, drafts:write",
        "drafts:read drafts:write",
    );
    assert_eq!(
        call(&app, "/either", Some(&with_permissions(&["drafts:write"])))
            .await
            .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/either", Some(&with_permissions(&["drafts:delete"]))).await,
        "requires one of the permissions drafts:read, drafts:write",
        "drafts:read drafts:write",
    );
    assert_eq!(call(&app, "/read", None).await.0, StatusCode::UNAUTHORIZED);
}

// ----- layer form -----

#[derive(Debug, Default)]
struct Counting(AtomicUsize);

impl Revocation for Counting {
    fn is_revoked<'a>(&'a self, _token: TokenRef<'a>) -> RevocationFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(false) })
    }
}

fn layer_app(gate: &Gate) -> Router {
    async fn stats(claims: Claims) -> String {
        claims.sub
    }
    let admin = Router::new()
        .route("/admin/stats", get(stats))
        .route_layer(RequireLayer::roles::<Admin>(gate.clone()));
    let editor = Router::new()
        .route("/editor/drafts", get(|| async { "drafts" }))
        .route_layer(RequireLayer::new(
            gate.clone(),
            Requirement::any_role(["editor", "auditor"]),
        ));
    let writers = Router::new()
        .route("/drafts/save", get(|| async { "saved" }))
        .route_layer(RequireLayer::permissions::<DraftsWrite>(gate.clone()));
    Router::new()
        .route("/open", get(|| async { "open" }))
        .merge(admin)
        .merge(editor)
        .merge(writers)
        .with_state(gate.clone())
}

/// The layer's former names still compile and guard the same way (deprecated aliases).
#[tokio::test]
#[allow(deprecated)]
async fn former_layer_names_still_guard() {
    let gate = gate();
    let layer: tokengate::RequireRoleLayer =
        tokengate::RequireRoleLayer::roles::<Admin>(gate.clone());
    let app = Router::new()
        .route("/admin/stats", get(|| async { "stats" }))
        .route_layer(layer)
        .with_state(gate);
    assert_401_bare(&call(&app, "/admin/stats", None).await);
    assert_403(
        &call(&app, "/admin/stats", Some(&with_roles(&["editor"]))).await,
        "requires role admin",
        "admin",
    );
    assert_eq!(
        call(&app, "/admin/stats", Some(&with_roles(&["admin"])))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn layer_guards_a_router_401_vs_403() {
    let app = layer_app(&gate());
    assert_eq!(call(&app, "/open", None).await.0, StatusCode::OK);
    assert_401_bare(&call(&app, "/admin/stats", None).await);
    let bad = call(&app, "/admin/stats", Some("x.y.z")).await;
    assert_eq!(bad.0, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.2["error"], "invalid_token");
    assert_403(
        &call(&app, "/admin/stats", Some(&with_roles(&["editor"]))).await,
        "requires role admin",
        "admin",
    );
    assert_eq!(
        call(&app, "/admin/stats", Some(&with_roles(&["admin"])))
            .await
            .0,
        StatusCode::OK
    );
    // Hierarchy through the layer.
    assert_eq!(
        call(&app, "/editor/drafts", Some(&with_roles(&["admin"])))
            .await
            .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/editor/drafts", Some(&with_roles(&["viewer"]))).await,
        "requires one of the roles editor, auditor",
        "editor auditor",
    );
    // Permissions through the layer.
    assert_eq!(
        call(
            &app,
            "/drafts/save",
            Some(&with_permissions(&["drafts:write"]))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/drafts/save", Some(&with_roles(&["admin"]))).await,
        "requires permission drafts:write",
        "drafts:write",
    );
}

#[tokio::test]
async fn layer_and_extractor_verify_once() {
    let hook = Arc::new(Counting::default());
    let gate = Gate::builder(
        verifier()
            .revocation(hook.clone())
            .build()
            .expect("verifier"),
    )
    .realm("rbac")
    .roles(hierarchy())
    .build()
    .expect("gate");
    let app = layer_app(&gate);
    let t = token(&Grant::new("alice").role("admin"));
    let req = Request::get("/admin/stats").header(AUTHORIZATION, format!("Bearer {t}"));
    let res = app
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], b"alice");
    assert_eq!(
        hook.0.load(Ordering::SeqCst),
        1,
        "the handler's Claims reused the layer's claims"
    );
}

// ----- plain check -----

#[tokio::test]
async fn plain_check_on_claims() {
    async fn publish(
        State(gate): State<Gate>,
        claims: Claims,
    ) -> Result<&'static str, tokengate::Rejection> {
        gate.require(&claims, &Requirement::all_roles(["editor", "auditor"]))?;
        Ok("published")
    }
    let app = Router::new()
        .route("/publish", get(publish))
        .with_state(gate());
    assert_eq!(
        call(&app, "/publish", Some(&with_roles(&["admin", "auditor"])))
            .await
            .0,
        StatusCode::OK
    );
    assert_403(
        &call(&app, "/publish", Some(&with_roles(&["editor"]))).await,
        "requires all of the roles editor, auditor",
        "editor auditor",
    );
    assert_401_bare(&call(&app, "/publish", None).await);
}

#[tokio::test]
async fn empty_requirements_fail_closed() {
    let g = gate();
    let claims: Claims = g
        .verifier()
        .verify(&with_roles(&["admin"]))
        .await
        .expect("valid");
    for requirement in [
        Requirement::all_roles(Vec::<String>::new()),
        Requirement::any_role(Vec::<String>::new()),
        Requirement::all_permissions(Vec::<String>::new()),
    ] {
        let refused = g.require(&claims, &requirement).expect_err("fails closed");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    // A role requirement is never met by permissions, nor the reverse.
    assert!(!Requirement::role("admin").is_met_by(
        &Claims {
            permissions: vec!["admin".into()],
            roles: vec![],
            ..claims.clone()
        },
        g.roles()
    ));
    assert!(!Requirement::permission("admin").is_met_by(&claims, g.roles()));
}

// ----- hierarchy configuration -----

#[test]
fn hierarchy_cycles_and_bad_names_are_refused_at_build() {
    for builder in [
        RoleHierarchy::builder().role("a", ["a"]),
        RoleHierarchy::builder().role("a", ["b"]).role("b", ["a"]),
        RoleHierarchy::builder()
            .role("admin", ["editor"])
            .role("editor", ["viewer"])
            .role("viewer", ["admin"]),
    ] {
        let err = builder.build().expect_err("cycle");
        assert!(
            matches!(err, Error::Config { ref problem, .. } if problem.contains("cycle")),
            "{err}"
        );
    }
    for bad in ["", "two words", "q\"uote"] {
        let err = RoleHierarchy::builder()
            .role("admin", [bad])
            .build()
            .expect_err("bad name");
        assert!(
            matches!(err, Error::Config { ref setting, .. } if setting == "role hierarchy"),
            "{err}"
        );
    }
}

#[test]
fn hierarchy_diamond_and_repeated_declarations() {
    let h = RoleHierarchy::builder()
        .role("owner", ["admin", "billing"])
        .role("admin", ["viewer"])
        .role("billing", ["viewer"])
        .role("admin", ["support"])
        .build()
        .expect("a diamond is not a cycle");
    let owner = ["owner".to_owned()];
    for role in ["owner", "admin", "billing", "viewer", "support"] {
        assert!(h.grants(&owner, role), "{role}");
    }
    assert!(h.grants(&["admin".to_owned()], "support"));
    assert!(!h.grants(&["billing".to_owned()], "support"));
    assert!(!h.grants(&[], "viewer"));
    // Unknown roles grant only themselves.
    assert!(h.grants(&["intern".to_owned()], "intern"));
    assert!(!h.grants(&["intern".to_owned()], "viewer"));
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn layer_with_app_claims_type_feeds_the_handler() {
    let hook = Arc::new(Counting::default());
    let gate = Gate::builder(
        verifier()
            .revocation(hook.clone())
            .build()
            .expect("verifier"),
    )
    .roles(hierarchy())
    .build()
    .expect("gate");
    async fn tenant(claims: Claims<Tenant>) -> String {
        claims.extra.tenant
    }
    let app = Router::new()
        .route("/tenant", get(tenant))
        .route_layer(RequireLayer::roles::<Viewer>(gate.clone()).with_claims::<Tenant>())
        .with_state(gate);
    let t = Issuer::builder(ring())
        .issuer("iss")
        .audience("aud")
        .build()
        .expect("issuer")
        .issue_access(&Grant::new("u").role("editor").extra(Tenant {
            tenant: "acme".into(),
        }))
        .expect("issue")
        .token;
    let req = Request::get("/tenant").header(AUTHORIZATION, format!("Bearer {t}"));
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], b"acme");
    assert_eq!(hook.0.load(Ordering::SeqCst), 1);
    // A token without the app's claim is refused by the layer itself: 401, not the handler.
    let (status, _, body) = call(&app, "/tenant", Some(&with_roles(&["editor"]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
}
