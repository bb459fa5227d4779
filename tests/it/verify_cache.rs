//! The verified-token cache behind `Verifier::verify`: a token served from the cache is refused
//! exactly when a verifier without the cache refuses it.
//!
//! Each test runs the same sequence against a verifier with the cache (default) and one without
//! (`cache_capacity(0)`), and asserts both give the same, expected, answer at every step.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    setup_with(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap())
}

fn setup_with(key: Key) -> Setup {
    let clock = ManualClock::new(T0);
    let ring = Arc::new(KeyRing::new(key).unwrap());
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

// ----- ECDSA twins (issue 13, defect 3) -----
//
// An ECDSA signature (r, s) has a twin (r, n − s) that verifies over the same message with the
// same key, so a token has a twin string with the same claims. RFC 7518 allows either, and other
// libraries mint high-S signatures, so both verify; the cache must treat them as one token, and a
// signature that is neither must never be answered from the cache.

/// The group order n of P-256 and P-384, big-endian.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const P384_N: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ec_algs() -> [(Algorithm, Vec<u8>); 2] {
    [
        (Algorithm::ES256, hex(P256_N)),
        (Algorithm::ES384, hex(P384_N)),
    ]
}

/// `a − b` for big-endian numbers of one length (a ≥ b).
fn minus(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = u8::try_from(d.rem_euclid(256)).unwrap();
    }
    out
}

/// The token with its signature `r || s` replaced by `f(r, s)`.
fn with_signature(token: &str, f: impl FnOnce(&[u8], &[u8]) -> Vec<u8>) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let (r, s) = sig.split_at(sig.len() / 2);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(f(r, s)))
}

/// The twin of an ECDSA token: `s` replaced by `n − s`.
fn twin(token: &str, n: &[u8]) -> String {
    with_signature(token, |r, s| [r, &minus(n, s)].concat())
}

/// Whether the token's `s` is at most (n − 1) / 2.
fn is_low_s(token: &str, n: &[u8]) -> bool {
    let sig = URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap();
    let s = &sig[sig.len() / 2..];
    // s ≤ n − 1 − s, i.e. s ≤ (n − 1) / 2 for odd n.
    s <= minus(&minus(n, &[vec![0; n.len() - 1], vec![1]].concat()), s).as_slice()
}

#[tokio::test]
async fn ecdsa_signatures_we_mint_are_low_s() {
    for (alg, n) in ec_algs() {
        let s = setup_with(Key::generate(alg).unwrap().0);
        for i in 0..64 {
            let issued = s
                .issuer
                .issue_access(&Grant::new(format!("user{i}")))
                .unwrap();
            assert!(
                is_low_s(&issued.token, &n),
                "{alg:?}: a high-S signature minted"
            );
            // Its twin (high-S) verifies: `n` is right and high-S stays accepted (interop).
            assert_eq!(
                both(&s, &twin(&issued.token, &n)).await.unwrap().sub,
                format!("user{i}")
            );
        }
    }
}

#[tokio::test]
async fn an_ecdsa_twin_shares_the_cache_entry_of_its_original() {
    for (alg, n) in ec_algs() {
        let s = setup_with(Key::generate(alg).unwrap().0);
        let cached = &s.verifiers[0];
        for first_the_twin in [false, true] {
            let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
            let (original, twin) = (issued.token.clone(), twin(&issued.token, &n));
            let (first, second) = if first_the_twin {
                (&twin, &original)
            } else {
                (&original, &twin)
            };
            assert_ne!(first, second);
            // Same claims, with and without the cache...
            assert_eq!(
                both(&s, first).await.unwrap(),
                both(&s, second).await.unwrap()
            );
            // ...and one cache entry: the second string is answered with the claims the first
            // one's verification put in the cache (verify_shared hands out the cached `Arc`).
            let a = cached.verify_shared::<NoExtra>(first).await.unwrap();
            let b = cached.verify_shared::<NoExtra>(second).await.unwrap();
            assert!(
                Arc::ptr_eq(&a, &b),
                "{alg:?}: the twin has a cache entry of its own"
            );
            // The twin is the same token for revocation too: its jti.
            s.store
                .revoke_token(&issued.jti, issued.expires_at)
                .await
                .unwrap();
            for token in [first, second] {
                assert!(matches!(
                    both(&s, token).await,
                    Err(Error::Token(TokenError::Revoked))
                ));
            }
        }
    }
}

#[tokio::test]
async fn a_corrupted_ecdsa_signature_never_verifies_right_after_its_original_was_cached() {
    for (alg, n) in ec_algs() {
        let s = setup_with(Key::generate(alg).unwrap().0);
        let issued = s.issuer.issue_access(&Grant::new("alice")).unwrap();
        let one = [vec![0; n.len() - 1], vec![1]].concat();
        let zero = vec![0; n.len()];
        let flip = |v: &[u8], i: usize| {
            let mut v = v.to_vec();
            v[i] ^= 1;
            v
        };
        let forgeries = [
            // s or r one bit off, in the last and the first byte.
            with_signature(&issued.token, |r, s| [r, &flip(s, s.len() - 1)].concat()),
            with_signature(&issued.token, |r, s| [r, &flip(s, 0)].concat()),
            with_signature(&issued.token, |r, s| [&flip(r, r.len() - 1), s].concat()),
            // The twin with r one bit off; n − s + 1 (one off the twin); n − 1 − s.
            with_signature(&issued.token, |r, s| {
                [&flip(r, 0), &minus(&n, s)[..]].concat()
            }),
            with_signature(&issued.token, |r, s| {
                [r, &minus(&n, &minus(s, &one))[..]].concat()
            }),
            with_signature(&issued.token, |r, s| {
                [r, &minus(&minus(&n, &one), s)[..]].concat()
            }),
            // Out of range: s = 0, s = n, r = n.
            with_signature(&issued.token, |r, _| [r, &zero[..]].concat()),
            with_signature(&issued.token, |r, _| [r, &n[..]].concat()),
            with_signature(&issued.token, |_, s| [&n[..], s].concat()),
        ];
        for round in 0..2 {
            // Cached (and its twin too, in the second round).
            assert!(both(&s, &issued.token).await.is_ok());
            if round == 1 {
                assert!(both(&s, &twin(&issued.token, &n)).await.is_ok());
            }
            for (i, forged) in forgeries.iter().enumerate() {
                assert_ne!(forged, &issued.token);
                assert!(
                    matches!(
                        both(&s, forged).await,
                        Err(Error::Token(TokenError::InvalidSignature))
                    ),
                    "{alg:?}: forgery {i} accepted"
                );
            }
        }
    }
}
