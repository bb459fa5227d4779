//! The memory store: revocations and their lifetime, families and atomic rotation, cut-offs,
//! throttling, the capacity bound, purging, and the verifier's revocation hook.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use tokengate::{
    Algorithm, Error, Grant, Issuer, Key, KeyRing, ManualClock, MemoryStore, NewFamily, NoExtra,
    Revocation, Rotation, Store, ThrottlePolicy, TokenKind, TokenRef, Verifier,
};
use tokengate::{TokenError, Unavailable};

const T0: i64 = 1_700_000_000;

fn store(clock: &ManualClock) -> MemoryStore {
    MemoryStore::builder().clock(clock.clone()).build().unwrap()
}

fn family(id: &str, jti: &str) -> NewFamily {
    NewFamily {
        id: id.into(),
        sub: "alice".into(),
        jti: jti.into(),
        expires_at: T0 + 1000,
        idle_timeout: 100,
        keep_until: T0 + 2000,
    }
}

fn token<'a>(jti: &'a str, sub: &'a str, sid: Option<&'a str>, iat: i64) -> TokenRef<'a> {
    TokenRef {
        kind: &TokenKind::Access,
        jti,
        sub,
        sid,
        iat,
        exp: iat + 900,
    }
}

async fn revoked(s: &MemoryStore, t: TokenRef<'_>) -> bool {
    s.is_revoked(t).await.unwrap()
}

#[tokio::test]
async fn revoked_jti_is_kept_until_exp_plus_max_leeway_then_purged() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.revoke_token("j1", T0 + 60).await.unwrap();
    assert!(revoked(&s, token("j1", "alice", None, T0)).await);
    assert!(!revoked(&s, token("j2", "alice", None, T0)).await);
    // A verifier may accept the token until exp + leeway (at most 300 s): kept until then.
    clock.set(T0 + 60 + 299);
    assert_eq!(s.purge(), 0);
    assert!(revoked(&s, token("j1", "alice", None, T0)).await);
    clock.set(T0 + 60 + 300);
    assert_eq!(s.purge(), 1);
    assert!(s.is_empty());
    // Revoking a token no verifier accepts any more stores nothing.
    s.revoke_token("old", T0).await.unwrap();
    assert!(s.is_empty());
}

#[tokio::test]
async fn rotation_accepts_the_current_jti_once_and_a_spent_one_revokes_the_family() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(family("f", "r1")).await.unwrap();
    assert!(matches!(
        s.create_family(family("f", "x")).await,
        Err(Error::Config { .. })
    ));
    assert!(!revoked(&s, token("a1", "alice", Some("f"), T0)).await);

    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    // r1 is spent: reuse, and the family is revoked for everyone.
    assert_eq!(s.rotate("f", "r1", "r4").await.unwrap(), Rotation::Reused);
    assert_eq!(s.rotate("f", "r3", "r5").await.unwrap(), Rotation::Revoked);
    assert!(revoked(&s, token("a1", "alice", Some("f"), T0)).await);
    // Other sessions and tokens without a session are not affected.
    assert!(!revoked(&s, token("a2", "alice", Some("g"), T0)).await);
    assert!(!revoked(&s, token("a3", "alice", None, T0)).await);
    assert_eq!(
        s.rotate("nope", "r1", "r2").await.unwrap(),
        Rotation::Unknown
    );
}

#[tokio::test]
async fn idle_timeout_edge_is_exact_and_counts_from_the_last_use() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(family("f", "r1")).await.unwrap(); // idle 100 s
    clock.set(T0 + 99);
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    clock.set(T0 + 99 + 99);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    clock.set(T0 + 99 + 99 + 100);
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Expired);
    // Expired is not revoked: the session's access tokens live out their own lifetime.
    assert!(!revoked(&s, token("a", "alice", Some("f"), T0)).await);
}

#[tokio::test]
async fn absolute_lifetime_edge_is_exact() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(NewFamily {
        idle_timeout: 10_000,
        ..family("f", "r1")
    })
    .await
    .unwrap();
    clock.set(T0 + 999);
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    clock.set(T0 + 1000);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Expired);
}

