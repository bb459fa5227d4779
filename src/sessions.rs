//! Login sessions: refresh-token rotation with reuse detection, logout, "log out everywhere".

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::claims::Claims;
use crate::error::{Error, TokenError, Unavailable};
use crate::issue::{self, Grant, Issued, Issuer};
use crate::jws::TokenKind;
use crate::store::{NewFamily, Rotation, Store};
use crate::verify::{MAX_LEEWAY, TokenRef, Verifier};

/// Default absolute session lifetime: 30 days.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default idle timeout: 14 days without a refresh ends the session.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(14 * 24 * 3600);

/// An access token and a refresh token of one session. `Debug` does not print the tokens.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The access token (`typ: at+jwt`).
    pub access: Issued,
    /// The refresh token (`typ: refresh+jwt`).
    pub refresh: Issued,
    /// The session (family) id, carried by both tokens as `sid`.
    pub session: String,
}

impl TokenPair {
    /// The access token's lifetime in seconds (the OAuth `expires_in`).
    #[must_use]
    pub fn expires_in(&self) -> i64 {
        self.access.expires_in()
    }
}

/// Starts, rotates and ends sessions. Cloning is cheap.
///
/// A session (a refresh-token *family*) starts at login with [`Sessions::start`], which mints an
/// access token and a refresh token that both carry the session id as `sid`, and records the
/// family in the [`Store`]. Then:
///
/// - **Rotation.** [`Sessions::refresh`] accepts a refresh token once: it mints a new pair and makes
///   the new refresh token the family's only valid one. The spent token is refused afterwards.
/// - **Reuse detection.** Presenting a spent refresh token means two parties hold the family (one
///   of them stole it): the whole family is revoked ([`TokenError::RefreshReused`](crate::TokenError::RefreshReused)), and so are the
///   access tokens minted from it, through the store's revocation check on `sid`. Of several
///   concurrent refreshes with one token exactly one succeeds; the others count as reuse.
/// - **Lifetimes.** A family ends `lifetime` after login whatever happens (absolute lifetime,
///   default [`DEFAULT_SESSION_LIFETIME`], 30 days) and when unused for `idle_timeout` (default
///   [`DEFAULT_IDLE_TIMEOUT`], 14 days): [`TokenError::SessionExpired`](crate::TokenError::SessionExpired). Refresh tokens are minted with a
///   lifetime of `idle_timeout` (capped by `lifetime`).
/// - **Logout.** [`Sessions::logout`] denylists the access token's `jti` and revokes its family.
///   [`Sessions::logout_everywhere`] refuses every token of a subject issued up to now and ends
///   its sessions, even one whose refresh is in flight.
///
/// ```
/// use std::sync::Arc;
/// use tokengate::{Algorithm, Error, Grant, Issuer, Key, KeyRing, MemoryStore, Sessions, Store, Verifier};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[9; 32])?)?;
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let issuer = Issuer::builder(ring.clone()).issuer("me").audience("api").build()?;
/// let verifier = Verifier::builder(ring).issuer("me").audience("api").revocation(store.clone()).build()?;
/// let sessions = Sessions::builder(issuer, verifier.clone(), store).build()?;
///
/// let first = sessions.start(Grant::new("alice").role("admin")).await?;
/// let second = sessions.refresh::<tokengate::NoExtra>(&first.refresh.token).await?;
/// // The spent refresh token is refused, and its reuse ends the session...
/// assert!(matches!(sessions.refresh::<tokengate::NoExtra>(&first.refresh.token).await, Err(Error::Token(tokengate::TokenError::RefreshReused))));
/// // ...so the access tokens of that session are refused too.
/// assert!(matches!(verifier.verify::<tokengate::NoExtra>(&second.access.token).await, Err(Error::Token(tokengate::TokenError::Revoked))));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: Issuer,
    verifier: Verifier,
    store: Arc<dyn Store>,
    lifetime: i64,
    idle_timeout: i64,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("issuer", &self.inner.issuer)
            .field("store", &self.inner.store)
            .field("lifetime", &self.inner.lifetime)
            .field("idle_timeout", &self.inner.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds [`Sessions`].
#[derive(Debug)]
#[must_use]
pub struct SessionsBuilder {
    issuer: Issuer,
    verifier: Verifier,
    store: Arc<dyn Store>,
    lifetime: Duration,
    idle_timeout: Duration,
}

impl SessionsBuilder {
    /// Absolute session lifetime, counted from login; default [`DEFAULT_SESSION_LIFETIME`]
    /// (30 days).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Longest gap between two refreshes; default [`DEFAULT_IDLE_TIMEOUT`] (14 days). Also the
    /// lifetime of each refresh token (capped by the session lifetime).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Builds the service.
    ///
    /// # Errors
    /// [`Error::Config`] naming `revocation` when the verifier has no revocation hook (see
    /// below), `lifetime` or `idle_timeout` when zero.
    ///
    /// # Why a verifier without a revocation hook is refused
    ///
    /// Logout ([`Sessions::logout`], [`Sessions::revoke_session`], [`Sessions::logout_everywhere`])
    /// writes revocations to the store; an access token is refused afterwards only by a verifier
    /// that asks the store, through [`VerifierBuilder::revocation`](crate::VerifierBuilder::revocation).
    /// Without the hook every piece builds, logout answers success, and the access token keeps
    /// verifying until it expires: a promise silently broken. So this is a build error naming
    /// what is missing, rather than a hook wired here from the store: a verifier is fixed once
    /// built and is cloned into the application's `Gate`s, which check the access tokens on its
    /// routes; a hook set on this service's own copy would leave those copies unaware of every
    /// logout, and nothing here can reach them. (The `AuthRouter` builder refuses a `Gate`
    /// without a hook for the same reason.) The hook need not be this very store object (a
    /// wrapper adding metrics, or another client of the same Redis, is fine), but it must answer
    /// from the revocations this store records.
    pub fn build(self) -> Result<Sessions, Error> {
        if self.verifier.revocation().is_none() {
            return Err(Error::config(
                "revocation",
                "the verifier has no revocation hook, so logged-out access tokens would keep \
                 verifying; build it with `.revocation(store)`",
            ));
        }
        if self.lifetime.is_zero() {
            return Err(Error::config("lifetime", "must be greater than zero"));
        }
        if self.idle_timeout.is_zero() {
            return Err(Error::config("idle_timeout", "must be greater than zero"));
        }
        Ok(Sessions {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                verifier: self.verifier,
                store: self.store,
                lifetime: secs(self.lifetime),
                idle_timeout: secs(self.idle_timeout),
            }),
        })
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Sessions {
    /// Starts building over an issuer (mints), a verifier (checks refresh tokens; its key ring,
    /// issuer and audience must accept the issuer's tokens, and its revocation hook must be the
    /// store's) and a store (families, revocations). Give all three the same clock.
    pub fn builder(issuer: Issuer, verifier: Verifier, store: Arc<dyn Store>) -> SessionsBuilder {
        SessionsBuilder {
            issuer,
            verifier,
            store,
            lifetime: DEFAULT_SESSION_LIFETIME,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// Starts a session for `grant` (after a successful login): a new family id becomes the
    /// tokens' `sid`. The grant's `ttl`, if set, applies to the access token only.
    ///
    /// # Errors
    /// Issuing errors ([`InternalError::Crypto`](crate::InternalError::Crypto), [`InternalError::Serialize`](crate::InternalError::Serialize)), store errors
    /// ([`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull)).
    pub async fn start<T: Serialize>(&self, mut grant: Grant<T>) -> Result<TokenPair, Error> {
        let inner = &*self.inner;
        let sid = issue::new_id()?;
        grant.sid = Some(sid.clone());
        let (access, refresh) = self.mint(&mut grant)?;
        let expires_at = refresh.issued_at.saturating_add(inner.lifetime);
        inner
            .store
            .create_family(NewFamily {
                id: sid.clone(),
                sub: grant.sub.clone(),
                jti: refresh.jti.clone(),
                expires_at,
                idle_timeout: inner.idle_timeout,
                keep_until: expires_at
                    .saturating_add(access.expires_in().max(0))
                    .saturating_add(secs(MAX_LEEWAY)),
            })
            .await?;
        Ok(TokenPair {
            access,
            refresh,
            session: sid,
        })
    }

    /// Rotates a refresh token: a new pair with the same subject, roles, permissions and
    /// application claims (taken from the refresh token). Use [`Sessions::refresh_with`] to look
    /// the user up again (disabled users, changed roles).
    ///
    /// # Errors
    /// Any token error of the refresh token (wrong type, expired, bad signature, ...);
    /// [`TokenError::MissingClaim`](crate::TokenError::MissingClaim) for a refresh token without `sid`; [`TokenError::RefreshReused`](crate::TokenError::RefreshReused) (the
    /// family is now revoked); [`TokenError::SessionRevoked`](crate::TokenError::SessionRevoked); [`TokenError::SessionExpired`](crate::TokenError::SessionExpired);
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    pub async fn refresh<T>(&self, refresh_token: &str) -> Result<TokenPair, Error>
    where
        T: Serialize + DeserializeOwned,
    {
        self.refresh_with(refresh_token, |claims: Claims<T>| async move {
            Ok(Grant {
                sub: claims.sub,
                roles: claims.roles,
                permissions: claims.permissions,
                sid: None,
                ttl: None,
                extra: claims.extra,
            })
        })
        .await
    }

    /// Rotates a refresh token, asking `grant_for` for the new tokens' grant. `grant_for` gets the
    /// verified refresh-token claims and runs before the token is spent: an error from it (e.g.
    /// the user is disabled) is returned as is and leaves the session untouched. The grant's
    /// `sid` is set to the session; its `sub` must be the token's.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use tokengate::{Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, MemoryStore, NoExtra, Sessions, Store, Verifier};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// # let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[9; 32])?)?;
    /// # let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    /// # let issuer = Issuer::builder(ring.clone()).issuer("me").audience("api").build()?;
    /// # let verifier = Verifier::builder(ring).issuer("me").audience("api").revocation(store.clone()).build()?;
    /// # let sessions = Sessions::builder(issuer, verifier, store).build()?;
    /// let pair = sessions.start(Grant::new("bob").role("viewer")).await?;
    /// // Bob was promoted since: the new access token says so.
    /// let next = sessions
    ///     .refresh_with(&pair.refresh.token, |c: Claims<NoExtra>| async move { Ok(Grant::new(c.sub).role("editor")) })
    ///     .await?;
    /// assert_eq!(next.session, pair.session);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Sessions::refresh`], plus the errors of `grant_for`; [`Error::Config`] when the grant
    /// names another subject.
    pub async fn refresh_with<T, U, F, Fut>(
        &self,
        refresh_token: &str,
        grant_for: F,
    ) -> Result<TokenPair, Error>
    where
        T: DeserializeOwned,
        U: Serialize,
        F: FnOnce(Claims<T>) -> Fut,
        Fut: Future<Output = Result<Grant<U>, Error>>,
    {
        let inner = &*self.inner;
        let claims: Claims<T> = inner
            .verifier
            .check_stateless(refresh_token, &TokenKind::Refresh)?;
        let sid = claims
            .sid
            .clone()
            .ok_or(Error::Token(TokenError::MissingClaim("sid")))?;
        let jti = claims
            .jti
            .clone()
            .ok_or(Error::Token(TokenError::MissingClaim("jti")))?;
        let iat = claims
            .iat
            .ok_or(Error::Token(TokenError::MissingClaim("iat")))?;
        let sub = claims.sub.clone();
        let token = TokenRef {
            kind: &TokenKind::Refresh,
            jti: &jti,
            sub: &sub,
            sid: Some(&sid),
            iat,
            exp: claims.exp,
        };
        // The store answers for the jti, the family and the subject's cut-off.
        match inner.store.is_revoked(token).await {
            Ok(false) => {}
            Ok(true) => return Err(Error::Token(TokenError::SessionRevoked)),
            Err(e) => return Err(Error::Unavailable(Unavailable::Store(e))),
        }
        let mut grant = grant_for(claims).await?;
        if grant.sub != sub {
            return Err(Error::config(
                "refresh grant",
                "`sub` must be the refresh token's subject",
            ));
        }
        grant.sid = Some(sid.clone());
        let (access, refresh) = self.mint(&mut grant)?;
        match inner.store.rotate(&sid, &jti, &refresh.jti).await? {
            Rotation::Rotated => Ok(TokenPair {
                access,
                refresh,
                session: sid,
            }),
            Rotation::Reused => {
                tracing::warn!(target: "tokengate::refresh", "refresh token reused; session revoked");
                Err(Error::Token(TokenError::RefreshReused))
            }
            Rotation::Expired => Err(Error::Token(TokenError::SessionExpired)),
            Rotation::Revoked | Rotation::Unknown => Err(Error::Token(TokenError::SessionRevoked)),
        }
    }

    /// Logs out the session of an access token (verified claims, e.g. from the extractor): its
    /// `jti` is denylisted until it expires and its family (`sid`) is revoked, so neither it, nor
    /// the session's other access tokens, nor its refresh token work any more.
    ///
    /// # Errors
    /// [`TokenError::MissingClaim`](crate::TokenError::MissingClaim) for claims without `jti`; [`Unavailable::Store`](crate::Unavailable::Store),
    /// [`Unavailable::StoreFull`](crate::Unavailable::StoreFull).
    pub async fn logout<T>(&self, claims: &Claims<T>) -> Result<(), Error> {
        let jti = claims
            .jti
            .as_deref()
            .ok_or(Error::Token(TokenError::MissingClaim("jti")))?;
        let store = &self.inner.store;
        if let Some(sid) = claims.sid.as_deref() {
            store.revoke_family(sid).await?;
        }
        store.revoke_token(jti, claims.exp).await
    }

    /// Revokes one session by id (e.g. an account page listing sessions, or a disabled user).
    /// Returns whether the store knew it.
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    pub async fn revoke_session(&self, sid: &str) -> Result<bool, Error> {
        self.inner.store.revoke_family(sid).await
    }

    /// "Log out everywhere": every token of `sub` issued up to now (by `iat`, this very second
    /// included) is refused, whatever its session, and every session of `sub` the store knows is
    /// revoked; logins from the next second on work.
    ///
    /// # Why the sessions are revoked too
    ///
    /// A cut-off alone loses to a refresh in flight. [`Sessions::refresh_with`] checks the
    /// cut-off, awaits the application's user lookup, then mints and rotates: a cut-off written
    /// during the lookup, with minting in the next second, gives a pair whose `iat` is after the
    /// cut-off, and the session lives on (a thief holding a refresh token only needs one refresh
    /// in flight). So [`Store::revoke_subject`] revokes the subject's families in the same atomic
    /// step (one lock, one Lua script) as the cut-off. A rotation is then ordered against it by
    /// the store itself: after it, [`Store::rotate`] answers [`Rotation::Revoked`]
    /// ([`TokenError::SessionRevoked`](crate::TokenError::SessionRevoked)); before it, the new
    /// pair carries the now revoked `sid` and is refused by the revocation check.
    ///
    /// The other way — re-checking the cut-off inside [`Store::rotate`] — was not taken: the
    /// cut-off's instant is read from the clock before it is written, so a refresh minting in
    /// the next second and rotating between that read and the write would still win, and
    /// closing that would need every rotation to agree with every cut-off on one clock. Revoking
    /// the families does not depend on `iat` or clocks at all, leaves the rotation (the hot write)
    /// unchanged, and costs one subject → families index in the store and one write per session
    /// on this (rare) call.
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull).
    pub async fn logout_everywhere(&self, sub: &str) -> Result<(), Error> {
        let inner = &*self.inner;
        let now = inner.issuer.clock().now();
        let longest = inner
            .lifetime
            .max(secs(inner.issuer.refresh_ttl()))
            .max(secs(inner.issuer.access_ttl()));
        let keep_until = now.saturating_add(longest).saturating_add(secs(MAX_LEEWAY));
        inner.store.revoke_subject(sub, now, keep_until).await
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &Issuer {
        &self.inner.issuer
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Mints the access token (grant's own ttl) and the refresh token (idle timeout, capped by the
    /// lifetime).
    fn mint<T: Serialize>(&self, grant: &mut Grant<T>) -> Result<(Issued, Issued), Error> {
        let inner = &*self.inner;
        let access = inner.issuer.issue_access(grant)?;
        let access_ttl = grant.ttl.take();
        let refresh_secs = inner.idle_timeout.min(inner.lifetime);
        grant.ttl = Some(Duration::from_secs(
            u64::try_from(refresh_secs).unwrap_or(u64::MAX),
        ));
        let refresh = inner.issuer.issue_refresh(grant);
        grant.ttl = access_ttl;
        Ok((access, refresh?))
    }
}
