//! The `Store` contract: each case is written once, over a [`Harness`], and [`contract!`] runs
//! every case against a `MemoryStore` (`store::contract::memory::*`) and against a `RedisStore`
//! on `REDIS_URL` (`store::contract::redis::*`, each run under a prefix of its own, skipped with
//! "skipped: REDIS_URL unset" without it).
//!
//! Times are relative to the harness's `t0`: a fixed past time for the memory store, the real time
//! for Redis (see [`Harness::redis`]). Where a case needs a second instance of a service, it
//! takes [`Harness::another`] (a clone of the memory store; another `RedisStore` on the same
//! prefix, whose view follows by pub/sub, hence [`eventually`] where one instance waits for
//! another).
//!
//! What only one backend has stays with it: capacity and purging in `memory`, settings, key
//! layout, view loading and outages in `redis`.

use std::time::Duration;

use tokengate::store::{NewFamily, Rotation, TokenRef};
use tokengate::{
    Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, NoExtra, Store, ThrottlePolicy,
    TokenError, Verifier,
};

use super::harness::{Harness, challenge, eventually, family, token};

/// Runs every listed case against each backend, as one `#[tokio::test]` per case and backend.
/// Multi-threaded, so that the concurrency cases race for real.
macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        /// Every contract case against a `MemoryStore` on a `ManualClock`.
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(&super::Harness::memory()).await;
                }
            )+
        }

        /// Every contract case against a `RedisStore` on `REDIS_URL`.
        #[cfg(feature = "redis")]
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(h) = super::Harness::redis(stringify!($case)).await else { return };
                    super::$case(&h).await;
                }
            )+
        }
    };
}

contract! {
    revoked_jti_is_kept_until_exp_plus_max_leeway,
    rotation_accepts_the_current_jti_once_and_a_spent_one_revokes_the_family,
    rotation_outcomes_through_an_idle_expiry,
    idle_timeout_edge_is_exact_and_counts_from_the_last_use,
    absolute_lifetime_edge_is_exact,
    revoke_family_reports_whether_it_was_known,
    subject_cutoff_refuses_tokens_issued_up_to_it,
    log_out_everywhere_revokes_the_subjects_families,
    another_instance_sees_existing_revocations_and_follows_cutoffs,
    concurrent_rotation_of_one_token_has_exactly_one_winner,
    throttling_locks_after_the_limit_for_the_lockout_then_starts_over,
    throttling_window_expires_and_reset_clears,
    throttle_window_and_lockout_follow_the_clock,
    throttling_is_shared,
    the_store_is_the_verifiers_revocation_hook,
    logout_on_a_is_refused_on_b,
    refresh_reuse_is_detected_across_instances,
    concurrent_refresh_from_both_instances_has_exactly_one_success,
    log_out_everywhere_during_a_refresh_leaves_no_live_session,
    a_family_is_forgotten_at_its_keep_until,
}

async fn revoked(s: &dyn Store, t: TokenRef<'_>) -> bool {
    s.is_revoked(t).await.unwrap()
}

/// Creating a family under an id in use is refused, naming the setting.
async fn assert_id_taken(s: &dyn Store, family: NewFamily) {
    let err = s.create_family(family).await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(err.setting(), Some("family id"));
}

// ----- revoked jtis -----

async fn revoked_jti_is_kept_until_exp_plus_max_leeway(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.revoke_token("j1", t0 + 60).await.unwrap();
    assert!(revoked(s, token("j1", "alice", None, t0)).await);
    assert!(!revoked(s, token("j2", "alice", None, t0)).await);
    // A verifier may accept the token until exp + leeway (at most 300 s): kept until then.
    h.clock.set(t0 + 60 + 299);
    assert!(revoked(s, token("j1", "alice", None, t0)).await);
    // Revoking a token no verifier accepts any more is accepted and records nothing. (That the
    // record itself goes at exp + leeway is backend-specific: `memory` purges it, `redis` checks
    // the key's expiry.)
    h.clock.set(t0 + 60 + 300);
    s.revoke_token("old", t0).await.unwrap();
    assert!(!revoked(s, token("old", "alice", None, t0 - 900)).await);
}

