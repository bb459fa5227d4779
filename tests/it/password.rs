//! Password hashing: format, verification, rehash detection, length limits, admission control,
//! the unknown-user path, redaction.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use tokengate::{Error, Passwords, Verification};
use tokengate::{InternalError, RequestError, Unavailable};

fn small() -> Passwords {
    Passwords::builder()
        .memory_kib(64)
        .iterations(1)
        .build()
        .unwrap()
}

/// Parameters heavy enough that a hash is still running while the next requests are submitted.
fn slow(workers: usize, queue: usize) -> Passwords {
    Passwords::builder()
        .memory_kib(8192)
        .iterations(3)
        .workers(workers)
        .queue(queue)
        .build()
        .unwrap()
}

#[tokio::test]
async fn default_parameters_are_owasp_argon2id_and_round_trip() {
    let passwords = Passwords::builder().build().unwrap();
    let hash = passwords.hash("hunter2-but-longer").await.unwrap();
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        hash.as_str()
    );
    assert_eq!(
        passwords
            .verify("hunter2-but-longer", hash.as_str())
            .await
            .unwrap(),
        Verification::Valid
    );
    assert_eq!(
        passwords
            .verify("hunter2-but-longes", hash.as_str())
            .await
            .unwrap(),
        Verification::Invalid
    );
    assert!(!passwords.needs_rehash(hash.as_str()).unwrap());
}

#[tokio::test]
async fn salts_differ_so_equal_passwords_give_different_hashes() {
    let p = small();
    let a = p.hash("same").await.unwrap();
    let b = p.hash("same").await.unwrap();
    assert_ne!(a, b);
    assert!(p.verify("same", b.as_str()).await.unwrap().is_valid());
}

#[tokio::test]
async fn long_and_non_ascii_passwords_are_taken_whole() {
    let p = small();
    // Exactly the limit, multi-byte characters, differing only in the last byte.
    let base = "ü".repeat(511); // 1022 bytes
    let long = format!("{base}ab");
    let other = format!("{base}ac");
    assert_eq!(long.len(), 1024);
    let hash = p.hash(&long).await.unwrap();
    assert_eq!(
        p.verify(&long, hash.as_str()).await.unwrap(),
        Verification::Valid
    );
    assert_eq!(
        p.verify(&other, hash.as_str()).await.unwrap(),
        Verification::Invalid
    );

    // No normalisation: the composed and decomposed forms of "é" are different passwords.
    let composed = "caf\u{e9}";
    let decomposed = "cafe\u{301}";
    let hash = p.hash(composed).await.unwrap();
    assert!(p.verify(composed, hash.as_str()).await.unwrap().is_valid());
    assert_eq!(
        p.verify(decomposed, hash.as_str()).await.unwrap(),
        Verification::Invalid
    );
    // The empty password is a password (policy is the application's).
    let hash = p.hash_blocking("").unwrap();
    assert!(p.verify_blocking("", hash.as_str()).unwrap().is_valid());
}

#[tokio::test]
async fn too_long_passwords_are_refused_before_hashing() {
    let p = small();
    let hash = p.hash("fine").await.unwrap();
    let over = "x".repeat(1025);
    let megabyte = "y".repeat(1 << 20);
    for pw in [&over, &megabyte] {
        assert!(matches!(
            p.hash(pw).await,
            Err(Error::Request(RequestError::PasswordTooLong { max: 1024 }))
        ));
        assert!(matches!(
            p.verify(pw, hash.as_str()).await,
            Err(Error::Request(RequestError::PasswordTooLong { max: 1024 }))
        ));
        assert!(matches!(
            p.verify_or_dummy(pw, None).await,
            Err(Error::Request(RequestError::PasswordTooLong { max: 1024 }))
        ));
        assert!(matches!(
            p.hash_blocking(pw),
            Err(Error::Request(RequestError::PasswordTooLong { max: 1024 }))
        ));
        assert!(matches!(
            p.verify_blocking(pw, hash.as_str()),
            Err(Error::Request(RequestError::PasswordTooLong { max: 1024 }))
        ));
    }
    // The limit is configurable.
    let p = Passwords::builder()
        .memory_kib(64)
        .iterations(1)
        .max_len(8)
        .build()
        .unwrap();
    assert_eq!(p.max_len(), 8);
    p.hash_blocking("12345678").unwrap();
    assert!(matches!(
        p.hash_blocking("123456789"),
        Err(Error::Request(RequestError::PasswordTooLong { max: 8 }))
    ));
    let text = Error::Request(RequestError::PasswordTooLong { max: 8 }).to_string();
    assert!(!text.contains("123456789"));
}

