//! Password hashing and verification: argon2id in PHC string format, off the async workers.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Argon2, Params, Version};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::error::{Error, InternalError, RequestError, Unavailable};

/// OWASP's argon2id memory cost: 19456 KiB (19 MiB).
pub const DEFAULT_MEMORY_KIB: u32 = 19 * 1024;
/// OWASP's argon2id iteration count: 2.
pub const DEFAULT_ITERATIONS: u32 = 2;
/// OWASP's argon2id parallelism: 1.
pub const DEFAULT_PARALLELISM: u32 = 1;
/// Default longest password accepted: 1024 bytes (far above any passphrase; refuses megabyte
/// inputs sent to burn CPU).
pub const DEFAULT_MAX_PASSWORD_LEN: usize = 1024;
/// Largest memory cost a *stored* hash may ask for when verified (unless the configured cost is
/// larger): 256 MiB. Hashes asking for more are refused with [`InternalError::PasswordHashInvalid`](crate::InternalError::PasswordHashInvalid).
pub const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;
/// Default number of requests allowed to wait for a hashing thread, per thread.
pub const DEFAULT_QUEUE_PER_WORKER: usize = 16;

/// An argon2id hash in PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), as
/// produced by [`Passwords::hash`]. Store [`PasswordHash::as_str`]; `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verification {
    /// The password does not match (or the user is unknown, for [`Passwords::verify_or_dummy`]).
    Invalid,
    /// The password matches and the hash uses the configured algorithm, version and parameters.
    Valid,
    /// The password matches, but the hash was made with another algorithm, version or parameters:
    /// hash the password again with [`Passwords::hash`] and store the new hash.
    ValidNeedsRehash,
}

impl Verification {
    /// Whether the password matched.
    #[must_use]
    pub fn is_valid(self) -> bool {
        !matches!(self, Self::Invalid)
    }

    /// Whether the password matched and its stored hash should be replaced.
    #[must_use]
    pub fn needs_rehash(self) -> bool {
        matches!(self, Self::ValidNeedsRehash)
    }
}

/// Hashes and verifies passwords with argon2id.
///
/// [`Passwords`] hashes with argon2id (version 0x13) and the OWASP parameters by default
/// (m = 19456 KiB, t = 2, p = 1), verifies any argon2 PHC string, and tells when a stored hash was
/// made with other parameters ([`Verification::ValidNeedsRehash`]) so a login can upgrade it.
///
/// # Why a dedicated pool
///
/// One argon2id hash with the OWASP parameters costs tens of milliseconds of CPU and 19 MiB of
/// memory. Run on tokio's worker threads, a flood of logins stalls every other route; even tokio's
/// shared blocking pool (up to 512 threads) lets a flood take all the cores. So the async
/// [`Passwords::hash`] and [`Passwords::verify`] send the work to a small set of dedicated threads:
///
/// - `workers` threads (default: the number of CPUs), so at most that many hashes run at once and
///   memory stays bounded (`workers` × `m`);
/// - those threads run at the lowest scheduling priority (nice 19 on Unix, through the
///   `thread-priority` crate), so the request-serving threads win the CPU when both want it;
/// - at most `queue` further requests wait (default: 16 per worker); past that the request is
///   refused at once with [`Unavailable::PasswordBusy`](crate::Unavailable::PasswordBusy) (the login router answers 503 with `Retry-After`)
///   instead of piling up.
///
/// The blocking [`Passwords::hash_blocking`] and [`Passwords::verify_blocking`] run on the
/// calling thread, for command-line tools and other synchronous code.
///
/// # Security
///
/// - Passwords are taken whole, as UTF-8 bytes (no truncation, no normalisation); anything longer
///   than `max_len` (default [`DEFAULT_MAX_PASSWORD_LEN`], 1024 bytes) is refused with
///   [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong) before any work.
/// - The copies handed to the hashing threads are zeroized when dropped.
/// - [`Passwords::verify_or_dummy`] checks a password of an unknown user against a dummy hash with
///   the configured parameters, made when the hasher is built, so an unknown user and a wrong
///   password cost the same time (from the first login on) and give the same answer.
/// - [`PasswordHash`] and the errors never print a password or a hash.
///
/// Cloning is cheap and shares the hashing threads; they stop when the last clone is dropped.
///
/// ```
/// use tokengate::{Passwords, Verification};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// // Small parameters keep the example fast; the defaults are OWASP's.
/// let passwords = Passwords::builder().memory_kib(64).iterations(1).build()?;
/// let hash = passwords.hash("correct horse battery staple").await?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
/// assert_eq!(passwords.verify("correct horse battery staple", hash.as_str()).await?, Verification::Valid);
/// assert_eq!(passwords.verify("wrong", hash.as_str()).await?, Verification::Invalid);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    hasher: Hasher,
    pool: Pool,
}