// ----- refresh families -----

async fn rotation_accepts_the_current_jti_once_and_a_spent_one_revokes_the_family(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(family("f", "r1", t0)).await.unwrap();
    assert_id_taken(s, family("f", "x", t0)).await;
    assert!(!revoked(s, token("a1", "alice", Some("f"), t0)).await);

    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    // r1 is spent: reuse, and the family is revoked for everyone.
    assert_eq!(s.rotate("f", "r1", "r4").await.unwrap(), Rotation::Reused);
    assert_eq!(s.rotate("f", "r3", "r5").await.unwrap(), Rotation::Revoked);
    assert!(revoked(s, token("a1", "alice", Some("f"), t0)).await);
    // Other sessions and tokens without a session are not affected.
    assert!(!revoked(s, token("a2", "alice", Some("g"), t0)).await);
    assert!(!revoked(s, token("a3", "alice", None, t0)).await);
    assert_eq!(
        s.rotate("nope", "r1", "r2").await.unwrap(),
        Rotation::Unknown
    );
}

async fn rotation_outcomes_through_an_idle_expiry(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(family("f", "r1", t0)).await.unwrap();
    assert_id_taken(s, family("f", "x", t0)).await;
    assert_eq!(
        s.rotate("nope", "r1", "r2").await.unwrap(),
        Rotation::Unknown
    );
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    h.clock.advance(99);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    h.clock.advance(100); // idle for the whole idle timeout
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Expired);
    assert!(!revoked(s, token("a", "alice", Some("f"), t0)).await);
    // A spent token replayed after the expiry is still a reuse, and revokes the family.
    assert_eq!(s.rotate("f", "r1", "r4").await.unwrap(), Rotation::Reused);
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Revoked);
    assert!(revoked(s, token("a", "alice", Some("f"), t0)).await);
    assert!(!s.revoke_family("unknown").await.unwrap());
}

async fn idle_timeout_edge_is_exact_and_counts_from_the_last_use(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(family("f", "r1", t0)).await.unwrap(); // idle 100 s
    h.clock.set(t0 + 99);
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    h.clock.set(t0 + 99 + 99);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Rotated);
    h.clock.set(t0 + 99 + 99 + 100);
    assert_eq!(s.rotate("f", "r3", "r4").await.unwrap(), Rotation::Expired);
    // Expired is not revoked: the session's access tokens live out their own lifetime.
    assert!(!revoked(s, token("a", "alice", Some("f"), t0)).await);
}

async fn absolute_lifetime_edge_is_exact(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(NewFamily {
        idle_timeout: 10_000,
        ..family("f", "r1", t0)
    })
    .await
    .unwrap();
    h.clock.set(t0 + 999);
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Rotated);
    h.clock.set(t0 + 1000);
    assert_eq!(s.rotate("f", "r2", "r3").await.unwrap(), Rotation::Expired);
}

async fn revoke_family_reports_whether_it_was_known(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(family("f", "r1", t0)).await.unwrap();
    assert!(s.revoke_family("f").await.unwrap());
    assert!(!s.revoke_family("g").await.unwrap());
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Revoked);
    // The revoked family is remembered until keep_until (`memory` checks that it goes then).
    h.clock.set(t0 + 1999);
    assert!(revoked(s, token("a", "alice", Some("f"), t0)).await);
}

