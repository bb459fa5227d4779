//! The verified-token cache behind [`Verifier::verify`](super::Verifier::verify).
//!
//! A bearer token is presented again and again for its whole lifetime, and each time the same bytes
//! give the same answer to every stateless check but the time checks. The cache remembers, for
//! token strings that passed those checks, the claims they carry, so that the next presentation of
//! the *identical* string skips the signature check and the claims parse.
//!
//! What it never skips: the time checks (`exp`, `nbf`, `iat` against the clock, redone on every
//! hit) and the revocation hook (asked after the cache, on every request). What it never holds: a
//! token that failed any check. It is keyed by the whole token and compared in constant time, so a
//! token that differs from a cached one in any byte is verified from scratch — but for the one
//! exception below. It belongs to one [`Verifier`](super::Verifier), whose key ring, issuers,
//! audiences and leeway cannot change.
//!
//! # ECDSA twins share an entry
//!
//! An ECDSA signature `(r, s)` verifies exactly when `(r, n − s)` does (`n` the group order; see
//! `keys/low_s.rs`), so an ES256/ES384 token has a twin string with the same claims. Both are
//! accepted (RFC 7518 allows either, other issuers mint high-S), so the string is not the token's
//! identity, and keyed by the string the cache would hold a token twice and answer its twin as a
//! stranger. So the verifier keys an ECDSA token by its *low-S form*: header and claims as
//! presented, signature with `s` replaced by `min(s, n − s)` (`Key::low_s_twin`; the form of any
//! other token is the token itself). It looks a presented token up as presented first — the
//! tokens this crate mints are low-S, so for them nothing changes — and on a miss, once the header
//! has chosen the key and the signature is decoded, under its low-S form, *before* checking the
//! signature. It inserts a verified token under its low-S form.
//!
//! Why a hit never answers for a signature that does not verify. An entry is made only under the
//! key `h.p.low(σ)` where `σ` verified over `h.p` with the key `h` names. A presented `h'.p'.σ'`
//! hits it only if `h'.p'.low(σ') = h.p.low(σ)` (as presented, `σ'` is then `low(σ)` itself, and
//! `low(low(σ)) = low(σ)`): so `h' = h` and `p' = p` byte for byte — the same header, hence the
//! same key and curve, and the same claims — and `low(σ') = low(σ)`. `low` leaves `r` alone and
//! maps exactly the two values `s` and `n − s` (for `0 < s < n`) to one; a byte string that is no
//! signature of the curve (another length, `s = 0`, `s ≥ n`) it leaves as it is, and that cannot
//! equal the low form of a valid `σ`. So `σ'` is `σ` or its twin, and it verifies: the entry's
//! claims are exactly what a check from scratch would give. A forged or corrupted signature (any
//! other `r` or `s`) has a low form of its own, finds no entry, and is verified from scratch and
//! refused. The extra work is done on a miss only (a decode the miss needs anyway, a comparison,
//! and for a high `s` one subtraction and one lookup).

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use quick_cache::Equivalent;

use crate::claims::Claims;
use crate::jws::TokenKind;

/// A bounded map from token strings to the claims they were verified to carry.
pub(super) struct VerifiedCache {
    entries: quick_cache::sync::Cache<CachedToken, Arc<dyn Any + Send + Sync>>,
    capacity: usize,
}

/// What one entry holds: the kind the token was verified as, and its claims (shared with the
/// callers, never copied).
struct Verified<T> {
    kind: TokenKind,
    claims: Arc<Claims<T>>,
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens (`capacity` > 0).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity),
            capacity,
        }
    }

    /// `read` applied to the claims `token` was verified to carry as a token of `kind`, read as
    /// `T`. `None` when the token is not cached, was verified as another kind, or was cached with
    /// another `T`.
    pub(super) fn get<T: 'static, R>(
        &self,
        token: &str,
        kind: &TokenKind,
        read: impl FnOnce(&Arc<Claims<T>>) -> R,
    ) -> Option<R> {
        let entry = self.entries.get(&Lookup(token))?;
        let verified = entry.downcast_ref::<Verified<T>>()?;
        (verified.kind == *kind).then(|| read(&verified.claims))
    }

    /// Remembers that `token` passed every stateless check as a token of `kind`.
    pub(super) fn insert<T: Send + Sync + 'static>(
        &self,
        token: &str,
        kind: &TokenKind,
        claims: &Arc<Claims<T>>,
    ) {
        let entry = Verified {
            kind: kind.clone(),
            claims: Arc::clone(claims),
        };
        self.entries
            .insert(CachedToken(token.into()), Arc::new(entry));
    }

    /// Forgets `token` (it expired).
    pub(super) fn remove(&self, token: &str) {
        self.entries.remove(&Lookup(token));
    }

    /// How many tokens are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens: they are bearer credentials.
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity)
            .field("len", &self.entries.len())
            .finish()
    }
}