/// The synchronous part: parameters, hashing, verification, the dummy hash.
struct Hasher {
    params: Params,
    max_len: usize,
    /// The PHC string unknown users are checked against (see [`dummy_hash`]).
    dummy: String,
    /// argon2 computations run so far (the unit tests check what each call costs).
    #[cfg(test)]
    runs: AtomicUsize,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.inner.hasher;
        f.debug_struct("Passwords")
            .field("memory_kib", &h.params.m_cost())
            .field("iterations", &h.params.t_cost())
            .field("parallelism", &h.params.p_cost())
            .field("max_len", &h.max_len)
            .field("workers", &self.inner.pool.workers)
            .field("queue", &self.inner.pool.queue)
            .finish_non_exhaustive()
    }
}

/// Builds [`Passwords`]. Every setting has a default; see each setter.
#[derive(Debug, Clone)]
#[must_use]
pub struct PasswordsBuilder {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    max_len: usize,
    workers: Option<usize>,
    queue: Option<usize>,
    low_priority: bool,
}

impl Default for PasswordsBuilder {
    fn default() -> Self {
        Self {
            memory_kib: DEFAULT_MEMORY_KIB,
            iterations: DEFAULT_ITERATIONS,
            parallelism: DEFAULT_PARALLELISM,
            max_len: DEFAULT_MAX_PASSWORD_LEN,
            workers: None,
            queue: None,
            low_priority: true,
        }
    }
}

impl PasswordsBuilder {
    /// argon2 memory cost in KiB; default [`DEFAULT_MEMORY_KIB`] (19456, OWASP). At least 8 × the
    /// parallelism.
    pub fn memory_kib(mut self, kib: u32) -> Self {
        self.memory_kib = kib;
        self
    }

    /// argon2 iterations (time cost); default [`DEFAULT_ITERATIONS`] (2, OWASP). At least 1.
    pub fn iterations(mut self, t: u32) -> Self {
        self.iterations = t;
        self
    }

    /// argon2 lanes (parallelism); default [`DEFAULT_PARALLELISM`] (1, OWASP). At least 1.
    pub fn parallelism(mut self, p: u32) -> Self {
        self.parallelism = p;
        self
    }