/// A family is forgotten at its keep_until, as the trait says, whether or not a purge has run:
/// `rotate` answers Unknown, `revoke_family` false, and the id may be used again. (The memory
/// store used to answer from the stale record until its purger ran: Expired, true, "in use".)
async fn a_family_is_forgotten_at_its_keep_until(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    let mut short = family("short", "r1", t0);
    short.expires_at = t0 + 1;
    short.keep_until = t0 + 1;
    s.create_family(short).await.unwrap();
    h.clock.set(t0 + 2);
    // Redis expires its keys by its own clock (the harness's Redis clock starts at real time).
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(
        s.rotate("short", "r1", "r2").await.unwrap(),
        Rotation::Unknown
    );
    assert!(!s.revoke_family("short").await.unwrap());
    s.create_family(family("short", "n1", t0 + 2))
        .await
        .unwrap();
    assert_eq!(
        s.rotate("short", "n1", "n2").await.unwrap(),
        Rotation::Rotated
    );
}

// ----- subject cut-offs -----

async fn subject_cutoff_refuses_tokens_issued_up_to_it(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.revoke_subject("alice", t0, t0 + 500).await.unwrap();
    assert!(revoked(s, token("a", "alice", None, t0 - 10)).await);
    assert!(revoked(s, token("b", "alice", None, t0)).await);
    assert!(!revoked(s, token("c", "alice", None, t0 + 1)).await);
    assert!(!revoked(s, token("d", "bob", None, t0 - 10)).await);
    // An earlier cut-off never replaces a later one.
    s.revoke_subject("alice", t0 - 100, t0 + 500).await.unwrap();
    assert!(revoked(s, token("b", "alice", None, t0)).await);
    s.revoke_subject("alice", t0 + 5, t0 + 600).await.unwrap();
    assert!(revoked(s, token("e", "alice", None, t0 + 5)).await);
}

/// "Log out everywhere" revokes every family of the subject in the same step as the cut-off: a
/// rotation after it is refused whatever the presented or the next token's `iat`, and so are the
/// families' access tokens issued after the cut-off. Other subjects' families are untouched.
async fn log_out_everywhere_revokes_the_subjects_families(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    s.create_family(family("f", "r1", t0)).await.unwrap();
    s.create_family(family("g", "q1", t0)).await.unwrap();
    s.create_family(NewFamily {
        sub: "bob".into(),
        ..family("b", "b1", t0)
    })
    .await
    .unwrap();
    assert_eq!(s.rotate("g", "q1", "q2").await.unwrap(), Rotation::Rotated);
    s.revoke_subject("alice", t0, t0 + 500).await.unwrap();
    // A token of the family issued after the cut-off (minted by a refresh that was in flight).
    assert!(revoked(s, token("late", "alice", Some("f"), t0 + 1)).await);
    assert_eq!(s.rotate("f", "r1", "r2").await.unwrap(), Rotation::Revoked);
    assert_eq!(s.rotate("g", "q2", "q3").await.unwrap(), Rotation::Revoked);
    // Another instance sees the revoked families too.
    let other = h.another().await;
    eventually("another instance sees the revoked families", || async {
        revoked(&*other, token("late", "alice", Some("g"), t0 + 1)).await
    })
    .await;
    // Bob's session lives; a family alice starts after the cut-off lives.
    assert!(!revoked(s, token("x", "bob", Some("b"), t0 + 1)).await);
    assert_eq!(s.rotate("b", "b1", "b2").await.unwrap(), Rotation::Rotated);
    h.clock.advance(1);
    s.create_family(family("n", "n1", t0 + 1)).await.unwrap();
    assert!(!revoked(s, token("y", "alice", Some("n"), t0 + 1)).await);
    assert_eq!(s.rotate("n", "n1", "n2").await.unwrap(), Rotation::Rotated);
}

