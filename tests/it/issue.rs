//! Minting: what a grant's application claims (`Grant::extra`) may and may not put in a token.

use serde::Serialize;
use serde_json::json;
use tokengate::{Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, TokenKind, Verifier};

/// Every member tokengate writes or reads with a meaning of its own.
const RESERVED: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "roles",
    "permissions",
    "scope",
    "cnf",
    "auth_time",
    "typ",
];

fn pair() -> (Issuer, Verifier) {
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[21; 32]).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("aud")
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("aud")
        .build()
        .unwrap();
    (issuer, verifier)
}

/// Asserts that `result` is the refusal naming `member`, and that its text carries no value.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Error>, member: &str) {
    match result {
        Err(e @ Error::Config { .. }) => {
            assert_eq!(e.setting(), Some("extra"));
            let text = e.to_string();
            assert!(text.contains(&format!("`{member}`")), "{text}");
            assert!(
                !text.contains("admin") && !text.contains("billing"),
                "{text}"
            );
        }
        other => panic!("`{member}` in extra claims: expected Error::Config, got {other:?}"),
    }
}

/// Regression: `Issuer::issue` flattened `Grant::extra` into the token unchecked, so an
/// application copying profile attributes into tokens could mint `roles: ["admin"]`, a `scope`
/// or another session's `sid` for any user.
#[test]
fn extra_claims_cannot_set_privileged_claims() {
    let (issuer, _) = pair();
    for member in RESERVED {
        let value = match member {
            "roles" | "permissions" => json!(["admin", "billing:write"]),
            "exp" | "nbf" | "iat" | "auth_time" => json!(4_102_444_800_i64),
            "cnf" => json!({"jkt": "admin"}),
            _ => json!("admin billing:write"),
        };
        let grant = Grant::new("mallory").extra(json!({ "tenant": "t-1", member: value }));
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            assert_refused(issuer.issue(kind, &grant), member);
        }
    }
}

#[test]
fn extra_claims_from_a_struct_are_checked_by_their_serialized_names() {
    #[derive(Serialize)]
    struct Profile {
        tenant: String,
        #[serde(rename = "scope")]
        granted: String,
    }
    #[derive(Serialize)]
    struct Outer {
        #[serde(flatten)]
        profile: Option<Profile>,
    }
    let (issuer, _) = pair();
    let profile = || Profile {
        tenant: "t-1".into(),
        granted: "billing:write".into(),
    };
    assert_refused(
        issuer.issue_access(&Grant::new("mallory").extra(profile())),
        "scope",
    );
    assert_refused(
        issuer.issue_access(&Grant::new("mallory").extra(Outer {
            profile: Some(profile()),
        })),
        "scope",
    );
    // The same member twice (roles given by the grant and by the extra claims) is refused too,
    // rather than minting a token that can never verify.
    assert_refused(
        issuer.issue_access(
            &Grant::new("mallory")
                .role("viewer")
                .extra(json!({"roles": ["viewer"]})),
        ),
        "roles",
    );
}

#[test]
fn other_extra_claims_are_written_and_verify() {
    #[derive(Serialize)]
    struct Profile {
        tenant: String,
        #[serde(rename = "Roles")]
        display_roles: Vec<String>,
    }
    let (issuer, verifier) = pair();
    let grant = Grant::new("alice").role("viewer").extra(Profile {
        tenant: "t-1".into(),
        display_roles: vec!["admin".into()],
    });
    let issued = issuer.issue_access(&grant).unwrap();
    let claims: Claims<serde_json::Map<String, serde_json::Value>> = verifier
        .dangerous()
        .verify_without_revocation(&issued.token)
        .unwrap();
    assert_eq!(claims.roles, ["viewer"]);
    assert_eq!(claims.extra["tenant"], "t-1");
    // Member names are case-sensitive: `Roles` is the application's own claim.
    assert_eq!(claims.extra["Roles"], json!(["admin"]));
    assert!(!claims.has_role("admin"));
    // No extra claims at all, and an absent optional group, still work.
    assert!(issuer.issue_access(&Grant::new("bob")).is_ok());
    assert!(
        issuer
            .issue_access(&Grant::new("bob").extra(None::<Profile>))
            .is_ok()
    );
}