/// A cached token. Hashes as its signature (unique among valid tokens, and short); compared
/// whole, in constant time.
struct CachedToken(Box<str>);

/// The part of a token that is hashed: after its last `.`.
fn signature(token: &str) -> &str {
    token
        .rsplit_once('.')
        .map_or(token, |(_, signature)| signature)
}

impl Hash for CachedToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        signature(&self.0).hash(state);
    }
}

impl PartialEq for CachedToken {
    fn eq(&self, other: &Self) -> bool {
        Lookup(&other.0).equivalent(self)
    }
}

impl Eq for CachedToken {}

/// A presented token, looked up without copying it.
struct Lookup<'a>(&'a str);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        signature(self.0).hash(state);
    }
}

impl Equivalent<CachedToken> for Lookup<'_> {
    fn equivalent(&self, key: &CachedToken) -> bool {
        // Lengths are public; the bytes of a cached token are a credential, so a presented token is
        // compared with it in constant time.
        // (aws-lc's `CRYPTO_memcmp`: `subtle`'s byte-at-a-time comparison took ~0.9 µs for a
        // 430-byte token in a profile of the example server.)
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), key.0.as_bytes())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::NoExtra;

    fn claims(sub: &str) -> Claims<NoExtra> {
        Claims {
            iss: "iss".into(),
            sub: sub.into(),
            aud: vec!["aud".into()],
            exp: 10,
            nbf: None,
            iat: Some(1),
            jti: Some("j".into()),
            sid: None,
            roles: vec!["admin".into()],
            permissions: Vec::new(),
            extra: NoExtra,
        }
    }

    fn get<T: Clone + 'static>(
        cache: &VerifiedCache,
        token: &str,
        kind: &TokenKind,
    ) -> Option<Claims<T>> {
        cache.get(token, kind, |c: &Arc<Claims<T>>| (**c).clone())
    }

    #[test]
    fn hit_only_for_the_identical_token_kind_and_type() {
        let cache = VerifiedCache::new(16);
        cache.insert("a.b.c", &TokenKind::Access, &Arc::new(claims("alice")));
        assert_eq!(
            get::<NoExtra>(&cache, "a.b.c", &TokenKind::Access),
            Some(claims("alice"))
        );
        // Another byte anywhere, a prefix, another kind, another claims type: misses.
        assert_eq!(get::<NoExtra>(&cache, "a.b.d", &TokenKind::Access), None);
        assert_eq!(get::<NoExtra>(&cache, "a.b.", &TokenKind::Access), None);
        assert_eq!(get::<NoExtra>(&cache, "a.b.c", &TokenKind::Refresh), None);
        #[derive(Clone)]
        struct Other;
        assert!(get::<Other>(&cache, "a.b.c", &TokenKind::Access).is_none());
        // Hits share the cached claims.
        let shared = |c: &Arc<Claims<NoExtra>>| Arc::clone(c);
        let (a, b) = (
            cache.get("a.b.c", &TokenKind::Access, shared).unwrap(),
            cache.get("a.b.c", &TokenKind::Access, shared).unwrap(),
        );
        assert!(Arc::ptr_eq(&a, &b));
        // The same signature under another header or payload: same hash, not the same token.
        assert_eq!(get::<NoExtra>(&cache, "a.x.c", &TokenKind::Access), None);
        assert_eq!(get::<NoExtra>(&cache, "x.b.c", &TokenKind::Access), None);
        assert_eq!(get::<NoExtra>(&cache, "c", &TokenKind::Access), None);
        cache.remove("a.b.c");
        assert_eq!(get::<NoExtra>(&cache, "a.b.c", &TokenKind::Access), None);
    }

    #[test]
    fn bounded() {
        let cache = VerifiedCache::new(64);
        for i in 0..1000 {
            cache.insert(
                &format!("t.{i}.s"),
                &TokenKind::Access,
                &Arc::new(claims("bob")),
            );
        }
        assert!(cache.len() <= 64, "{} entries", cache.len());
        assert!(cache.len() > 0);
    }

    #[test]
    fn debug_never_shows_tokens() {
        let cache = VerifiedCache::new(4);
        cache.insert(
            "secret.token.value",
            &TokenKind::Access,
            &Arc::new(claims("x")),
        );
        let shown = format!("{cache:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("len: 1"), "{shown}");
    }
}