    /// Longest password accepted, in bytes; default [`DEFAULT_MAX_PASSWORD_LEN`] (1024). Longer
    /// ones are refused with [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong) before any hashing.
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// Number of dedicated hashing threads; default the number of CPUs
    /// ([`std::thread::available_parallelism`]). At most this many hashes run at once.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// How many requests may wait for a hashing thread before new ones are refused with
    /// [`Unavailable::PasswordBusy`](crate::Unavailable::PasswordBusy); default [`DEFAULT_QUEUE_PER_WORKER`] (16) per worker. Zero means
    /// "only as many as there are idle workers".
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = Some(n);
        self
    }

    /// Whether the hashing threads lower their scheduling priority to the minimum (nice 19 on
    /// Unix); default `true`. Where the OS refuses, the threads keep the normal priority (logged
    /// at `warn`).
    pub fn low_priority(mut self, low: bool) -> Self {
        self.low_priority = low;
        self
    }

    /// Builds the hasher and starts its threads.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: argon2 parameters out of range (`memory_kib`,
    /// `iterations`, `parallelism`), `max_len` or `workers` of zero, or a thread that cannot be
    /// spawned; [`InternalError::Crypto`](crate::InternalError::Crypto) when no random bytes can be
    /// drawn for the dummy hash.
    pub fn build(self) -> Result<Passwords, Error> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| {
                Error::config(
                    "memory_kib/iterations/parallelism",
                    format!("invalid argon2 parameters ({e})"),
                )
            })?;
        if self.max_len == 0 {
            return Err(Error::config("max_len", "must be at least 1 byte"));
        }
        let workers = match self.workers {
            Some(0) => return Err(Error::config("workers", "must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        let queue = self
            .queue
            .unwrap_or(workers.saturating_mul(DEFAULT_QUEUE_PER_WORKER));
        let dummy = dummy_hash(&params)?;
        let pool = Pool::start(workers, queue, self.low_priority)?;
        Ok(Passwords {
            inner: Arc::new(Inner {
                hasher: Hasher {
                    params,
                    max_len: self.max_len,
                    dummy,
                    #[cfg(test)]
                    runs: AtomicUsize::new(0),
                },
                pool,
            }),
        })
    }
}

impl Passwords {
    /// Starts building with the defaults (OWASP parameters, one thread per CPU).
    pub fn builder() -> PasswordsBuilder {
        PasswordsBuilder::default()
    }

    /// Hashes `password` on a hashing thread.
    ///
    /// # Errors
    /// [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong); [`Unavailable::PasswordBusy`](crate::Unavailable::PasswordBusy) when the wait queue is full;
    /// [`InternalError::Crypto`](crate::InternalError::Crypto) when the random salt or the hashing fails.
    pub async fn hash(&self, password: &str) -> Result<PasswordHash, Error> {
        self.inner.hasher.check_len(password)?;
        let password = Zeroizing::new(password.to_owned());
        let inner = Arc::clone(&self.inner);
        self.inner
            .pool
            .run(move || inner.hasher.hash(&password))
            .await
    }

    /// Checks `password` against a stored PHC hash on a hashing thread.
    ///
    /// # Errors
    /// [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong); [`Unavailable::PasswordBusy`](crate::Unavailable::PasswordBusy) when the wait queue is full;
    /// [`InternalError::PasswordHashInvalid`](crate::InternalError::PasswordHashInvalid) when `hash` is not an argon2 PHC string or asks for more
    /// than [`MAX_STORED_MEMORY_KIB`] (or 64 iterations or lanes) beyond the configured costs.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<Verification, Error> {
        self.inner.hasher.check_len(password)?;
        let password = Zeroizing::new(password.to_owned());
        let hash = hash.to_owned();
        let inner = Arc::clone(&self.inner);
        self.inner
            .pool
            .run(move || inner.hasher.verify(&password, &hash))
            .await
    }

    /// Checks the password of a login whose user may not exist: with `Some(hash)` this is
    /// [`Passwords::verify`]; with `None` the password is checked against a dummy hash with the
    /// configured parameters, made when the [`Passwords`] was built, and the answer is always
    /// [`Verification::Invalid`] — after the same work as a wrong password for a real user, from
    /// the first call on.
    ///
    /// ```
    /// use tokengate::{Passwords, Verification};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
    /// let passwords = Passwords::builder().memory_kib(64).iterations(1).build()?;
    /// let stored: Option<&str> = None; // the user lookup found nobody
    /// assert_eq!(passwords.verify_or_dummy("guess", stored).await?, Verification::Invalid);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Passwords::verify`].
    pub async fn verify_or_dummy(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> Result<Verification, Error> {
        match hash {
            Some(hash) => self.verify(password, hash).await,
            None => {
                self.inner.hasher.check_len(password)?;
                let password = Zeroizing::new(password.to_owned());
                let inner = Arc::clone(&self.inner);
                self.inner
                    .pool
                    .run(move || inner.hasher.verify_dummy(&password))
                    .await
            }
        }
    }

    /// [`Passwords::hash`] on the calling thread (blocks it for the whole hash; for CLIs and
    /// synchronous code, never on an async worker).
    ///
    /// # Errors
    /// [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong), [`InternalError::Crypto`](crate::InternalError::Crypto).
    pub fn hash_blocking(&self, password: &str) -> Result<PasswordHash, Error> {
        self.inner.hasher.check_len(password)?;
        self.inner.hasher.hash(password)
    }

    /// [`Passwords::verify`] on the calling thread.
    ///
    /// ```
    /// use tokengate::{Passwords, Verification};
    /// let old = Passwords::builder().memory_kib(64).iterations(1).build()?;
    /// let new = Passwords::builder().memory_kib(128).iterations(1).build()?;
    /// let hash = old.hash_blocking("pässwörd ✓")?;
    /// assert_eq!(new.verify_blocking("pässwörd ✓", hash.as_str())?, Verification::ValidNeedsRehash);
    /// assert!(new.needs_rehash(hash.as_str())?);
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`RequestError::PasswordTooLong`](crate::RequestError::PasswordTooLong), [`InternalError::PasswordHashInvalid`](crate::InternalError::PasswordHashInvalid).
    pub fn verify_blocking(&self, password: &str, hash: &str) -> Result<Verification, Error> {
        self.inner.hasher.check_len(password)?;
        self.inner.hasher.verify(password, hash)
    }

    /// Whether a stored hash was made with another algorithm, version or parameters than the
    /// configured ones (cheap: parses the PHC string, hashes nothing).
    ///
    /// # Errors
    /// [`InternalError::PasswordHashInvalid`](crate::InternalError::PasswordHashInvalid) when `hash` is not a PHC string.
    pub fn needs_rehash(&self, hash: &str) -> Result<bool, Error> {
        let parsed = argon2::PasswordHash::new(hash)
            .map_err(|_| Error::Internal(InternalError::PasswordHashInvalid))?;
        Ok(self.inner.hasher.differs(&parsed))
    }

    /// The configured longest password, in bytes.
    #[must_use]
    pub fn max_len(&self) -> usize {
        self.inner.hasher.max_len
    }

    /// The number of hashing threads.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.inner.pool.workers
    }
}

