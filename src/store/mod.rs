//! State that stateless tokens cannot hold alone: revocations, refresh-token families, per-user
//! cut-offs and login-failure counters.
//!
//! The everyday types — the [`Store`] trait, [`MemoryStore`], `RedisStore` (feature `redis`) and
//! [`ThrottlePolicy`] — are also at the crate root. This module adds what only the author of a
//! store backend needs: the values the [`Store`] methods take and return ([`NewFamily`],
//! [`Rotation`], [`Throttle`]), the [`Revocation`] supertrait with its [`RevocationFuture`] and
//! [`TokenRef`], and the backends' defaults. A new backend should pass the crate's `Store`
//! contract suite (`tests/it/store/contract.rs`), which runs against both built-in backends.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Error;
#[cfg(doc)]
use crate::verify::MAX_LEEWAY;
pub use crate::verify::{Revocation, RevocationFuture, TokenRef};

#[cfg(feature = "redis")]
pub use self::redis::{
    DEFAULT_REDIS_HEARTBEAT, DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT, RedisStore,
    RedisStoreBuilder,
};
pub use memory::{DEFAULT_MAX_ENTRIES, MemoryStore, MemoryStoreBuilder};

/// A refresh-token family (one login session) to create with [`Store::create_family`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    /// The family (session) id, carried by its tokens as `sid`.
    pub id: String,
    /// The subject the session belongs to ([`Store::revoke_subject`] revokes the family).
    pub sub: String,
    /// The `jti` of the family's first refresh token.
    pub jti: String,
    /// When the session ends whatever happens (absolute lifetime), seconds since the epoch.
    pub expires_at: i64,
    /// The longest allowed gap between two uses of the session, in seconds (idle timeout).
    pub idle_timeout: i64,
    /// How long the store must remember the family (at least `expires_at` plus the access-token
    /// lifetime and the verifier leeway, so that a revoked family still refuses the access tokens
    /// minted from it).
    pub keep_until: i64,
}

/// The outcome of [`Store::rotate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Rotation {
    /// The presented `jti` was the family's current one; the next one is now current.
    Rotated,
    /// The presented `jti` was not the current one (an already spent token): the family has been
    /// revoked by this call.
    Reused,
    /// The family was revoked before this call.
    Revoked,
    /// The family passed its absolute lifetime or its idle timeout.
    Expired,
    /// The store knows no such family (never created, or forgotten after `keep_until`).
    Unknown,
}

/// How many failures a key may have before it is locked out, and for how long.
///
/// Failures are counted in a fixed window that starts with the first failure; when the count
/// reaches `max_failures` within the window, the key is locked for `lockout`, after which it
/// starts again from zero. A success should [`reset`](Store::reset_failures) the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before the lock-out (the failure that reaches this number locks).
    pub max_failures: u32,
    /// The counting window.
    pub window: Duration,
    /// How long a locked key stays locked.
    pub lockout: Duration,
}

impl ThrottlePolicy {
    /// The policy for one account: 10 failures in 15 minutes lock it for 15 minutes.
    pub const ACCOUNT: Self = Self {
        max_failures: 10,
        window: Duration::from_secs(15 * 60),
        lockout: Duration::from_secs(15 * 60),
    };
    /// The policy for one client address: 100 failures in 15 minutes lock it for 15 minutes
    /// (larger, since many users may share an address).
    pub const CLIENT: Self = Self {
        max_failures: 100,
        window: Duration::from_secs(15 * 60),
        lockout: Duration::from_secs(15 * 60),
    };
}

/// The state of a throttling key, from [`Store::record_failure`] or [`Store::throttle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures counted in the current window.
    pub failures: u32,
    /// While the key is locked: how long until it is not (the `Retry-After`), at least 1 second.
    pub retry_after: Option<Duration>,
}

impl Throttle {
    /// Whether the key is locked out.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.retry_after.is_some()
    }
}

