//! Minting tokens.

mod extra;

#[cfg(feature = "cli")]
pub(crate) use extra::RESERVED_CLAIMS;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::claims::NoExtra;
use crate::clock::{self, Clock};
use crate::error::{Error, InternalError, KeyError};
use crate::jws::{self, TokenKind};
use crate::keys::KeyRing;

/// Who a token is for and what it allows: the input of [`Issuer::issue`].
///
/// ```
/// use tokengate::Grant;
/// let grant = Grant::new("user-42").role("editor").permission("drafts:write");
/// assert_eq!(grant.sub, "user-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<T = NoExtra> {
    /// The subject (`sub`).
    pub sub: String,
    /// Roles (`roles`).
    pub roles: Vec<String>,
    /// Permissions (`permissions`).
    pub permissions: Vec<String>,
    /// The session (refresh family) id (`sid`), if any.
    pub sid: Option<String>,
    /// A lifetime for this token instead of the issuer's default for its kind.
    pub ttl: Option<Duration>,
    /// The application's own claims, written as members of the token's claims (like
    /// `#[serde(flatten)]`): a struct, a map, `()`, or [`NoExtra`]. A member named like a claim
    /// tokengate owns — `iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`, `roles`,
    /// `permissions`, `scope`, `cnf`, `auth_time`, `typ` — is refused by [`Issuer::issue`]: roles,
    /// permissions and the session go in the fields above.
    pub extra: T,
}

impl Grant<NoExtra> {
    /// A grant for `sub` with no roles, permissions or extra claims.
    #[must_use]
    pub fn new(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            roles: Vec::new(),
            permissions: Vec::new(),
            sid: None,
            ttl: None,
            extra: NoExtra,
        }
    }
}

impl<T> Grant<T> {
    /// Adds a role.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Adds roles.
    #[must_use]
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Adds a permission.
    #[must_use]
    pub fn permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }

    /// Adds permissions.
    #[must_use]
    pub fn permissions<I: IntoIterator<Item = S>, S: Into<String>>(mut self, perms: I) -> Self {
        self.permissions.extend(perms.into_iter().map(Into::into));
        self
    }

    /// Sets the session (refresh family) id carried as `sid`.
    #[must_use]
    pub fn session(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Sets this token's lifetime.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Replaces the application's claims.
    #[must_use]
    pub fn extra<U>(self, extra: U) -> Grant<U> {
        Grant {
            sub: self.sub,
            roles: self.roles,
            permissions: self.permissions,
            sid: self.sid,
            ttl: self.ttl,
            extra,
        }
    }
}

