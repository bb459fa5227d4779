//! Checking tokens: see [`Verifier`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::claims::{self, Claims};
use crate::clock::{self, Clock};
use crate::error::{BoxError, Error, TokenError, TokenPart, Unavailable};
use crate::jws::{self, TokenKind};
use crate::keys::{Algorithm, Key, KeyRing};

mod cache;
mod dangerous;

pub use dangerous::DangerousVerifier;

/// Default clock-skew leeway for `exp`, `nbf` and `iat`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest leeway a verifier accepts: 5 minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default maximum token size: 8 KiB, well above a token with a few dozen roles.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 8 * 1024;
/// Default capacity of the verified-token cache: 4096 tokens (about 1 KiB each, with their claims).
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// The future a [`Revocation`] hook returns.
pub type RevocationFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, BoxError>> + Send + 'a>>;

/// What a revocation hook is asked about: the parts of a verified token that can be revoked.
#[derive(Debug, Clone, Copy)]
pub struct TokenRef<'a> {
    /// The token's kind.
    pub kind: &'a TokenKind,
    /// `jti` (always present when a hook is configured).
    pub jti: &'a str,
    /// `sub`.
    pub sub: &'a str,
    /// `sid`, the session (refresh family), if any.
    pub sid: Option<&'a str>,
    /// `iat` (always present when a hook is configured): compared with the subject's
    /// "tokens issued before T are invalid" cut-off.
    pub iat: i64,
    /// `exp`.
    pub exp: i64,
}

/// Answers "was this token revoked?" for [`Verifier::verify`]. The stores implement it.
///
/// Return `Ok(true)` for revoked, `Ok(false)` for not revoked, `Err` when the answer is unknown
/// (the verifier then fails closed with [`Unavailable::Revocation`](crate::Unavailable::Revocation)).
pub trait Revocation: Send + Sync + fmt::Debug + 'static {
    /// Whether `token` was revoked.
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> RevocationFuture<'a>;

    /// The same answer as [`Revocation::is_revoked`] when it is at hand without waiting (a local
    /// view of the revocations), else `None`. The verifier asks this first and awaits
    /// [`Revocation::is_revoked`] only on `None`, which saves a boxed future per request. Both
    /// stores answer here; the default is `None`.
    fn is_revoked_now(&self, token: TokenRef<'_>) -> Option<Result<bool, BoxError>> {
        let _ = token;
        None
    }
}

/// A token taken apart by steps 1–4, its signature decoded but not yet checked.
struct Signed<'a> {
    signing_input: &'a str,
    payload_b64: &'a str,
    key: &'a Arc<Key>,
    signature: &'a [u8],
}

