//! What only the memory store has: records purged at the end of their lifetime, the capacity
//! bound (grants refused first, no eviction), and the purger task. The `Store` contract it shares
//! with Redis is in `contract`.

use std::time::Duration;

use tokengate::Unavailable;
use tokengate::store::Rotation;
use tokengate::store::TokenRef;
use tokengate::{Error, ManualClock, MemoryStore, Revocation as _, Store, ThrottlePolicy};

use super::harness::{T0, family, token};

fn store(clock: &ManualClock) -> MemoryStore {
    MemoryStore::builder().clock(clock.clone()).build().unwrap()
}

async fn revoked(s: &MemoryStore, t: TokenRef<'_>) -> bool {
    s.is_revoked(t).await.unwrap()
}

// The three purge tests below are the storage side of the contract cases
// `revoked_jti_is_kept_until_exp_plus_max_leeway`, `revoke_family_reports_whether_it_was_known`
// and `subject_cutoff_refuses_tokens_issued_up_to_it`: the memory store's records go when
// `purge` runs past their end (Redis expires its keys instead, checked in `redis`).

#[tokio::test]
async fn revoked_jti_is_purged_at_exp_plus_max_leeway_and_a_dead_token_is_not_stored() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.revoke_token("j1", T0 + 60).await.unwrap();
    clock.set(T0 + 60 + 299);
    assert_eq!(s.purge(), 0);
    clock.set(T0 + 60 + 300);
    assert_eq!(s.purge(), 1);
    assert!(s.is_empty());
    // Revoking a token no verifier accepts any more stores nothing.
    s.revoke_token("old", T0).await.unwrap();
    assert!(s.is_empty());
}

#[tokio::test]
async fn revoked_family_is_purged_at_keep_until() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.create_family(family("f", "r1", T0)).await.unwrap();
    assert!(s.revoke_family("f").await.unwrap());
    clock.set(T0 + 1999);
    assert_eq!(s.purge(), 0);
    clock.set(T0 + 2000);
    assert_eq!(s.purge(), 1);
}

#[tokio::test]
async fn subject_cutoff_is_purged_at_its_latest_keep_until() {
    let clock = ManualClock::new(T0);
    let s = store(&clock);
    s.revoke_subject("alice", T0, T0 + 500).await.unwrap();
    s.revoke_subject("alice", T0 - 100, T0 + 500).await.unwrap();
    s.revoke_subject("alice", T0 + 5, T0 + 600).await.unwrap();
    clock.set(T0 + 599);
    assert_eq!(s.purge(), 0);
    clock.set(T0 + 600);
    assert_eq!(s.purge(), 1);
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
        s.create_family(family(&format!("f{i}"), "r", T0))
            .await
            .unwrap();
    }
    assert!(matches!(
        s.create_family(family("f9", "r", T0)).await,
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
