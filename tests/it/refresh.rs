//! Sessions: rotation, reuse detection, idle and absolute expiry, logout, "log out everywhere",
//! concurrent refreshes, failing closed.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokengate::store::{NewFamily, RevocationFuture, Rotation, Throttle, TokenRef};
use tokengate::{
    Algorithm, BoxError, Claims, Error, Grant, Issuer, Key, KeyRing, ManualClock, MemoryStore,
    NoExtra, Revocation, Sessions, Store, ThrottlePolicy, TokenKind, Verifier,
};
use tokengate::{TokenError, Unavailable};

const T0: i64 = 1_700_000_000;

struct Setup {
    clock: ManualClock,
    issuer: Issuer,
    verifier: Verifier,
    sessions: Sessions,
}

fn setup_with(lifetime: u64, idle: u64) -> Setup {
    let clock = ManualClock::new(T0);
    let store: Arc<dyn Store> =
        Arc::new(MemoryStore::builder().clock(clock.clone()).build().unwrap());
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[5; 32]).unwrap()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer("https://auth")
        .audience("api")
        .access_ttl(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("https://auth")
        .audience("api")
        .clock(clock.clone())
        .revocation(store.clone())
        .build()
        .unwrap();
    let sessions = Sessions::builder(issuer.clone(), verifier.clone(), store)
        .lifetime(Duration::from_secs(lifetime))
        .idle_timeout(Duration::from_secs(idle))
        .build()
        .unwrap();
    Setup {
        clock,
        issuer,
        verifier,
        sessions,
    }
}

fn setup() -> Setup {
    setup_with(30 * 86_400, 14 * 86_400)
}

impl Setup {
    async fn access_ok(&self, token: &str) -> Claims {
        self.verifier.verify::<NoExtra>(token).await.unwrap()
    }

    async fn access_revoked(&self, token: &str) -> bool {
        matches!(
            self.verifier.verify::<NoExtra>(token).await,
            Err(Error::Token(TokenError::Revoked))
        )
    }

    async fn refresh(&self, token: &str) -> Result<tokengate::TokenPair, Error> {
        self.sessions.refresh::<NoExtra>(token).await
    }
}

#[tokio::test]
async fn start_mints_a_typed_pair_sharing_the_session() {
    let s = setup();
    let pair = s
        .sessions
        .start(Grant::new("alice").role("admin").permission("p"))
        .await
        .unwrap();
    assert_eq!(pair.access.kind, TokenKind::Access);
    assert_eq!(pair.refresh.kind, TokenKind::Refresh);
    assert_eq!(pair.expires_in(), 600);
    // The refresh token lives for the idle timeout.
    assert_eq!(pair.refresh.expires_in(), 14 * 86_400);
    let claims = s.access_ok(&pair.access.token).await;
    assert_eq!(claims.sid.as_deref(), Some(pair.session.as_str()));
    assert!(claims.has_role("admin"));
    // Each kind is refused where the other is expected.
    assert!(matches!(
        s.verifier.verify::<NoExtra>(&pair.refresh.token).await,
        Err(Error::Token(TokenError::WrongType))
    ));
    assert!(matches!(
        s.refresh(&pair.access.token).await,
        Err(Error::Token(TokenError::WrongType))
    ));
    assert!(!format!("{pair:?}").contains(&pair.refresh.token));
}

#[tokio::test]
async fn refresh_rotates_and_keeps_the_grant() {
    let s = setup();
    let first = s
        .sessions
        .start(Grant::new("alice").role("admin").permission("p"))
        .await
        .unwrap();
    s.clock.advance(60);
    let second = s.refresh(&first.refresh.token).await.unwrap();
    assert_eq!(second.session, first.session);
    assert_ne!(second.refresh.jti, first.refresh.jti);
    assert_ne!(second.refresh.token, first.refresh.token);
    let claims = s.access_ok(&second.access.token).await;
    assert_eq!(
        (claims.sub.as_str(), claims.roles.as_slice()),
        ("alice", ["admin".to_owned()].as_slice())
    );
    assert_eq!(claims.permissions, ["p"]);
    assert_eq!(claims.iat, Some(T0 + 60));
    let third = s.refresh(&second.refresh.token).await.unwrap();
    s.access_ok(&third.access.token).await;
}