impl Hasher {
    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(
            argon2::Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
        )
    }

    /// Counts one argon2 computation (in unit tests; nothing otherwise).
    fn count_run(&self) {
        #[cfg(test)]
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    fn check_len(&self, password: &str) -> Result<(), Error> {
        if password.len() > self.max_len {
            return Err(Error::Request(RequestError::PasswordTooLong {
                max: self.max_len,
            }));
        }
        Ok(())
    }

    fn hash(&self, password: &str) -> Result<PasswordHash, Error> {
        let mut salt = Zeroizing::new([0u8; 16]);
        aws_lc_rs::rand::fill(salt.as_mut()).map_err(|_| Error::Internal(InternalError::Crypto))?;
        let salt = SaltString::encode_b64(salt.as_ref())
            .map_err(|_| Error::Internal(InternalError::Crypto))?;
        self.count_run();
        let hash = self
            .argon2()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|_| Error::Internal(InternalError::Crypto))?;
        Ok(PasswordHash(hash.to_string()))
    }

    fn verify(&self, password: &str, hash: &str) -> Result<Verification, Error> {
        let parsed = argon2::PasswordHash::new(hash)
            .map_err(|_| Error::Internal(InternalError::PasswordHashInvalid))?;
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(Error::Internal(InternalError::PasswordHashInvalid));
        }
        let algorithm = argon2::Algorithm::try_from(parsed.algorithm)
            .map_err(|_| Error::Internal(InternalError::PasswordHashInvalid))?;
        // The stored hash's own parameters, so hashes made with older settings still verify.
        let params = Params::try_from(&parsed)
            .map_err(|_| Error::Internal(InternalError::PasswordHashInvalid))?;
        if !self.affordable(&params) {
            return Err(Error::Internal(InternalError::PasswordHashInvalid));
        }
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .map_err(|_| Error::Internal(InternalError::PasswordHashInvalid))?;
        let argon2 = Argon2::new(algorithm, version, params);
        self.count_run();
        match argon2.verify_password(password.as_bytes(), &parsed) {
            Ok(()) if self.differs(&parsed) => Ok(Verification::ValidNeedsRehash),
            Ok(()) => Ok(Verification::Valid),
            Err(argon2::password_hash::Error::Password) => Ok(Verification::Invalid),
            Err(_) => Err(Error::Internal(InternalError::PasswordHashInvalid)),
        }
    }

    fn verify_dummy(&self, password: &str) -> Result<Verification, Error> {
        // The outcome is discarded: an unknown user never logs in, whatever the password.
        let _ = self.verify(password, &self.dummy)?;
        Ok(Verification::Invalid)
    }

    /// Whether a stored hash's parameters are within what this process agrees to spend on one
    /// check: memory up to the larger of the configured cost and [`MAX_STORED_MEMORY_KIB`],
    /// iterations up to the larger of the configured count and 64, lanes up to 64. A corrupt or
    /// planted hash asking for gigabytes is refused instead of run.
    fn affordable(&self, stored: &Params) -> bool {
        stored.m_cost() <= self.params.m_cost().max(MAX_STORED_MEMORY_KIB)
            && stored.t_cost() <= self.params.t_cost().max(64)
            && stored.p_cost() <= self.params.p_cost().max(64)
    }

    /// Whether `parsed` differs from the configured algorithm, version or parameters.
    fn differs(&self, parsed: &argon2::PasswordHash<'_>) -> bool {
        if parsed.algorithm != argon2::Algorithm::Argon2id.ident() {
            return true;
        }
        if parsed.version != Some(Version::V0x13.into()) {
            return true;
        }
        let Ok(stored) = Params::try_from(parsed) else {
            return true;
        };
        let output_len = parsed.hash.map(|h| h.len());
        stored.m_cost() != self.params.m_cost()
            || stored.t_cost() != self.params.t_cost()
            || stored.p_cost() != self.params.p_cost()
            || output_len != Some(Params::DEFAULT_OUTPUT_LEN)
    }
}