/// Revocations of all three kinds made through one handle hold through handles made later, and
/// through handles that existed already.
async fn another_instance_sees_existing_revocations_and_follows_cutoffs(h: &Harness) {
    let (a, now) = (&*h.store, h.t0);
    a.revoke_token("j1", now + 60).await.unwrap();
    a.create_family(family("f", "r1", now)).await.unwrap();
    assert!(a.revoke_family("f").await.unwrap());
    a.revoke_subject("alice", now - 10, now + 1000)
        .await
        .unwrap();
    // A later instance has all three kinds from the start.
    let b = h.another().await;
    assert!(revoked(&*b, token("j1", "bob", None, now)).await);
    assert!(revoked(&*b, token("x", "bob", Some("f"), now)).await);
    assert!(revoked(&*b, token("x", "alice", None, now - 10)).await);
    assert!(!revoked(&*b, token("x", "alice", None, now - 9)).await);
    assert!(!revoked(&*b, token("x", "bob", None, now)).await);
    // A later cut-off reaches b; an earlier one (through b) never lowers it.
    a.revoke_subject("alice", now, now + 1000).await.unwrap();
    eventually("b follows the later cut-off", || async {
        revoked(&*b, token("x", "alice", None, now)).await
    })
    .await;
    b.revoke_subject("alice", now - 100, now + 1000)
        .await
        .unwrap();
    assert!(revoked(a, token("x", "alice", None, now)).await);
    let c = h.another().await;
    assert!(revoked(&*c, token("x", "alice", None, now)).await);
    assert!(!revoked(&*c, token("x", "alice", None, now + 1)).await);
}

// ----- atomic rotation -----

async fn concurrent_rotation_of_one_token_has_exactly_one_winner(h: &Harness) {
    h.store
        .create_family(family("f", "r1", h.t0))
        .await
        .unwrap();
    // Half the racers go through a second instance.
    let other = h.another().await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let s = if i % 2 == 0 {
                h.store.clone()
            } else {
                other.clone()
            };
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

// ----- throttling -----

async fn throttling_locks_after_the_limit_for_the_lockout_then_starts_over(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
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
    h.clock.set(t0 + 100);
    let during = s.record_failure(key, &policy).await.unwrap();
    assert_eq!(during.failures, 3);
    assert_eq!(during.retry_after, Some(Duration::from_secs(20)));
    assert_eq!(
        s.throttle(key).await.unwrap().retry_after,
        Some(Duration::from_secs(20))
    );
    // The lock ends exactly at the lockout; counting starts from zero.
    h.clock.set(t0 + 120);
    assert!(!s.throttle(key).await.unwrap().is_locked());
    let after = s.record_failure(key, &policy).await.unwrap();
    assert_eq!((after.failures, after.is_locked()), (1, false));
}

async fn throttling_window_expires_and_reset_clears(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    let policy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(120),
    };
    s.record_failure("k", &policy).await.unwrap();
    s.record_failure("k", &policy).await.unwrap();
    // The window (from the first failure) ends: the third failure starts a new count.
    h.clock.set(t0 + 60);
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

async fn throttle_window_and_lockout_follow_the_clock(h: &Harness) {
    let s = &*h.store;
    let policy = ThrottlePolicy {
        max_failures: 2,
        window: Duration::from_secs(10),
        lockout: Duration::from_secs(30),
    };
    s.record_failure("k", &policy).await.unwrap();
    h.clock.advance(10); // the window is over: counting starts again
    assert_eq!(s.throttle("k").await.unwrap().failures, 0);
    assert_eq!(s.record_failure("k", &policy).await.unwrap().failures, 1);
    assert!(s.record_failure("k", &policy).await.unwrap().is_locked());
    h.clock.advance(29);
    assert_eq!(
        s.throttle("k").await.unwrap().retry_after,
        Some(Duration::from_secs(1))
    );
    h.clock.advance(1); // the lock-out is over
    assert!(!s.throttle("k").await.unwrap().is_locked());
    let fresh = s.record_failure("k", &policy).await.unwrap();
    assert_eq!(fresh.failures, 1);
    assert!(!fresh.is_locked());
}

/// Failures counted through one instance count on the other; a lock and a reset hold on both.
async fn throttling_is_shared(h: &Harness) {
    let (a, b) = (h.store.clone(), h.another().await);
    let policy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(120),
    };
    let key = "account:alice";
    assert_eq!(a.record_failure(key, &policy).await.unwrap().failures, 1);
    assert_eq!(b.record_failure(key, &policy).await.unwrap().failures, 2);
    assert!(!a.throttle(key).await.unwrap().is_locked());
    let locked = a.record_failure(key, &policy).await.unwrap();
    assert_eq!(locked.failures, 3);
    assert!(locked.is_locked());
    // B sees the lock; a failure while locked neither counts nor extends it.
    let seen = b.throttle(key).await.unwrap();
    assert_eq!(seen.failures, 3);
    let retry = seen.retry_after.unwrap();
    assert!(retry <= Duration::from_secs(120) && retry >= Duration::from_secs(110));
    let again = b.record_failure(key, &policy).await.unwrap();
    assert_eq!(again.failures, 3);
    assert!(again.retry_after.unwrap() <= retry);
    // Other keys are untouched; a reset on B unlocks on A.
    assert_eq!(a.throttle("account:bob").await.unwrap().failures, 0);
    b.reset_failures(key).await.unwrap();
    let after = a.throttle(key).await.unwrap();
    assert_eq!(after.failures, 0);
    assert!(!after.is_locked());
}