#[tokio::test]
async fn a_spent_refresh_token_is_refused_and_revokes_the_whole_session() {
    let s = setup();
    let first = s.sessions.start(Grant::new("alice")).await.unwrap();
    let other = s.sessions.start(Grant::new("alice")).await.unwrap();
    let second = s.refresh(&first.refresh.token).await.unwrap();

    // The spent token comes back (stolen copy or replay): reuse detected.
    assert!(matches!(
        s.refresh(&first.refresh.token).await,
        Err(Error::Token(TokenError::RefreshReused))
    ));
    // The legitimate holder's newer refresh token no longer works...
    assert!(matches!(
        s.refresh(&second.refresh.token).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    // ...nor do the session's access tokens, through the verifier's revocation hook.
    assert!(s.access_revoked(&first.access.token).await);
    assert!(s.access_revoked(&second.access.token).await);
    // Presenting the spent token again keeps being refused.
    assert!(matches!(
        s.refresh(&first.refresh.token).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    // Another session of the same user is untouched.
    s.access_ok(&other.access.token).await;
    s.refresh(&other.refresh.token).await.unwrap();
}

#[tokio::test]
async fn idle_timeout_edge() {
    let s = setup_with(10_000, 100);
    let first = s.sessions.start(Grant::new("alice")).await.unwrap();
    s.clock.advance(99);
    let second = s.refresh(&first.refresh.token).await.unwrap();
    // The idle timeout counts from the last refresh, and ends exactly at it.
    s.clock.advance(100);
    assert!(matches!(
        s.refresh(&second.refresh.token).await,
        Err(Error::Token(TokenError::SessionExpired))
    ));
    // Past the refresh token's own expiry (+ leeway) the verifier refuses it first.
    s.clock.advance(31);
    assert!(matches!(
        s.refresh(&second.refresh.token).await,
        Err(Error::Token(TokenError::Expired))
    ));
}

#[tokio::test]
async fn absolute_lifetime_edge() {
    let s = setup_with(300, 200);
    let mut pair = s.sessions.start(Grant::new("alice")).await.unwrap();
    // Refresh tokens live min(idle, lifetime) = 200 s.
    assert_eq!(pair.refresh.expires_in(), 200);
    s.clock.advance(150);
    pair = s.refresh(&pair.refresh.token).await.unwrap();
    s.clock.advance(149); // T0 + 299: still within the lifetime
    pair = s.refresh(&pair.refresh.token).await.unwrap();
    s.clock.advance(1); // T0 + 300: over, even though the session is not idle
    assert!(matches!(
        s.refresh(&pair.refresh.token).await,
        Err(Error::Token(TokenError::SessionExpired))
    ));
    // The access token minted at T0 + 299 lives out its own lifetime.
    s.access_ok(&pair.access.token).await;
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_its_session() {
    let s = setup();
    let pair = s.sessions.start(Grant::new("alice")).await.unwrap();
    let other = s.sessions.start(Grant::new("alice")).await.unwrap();
    let claims = s.access_ok(&pair.access.token).await;
    s.sessions.logout(&claims).await.unwrap();
    assert!(s.access_revoked(&pair.access.token).await);
    assert!(matches!(
        s.refresh(&pair.refresh.token).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    s.access_ok(&other.access.token).await;
    s.refresh(&other.refresh.token).await.unwrap();

    // A token without a session: its jti alone is revoked.
    let bare = s.issuer.issue_access(&Grant::new("carol")).unwrap();
    let claims = s.access_ok(&bare.token).await;
    s.sessions.logout(&claims).await.unwrap();
    assert!(s.access_revoked(&bare.token).await);
    // Claims without jti cannot be logged out.
    let mut no_jti = claims;
    no_jti.jti = None;
    assert!(matches!(
        s.sessions.logout(&no_jti).await,
        Err(Error::Token(TokenError::MissingClaim("jti")))
    ));
}

#[tokio::test]
async fn revoke_session_by_id() {
    let s = setup();
    let pair = s.sessions.start(Grant::new("alice")).await.unwrap();
    assert!(s.sessions.revoke_session(&pair.session).await.unwrap());
    assert!(!s.sessions.revoke_session("unknown").await.unwrap());
    assert!(s.access_revoked(&pair.access.token).await);
    assert!(matches!(
        s.refresh(&pair.refresh.token).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
}

#[tokio::test]
async fn logout_everywhere_cuts_off_every_earlier_token_of_the_user() {
    let s = setup();
    let a = s.sessions.start(Grant::new("alice")).await.unwrap();
    s.clock.advance(10);
    let b = s.sessions.start(Grant::new("alice")).await.unwrap();
    let bob = s.sessions.start(Grant::new("bob")).await.unwrap();
    s.sessions.logout_everywhere("alice").await.unwrap();
    for pair in [&a, &b] {
        assert!(s.access_revoked(&pair.access.token).await);
        assert!(matches!(
            s.refresh(&pair.refresh.token).await,
            Err(Error::Token(TokenError::SessionRevoked))
        ));
    }
    s.access_ok(&bob.access.token).await;
    // Tokens issued in the cut-off second are refused too (fail closed); the next second works.
    let same_second = s.sessions.start(Grant::new("alice")).await.unwrap();
    assert!(s.access_revoked(&same_second.access.token).await);
    s.clock.advance(1);
    let later = s.sessions.start(Grant::new("alice")).await.unwrap();
    s.access_ok(&later.access.token).await;
    s.refresh(&later.refresh.token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_of_one_token_has_exactly_one_success() {
    let s = Arc::new(setup());
    let pair = s.sessions.start(Grant::new("alice")).await.unwrap();
    let token = Arc::new(pair.refresh.token);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = Arc::clone(&s);
            let token = Arc::clone(&token);
            tokio::spawn(async move { s.refresh(&token).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(_)
                | Err(Error::Token(TokenError::RefreshReused)
                    | Error::Token(TokenError::SessionRevoked))
        )),
        "{results:?}"
    );
}

#[tokio::test]
async fn refresh_with_looks_the_user_up_before_spending_the_token() {
    let s = setup();
    let pair = s
        .sessions
        .start(Grant::new("bob").role("viewer"))
        .await
        .unwrap();
    // The lookup refuses (e.g. the user is disabled): the error comes back, the token is unspent.
    let refused = s
        .sessions
        .refresh_with(&pair.refresh.token, |_: Claims| async {
            Err::<Grant, _>(Error::Token(TokenError::SessionRevoked))
        })
        .await;
    assert!(matches!(
        refused,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    // A grant for someone else is refused.
    let wrong = s
        .sessions
        .refresh_with(&pair.refresh.token, |_: Claims| async {
            Ok(Grant::new("mallory"))
        })
        .await;
    assert!(matches!(wrong, Err(Error::Config { .. })));
    // Fresh roles from the lookup.
    let next = s
        .sessions
        .refresh_with(&pair.refresh.token, |c: Claims| async move {
            Ok(Grant::new(c.sub).role("editor"))
        })
        .await
        .unwrap();
    let claims = s.access_ok(&next.access.token).await;
    assert!(claims.has_role("editor") && !claims.has_role("viewer"));
    assert_eq!(claims.sid.as_deref(), Some(pair.session.as_str()));
}

#[tokio::test]
async fn refresh_tokens_without_a_session_or_from_elsewhere_are_refused() {
    let s = setup();
    let loose = s.issuer.issue_refresh(&Grant::new("alice")).unwrap();
    assert!(matches!(
        s.refresh(&loose.token).await,
        Err(Error::Token(TokenError::MissingClaim("sid")))
    ));
    // A session id the store never saw.
    let forged = s
        .issuer
        .issue_refresh(&Grant::new("alice").session("made-up"))
        .unwrap();
    assert!(matches!(
        s.refresh(&forged.token).await,
        Err(Error::Token(TokenError::SessionRevoked))
    ));
    assert!(matches!(
        s.refresh("not.a.token").await,
        Err(Error::Token(TokenError::InvalidBase64(_)) | Error::Token(TokenError::InvalidJson(_)))
    ));
    assert!(matches!(
        s.refresh("garbage").await,
        Err(Error::Token(TokenError::Malformed))
    ));
}

#[test]
fn settings_are_checked_by_build() {
    let s = setup();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for (b, name) in [
        (
            Sessions::builder(s.issuer.clone(), s.verifier.clone(), store.clone())
                .lifetime(Duration::ZERO),
            "lifetime",
        ),
        (
            Sessions::builder(s.issuer.clone(), s.verifier, store).idle_timeout(Duration::ZERO),
            "idle_timeout",
        ),
    ] {
        assert!(matches!(b.build(), Err(e @ Error::Config { .. }) if e.to_string().contains(name)));
    }
}

/// A store whose backend is down.
#[derive(Debug)]
struct DownStore;

fn down() -> Error {
    Error::Unavailable(Unavailable::Store("connection refused".into()))
}

impl Revocation for DownStore {
    fn is_revoked<'a>(&'a self, _: TokenRef<'a>) -> RevocationFuture<'a> {
        Box::pin(async { Err::<bool, BoxError>("connection refused".into()) })
    }
}

#[async_trait]
impl Store for DownStore {
    async fn revoke_token(&self, _: &str, _: i64) -> Result<(), Error> {
        Err(down())
    }
    async fn create_family(&self, _: NewFamily) -> Result<(), Error> {
        Err(down())
    }
    async fn rotate(&self, _: &str, _: &str, _: &str) -> Result<Rotation, Error> {
        Err(down())
    }
    async fn revoke_family(&self, _: &str) -> Result<bool, Error> {
        Err(down())
    }
    async fn revoke_subject(&self, _: &str, _: i64, _: i64) -> Result<(), Error> {
        Err(down())
    }
    async fn record_failure(&self, _: &str, _: &ThrottlePolicy) -> Result<Throttle, Error> {
        Err(down())
    }
    async fn throttle(&self, _: &str) -> Result<Throttle, Error> {
        Err(down())
    }
    async fn reset_failures(&self, _: &str) -> Result<(), Error> {
        Err(down())
    }
}

#[tokio::test]
async fn an_unavailable_store_fails_closed_everywhere() {
    let s = setup();
    let store: Arc<dyn Store> = Arc::new(DownStore);
    let verifier = Verifier::builder(s.issuer.key_ring().clone())
        .issuer("https://auth")
        .audience("api")
        .clock(s.clock.clone())
        .revocation(store.clone())
        .build()
        .unwrap();
    let sessions = Sessions::builder(s.issuer.clone(), verifier.clone(), store)
        .build()
        .unwrap();
    assert!(matches!(
        sessions.start(Grant::new("alice")).await,
        Err(Error::Unavailable(Unavailable::Store(_)))
    ));
    // Tokens minted while the store worked are refused while it is down.
    let good = s.sessions.start(Grant::new("alice")).await.unwrap();
    assert!(matches!(
        sessions.refresh::<NoExtra>(&good.refresh.token).await,
        Err(Error::Unavailable(Unavailable::Store(_)))
    ));
    assert!(matches!(
        verifier.verify::<NoExtra>(&good.access.token).await,
        Err(Error::Unavailable(Unavailable::Revocation(_)))
    ));
    let claims = s.access_ok(&good.access.token).await;
    assert!(matches!(
        sessions.logout(&claims).await,
        Err(Error::Unavailable(Unavailable::Store(_)))
    ));
    assert!(matches!(
        sessions.logout_everywhere("alice").await,
        Err(Error::Unavailable(Unavailable::Store(_)))
    ));
    // The error text stays generic.
    assert_eq!(down().to_string(), "store unavailable");
}