#[tokio::test]
async fn revoke_family_reports_whether_it_was_known() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(family("f", "r1")).await.unwrap();
    assert!(s.revoke_family("f").await.unwrap());
    assert!(!s.revoke_family("g").await.unwrap());
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Revoked);
    // The revoked family is remembered until keep_until, then purged.
    clock.set(T0 + 1999);
    assert_eq!(s.purge(), 0);
    assert!(revoked(&s, token("a", "alice", Some("f"), T0)).await);
    clock.set(T0 + 2000);
    assert_eq!(s.purge(), 1);
}

#[tokio::test]
async fn subject_cutoff_refuses_tokens_issued_up_to_it() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.revoke_subject("alice", T0, T0 + 500).await.unwrap();
    assert!(revoked(&s, token("a", "alice", None, T0 - 10)).await);
    assert!(revoked(&s, token("b", "alice", None, T0)).await);
    assert!(!revoked(&s, token("c", "alice", None, T0 + 1)).await);
    assert!(!revoked(&s, token("d", "bob", None, T0 - 10)).await);
    // An earlier cut-off never replaces a later one.
    s.revoke_subject("alice", T0 - 100, T0 + 500).await.unwrap();
    assert!(revoked(&s, token("b", "alice", None, T0)).await);
    s.revoke_subject("alice", T0 + 5, T0 + 600).await.unwrap();
    assert!(revoked(&s, token("e", "alice", None, T0 + 5)).await);
    clock.set(T0 + 600);
    assert_eq!(s.purge(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_of_one_token_has_exactly_one_winner() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(family("f", "r1")).await.unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.rotate("f", "r1", &format!("next-{i}")).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Rotation::Rotated).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Rotation::Rotated | Rotation::Reused | Rotation::Revoked))
    );
}

#[tokio::test]
async fn throttling_locks_after_the_limit_for_the_lockout_then_starts_over() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    let policy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(120),
    };
    let key = "account:alice";
    assert_eq!(s.record_failure(key, &policy).await.unwrap().failures, 1);
    assert!(!s.record_failure(key, &policy).await.unwrap().is_locked());
    let third = s.record_failure(key, &policy).await.unwrap();
    assert_eq!(third.failures, 3);
    assert_eq!(third.retry_after, Some(Duration::from_secs(120)));
    // Another key is independent.
    assert!(!s.throttle("client:203.0.113.7").await.unwrap().is_locked());
    // Failures while locked neither count nor extend the lock.
    clock.set(T0 + 100);
    let during = s.record_failure(key, &policy).await.unwrap();
    assert_eq!(during.failures, 3);
    assert_eq!(during.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(
        s.throttle(key).await.unwrap().retry_after,
        Some(Duration::from_secs(20))
    );
    // The lock ends exactly at the lockout; counting starts from zero.
    clock.set(T0 + 120);
    assert!(!s.throttle(key).await.unwrap().is_locked());
    let after = s.record_failure(key, &policy).await.unwrap();
    assert_eq!((after.failures, after.is_locked()), (1, false));
}

#[tokio::test]
async fn throttling_window_expires_and_reset_clears() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    let policy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(120),
    };
    s.record_failure("k", &policy).await.unwrap();
    s.record_failure("k", &policy).await.unwrap();
    // The window (from the first failure) ends: the third failure starts a new count.
    clock.set(T0 + 60);
    assert_eq!(s.throttle("k").await.unwrap().failures, 0);
    assert_eq!(s.record_failure("k", &policy).await.unwrap().failures, 1);
    s.record_failure("k", &policy).await.unwrap();
    // A success resets, so the next failure is the first again.
    s.reset_failures("k").await.unwrap();
    assert_eq!(s.throttle("k").await.unwrap().failures, 0);
    assert_eq!(s.record_failure("k", &policy).await.unwrap().failures, 1);
    // Even after a lock, reset unlocks.
    s.record_failure("k", &policy).await.unwrap();
    assert!(s.record_failure("k", &policy).await.unwrap().is_locked());
    s.reset_failures("k").await.unwrap();
    assert!(!s.throttle("k").await.unwrap().is_locked());
}