// ----- the store behind a verifier and sessions -----

async fn the_store_is_the_verifiers_revocation_hook(h: &Harness) {
    let (s, t0) = (&*h.store, h.t0);
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[3; 32]).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("i")
        .audience("a")
        .clock(h.clock.clone())
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("i")
        .audience("a")
        .clock(h.clock.clone())
        .revocation(h.store.clone())
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
    s.create_family(family("f", "r", t0)).await.unwrap();
    s.revoke_family("f").await.unwrap();
    s.revoke_subject("bob", t0, t0 + 5000).await.unwrap();
    for t in [&by_jti, &by_family, &by_cutoff] {
        assert!(matches!(
            verifier.verify::<NoExtra>(&t.token).await,
            Err(Error::Token(TokenError::Revoked))
        ));
    }
    // Alice's other tokens still pass.
    h.clock.advance(1);
    let fresh = issuer.issue_access(&Grant::new("alice")).unwrap();
    verifier.verify::<NoExtra>(&fresh.token).await.unwrap();
}

async fn logout_on_a_is_refused_on_b(h: &Harness) {
    let (a, b) = h.pair().await;
    let tokens = a.sessions.start(Grant::new("alice")).await.unwrap();
    let other = a.sessions.start(Grant::new("bob")).await.unwrap();
    assert_eq!(b.get_me(&tokens.access.token).await.status(), 200);

    let res = reqwest::Client::new()
        .post(a.url("/logout"))
        .bearer_auth(&tokens.access.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Refused on A at once (its own view), on B as soon as the message arrives.
    assert_eq!(a.get_me(&tokens.access.token).await.status(), 401);
    eventually("B refuses the logged-out token", || async {
        b.get_me(&tokens.access.token).await.status() == 401
    })
    .await;
    let res = b.get_me(&tokens.access.token).await;
    assert!(
        challenge(&res).contains(r#"error="invalid_token""#),
        "{}",
        challenge(&res)
    );
    assert!(matches!(
        b.verifier.verify::<NoExtra>(&tokens.access.token).await,
        Err(Error::Token(TokenError::Revoked))
    ));
    // The session's refresh token is refused on B too, another user's tokens are not.
    let res = b.post_refresh(&tokens.refresh.token).await;
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).contains("invalid_token"));
    assert_eq!(b.get_me(&other.access.token).await.status(), 200);
    assert_eq!(b.post_refresh(&other.refresh.token).await.status(), 200);
}