/// A freshly minted token and the facts a response needs about it.
///
/// `Debug` does not print the token.
#[derive(Clone)]
pub struct Issued {
    /// The compact JWS.
    pub token: String,
    /// Its kind.
    pub kind: TokenKind,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat` (seconds since the Unix epoch).
    pub issued_at: i64,
    /// Its `exp` (seconds since the Unix epoch).
    pub expires_at: i64,
}

impl Issued {
    /// Seconds from issue to expiry (the OAuth `expires_in`).
    #[must_use]
    pub fn expires_in(&self) -> i64 {
        self.expires_at - self.issued_at
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"[redacted]")
            .field("kind", &self.kind)
            .field("jti", &self.jti)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Default access-token lifetime: 15 minutes (short, because an access token is only revocable
/// through the store).
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// Default refresh-token lifetime: 14 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// Mints signed tokens with the key ring's active signing key.
///
/// Every token carries `typ` (its [`TokenKind`]), `kid`, a random 128-bit `jti`, `iat`/`nbf`/`exp`
/// from the issuer's clock, and the configured `iss` and `aud`.
///
/// ```
/// use tokengate::{Algorithm, Grant, Issuer, Key, KeyRing, Verifier};
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[42u8; 32])?)?;
/// let issuer = Issuer::builder(ring.clone()).issuer("https://auth.example").audience("api").build()?;
/// let verifier = Verifier::builder(ring).issuer("https://auth.example").audience("api").build()?;
///
/// let issued = issuer.issue_access(&Grant::new("alice").role("admin"))?;
/// let claims: tokengate::Claims = verifier.dangerous().verify_without_revocation(&issued.token)?;
/// assert_eq!(claims.sub, "alice");
/// assert!(claims.has_role("admin"));
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Clone)]
pub struct Issuer {
    ring: Arc<KeyRing>,
    iss: String,
    aud: Vec<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("kid", &self.ring.signing_key().map(|k| k.kid()))
            .field("iss", &self.iss)
            .field("aud", &self.aud)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Issuer`]. `issuer` and `audience` are required.
#[derive(Debug)]
#[must_use]
pub struct IssuerBuilder {
    ring: Arc<KeyRing>,
    iss: Option<String>,
    aud: Vec<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    clock: Option<Arc<dyn Clock>>,
}

impl Issuer {
    /// Starts building an issuer that signs with `ring`'s signing key.
    pub fn builder(ring: impl Into<Arc<KeyRing>>) -> IssuerBuilder {
        IssuerBuilder {
            ring: ring.into(),
            iss: None,
            aud: Vec::new(),
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            clock: None,
        }
    }

    /// Mints an access token.
    ///
    /// # Errors
    /// [`Error::Config`] naming `extra` when the grant's application claims hold a member
    /// tokengate owns (see [`Grant::extra`]; the text names the member, never its value);
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey), [`InternalError::Crypto`](crate::InternalError::Crypto), [`InternalError::Serialize`](crate::InternalError::Serialize) for unserializable extra
    /// claims.
    ///
    /// # Security
    /// The grant's `roles`, `permissions` and `sid` are the only way to put those claims in a
    /// token: application claims cannot add roles, a `scope`, another session's `sid`, or change
    /// `sub`, `exp` and the other registered claims.
    ///
    /// ```
    /// use tokengate::{Algorithm, Error, Grant, Issuer, Key, KeyRing};
    /// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[42u8; 32])?)?;
    /// let issuer = Issuer::builder(ring).issuer("https://auth.example").audience("api").build()?;
    ///
    /// let profile = serde_json::json!({"tenant": "t-1", "roles": ["admin"]});
    /// let err = issuer.issue_access(&Grant::new("mallory").extra(profile)).unwrap_err();
    /// assert!(matches!(&err, Error::Config { setting, .. } if setting == "extra"));
    /// assert!(err.to_string().contains("`roles`"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn issue_access<T: Serialize>(&self, grant: &Grant<T>) -> Result<Issued, Error> {
        self.issue(TokenKind::Access, grant)
    }

    /// Mints a refresh token.
    ///
    /// # Errors
    /// As [`Issuer::issue_access`].
    pub fn issue_refresh<T: Serialize>(&self, grant: &Grant<T>) -> Result<Issued, Error> {
        self.issue(TokenKind::Refresh, grant)
    }

    /// Mints a token of any kind. Lifetime: the grant's `ttl`, else the issuer's for the kind
    /// (access TTL for [`TokenKind::Other`]).
    ///
    /// # Errors
    /// As [`Issuer::issue_access`].
    pub fn issue<T: Serialize>(&self, kind: TokenKind, grant: &Grant<T>) -> Result<Issued, Error> {
        let key = self
            .ring
            .signing_key()
            .ok_or(Error::Key(KeyError::NoSigningKey))?;
        let now = self.clock.now();
        let ttl = grant.ttl.unwrap_or(match kind {
            TokenKind::Refresh => self.refresh_ttl,
            _ => self.access_ttl,
        });
        let exp = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let jti = new_id()?;
        let refused = extra::Refused::new(None);
        let claims = OutClaims {
            iss: &self.iss,
            sub: &grant.sub,
            aud: AudRef(&self.aud),
            exp,
            nbf: now,
            iat: now,
            jti: &jti,
            sid: grant.sid.as_deref(),
            roles: &grant.roles,
            permissions: &grant.permissions,
            extra: extra::Checked {
                value: &grant.extra,
                refused: &refused,
            },
        };
        let token = jws::sign(key, kind.typ(), &claims).map_err(|e| match refused.get() {
            Some(member) => Error::config(
                "extra",
                format!(
                    "member `{member}` is set by tokengate, not by application claims \
                     (roles, permissions and the session go in the grant's own fields)"
                ),
            ),
            None => e,
        })?;
        Ok(Issued {
            token,
            kind,
            jti,
            issued_at: now,
            expires_at: exp,
        })
    }

    /// The issuer (`iss`) this issuer writes.
    #[must_use]
    pub fn iss(&self) -> &str {
        &self.iss
    }

    /// The access-token lifetime.
    #[must_use]
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// The refresh-token lifetime.
    #[must_use]
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// The key ring.
    #[must_use]
    pub fn key_ring(&self) -> &Arc<KeyRing> {
        &self.ring
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl IssuerBuilder {
    /// The `iss` every token carries (required).
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// An `aud` every token carries (required; call again for several).
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.aud.push(aud.into());
        self
    }

    /// Access-token lifetime; default [`DEFAULT_ACCESS_TTL`] (15 minutes).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Refresh-token lifetime; default [`DEFAULT_REFRESH_TTL`] (14 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The clock for `iat`/`nbf`/`exp`; default the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the issuer.
    ///
    /// # Errors
    /// [`Error::Config`] naming `issuer` or `audience` when missing or empty, or a TTL of zero;
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey) when the ring cannot sign.
    pub fn build(self) -> Result<Issuer, Error> {
        let iss = self
            .iss
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("issuer", "an `iss` value is required"))?;
        if self.aud.is_empty() || self.aud.iter().any(String::is_empty) {
            return Err(Error::config(
                "audience",
                "at least one non-empty `aud` is required",
            ));
        }
        if self.access_ttl.is_zero() || self.refresh_ttl.is_zero() {
            return Err(Error::config(
                "access_ttl/refresh_ttl",
                "must be greater than zero",
            ));
        }
        if self.ring.signing_key().is_none() {
            return Err(Error::Key(KeyError::NoSigningKey));
        }
        Ok(Issuer {
            ring: self.ring,
            iss,
            aud: self.aud,
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
            clock: self.clock.unwrap_or_else(clock::system),
        })
    }
}

/// The claims of a token being minted, borrowed from the grant and the issuer.
#[derive(Serialize)]
struct OutClaims<'a, T> {
    iss: &'a str,
    sub: &'a str,
    aud: AudRef<'a>,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    permissions: &'a [String],
    #[serde(flatten)]
    extra: extra::Checked<'a, T>,
}

/// Serializes `aud` as a string when there is one.
struct AudRef<'a>(&'a [String]);

impl Serialize for AudRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

/// A new random identifier: 128 bits, base64url (22 characters).
pub(crate) fn new_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Internal(InternalError::Crypto))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