/// Checks tokens against a key ring.
///
/// It applies the RFC 8725 (JWT Best Current Practices) checks in this order, failing on
/// the first problem with its own [`Error`] variant:
///
/// 1. size: at most `max_token_size` bytes (default 8 KiB) before anything is decoded;
/// 2. shape: three base64url segments (no padding, canonical encoding);
/// 3. header: one JSON object without duplicate members; `alg: none` in any spelling refused;
///    `crit` refused (no extension is understood); `typ` must name the expected [`TokenKind`];
///    embedded `jwk`, `jku`, `x5u`, `x5c` are never used;
/// 4. key: chosen by `kid` in the key ring (no `kid`: only when the ring holds exactly one key);
///    the header's `alg` must be the key's one algorithm;
/// 5. signature: checked before any claim is read;
/// 6. claims: well-typed; `exp` required and in the future, `nbf` and `iat` not in the future,
///    each within the leeway (default 30 s); `iss` and `aud` required and matched exactly; `sub`
///    required;
/// 7. revocation (only [`Verifier::verify`]): the hook answers for the token's `jti`, session and
///    subject; when it cannot answer, verification fails closed.
///
/// # The verified-token cache
///
/// A client presents the same access token on every request until it expires. [`Verifier::verify`]
/// therefore remembers, for up to [`VerifierBuilder::cache_capacity`] tokens (default
/// [`DEFAULT_CACHE_CAPACITY`]), the claims of each token string that passed steps 1–6. When the
/// identical string comes again (compared in constant time), steps 1–5 and the claims parse are
/// skipped; the time checks of step 6 are redone against the clock and step 7 is asked as always,
/// so a cached token expires and is revoked exactly like any other. Tokens that fail a check are
/// never cached, and a token differing from a cached one in any byte is verified from scratch —
/// with one exception: an ES256/ES384 token's *twin* (its signature's `s` replaced by `n − s`,
/// which verifies exactly when the original does) shares its entry, since the cache holds ECDSA
/// tokens under their low-S form; a token's string is not its identity, its `jti` is. The
/// cache belongs to this verifier, whose keys and settings cannot change.
/// [`DangerousVerifier::verify_without_revocation`](crate::dangerous::DangerousVerifier::verify_without_revocation) never uses it.
///
/// ```
/// use tokengate::{Algorithm, Error, Grant, Issuer, Key, KeyRing, Verifier};
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[1u8; 32])?)?;
/// let verifier = Verifier::builder(ring.clone()).issuer("me").audience("api").build()?;
/// let issuer = Issuer::builder(ring).issuer("me").audience("api").build()?;
///
/// let refresh = issuer.issue_refresh(&Grant::new("bob"))?;
/// // A refresh token is not an access token.
/// let err = verifier.dangerous().verify_without_revocation::<tokengate::NoExtra>(&refresh.token).unwrap_err();
/// assert!(matches!(err, Error::Token(tokengate::TokenError::WrongType)));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    ring: Arc<KeyRing>,
    /// The ring's only key, used for tokens without `kid`.
    only_key: Option<Arc<Key>>,
    /// The base64url headers `Issuer` writes for each key and kind (access, refresh).
    known_headers: Vec<(String, Arc<Key>, TokenKind)>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: i64,
    max_token_size: usize,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn Revocation>>,
    cache: Option<cache::VerifiedCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Verifier")
            .field("kids", &i.ring.keys().map(|k| k.kid()).collect::<Vec<_>>())
            .field("issuers", &i.issuers)
            .field("audiences", &i.audiences)
            .field("leeway", &i.leeway)
            .field("max_token_size", &i.max_token_size)
            .field("revocation", &i.revocation)
            .field("cache", &i.cache)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Verifier`]. `issuer` and `audience` are required.
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    ring: Arc<KeyRing>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_token_size: usize,
    require_kid: bool,
    clock: Option<Arc<dyn Clock>>,
    revocation: Option<Arc<dyn Revocation>>,
    cache_capacity: usize,
}

impl VerifierBuilder {
    /// An accepted `iss` (required; call again to accept several). Matched exactly.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuers.push(iss.into());
        self
    }

    /// An accepted `aud` (required; call again to accept several). A token passes when its `aud`
    /// (a string or an array) contains one of them, matched exactly.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Clock-skew leeway for `exp`, `nbf` and `iat`; default [`DEFAULT_LEEWAY`] (30 s), at most
    /// [`MAX_LEEWAY`] (5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Largest token accepted, in bytes; default [`DEFAULT_MAX_TOKEN_SIZE`] (8 KiB).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// Refuse tokens without `kid` even when the ring holds a single key. Default: off (a token
    /// without `kid` is checked against the only key, with that key's algorithm).
    pub fn require_kid(mut self, require: bool) -> Self {
        self.require_kid = require;
        self
    }

    /// The clock for `exp`/`nbf`/`iat`; default the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The revocation hook [`Verifier::verify`] consults. With a hook, tokens must carry `jti` and
    /// `iat`. Default: none.
    pub fn revocation(mut self, hook: Arc<dyn Revocation>) -> Self {
        self.revocation = Some(hook);
        self
    }

    /// How many verified tokens [`Verifier::verify`] remembers (see [the verified-token
    /// cache](Verifier#the-verified-token-cache)); default [`DEFAULT_CACHE_CAPACITY`]. Size it to
    /// the number of access tokens in use at once; `0` turns the cache off.
    ///
    /// Memory: each entry holds the token and its parsed claims, about twice the token's size
    /// (1 KiB for a 450-byte token, so about 4 MiB at the default). Only tokens that passed every
    /// check get in, so their size is bounded by what the application's issuers put in them (and
    /// by `max_token_size`). When full, the least useful entries are evicted (`quick_cache`'s
    /// Clock-PRO variant).
    pub fn cache_capacity(mut self, tokens: usize) -> Self {
        self.cache_capacity = tokens;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: no `issuer`, no `audience`, an empty value, a leeway
    /// over 5 minutes, a `max_token_size` under 256 bytes, or an empty key ring.
    pub fn build(self) -> Result<Verifier, Error> {
        if self.issuers.is_empty() || self.issuers.iter().any(String::is_empty) {
            return Err(Error::config(
                "issuer",
                "at least one non-empty accepted `iss` is required",
            ));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(Error::config(
                "audience",
                "at least one non-empty accepted `aud` is required",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config("leeway", "at most 300 seconds"));
        }
        if self.max_token_size < 256 {
            return Err(Error::config("max_token_size", "at least 256 bytes"));
        }
        if self.ring.is_empty() {
            return Err(Error::config("key ring", "no keys to verify with"));
        }
        let only_key = match (self.require_kid, self.ring.len()) {
            (false, 1) => self.ring.keys().next().cloned(),
            _ => None,
        };
        let mut known_headers = Vec::new();
        for key in self.ring.keys() {
            for kind in [TokenKind::Access, TokenKind::Refresh] {
                let header = jws::header_b64(key, kind.typ())?;
                known_headers.push((header, Arc::clone(key), kind));
            }
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                only_key,
                known_headers,
                ring: self.ring,
                issuers: self.issuers,
                audiences: self.audiences,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(300),
                max_token_size: self.max_token_size,
                clock: self.clock.unwrap_or_else(clock::system),
                revocation: self.revocation,
                cache: (self.cache_capacity > 0)
                    .then(|| cache::VerifiedCache::new(self.cache_capacity)),
            }),
        })
    }
}

impl Verifier {
    /// Starts building a verifier over `ring`.
    pub fn builder(ring: impl Into<Arc<KeyRing>>) -> VerifierBuilder {
        VerifierBuilder {
            ring: ring.into(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            require_kid: false,
            clock: None,
            revocation: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }

    /// Verifies an access token: every check, including the revocation hook. Uses [the
    /// verified-token cache](Verifier#the-verified-token-cache).
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub async fn verify<T>(&self, token: &str) -> Result<Claims<T>, Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        self.verify_as(token, &TokenKind::Access).await
    }

    /// Verifies a token of the given kind: every check, including the revocation hook. Uses [the
    /// verified-token cache](Verifier#the-verified-token-cache).
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub async fn verify_as<T>(&self, token: &str, kind: &TokenKind) -> Result<Claims<T>, Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        self.verify_shared_as(token, kind)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`Verifier::verify`], answering with the claims shared with the verified-token cache
    /// rather than a copy of them: a cache hit costs no allocation. (For a handler:
    /// [`SharedClaims`](crate::SharedClaims).)
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub async fn verify_shared<T>(&self, token: &str) -> Result<Arc<Claims<T>>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        self.verify_shared_as(token, &TokenKind::Access).await
    }

    /// [`Verifier::verify_as`], answering with shared claims like [`Verifier::verify_shared`].
    ///
    /// # Errors
    /// The [`Error`] variant of the first failed check.
    pub async fn verify_shared_as<T>(
        &self,
        token: &str,
        kind: &TokenKind,
    ) -> Result<Arc<Claims<T>>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let claims = self.verify_cached(token, kind)?;
        self.check_revocation(kind, &claims).await?;
        Ok(claims)
    }

    /// Steps 1–6 through the cache: a hit redoes the time checks only.
    fn verify_cached<T>(&self, token: &str, kind: &TokenKind) -> Result<Arc<Claims<T>>, Error>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let Some(cache) = &self.inner.cache else {
            return self.check_stateless(token, kind).map(Arc::new);
        };
        // The token as presented: every token this crate mints is its own cache key.
        if let Some(answer) = self.cached(cache, token, kind) {
            return answer;
        }
        let (mut sig_buf, mut sig_heap) = ([0u8; 512], Vec::new());
        let signed = self.signed(token, kind, &mut sig_buf, &mut sig_heap)?;
        // A high-S ECDSA token is cached under its low-S twin, so that the two share one entry:
        // asked again under that form, before the signature check. Sound because only the twin
        // of a verified signature has the same low-S form (the argument: the `cache` module).
        let low_s = signed
            .key
            .low_s_twin(signed.signature)
            .map(|low| jws::join(signed.signing_input, &low));
        let cache_key = low_s.as_deref().unwrap_or(token);
        if low_s.is_some()
            && let Some(answer) = self.cached(cache, cache_key, kind)
        {
            return answer;
        }
        let claims = Arc::new(self.check_signed(&signed)?);
        cache.insert(cache_key, kind, &claims);
        Ok(claims)
    }

    /// The cached answer for `key`, with the time checks redone (the only checks whose answer
    /// can change for the same token and verifier); `None` when not cached.
    fn cached<T>(
        &self,
        cache: &cache::VerifiedCache,
        key: &str,
        kind: &TokenKind,
    ) -> Option<Result<Arc<Claims<T>>, Error>>
    where
        T: Send + Sync + 'static,
    {
        let answer = cache.get(key, kind, |claims: &Arc<Claims<T>>| {
            self.check_times(claims).map(|()| Arc::clone(claims))
        })?;
        if answer.is_err() {
            cache.remove(key);
        }
        Some(answer)
    }

    /// Asks the revocation hook (if any) about already verified claims.
    ///
    /// # Errors
    /// [`TokenError::Revoked`](crate::TokenError::Revoked), or [`Unavailable::Revocation`](crate::Unavailable::Revocation) when the hook cannot answer.
    pub async fn check_revocation<T>(
        &self,
        kind: &TokenKind,
        claims: &Claims<T>,
    ) -> Result<(), Error> {
        let Some(hook) = &self.inner.revocation else {
            return Ok(());
        };
        let (Some(jti), Some(iat)) = (claims.jti.as_deref(), claims.iat) else {
            // Unreachable after check_stateless (it requires both when a hook is set); fail closed.
            return Err(Error::Token(TokenError::MissingClaim("jti")));
        };
        let token = TokenRef {
            kind,
            jti,
            sub: &claims.sub,
            sid: claims.sid.as_deref(),
            iat,
            exp: claims.exp,
        };
        let answer = match hook.is_revoked_now(token) {
            Some(answer) => answer,
            None => hook.is_revoked(token).await,
        };
        match answer {
            Ok(false) => Ok(()),
            Ok(true) => Err(Error::Token(TokenError::Revoked)),
            Err(e) => Err(Error::Unavailable(Unavailable::Revocation(e))),
        }
    }

    /// Verifies an access token without consulting the revocation hook.
    #[deprecated(
        note = "skips revocation: use `verifier.dangerous().verify_without_revocation(token)`"
    )]
    pub fn verify_stateless<T: DeserializeOwned>(&self, token: &str) -> Result<Claims<T>, Error> {
        self.check_stateless(token, &TokenKind::Access)
    }

    /// Verifies a token of the given kind without consulting the revocation hook.
    #[deprecated(
        note = "skips revocation: use `verifier.dangerous().verify_without_revocation_as(token, kind)`"
    )]
    pub fn verify_stateless_as<T: DeserializeOwned>(
        &self,
        token: &str,
        kind: &TokenKind,
    ) -> Result<Claims<T>, Error> {
        self.check_stateless(token, kind)
    }

    /// Every check that needs no state (shape, header, key, signature, claims, times, issuer,
    /// audience), without the cache and the revocation hook.
    pub(crate) fn check_stateless<T: DeserializeOwned>(
        &self,
        token: &str,
        kind: &TokenKind,
    ) -> Result<Claims<T>, Error> {
        let (mut sig_buf, mut sig_heap) = ([0u8; 512], Vec::new());
        let signed = self.signed(token, kind, &mut sig_buf, &mut sig_heap)?;
        self.check_signed(&signed)
    }

    /// Steps 1–4 (size, shape, header, key) and the signature's decoding; not its check.
    fn signed<'a>(
        &'a self,
        token: &'a str,
        kind: &TokenKind,
        sig_buf: &'a mut [u8; 512],
        sig_heap: &'a mut Vec<u8>,
    ) -> Result<Signed<'a>, Error> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_size {
            return Err(Error::Token(TokenError::TooLarge {
                max: inner.max_token_size,
            }));
        }
        let (signing_input, header_b64, payload_b64, signature_b64) = jws::split(token)?;
        let key = self.select_key(header_b64, kind)?;
        if signature_b64.is_empty() {
            return Err(Error::Token(TokenError::InvalidSignature));
        }
        let signature = jws::decode(signature_b64, sig_buf, sig_heap, TokenPart::Signature)?;
        Ok(Signed {
            signing_input,
            payload_b64,
            key,
            signature,
        })
    }

    /// Steps 5 and 6: the signature, then (only once it holds) the claims.
    fn check_signed<T: DeserializeOwned>(&self, signed: &Signed<'_>) -> Result<Claims<T>, Error> {
        if !signed
            .key
            .verify(signed.signing_input.as_bytes(), signed.signature)
        {
            return Err(Error::Token(TokenError::InvalidSignature));
        }
        let (mut payload_buf, mut payload_heap) = ([0u8; 1024], Vec::new());
        let payload = jws::decode(
            signed.payload_b64,
            &mut payload_buf,
            &mut payload_heap,
            TokenPart::Claims,
        )?;
        let claims = claims::parse::<T>(payload)?;
        self.check_claims(&claims)?;
        Ok(claims)
    }

    /// Reads the header and picks the key it names, checking `alg`, `crit` and `typ`.
    fn select_key(&self, header_b64: &str, kind: &TokenKind) -> Result<&Arc<Key>, Error> {
        let inner = &*self.inner;
        // Fast path: the exact header this crate's `Issuer` writes for one of the ring's keys. Its
        // content was checked when the verifier was built (alg = the key's, typ = the kind's,
        // kid = the key's, nothing else), so the same bytes need no decoding or parsing.
        if let Some((_, key, _)) = inner
            .known_headers
            .iter()
            .find(|(h, _, k)| h == header_b64 && k == kind)
        {
            return Ok(key);
        }

        // Header: decoded on the stack, parsed borrowing from it.
        let (mut header_buf, mut header_heap) = ([0u8; 512], Vec::new());
        let header = jws::parse_header(jws::decode(
            header_b64,
            &mut header_buf,
            &mut header_heap,
            TokenPart::Header,
        )?)?;

        // Missing: unsupported; `none` in any spelling: AlgorithmNone; else the exact JOSE name.
        let alg: Algorithm = header
            .alg
            .as_deref()
            .ok_or(TokenError::UnsupportedAlgorithm)?
            .parse()?;
        if header.crit {
            return Err(Error::Token(TokenError::UnsupportedCritical));
        }
        match header.typ.as_deref() {
            Some(typ) if kind.matches_typ(typ) => {}
            _ => return Err(Error::Token(TokenError::WrongType)),
        }
        let key = match header.kid.as_deref() {
            Some(kid) => inner
                .ring
                .get(kid)
                .ok_or(Error::Token(TokenError::UnknownKeyId))?,
            None => inner
                .only_key
                .as_ref()
                .ok_or(Error::Token(TokenError::MissingKeyId))?,
        };
        if key.algorithm() != alg {
            return Err(Error::Token(TokenError::AlgorithmMismatch));
        }
        Ok(key)
    }

    fn check_claims<T>(&self, claims: &Claims<T>) -> Result<(), Error> {
        self.check_times(claims)?;
        let inner = &*self.inner;
        if !inner.issuers.contains(&claims.iss) {
            return Err(Error::Token(TokenError::InvalidIssuer));
        }
        if !claims.aud.iter().any(|a| inner.audiences.contains(a)) {
            return Err(Error::Token(TokenError::InvalidAudience));
        }
        if inner.revocation.is_some() {
            if claims.jti.is_none() {
                return Err(Error::Token(TokenError::MissingClaim("jti")));
            }
            if claims.iat.is_none() {
                return Err(Error::Token(TokenError::MissingClaim("iat")));
            }
        }
        Ok(())
    }

    /// `exp`, `nbf` and `iat` against the clock, with the leeway.
    fn check_times<T>(&self, claims: &Claims<T>) -> Result<(), Error> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let leeway = inner.leeway;
        if now >= claims.exp.saturating_add(leeway) {
            return Err(Error::Token(TokenError::Expired));
        }
        if let Some(nbf) = claims.nbf
            && now < nbf.saturating_sub(leeway)
        {
            return Err(Error::Token(TokenError::NotYetValid));
        }
        if let Some(iat) = claims.iat
            && iat > now.saturating_add(leeway)
        {
            return Err(Error::Token(TokenError::IssuedInFuture));
        }
        Ok(())
    }

    /// The key ring.
    #[must_use]
    pub fn key_ring(&self) -> &Arc<KeyRing> {
        &self.inner.ring
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The revocation hook, if any.
    #[must_use]
    pub fn revocation(&self) -> Option<&Arc<dyn Revocation>> {
        self.inner.revocation.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verify_answers_from_the_cache_and_verify_without_revocation_does_not() {
        use crate::claims::NoExtra;
        use crate::issue::{Grant, Issuer};
        let ring = Arc::new(
            KeyRing::new(Key::from_secret(Algorithm::HS256, &[3u8; 32]).unwrap()).unwrap(),
        );
        let verifier = Verifier::builder(Arc::clone(&ring))
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        let issuer = Issuer::builder(ring)
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        let token = issuer.issue_access(&Grant::new("alice")).unwrap().token;
        let mut claims = verifier.verify::<NoExtra>(&token).await.unwrap();
        let cache = verifier.inner.cache.as_ref().unwrap();
        assert_eq!(cache.len(), 1);
        // Plant an entry for a string that is no token at all: `verify` answers from the cache (so
        // hits skip the signature), `verify_without_revocation` checks the string itself.
        claims.sub = "planted".into();
        cache.insert("not.a.token", &TokenKind::Access, &Arc::new(claims));
        assert_eq!(
            verifier.verify::<NoExtra>("not.a.token").await.unwrap().sub,
            "planted"
        );
        assert!(matches!(
            verifier
                .dangerous()
                .verify_without_revocation::<NoExtra>("not.a.token"),
            Err(Error::Token(TokenError::InvalidBase64(_))
                | Error::Token(TokenError::InvalidJson(_)))
        ));
        // With the cache off there is none.
        let off = Verifier::builder(verifier.key_ring().clone())
            .issuer("i")
            .audience("a")
            .cache_capacity(0)
            .build()
            .unwrap();
        assert!(off.inner.cache.is_none());
    }
}