#[tokio::test]
async fn changed_parameters_ask_for_a_rehash() {
    let old = small();
    let new = Passwords::builder()
        .memory_kib(128)
        .iterations(2)
        .build()
        .unwrap();
    let hash = old.hash("pw").await.unwrap();
    assert!(new.needs_rehash(hash.as_str()).unwrap());
    let v = new.verify("pw", hash.as_str()).await.unwrap();
    assert_eq!(v, Verification::ValidNeedsRehash);
    assert!(v.is_valid() && v.needs_rehash());
    // A wrong password never asks for a rehash.
    assert_eq!(
        new.verify("nope", hash.as_str()).await.unwrap(),
        Verification::Invalid
    );
    // The upgraded hash no longer does.
    let upgraded = new.hash("pw").await.unwrap();
    assert_eq!(
        new.verify("pw", upgraded.as_str()).await.unwrap(),
        Verification::Valid
    );
}

#[tokio::test]
async fn hashes_that_are_not_argon2_are_refused() {
    let p = small();
    for bad in [
        "",
        "plaintext",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", // bcrypt
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",                      // no hash part
        "$argon2id$v=99$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$scrypt$ln=1,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        assert!(
            matches!(
                p.verify("pw", bad).await,
                Err(Error::Internal(InternalError::PasswordHashInvalid))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        p.needs_rehash("plaintext"),
        Err(Error::Internal(InternalError::PasswordHashInvalid))
    ));
    // Well-formed hashes demanding 4 GiB of memory or 100000 passes are refused, not run.
    for greedy in [
        "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=64,t=100000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    ] {
        assert!(matches!(
            p.verify("pw", greedy).await,
            Err(Error::Internal(InternalError::PasswordHashInvalid))
        ));
    }
    // The error text does not echo the hash.
    assert!(
        !Error::Internal(InternalError::PasswordHashInvalid)
            .to_string()
            .contains('$')
    );
}

#[tokio::test]
async fn unknown_users_get_the_wrong_password_answer_after_the_same_work() {
    let p = small();
    let hash = p.hash("real").await.unwrap();
    let wrong = p
        .verify_or_dummy("guess", Some(hash.as_str()))
        .await
        .unwrap();
    let unknown = p.verify_or_dummy("guess", None).await.unwrap();
    assert_eq!(wrong, Verification::Invalid);
    assert_eq!(unknown, wrong);
    // A known user with the right password still logs in through the same call.
    assert_eq!(
        p.verify_or_dummy("real", Some(hash.as_str()))
            .await
            .unwrap(),
        Verification::Valid
    );
    // Even the empty password never matches the dummy.
    assert_eq!(
        p.verify_or_dummy("", None).await.unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn the_first_unknown_user_check_of_a_fresh_hasher_answers_like_a_wrong_password() {
    // The dummy hash is made when the hasher is built, with its parameters (the argon2 run count
    // of the first check is asserted by the unit test `first_unknown_user_check_costs_one_argon2_
    // run_like_a_wrong_password`, which can see the counter).
    for (m, t, p) in [(64, 1, 1), (96, 2, 2), (256, 3, 4)] {
        let fresh = Passwords::builder()
            .memory_kib(m)
            .iterations(t)
            .parallelism(p)
            .workers(1)
            .build()
            .unwrap();
        assert_eq!(
            fresh.verify_or_dummy("guess", None).await.unwrap(),
            Verification::Invalid,
            "m={m} t={t} p={p}"
        );
    }
}

#[tokio::test]
async fn the_dummy_check_takes_a_hashing_slot_like_a_real_one() {
    // One worker, no queue: while the dummy check runs, a second request is refused, which shows
    // the unknown-user path does the same pool work as a real verification.
    let p = slow(1, 0);
    let (first, second) = tokio::join!(p.verify_or_dummy("guess", None), p.hash("x"));
    assert_eq!(first.unwrap(), Verification::Invalid);
    assert!(matches!(
        second,
        Err(Error::Unavailable(Unavailable::PasswordBusy))
    ));
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_and_recovers() {
    let p = slow(1, 1);
    let hash = p.hash_blocking("pw").unwrap();
    // Ten at once: one runs, one waits, eight are refused without waiting.
    let results =
        futures_util::future::join_all((0..10).map(|_| p.verify("pw", hash.as_str()))).await;
    let ok = results
        .iter()
        .filter(|r| matches!(r, Ok(Verification::Valid)))
        .count();
    let busy = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Unavailable(Unavailable::PasswordBusy))))
        .count();
    assert_eq!((ok, busy), (2, 8), "{results:?}");
    // Once they finished, there is room again.
    assert!(p.verify("pw", hash.as_str()).await.unwrap().is_valid());
}