async fn refresh_reuse_is_detected_across_instances(h: &Harness) {
    let (a, b) = h.pair().await;
    let first = a.sessions.start(Grant::new("alice")).await.unwrap();
    let res = a.post_refresh(&first.refresh.token).await;
    assert_eq!(res.status(), 200);
    let second: serde_json::Value = res.json().await.unwrap();
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(b.get_me(&second_access).await.status(), 200);

    // The spent token, replayed on B: reuse, the family is revoked for both instances.
    assert!(matches!(
        b.sessions.refresh::<NoExtra>(&first.refresh.token).await,
        Err(Error::Token(TokenError::RefreshReused))
    ));
    assert!(matches!(
        a.sessions.refresh::<NoExtra>(&second_refresh).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    assert_eq!(b.get_me(&second_access).await.status(), 401);
    eventually(
        "A refuses the access tokens of the reused family",
        || async { a.get_me(&second_access).await.status() == 401 },
    )
    .await;
    assert_eq!(a.get_me(&first.access.token).await.status(), 401);
}

/// Issue 13, defect 2: a refresh whose user lookup is in flight while the subject logs out
/// everywhere, minting in the next second (so the new pair's `iat` is after the cut-off), must
/// not leave a live session: the lookup is held on a channel while the test logs out.
async fn log_out_everywhere_during_a_refresh_leaves_no_live_session(h: &Harness) {
    let (a, b) = h.pair().await;
    let pair = a.sessions.start(Grant::new("alice")).await.unwrap();
    let (looking_up, looked_up) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let refresh = a
        .sessions
        .refresh_with(&pair.refresh.token, |c: Claims<NoExtra>| async move {
            looking_up.send(()).unwrap();
            released.await.unwrap();
            Ok(Grant::new(c.sub))
        });
    let logout = async {
        looked_up.await.unwrap();
        b.sessions.logout_everywhere("alice").await.unwrap();
        h.clock.advance(1); // the new pair is minted in the next second
        release.send(()).unwrap();
    };
    let (refreshed, ()) = tokio::join!(refresh, logout);
    if let Ok(next) = &refreshed {
        // Without the fix: a pair issued after the cut-off, still accepted.
        let access = a.verifier.verify::<NoExtra>(&next.access.token).await;
        let again = a.sessions.refresh::<NoExtra>(&next.refresh.token).await;
        panic!("the refresh won over log-out-everywhere: access {access:?}, refresh {again:?}");
    }
    assert!(
        matches!(refreshed, Err(Error::Token(TokenError::SessionRevoked))),
        "{refreshed:?}"
    );
    // The cut-off was written through b: a learns it through the store (for Redis, its view follows
    // the published message a moment later).
    eventually("a refuses the old access token", || async {
        matches!(
            a.verifier.verify::<NoExtra>(&pair.access.token).await,
            Err(Error::Token(TokenError::Revoked))
        )
    })
    .await;
}

async fn concurrent_refresh_from_both_instances_has_exactly_one_success(h: &Harness) {
    let (a, b) = h.pair().await;
    for round in 0..25 {
        let tokens = a.sessions.start(Grant::new("alice")).await.unwrap();
        let (ra, rb) = tokio::join!(
            a.sessions.refresh::<NoExtra>(&tokens.refresh.token),
            b.sessions.refresh::<NoExtra>(&tokens.refresh.token),
        );
        let wins = usize::from(ra.is_ok()) + usize::from(rb.is_ok());
        assert_eq!(wins, 1, "round {round}: {ra:?} / {rb:?}");
        let loser = ra.err().or(rb.err()).unwrap();
        assert!(
            matches!(loser, Error::Token(TokenError::RefreshReused)),
            "round {round}: {loser:?}"
        );
    }
    // Over HTTP as well: two requests at once, one 200 and one 401.
    let tokens = b.sessions.start(Grant::new("carol")).await.unwrap();
    let (ra, rb) = tokio::join!(
        a.post_refresh(&tokens.refresh.token),
        b.post_refresh(&tokens.refresh.token)
    );
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401]);
}
