//! The verified-token cache behind `Verifier::verify`: a token served from the cache is refused
//! exactly when a verifier without the cache refuses it.
//!
//! Each test runs the same sequence against a verifier with the cache (default) and one without
//! (`cache_capacity(0)`), and asserts both give the same, expected, answer at every step.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokengate::TokenError;
use tokengate::{
    Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, ManualClock, MemoryStore, NoExtra,
    Store, TokenKind, Verifier,
};

const T0: i64 = 1_800_000_000;

struct Setup {
    clock: ManualClock,
    issuer: Issuer,
    store: Arc<MemoryStore>,
    /// With the cache, without it.
    verifiers: [Verifier; 2],
}

fn setup() -> Setup {
    let clock = ManualClock::new(T0);
    let ring =
        Arc::new(KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap()).unwrap());
    let issuer = Issuer::builder(Arc::clone(&ring))
        .issuer("iss")
        .audience("aud")
        .access_ttl(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    let store = Arc::new(MemoryStore::builder().clock(clock.clone()).build().unwrap());
    let verifier = |capacity| {
        Verifier::builder(Arc::clone(&ring))
            .issuer("iss")
            .audience("aud")
            .clock(clock.clone())
            .revocation(store.clone())
            .cache_capacity(capacity)
            .build()
            .unwrap()
    };
    Setup {
        verifiers: [verifier(tokengate::DEFAULT_CACHE_CAPACITY), verifier(0)],
        clock,
        issuer,
        store,
    }
}

/// Verifies `token` with both verifiers, asserts they agree, returns the answer.
async fn both(s: &Setup, token: &str) -> Result<Claims, Error> {
    let cached = s.verifiers[0].verify::<NoExtra>(token).await;
    let uncached = s.verifiers[1].verify::<NoExtra>(token).await;
    assert_eq!(
        format!("{cached:?}"),
        format!("{uncached:?}"),
        "the cache changed the answer"
    );
    for v in &s.verifiers {
        let shared = v
            .verify_shared::<NoExtra>(token)
            .await
            .map(|c| (*c).clone());
        assert_eq!(
            format!("{shared:?}"),
            format!("{cached:?}"),
            "verify_shared changed the answer"
        );
    }
    cached
}

#[tokio::test]
async fn a_cached_token_still_expires_at_the_leeway_edge() {
    let s = setup();
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    for _ in 0..3 {
        assert_eq!(both(&s, &issued.token).await.unwrap().sub, "alice");
    }
    // exp + 30 s leeway: the last second it is accepted, then refused.
    s.clock.set(issued.expires_at + 29);
    assert!(both(&s, &issued.token).await.is_ok());
    s.clock.set(issued.expires_at + 30);
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::Expired))
    ));
    // And stays refused (the expired entry is gone, the full check refuses it again).
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::Expired))
    ));
}

#[tokio::test]
async fn a_cached_token_is_refused_once_revoked() {
    let s = setup();
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    assert!(both(&s, &issued.token).await.is_ok());
    assert!(both(&s, &issued.token).await.is_ok());
    s.store
        .revoke_token(&issued.jti, issued.expires_at)
        .await
        .unwrap();
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::Revoked))
    ));
}

#[tokio::test]
async fn a_cached_token_is_refused_after_log_out_everywhere() {
    let s = setup();
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    assert!(both(&s, &issued.token).await.is_ok());
    s.store
        .revoke_subject("alice", T0, issued.expires_at)
        .await
        .unwrap();
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::Revoked))
    ));
}

#[tokio::test]
async fn a_token_one_byte_away_from_a_cached_one_is_verified_from_scratch() {
    let s = setup();
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    assert!(both(&s, &issued.token).await.is_ok());
    let (signing_input, signature) = issued.token.rsplit_once('.').unwrap();
    // Flip the last signature character (a different, canonical base64url value).
    let last = signature.chars().last().unwrap();
    let flipped = if last == 'A' { 'E' } else { 'A' };
    let forged = format!(
        "{signing_input}.{}{flipped}",
        &signature[..signature.len() - 1]
    );
    assert!(matches!(
        both(&s, &forged).await,
        Err(Error::Token(TokenError::InvalidSignature))
    ));
    // The token with its last character cut off, and with one appended.
    let cut = &issued.token[..issued.token.len() - 1];
    assert!(both(&s, cut).await.is_err());
    let longer = format!("{}A", issued.token);
    assert!(both(&s, &longer).await.is_err());
    // The original still passes.
    assert!(both(&s, &issued.token).await.is_ok());
}

#[tokio::test]
async fn a_cached_access_token_is_not_a_refresh_token() {
    let s = setup();
    let access = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    assert!(both(&s, &access.token).await.is_ok());
    for v in &s.verifiers {
        let as_refresh = v
            .verify_as::<NoExtra>(&access.token, &TokenKind::Refresh)
            .await;
        assert!(
            matches!(as_refresh, Err(Error::Token(TokenError::WrongType))),
            "{as_refresh:?}"
        );
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tenant {
    tenant: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Plan {
    plan: u32,
}

#[tokio::test]
async fn each_claims_type_gets_its_own_answer() {
    let s = setup();
    let grant = Grant::new("alice").extra(Tenant {
        tenant: "acme".into(),
    });
    let issued = s.issuer.issue_access(&grant).unwrap();
    assert!(both(&s, &issued.token).await.is_ok()); // cached as Claims<NoExtra>
    for v in &s.verifiers {
        let claims = v.verify::<Tenant>(&issued.token).await.unwrap();
        assert_eq!(claims.extra.tenant, "acme");
        // A type the token's claims do not fit is refused, cached or not.
        let plan = v.verify::<Plan>(&issued.token).await;
        assert!(
            matches!(&plan, Err(Error::Token(TokenError::MissingAppClaim(name))) if name == "plan"),
            "{plan:?}"
        );
    }
}

#[tokio::test]
async fn not_yet_valid_tokens_are_not_cached_and_pass_once_valid() {
    let s = setup();
    // Minted 60 s in the future (beyond the 30 s leeway for `nbf` and `iat`).
    s.clock.set(T0 + 60);
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    s.clock.set(T0);
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::NotYetValid))
    ));
    assert!(matches!(
        both(&s, &issued.token).await,
        Err(Error::Token(TokenError::NotYetValid))
    ));
    s.clock.set(T0 + 30);
    assert!(both(&s, &issued.token).await.is_ok());
}

#[tokio::test]
async fn the_verifier_debug_output_never_shows_a_cached_token() {
    let s = setup();
    let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
    assert!(both(&s, &issued.token).await.is_ok());
    let shown = format!("{:?}", s.verifiers[0]);
    let signature = issued.token.rsplit_once('.').unwrap().1;
    assert!(!shown.contains(signature), "{shown}");
    assert!(shown.contains("len: 1"), "{shown}");
}