/// The dummy hash unknown users are checked against: an argon2id PHC string with the configured
/// parameters, a random salt and a random 32-byte output.
///
/// It is made when [`Passwords`] is built, so that the first unknown-user check costs one argon2
/// run like every later one (a dummy made on first use cost that check two runs: a one-time signal
/// that the user does not exist). It needs no hashing: checking a password against it runs argon2
/// over the salt and parameters exactly as for a real hash, and compares with an output nobody
/// knows a password for (the outcome is discarded anyway).
fn dummy_hash(params: &Params) -> Result<String, Error> {
    fn crypto<E>(_: E) -> Error {
        Error::Internal(InternalError::Crypto)
    }
    let mut random = Zeroizing::new([0u8; 16 + Params::DEFAULT_OUTPUT_LEN]);
    aws_lc_rs::rand::fill(random.as_mut()).map_err(crypto)?;
    let (salt, output) = random.split_at(16);
    let salt = SaltString::encode_b64(salt).map_err(crypto)?;
    let hash = argon2::PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params.try_into().map_err(crypto)?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(output).map_err(crypto)?),
    };
    Ok(hash.to_string())
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The dedicated hashing threads and their admission control.
struct Pool {
    sender: mpsc::Sender<Job>,
    /// Jobs accepted and not yet finished (running or waiting).
    pending: Arc<AtomicUsize>,
    workers: usize,
    queue: usize,
}

/// Decrements the pending count when a job ends, even by a panic.
struct PendingGuard(Arc<AtomicUsize>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    fn start(workers: usize, queue: usize, low_priority: bool) -> Result<Self, Error> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("tokengate-argon2-{i}"))
                .spawn(move || worker(&receiver, low_priority))
                .map_err(|e| {
                    Error::config("workers", format!("cannot spawn a hashing thread ({e})"))
                })?;
        }
        Ok(Self {
            sender,
            pending: Arc::new(AtomicUsize::new(0)),
            workers,
            queue,
        })
    }

    /// Runs `f` on a hashing thread, or refuses at once when `workers + queue` jobs are pending.
    async fn run<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let limit = self.workers.saturating_add(self.queue);
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            return Err(Error::Unavailable(Unavailable::PasswordBusy));
        }
        let guard = PendingGuard(Arc::clone(&self.pending));
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller went away (e.g. the client disconnected): skip the work.
            if tx.is_closed() {
                drop(guard);
                return;
            }
            let result = f();
            // Free the slot before waking the caller: a low-priority thread can be descheduled
            // right after `send`, and the caller's next job must not find its own slot taken.
            drop(guard);
            let _ = tx.send(result);
        });
        if self.sender.send(job).is_err() {
            // Every hashing thread is gone (they only end when the pool is dropped or panics).
            return Err(Error::Internal(InternalError::Crypto));
        }
        rx.await
            .map_err(|_| Error::Internal(InternalError::Crypto))?
    }
}