#[tokio::test]
async fn a_full_store_refuses_grants_first_and_never_evicts_a_revocation() {
    let clock = ManualClock::new(T0);
    let s = MemoryStore::builder()
        .max_entries(10)
        .clock(clock.clone())
        .build()
        .unwrap();
    let policy = ThrottlePolicy::ACCOUNT;
    // Grants (families, new failure counters) may fill 90%: 9 entries.
    for i in 0..9 {
        s.create_family(family(&format!("f{i}"), "r"))
            .await
            .unwrap();
    }
    assert!(matches!(
        s.create_family(family("f9", "r")).await,
        Err(Error::Unavailable(Unavailable::StoreFull { capacity: 10 }))
    ));
    assert!(matches!(
        s.record_failure("k", &policy).await,
        Err(Error::Unavailable(Unavailable::StoreFull { capacity: 10 }))
    ));
    // Updates need no room.
    assert_eq!(s.rotate("f0", "r", "r2").await.unwrap(), Rotation::Rotated);
    // Revocations get the reserved last 10%.
    s.revoke_token("j0", T0 + 60).await.unwrap();
    assert_eq!(s.len(), 10);
    assert!(matches!(
        s.revoke_token("j1", T0 + 60).await,
        Err(Error::Unavailable(Unavailable::StoreFull { capacity: 10 }))
    ));
    assert!(matches!(
        s.revoke_subject("bob", T0, T0 + 60).await,
        Err(Error::Unavailable(Unavailable::StoreFull { capacity: 10 }))
    ));
    // Nothing was evicted: every revocation and family is still there.
    assert!(revoked(&s, token("j0", "x", None, T0)).await);
    assert_eq!(s.rotate("f1", "r", "r2").await.unwrap(), Rotation::Rotated);
    // Once records expire, a write purges them and succeeds.
    clock.set(T0 + 2000);
    s.revoke_token("j1", T0 + 3000).await.unwrap();
    assert_eq!(s.len(), 1);
    assert!(matches!(
        MemoryStore::builder().max_entries(9).build(),
        Err(Error::Config { .. })
    ));
}

#[tokio::test]
async fn the_purger_task_removes_expired_records_and_stops_with_the_store() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.revoke_token("j", T0 + 1).await.unwrap();
    let handle = s.spawn_purger(Duration::from_millis(1));
    clock.set(T0 + 1000);
    // Wait (bounded) for the task to run; no timing is asserted.
    let mut tries = 0;
    while !s.is_empty() {
        tries += 1;
        assert!(tries < 5_000, "purger never ran");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(s);
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_store_is_the_verifiers_revocation_hook() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    let shared: Arc<dyn Store> = Arc::new(s.clone());
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[3; 32]).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("i")
        .audience("a")
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("i")
        .audience("a")
        .clock(clock.clone())
        .revocation(shared)
        .build()
        .unwrap();

    let by_jti = issuer.issue_access(&Grant::new("alice")).unwrap();
    let by_family = issuer
        .issue_access(&Grant::new("alice").session("f"))
        .unwrap();
    let by_cutoff = issuer.issue_access(&Grant::new("bob")).unwrap();
    for t in [&by_jti, &by_family, &by_cutoff] {
        verifier.verify::<NoExtra>(&t.token).await.unwrap();
    }
    s.revoke_token(&by_jti.jti, by_jti.expires_at)
        .await
        .unwrap();
    s.create_family(family("f", "r")).await.unwrap();
    s.revoke_family("f").await.unwrap();
    s.revoke_subject("bob", T0, T0 + 5000).await.unwrap();
    for t in [&by_jti, &by_family, &by_cutoff] {
        assert!(matches!(
            verifier.verify::<NoExtra>(&t.token).await,
            Err(Error::Token(TokenError::Revoked))
        ));
    }
    // Alice's other tokens still pass.
    clock.advance(1);
    let fresh = issuer.issue_access(&Grant::new("alice")).unwrap();
    verifier.verify::<NoExtra>(&fresh.token).await.unwrap();
}