#[tokio::test]
async fn abandoned_requests_free_their_slot() {
    let p = slow(1, 0);
    // Start a hash and drop its future right away (a client that disconnected).
    // (`timeout` polls the future once before noticing the zero deadline.)
    let abandoned = tokio::time::timeout(std::time::Duration::ZERO, p.hash("x")).await;
    assert!(abandoned.is_err());
    // The slot comes back (at the latest when the running job ends); no leak.
    let mut tries = 0;
    loop {
        match p.hash("y").await {
            Ok(_) => break,
            Err(Error::Unavailable(Unavailable::PasswordBusy)) if tries < 2_000 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn blocking_functions_work_without_a_runtime() {
    let p = small();
    let hash = p.hash_blocking("cli").unwrap();
    assert_eq!(
        p.verify_blocking("cli", hash.as_str()).unwrap(),
        Verification::Valid
    );
    assert_eq!(
        p.verify_blocking("ilc", hash.as_str()).unwrap(),
        Verification::Invalid
    );
}

#[test]
fn settings_are_checked_by_build() {
    for (builder, setting) in [
        (Passwords::builder().memory_kib(1), "memory_kib"),
        (Passwords::builder().iterations(0), "iterations"),
        (Passwords::builder().parallelism(0), "parallelism"),
        (Passwords::builder().max_len(0), "max_len"),
        (Passwords::builder().workers(0), "workers"),
    ] {
        match builder.build() {
            Err(e @ Error::Config { .. }) => assert!(e.to_string().contains(setting), "{e}"),
            other => panic!("{setting}: {other:?}"),
        }
    }
    let p = Passwords::builder().workers(3).build().unwrap();
    assert_eq!(p.workers(), 3);
}

#[test]
fn debug_never_prints_hashes() {
    let p = small();
    let hash = p.hash_blocking("secret-password").unwrap();
    let printed = format!("{hash:?} {p:?}");
    assert!(!printed.contains(hash.as_str()));
    assert!(!printed.contains("$argon2id"));
    assert!(printed.contains("[redacted]"));
}

/// The hashing threads run at the lowest priority (nice 19), the caller's thread does not.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn hashing_threads_run_at_the_lowest_priority() {
    fn nice_of(stat: &str) -> i64 {
        // Field 19 of /proc/<pid>/task/<tid>/stat; fields after the parenthesised name.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }
    let p = Passwords::builder()
        .memory_kib(64)
        .iterations(1)
        .workers(1)
        .build()
        .unwrap();
    // A job has run, so the thread has set its priority before taking it.
    p.hash("x").await.unwrap();
    let mut hashing_nices = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        if comm.starts_with("tokengate-argon") {
            hashing_nices.push(nice_of(&stat));
        }
    }
    assert!(hashing_nices.contains(&19), "{hashing_nices:?}");
    let own = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    assert!(nice_of(&own) < 19);
}

/// On a single-threaded runtime, other tasks keep running while a hash is computed: the work is
/// not done on the async thread.
#[tokio::test(flavor = "current_thread")]
async fn hashing_leaves_the_async_thread_free() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let p = slow(1, 0);
    let ran = Arc::new(AtomicBool::new(false));
    let other = tokio::spawn({
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::SeqCst) }
    });
    // Had the hash run inline, the other task could not have been polled before it returned.
    p.hash("x").await.unwrap();
    assert!(ran.load(Ordering::SeqCst));
    other.await.unwrap();
}
