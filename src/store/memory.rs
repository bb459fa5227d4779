//! The embedded store: everything in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;

use super::{NewFamily, Rotation, Store, Throttle, ThrottlePolicy};
use crate::clock::{self, Clock};
use crate::error::BoxError;
use crate::error::{Error, Unavailable};
use crate::verify::{MAX_LEEWAY, Revocation, RevocationFuture, TokenRef};

/// Default capacity of a [`MemoryStore`]: one million entries (a few hundred MB at most).
pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

/// The in-process [`Store`]: for a single instance (revocations do not reach other processes and
/// are lost on restart — use a shared backend when that matters).
///
/// Cloning is cheap and shares the state.
///
/// # Bounded, failing closed
///
/// The store holds at most `max_entries` records (revoked `jti`s, families, cut-offs, failure
/// counters together). It never evicts a live record to make room: evicting a revocation would
/// make a revoked token valid again. Instead, when it is full, it first purges expired records,
/// and if still full it refuses the write with [`Unavailable::StoreFull`](crate::Unavailable::StoreFull). Writes that *grant* something
/// (new families, i.e. logins, and new failure counters) are refused once the store is 90% full,
/// so the last 10% stays available to writes that *revoke* (logout, "log out everywhere"): a full
/// store stops logins before it stops logouts. Updating an existing record (a rotation, one more
/// failure) never needs room.
///
/// # Purging
///
/// Expired records are purged when the store is full, by [`MemoryStore::purge`], and periodically
/// by the task [`MemoryStore::spawn_purger`] starts. Expiry follows the store's [`Clock`].
///
/// # Concurrency
///
/// One `std` mutex guards the state; it is held for a few map operations and never across an
/// `.await`, so every operation, including [`Store::rotate`], is atomic.
///
/// ```
/// use tokengate::{MemoryStore, Store, ThrottlePolicy};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let store = MemoryStore::builder().max_entries(10_000).build()?;
/// let policy = ThrottlePolicy { max_failures: 2, ..ThrottlePolicy::ACCOUNT };
/// assert!(!store.record_failure("account:alice", &policy).await?.is_locked());
/// assert!(store.record_failure("account:alice", &policy).await?.is_locked());
/// store.reset_failures("account:alice").await?;
/// assert!(!store.throttle("account:alice").await?.is_locked());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    max_entries: usize,
}

#[derive(Default)]
struct State {
    /// jti → keep until.
    jtis: HashMap<String, i64>,
    families: HashMap<String, Family>,
    /// sub → the ids of its families (for "log out everywhere"); not counted as records, since it
    /// holds no more ids than `families` and is purged with it.
    sessions: HashMap<String, Vec<String>>,
    /// sub → cut-off.
    subjects: HashMap<String, Cutoff>,
    failures: HashMap<String, Failures>,
}

struct Family {
    current: String,
    expires_at: i64,
    idle_timeout: i64,
    last_used: i64,
    keep_until: i64,
    revoked: bool,
}

struct Cutoff {
    at: i64,
    keep_until: i64,
}

struct Failures {
    count: u32,
    window_ends: i64,
    locked_until: Option<i64>,
}

impl Failures {
    fn ends(&self) -> i64 {
        self.locked_until
            .map_or(self.window_ends, |l| l.max(self.window_ends))
    }
}

impl State {
    fn len(&self) -> usize {
        self.jtis.len() + self.families.len() + self.subjects.len() + self.failures.len()
    }

    fn purge(&mut self, now: i64) -> usize {
        let before = self.len();
        self.jtis.retain(|_, keep| *keep > now);
        self.families.retain(|_, f| f.keep_until > now);
        let families = &self.families;
        self.sessions.retain(|_, ids| {
            ids.retain(|id| families.contains_key(id));
            !ids.is_empty()
        });
        self.subjects.retain(|_, c| c.keep_until > now);
        self.failures.retain(|_, f| f.ends() > now);
        before - self.len()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.len())
            .field("max_entries", &self.inner.max_entries)
            .finish_non_exhaustive()
    }
}

/// Builds a [`MemoryStore`].
#[derive(Debug)]
#[must_use]
pub struct MemoryStoreBuilder {
    max_entries: usize,
    clock: Option<Arc<dyn Clock>>,
}