/// Where the state that tokens cannot carry lives: revocations, refresh-token families, per-user
/// cut-offs and login-failure counters.
///
/// [`Store`] is the trait; [`MemoryStore`] is the embedded backend for a single instance. A
/// backend shared by several instances (Redis) implements the same trait.
///
/// # What a store keeps, and for how long
///
/// | record | written by | kept until |
/// |---|---|---|
/// | revoked `jti` | [`Store::revoke_token`] (logout) | the token's `exp` + [`MAX_LEEWAY`] |
/// | refresh family | [`Store::create_family`] (login), [`Store::rotate`] (refresh), [`Store::revoke_family`] | its `keep_until` |
/// | subject cut-off | [`Store::revoke_subject`] ("log out everywhere") | its `keep_until` |
/// | failure counter | [`Store::record_failure`] | its window or lock-out ends |
///
/// Revocations are kept until the verifier's largest possible leeway ([`MAX_LEEWAY`]) has passed
/// after the token's expiry, since a verifier accepts a token until `exp` + leeway.
///
/// # Revocation checks
///
/// Every store is also a [`Revocation`] hook (a supertrait), answering in one call whether a token
/// is revoked by its `jti`, by its `sid` family, or by its subject's cut-off (`iat` at or before
/// the cut-off). So a store plugs straight into the verifier:
///
/// ```
/// use std::sync::Arc;
/// use tokengate::{Algorithm, Key, KeyRing, MemoryStore, Store, Verifier};
/// let store = MemoryStore::new();
/// let shared: Arc<dyn Store> = Arc::new(store.clone());
/// let verifier = Verifier::builder(KeyRing::new(Key::from_secret(Algorithm::HS256, &[7; 32])?)?)
///     .issuer("me")
///     .audience("api")
///     .revocation(shared) // an Arc<dyn Store> is an Arc<dyn Revocation>
///     .build()?;
/// # Ok::<(), tokengate::Error>(())
/// ```
///
/// # Writing a backend
///
/// - Every operation returns `Result`; an unreachable backend answers
///   [`Unavailable::Store`](crate::Unavailable::Store), and the [`Revocation`] check answers `Err`, which the verifier
///   turns into a fail-closed refusal.
/// - [`Store::rotate`] must be atomic (compare-and-set of the family's current `jti`; in Redis one
///   Lua script): of several concurrent rotations of one token, exactly one returns
///   [`Rotation::Rotated`].
/// - Time comes from the backend's [`Clock`](crate::Clock) (inject the same clock as the issuer's).
///   A shared backend may keep a local view of revoked `jti`s, revoked families and cut-offs for
///   its [`Revocation`] answers (kept current by pub/sub), as long as it fails closed while that
///   view may be stale.
///
/// Keys for the throttling methods are chosen by the caller and should be namespaced, e.g.
/// `"account:alice"`, `"client:203.0.113.7"`.
///
/// The trait is dyn-compatible: share one store as `Arc<dyn Store>`.
///
/// # A login with these pieces
///
/// 1. [`Store::throttle`] for the account key and the client key: locked → 429 with
///    `Retry-After` from [`Throttle::retry_after`], before any password work.
/// 2. [`Passwords::verify_or_dummy`](crate::Passwords::verify_or_dummy) with the user's hash, or
///    `None` for an unknown user.
/// 3. Failure: [`Store::record_failure`] for both keys (with [`ThrottlePolicy::ACCOUNT`] and
///    [`ThrottlePolicy::CLIENT`]); answer the same 401 whatever the cause. Success:
///    [`Store::reset_failures`] for the account key, then
///    [`Sessions::start`](crate::Sessions::start).
/// 4. Only bad credentials count: invalid tokens never call [`Store::record_failure`].
#[async_trait]
pub trait Store: Revocation {
    /// Denylists a token's `jti` until its expiry `exp` (plus the verifier's largest leeway).
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull).
    async fn revoke_token(&self, jti: &str, exp: i64) -> Result<(), Error>;

    /// Records a new refresh family.
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull), [`Error::Config`] if the id is taken.
    async fn create_family(&self, family: NewFamily) -> Result<(), Error>;

    /// Atomically checks that `presented` is the family's current refresh `jti` and, if so, makes
    /// `next` current and records the use for the idle timeout. A spent `jti` revokes the family
    /// ([`Rotation::Reused`]).
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    async fn rotate(&self, family: &str, presented: &str, next: &str) -> Result<Rotation, Error>;

    /// Revokes a family: its refresh tokens can no longer be rotated and the access tokens whose
    /// `sid` names it are refused. Returns whether the family was known.
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    async fn revoke_family(&self, family: &str) -> Result<bool, Error>;

    /// "Log out everywhere": every token of `sub` issued at or before `cutoff` (by `iat`) is
    /// refused from now on, and every family of `sub` the store holds is revoked (as by
    /// [`Store::revoke_family`]), in one atomic step. The cut-off is kept until `keep_until` (the
    /// longest lifetime a token issued at `cutoff` can have, plus leeway). A later cut-off
    /// replaces an earlier one; an earlier one never replaces a later one.
    ///
    /// Revoking the families is what makes the operation hold against a refresh in flight (see
    /// [`Sessions::logout_everywhere`](crate::Sessions::logout_everywhere)): a rotation that
    /// commits after this call answers [`Rotation::Revoked`], and the tokens of a rotation that
    /// committed before it are refused by their `sid`, whatever their `iat`. A backend therefore
    /// keeps an index from subject to family ids ([`NewFamily::sub`]), written by
    /// [`Store::create_family`].
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull).
    async fn revoke_subject(&self, sub: &str, cutoff: i64, keep_until: i64) -> Result<(), Error>;

    /// Counts one failure for `key` under `policy`; returns the state after counting (locked when
    /// this failure reached the limit). A failure while locked does not extend the lock.
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store), [`Unavailable::StoreFull`](crate::Unavailable::StoreFull).
    async fn record_failure(&self, key: &str, policy: &ThrottlePolicy) -> Result<Throttle, Error>;

    /// The state of `key` without counting anything (check it before the password work).
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    async fn throttle(&self, key: &str) -> Result<Throttle, Error>;

    /// Forgets the failures of `key` (after a successful login).
    ///
    /// # Errors
    /// [`Unavailable::Store`](crate::Unavailable::Store).
    async fn reset_failures(&self, key: &str) -> Result<(), Error>;
}