fn worker(receiver: &Mutex<mpsc::Receiver<Job>>, low_priority: bool) {
    if low_priority
        && let Err(e) =
            thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::warn!(target: "tokengate::password", error = ?e, "cannot lower the hashing thread's priority");
    }
    loop {
        let job = match receiver.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking job must not take the thread down with it.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return, // the pool was dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Passwords {
        Passwords::builder()
            .memory_kib(64)
            .iterations(1)
            .workers(1)
            .build()
            .unwrap()
    }

    #[test]
    fn greedy_stored_parameters_are_refused_before_running() {
        let p = small();
        let h = &p.inner.hasher;
        for (phc, affordable) in [
            (
                "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
                false,
            ),
            (
                "$argon2id$v=19$m=64,t=100000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
                false,
            ),
            (
                "$argon2id$v=19$m=262144,t=64,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
                true,
            ),
        ] {
            // Well-formed: only the cost decides.
            let parsed = argon2::PasswordHash::new(phc).unwrap();
            let params = Params::try_from(&parsed).unwrap();
            assert_eq!(h.affordable(&params), affordable, "{phc}");
        }
    }

    #[test]
    fn differs_detects_each_parameter() {
        let p = small();
        let h = p.hash_blocking("x").unwrap();
        assert!(!p.needs_rehash(h.as_str()).unwrap());
        for other in [
            Passwords::builder()
                .memory_kib(72)
                .iterations(1)
                .workers(1)
                .build()
                .unwrap(),
            Passwords::builder()
                .memory_kib(64)
                .iterations(2)
                .workers(1)
                .build()
                .unwrap(),
            Passwords::builder()
                .memory_kib(64)
                .iterations(1)
                .parallelism(2)
                .workers(1)
                .build()
                .unwrap(),
        ] {
            assert!(other.needs_rehash(h.as_str()).unwrap(), "{other:?}");
        }
        // argon2i with the same parameters: another algorithm.
        let argon2i = Argon2::new(
            argon2::Algorithm::Argon2i,
            Version::V0x13,
            p.inner.hasher.params.clone(),
        );
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let h = argon2i.hash_password(b"x", &salt).unwrap().to_string();
        assert!(p.needs_rehash(&h).unwrap());
        assert_eq!(
            p.verify_blocking("x", &h).unwrap(),
            Verification::ValidNeedsRehash
        );
        // argon2 v0x10.
        let old = Argon2::new(
            argon2::Algorithm::Argon2id,
            Version::V0x10,
            p.inner.hasher.params.clone(),
        );
        let h = old.hash_password(b"x", &salt).unwrap().to_string();
        assert_eq!(
            p.verify_blocking("x", &h).unwrap(),
            Verification::ValidNeedsRehash
        );
    }

    /// Regression: the dummy hash for unknown users was made by the first unknown-user check, which
    /// then cost two argon2 runs where a wrong password costs one: a one-time signal, after each
    /// start, that the user does not exist.
    #[tokio::test]
    async fn first_unknown_user_check_costs_one_argon2_run_like_a_wrong_password() {
        let p = small();
        let runs = || p.inner.hasher.runs.load(Ordering::Relaxed);
        let stored = p.hash_blocking("right").unwrap();
        let before = runs();
        assert_eq!(
            p.verify("wrong", stored.as_str()).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(runs() - before, 1, "a wrong password costs one run");
        // The dummy is a hash with the configured parameters (so it costs what a real one does).
        assert!(!p.needs_rehash(&p.inner.hasher.dummy).unwrap());
        for check in ["first", "second"] {
            let before = runs();
            assert_eq!(
                p.verify_or_dummy("guess", None).await.unwrap(),
                Verification::Invalid
            );
            assert_eq!(runs() - before, 1, "the {check} unknown-user check");
        }
    }

    /// Regression: the slot was freed after the result was sent, so a caller issuing its next job
    /// at once could find its own finished job still counted and get `PasswordBusy`.
    #[tokio::test]
    async fn pool_slot_is_free_when_the_caller_wakes() {
        let p = Passwords::builder()
            .memory_kib(8)
            .iterations(1)
            .workers(1)
            .queue(0)
            .build()
            .unwrap();
        let h = p.hash("pw").await.unwrap();
        for _ in 0..200 {
            assert_eq!(
                p.verify("pw", h.as_str()).await.unwrap(),
                Verification::Valid
            );
        }
    }
}