impl MemoryStoreBuilder {
    /// Most records held at once; default [`DEFAULT_MAX_ENTRIES`] (1 000 000). At least 10.
    pub fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// The clock deciding expiry; default the system clock. Use the issuer's clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the store.
    ///
    /// # Errors
    /// [`Error::Config`] naming `max_entries` when it is under 10.
    pub fn build(self) -> Result<MemoryStore, Error> {
        if self.max_entries < 10 {
            return Err(Error::config("max_entries", "at least 10"));
        }
        Ok(MemoryStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                clock: self.clock.unwrap_or_else(clock::system),
                max_entries: self.max_entries,
            }),
        })
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a write adds a record that grants access (refused first) or one that revokes.
#[derive(Clone, Copy)]
enum Room {
    Grant,
    Revoke,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl MemoryStore {
    /// A store with the defaults (capacity [`DEFAULT_MAX_ENTRIES`], system clock).
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                clock: clock::system(),
                max_entries: DEFAULT_MAX_ENTRIES,
            }),
        }
    }

    /// Starts building a store.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder {
            max_entries: DEFAULT_MAX_ENTRIES,
            clock: None,
        }
    }

    /// Records held now (live or expired but not yet purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity.
    #[must_use]
    pub fn max_entries(&self) -> usize {
        self.inner.max_entries
    }

    /// Removes every expired record now; returns how many were removed.
    pub fn purge(&self) -> usize {
        let now = self.inner.clock.now();
        self.lock().purge(now)
    }

    /// Spawns a tokio task that calls [`MemoryStore::purge`] every `every`. The task ends by
    /// itself once every clone of the store is dropped (or when the handle is aborted).
    ///
    /// # Panics
    /// Outside a tokio runtime (as [`tokio::spawn`]).
    pub fn spawn_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let removed = Self { inner }.purge();
                if removed > 0 {
                    tracing::debug!(target: "tokengate::store", removed, "purged expired records");
                }
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock (only map operations), so a poisoned state is
        // still consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes room for one more record of the given kind, purging expired ones if needed.
    fn make_room(&self, state: &mut State, now: i64, room: Room) -> Result<(), Error> {
        let max = self.inner.max_entries;
        let limit = match room {
            Room::Revoke => max,
            Room::Grant => max - max / 10,
        };
        if state.len() < limit {
            return Ok(());
        }
        state.purge(now);
        if state.len() < limit {
            return Ok(());
        }
        tracing::warn!(target: "tokengate::store", max_entries = max, "memory store full; write refused");
        Err(Error::Unavailable(Unavailable::StoreFull { capacity: max }))
    }

    fn revoked(&self, token: &TokenRef<'_>) -> bool {
        let state = self.lock();
        state.jtis.contains_key(token.jti)
            || token
                .sid
                .is_some_and(|sid| state.families.get(sid).is_some_and(|f| f.revoked))
            || state
                .subjects
                .get(token.sub)
                .is_some_and(|c| token.iat <= c.at)
    }
}

impl Revocation for MemoryStore {
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> RevocationFuture<'a> {
        let revoked = self.revoked(&token);
        Box::pin(async move { Ok(revoked) })
    }

    fn is_revoked_now(&self, token: TokenRef<'_>) -> Option<Result<bool, BoxError>> {
        Some(Ok(self.revoked(&token)))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn revoke_token(&self, jti: &str, exp: i64) -> Result<(), Error> {
        let now = self.inner.clock.now();
        let keep_until = exp.saturating_add(secs(MAX_LEEWAY));
        if keep_until <= now {
            return Ok(()); // no verifier accepts it any more
        }
        let mut state = self.lock();
        if let Some(keep) = state.jtis.get_mut(jti) {
            *keep = (*keep).max(keep_until);
            return Ok(());
        }
        self.make_room(&mut state, now, Room::Revoke)?;
        state.jtis.insert(jti.to_owned(), keep_until);
        Ok(())
    }

    async fn create_family(&self, family: NewFamily) -> Result<(), Error> {
        let now = self.inner.clock.now();
        let mut state = self.lock();
        // A family past its keep_until is forgotten (as the trait says), purged or not yet.
        if state
            .families
            .get(&family.id)
            .is_some_and(|f| f.keep_until > now)
        {
            return Err(Error::config("family id", "already in use"));
        }
        self.make_room(&mut state, now, Room::Grant)?;
        state
            .sessions
            .entry(family.sub)
            .or_default()
            .push(family.id.clone());
        state.families.insert(
            family.id,
            Family {
                current: family.jti,
                expires_at: family.expires_at,
                idle_timeout: family.idle_timeout,
                last_used: now,
                keep_until: family.keep_until.max(family.expires_at),
                revoked: false,
            },
        );
        Ok(())
    }

    async fn rotate(&self, family: &str, presented: &str, next: &str) -> Result<Rotation, Error> {
        let now = self.inner.clock.now();
        let mut state = self.lock();
        let Some(f) = state
            .families
            .get_mut(family)
            .filter(|f| f.keep_until > now)
        else {
            return Ok(Rotation::Unknown);
        };
        if f.revoked {
            return Ok(Rotation::Revoked);
        }
        if f.current != presented {
            // A spent token: whoever holds it may be an attacker. Revoke the whole family.
            f.revoked = true;
            return Ok(Rotation::Reused);
        }
        if now >= f.expires_at || now >= f.last_used.saturating_add(f.idle_timeout) {
            return Ok(Rotation::Expired);
        }
        next.clone_into(&mut f.current);
        f.last_used = now;
        Ok(Rotation::Rotated)
    }

    async fn revoke_family(&self, family: &str) -> Result<bool, Error> {
        let now = self.inner.clock.now();
        let mut state = self.lock();
        Ok(state
            .families
            .get_mut(family)
            .filter(|f| f.keep_until > now)
            .map(|f| f.revoked = true)
            .is_some())
    }

    async fn revoke_subject(&self, sub: &str, cutoff: i64, keep_until: i64) -> Result<(), Error> {
        let now = self.inner.clock.now();
        let mut state = self.lock();
        // The subject's families first, under the same lock as the cut-off (see the trait).
        let State {
            sessions, families, ..
        } = &mut *state;
        for id in sessions.get(sub).into_iter().flatten() {
            if let Some(f) = families.get_mut(id) {
                f.revoked = true;
            }
        }
        if let Some(c) = state.subjects.get_mut(sub) {
            c.at = c.at.max(cutoff);
            c.keep_until = c.keep_until.max(keep_until);
            return Ok(());
        }
        if keep_until <= now {
            return Ok(());
        }
        self.make_room(&mut state, now, Room::Revoke)?;
        state.subjects.insert(
            sub.to_owned(),
            Cutoff {
                at: cutoff,
                keep_until,
            },
        );
        Ok(())
    }

    async fn record_failure(&self, key: &str, policy: &ThrottlePolicy) -> Result<Throttle, Error> {
        let now = self.inner.clock.now();
        let mut state = self.lock();
        let fresh = Failures {
            count: 0,
            window_ends: now.saturating_add(secs(policy.window)),
            locked_until: None,
        };
        if let Some(f) = state.failures.get(key) {
            if f.locked_until.is_some_and(|until| until > now) {
                return Ok(status(f, now)); // locked: not counted, not extended
            }
        } else {
            self.make_room(&mut state, now, Room::Grant)?;
        }
        let f = state.failures.entry(key.to_owned()).or_insert(fresh);
        if f.locked_until.is_some() || f.window_ends <= now {
            // The lock-out or the window is over: start again from zero.
            *f = Failures {
                count: 0,
                window_ends: now.saturating_add(secs(policy.window)),
                locked_until: None,
            };
        }
        f.count = f.count.saturating_add(1);
        if f.count >= policy.max_failures {
            f.locked_until = Some(now.saturating_add(secs(policy.lockout)));
        }
        Ok(status(f, now))
    }

    async fn throttle(&self, key: &str) -> Result<Throttle, Error> {
        let now = self.inner.clock.now();
        let state = self.lock();
        Ok(match state.failures.get(key) {
            Some(f) if f.ends() > now => status(f, now),
            _ => Throttle {
                failures: 0,
                retry_after: None,
            },
        })
    }

    async fn reset_failures(&self, key: &str) -> Result<(), Error> {
        self.lock().failures.remove(key);
        Ok(())
    }
}

fn status(f: &Failures, now: i64) -> Throttle {
    let retry_after = f
        .locked_until
        .filter(|until| *until > now)
        .map(|until| Duration::from_secs(u64::try_from(until - now).unwrap_or(1).max(1)));
    Throttle {
        failures: f.count,
        retry_after,
    }
}
