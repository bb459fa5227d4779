//! Cookie transport for browsers: the session's tokens in `HttpOnly` cookies, and the CSRF
//! double-submit check that makes cookie authentication safe for state-changing requests.
//!
//! The behaviour is documented on [`CookieConfig`] (this module is private, its items are
//! re-exported).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::{constant_time, hmac};
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::Cookie;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Method};
use zeroize::Zeroizing;

use crate::error::{Denied, Error, InternalError};
use crate::sessions::TokenPair;

/// Default path of the refresh cookie: `/auth/session/refresh`, the cookie-mode refresh endpoint
/// of the `/auth` router. The browser sends the refresh token to that path only.
pub const DEFAULT_REFRESH_PATH: &str = "/auth/session/refresh";

/// The request header that must echo the CSRF cookie on unsafe cookie-authenticated requests:
/// `X-CSRF-Token`.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Base name of the access-token cookie (`__Host-access_token` when `Secure`).
pub const ACCESS_COOKIE: &str = "access_token";
/// Base name of the refresh-token cookie (`__Secure-refresh_token` when `Secure`).
pub const REFRESH_COOKIE: &str = "refresh_token";
/// Base name of the CSRF cookie (`__Host-csrf_token` when `Secure`). Readable by scripts.
pub const CSRF_COOKIE: &str = "csrf_token";

/// Shortest accepted CSRF secret, in bytes.
pub const MIN_CSRF_SECRET_LEN: usize = 32;

/// Label mixed into the CSRF key derivation, so the CSRF secret may equal another secret of the
/// application (even the JWT HMAC secret) without one key serving two purposes.
const KDF_LABEL: &[u8] = b"tokengate/csrf/v1";

/// The `SameSite` attribute of the token cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// `SameSite=Lax` (the default): cookies go with same-site requests and with top-level
    /// cross-site navigations by `GET` (following a link into the app keeps the user logged in),
    /// never with cross-site `POST`s, frames or scripts.
    #[default]
    Lax,
    /// `SameSite=Strict`: cookies go with same-site requests only; a user following a link from
    /// another site arrives logged out on that first page.
    Strict,
}

impl From<SameSite> for cookie::SameSite {
    fn from(same_site: SameSite) -> Self {
        match same_site {
            SameSite::Lax => Self::Lax,
            SameSite::Strict => Self::Strict,
        }
    }
}

/// How a browser session's tokens travel in cookies, and the CSRF check that comes with them.
/// Cheap to clone (one `Arc`).
///
/// Give it to the [`Gate`](crate::Gate) with [`GateBuilder::cookies`](crate::GateBuilder::cookies)
/// and the [`Claims`](crate::Claims) extractor (and the role guards, which go through it) accept
/// the access token from its cookie as well as from the `Authorization` header.
///
/// ```
/// use axum::response::IntoResponse;
/// use tokengate::{CookieConfig, SameSite};
///
/// let cookies = CookieConfig::builder()
///     .csrf_secret(*b"a-csrf-secret-of-at-least-32-b!!")
///     .same_site(SameSite::Strict)
///     .build()?;
/// assert_eq!(cookies.access_name(), "__Host-access_token");
/// assert_eq!(cookies.refresh_name(), "__Secure-refresh_token");
/// assert_eq!(cookies.csrf_name(), "__Host-csrf_token");
///
/// // Logging out: every cookie is cleared.
/// let response = cookies.clear().into_response();
/// let cleared: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
/// assert_eq!(cleared.len(), 3);
/// assert!(cleared[0].to_str().unwrap().starts_with("__Host-access_token=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0"));
/// # Ok::<(), tokengate::Error>(())
/// ```
///
/// # The cookies
///
/// [`CookieConfig::set`] turns a session's [`TokenPair`] into three `Set-Cookie` headers:
///
/// | cookie | name (Secure / not) | `Path` | `Max-Age` | `HttpOnly` |
/// |---|---|---|---|---|
/// | access token | `__Host-access_token` / `access_token` | `/` | the access token's lifetime | yes |
/// | refresh token | `__Secure-refresh_token` / `refresh_token` | the refresh path (default [`DEFAULT_REFRESH_PATH`]) | the refresh token's lifetime | yes |
/// | CSRF token | `__Host-csrf_token` / `csrf_token` | `/` | the refresh token's lifetime | **no** (scripts read it) |
///
/// All three carry `SameSite` ([`SameSite::Lax`] by default) and `Secure` (on by default), and
/// never a `Domain` (host-only cookies: no sibling subdomain receives them).
///
/// - **`__Host-` names** make the browser refuse the cookie unless it is `Secure`, has `Path=/` and
///   no `Domain`, so a sibling subdomain or a plain-http page cannot plant or overwrite it
///   ("cookie tossing"). The refresh cookie cannot have `Path=/` — it is scoped to the refresh
///   path so the browser sends it to that one endpoint only — so it gets the weaker
///   `__Secure-` prefix (must be `Secure`). Without `Secure` neither prefix is possible and the
///   plain names are used.
/// - **`Secure` off** ([`CookieConfigBuilder::secure`]`(false)`) exists only for development
///   over plain `http://localhost`; [`CookieConfigBuilder::build`] logs a warning when it is off.
/// - **`Max-Age`** follows the tokens: the browser drops the access cookie when the access token
///   expires; the refresh and CSRF cookies live as long as the refresh token.
/// - [`CookieConfig::clear`] expires all three (`Max-Age=0`, with the same `Path` and flags, as
///   browsers require to replace a cookie).
///
/// # CSRF: double submit, bound to the session
///
/// A browser sends cookies with requests a hostile page triggers, so a cookie-authenticated
/// request proves nothing about who wrote it. The CSRF cookie is readable by the application's
/// own scripts (and only by them: the same-origin policy), which copy it into the
/// [`CSRF_HEADER`] (`X-CSRF-Token`) header of every request they send. The
/// [`Claims`](crate::Claims) extractor, on a request authenticated **by the access cookie** whose
/// method is not `GET`, `HEAD`, `OPTIONS` or `TRACE`, requires that header and compares it in
/// constant time with the value expected for the token's session; missing, repeated or different
/// → 403 `csrf_failed` ([`Denied::Csrf`](crate::Denied::Csrf)), body
/// `{"error":"csrf_failed","error_description":"CSRF token missing"}` (or `… does not match`),
/// without a `WWW-Authenticate` header (it is not a bearer-token problem). Requests with an
/// `Authorization: Bearer` header need no CSRF token: a hostile page cannot make a browser add that
/// header. Safe methods need none (they must not change state).
///
/// The CSRF value is `base64url(HMAC-SHA256(k, sid))`, where `sid` is the session id claim of the
/// access token and `k` is derived from the configured [`csrf_secret`](CookieConfigBuilder::csrf_secret).
/// Why this design, rather than a random value whose hash is a claim of the access token:
///
/// - it needs no new claim and no change to how tokens are minted: any access token of a
///   [`Sessions`](crate::Sessions) session has a `sid`;
/// - it stays valid across refreshes (same session) and changes with every login, so a token from
///   another session — another user's, or the same user's earlier one — never matches;
/// - the server compares the header with a value it computes from the *verified* token, not with
///   the cookie: an attacker who can plant a cookie (a sibling subdomain, a plain-http page) still
///   cannot produce the value for the victim's session without the key.
///
/// An access token without `sid` cannot pass the check (its unsafe cookie requests get 403).
///
/// # Deployment caveat
///
/// Every instance behind a load balancer must be given the same `csrf_secret`. Without one,
/// [`CookieConfigBuilder::build`] draws a random key: correct for a single instance, but after a
/// restart (or on another instance) the CSRF values of running sessions stop matching until the
/// next login.
#[derive(Clone)]
pub struct CookieConfig {
    inner: Arc<Inner>,
}

struct Inner {
    secure: bool,
    same_site: SameSite,
    refresh_path: Box<str>,
    access_name: Box<str>,
    refresh_name: Box<str>,
    csrf_name: Box<str>,
    csrf_key: hmac::Key,
}

impl fmt::Debug for CookieConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("CookieConfig")
            .field("secure", &i.secure)
            .field("same_site", &i.same_site)
            .field("refresh_path", &i.refresh_path)
            .field("access_name", &i.access_name)
            .field("refresh_name", &i.refresh_name)
            .field("csrf_name", &i.csrf_name)
            .field("csrf_key", &"[redacted]")
            .finish()
    }
}

/// Builds a [`CookieConfig`]; see each setter for its default.
#[must_use]
pub struct CookieConfigBuilder {
    secure: bool,
    same_site: SameSite,
    refresh_path: String,
    csrf_secret: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for CookieConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieConfigBuilder")
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("refresh_path", &self.refresh_path)
            .field(
                "csrf_secret",
                &self.csrf_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl CookieConfigBuilder {
    /// Whether the cookies are `Secure` (sent over HTTPS only); default `true`.
    ///
    /// # Security
    /// Turn it off only to develop over plain `http://localhost` (browsers refuse `Secure`
    /// cookies from plain-http origins other than localhost); the cookies then lose their
    /// `__Host-`/`__Secure-` prefixes and [`build`](Self::build) logs a warning.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `SameSite` attribute of every cookie; default [`SameSite::Lax`].
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The path the refresh cookie is scoped to — where the application mounts the cookie-mode
    /// refresh endpoint; default [`DEFAULT_REFRESH_PATH`] (`/auth/session/refresh`).
    pub fn refresh_path(mut self, path: impl Into<String>) -> Self {
        self.refresh_path = path.into();
        self
    }

    /// The secret the CSRF key is derived from (at least [`MIN_CSRF_SECRET_LEN`], 32, bytes).
    /// Default: a random key drawn at [`build`](Self::build) — one instance only (see the
    /// deployment caveat on [`CookieConfig`]).
    pub fn csrf_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.csrf_secret = Some(Zeroizing::new(secret.into()));
        self
    }

    /// Builds the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] naming `csrf_secret` when it is shorter than 32 bytes, or `refresh_path`
    /// when it does not start with `/` or holds a character a cookie's `Path` cannot carry
    /// (`;`, controls, non-ASCII); [`InternalError::Crypto`](crate::InternalError::Crypto) when no random key can be drawn.
    pub fn build(self) -> Result<CookieConfig, Error> {
        let path_ok = self.refresh_path.starts_with('/')
            && self
                .refresh_path
                .bytes()
                .all(|b| (b'!'..=b'~').contains(&b) && b != b';' && b != b',');
        if !path_ok {
            return Err(Error::config(
                "refresh_path",
                "must start with `/` and hold printable ASCII without `;` or `,`",
            ));
        }
        let secret = match self.csrf_secret {
            Some(secret) if secret.len() < MIN_CSRF_SECRET_LEN => {
                return Err(Error::config(
                    "csrf_secret",
                    format!("must be at least {MIN_CSRF_SECRET_LEN} bytes"),
                ));
            }
            Some(secret) => secret,
            None => {
                let mut random = Zeroizing::new(vec![0u8; 32]);
                aws_lc_rs::rand::fill(&mut random)
                    .map_err(|_| Error::Internal(InternalError::Crypto))?;
                random
            }
        };
        // k = HMAC-SHA256(secret, label): a key for this purpose only.
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), KDF_LABEL);
        let csrf_key = hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref());
        if !self.secure {
            tracing::warn!(
                target: "tokengate::cookie",
                "cookies are not Secure (plain-http development only): they travel unencrypted and \
                 use plain names instead of __Host-/__Secure- prefixes; never deploy like this"
            );
        }
        let (host, sec) = if self.secure {
            ("__Host-", "__Secure-")
        } else {
            ("", "")
        };
        Ok(CookieConfig {
            inner: Arc::new(Inner {
                secure: self.secure,
                same_site: self.same_site,
                refresh_path: self.refresh_path.into(),
                access_name: format!("{host}{ACCESS_COOKIE}").into(),
                refresh_name: format!("{sec}{REFRESH_COOKIE}").into(),
                csrf_name: format!("{host}{CSRF_COOKIE}").into(),
                csrf_key,
            }),
        })
    }
}

/// `Set-Cookie` headers to add to a response: returned by [`CookieConfig::set`] and
/// [`CookieConfig::clear`]. Put it in a response tuple (`(cookies, Json(body))`); every header is
/// appended, none replaces another.
#[derive(Clone)]
pub struct SetCookies(Vec<HeaderValue>);

impl fmt::Debug for SetCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values hold tokens: print the cookie names only.
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|v| {
                v.to_str()
                    .ok()
                    .and_then(|s| s.split('=').next())
                    .unwrap_or("?")
            })
            .collect();
        f.debug_tuple("SetCookies").field(&names).finish()
    }
}

impl SetCookies {
    /// The header values, in the order access, refresh, CSRF.
    #[must_use]
    pub fn values(&self) -> &[HeaderValue] {
        &self.0
    }
}

impl IntoResponseParts for SetCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for value in self.0 {
            res.headers_mut().append(SET_COOKIE, value);
        }
        Ok(res)
    }
}

impl IntoResponse for SetCookies {
    /// An empty `200 OK` carrying the cookies.
    fn into_response(self) -> Response {
        (self, ()).into_response()
    }
}

impl CookieConfig {
    /// Starts building a configuration.
    pub fn builder() -> CookieConfigBuilder {
        CookieConfigBuilder {
            secure: true,
            same_site: SameSite::default(),
            refresh_path: DEFAULT_REFRESH_PATH.to_owned(),
            csrf_secret: None,
        }
    }

    /// Whether the cookies are `Secure`.
    #[must_use]
    pub fn secure(&self) -> bool {
        self.inner.secure
    }

    /// The `SameSite` attribute.
    #[must_use]
    pub fn same_site(&self) -> SameSite {
        self.inner.same_site
    }

    /// The refresh cookie's `Path`.
    #[must_use]
    pub fn refresh_path(&self) -> &str {
        &self.inner.refresh_path
    }

    /// The access cookie's name.
    #[must_use]
    pub fn access_name(&self) -> &str {
        &self.inner.access_name
    }

    /// The refresh cookie's name.
    #[must_use]
    pub fn refresh_name(&self) -> &str {
        &self.inner.refresh_name
    }

    /// The CSRF cookie's name.
    #[must_use]
    pub fn csrf_name(&self) -> &str {
        &self.inner.csrf_name
    }

    /// The CSRF value of session `sid` (what the CSRF cookie holds and the `X-CSRF-Token` header
    /// must echo).
    #[must_use]
    pub fn csrf_token(&self, sid: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.inner.csrf_key, sid.as_bytes()))
    }

    /// The three `Set-Cookie` headers that hand `pair` to a browser (see the table on
    /// [`CookieConfig`]).
    ///
    /// # Errors
    /// [`Error::Config`] if a token is not a valid cookie value (tokengate's tokens always are).
    pub fn set(&self, pair: &TokenPair) -> Result<SetCookies, Error> {
        let i = &*self.inner;
        let csrf = self.csrf_token(&pair.session);
        let values = [
            self.lasting(
                &i.access_name,
                &pair.access.token,
                "/",
                pair.access.expires_in(),
                true,
            ),
            self.lasting(
                &i.refresh_name,
                &pair.refresh.token,
                &i.refresh_path,
                pair.refresh.expires_in(),
                true,
            ),
            self.lasting(&i.csrf_name, &csrf, "/", pair.refresh.expires_in(), false),
        ];
        values
            .into_iter()
            .map(|v| {
                HeaderValue::try_from(v)
                    .map_err(|_| Error::config("cookie", "token is not a valid cookie value"))
            })
            .collect::<Result<_, _>>()
            .map(SetCookies)
    }

    /// The three `Set-Cookie` headers that delete every cookie (logout, or a refresh that failed).
    #[must_use]
    pub fn clear(&self) -> SetCookies {
        let i = &*self.inner;
        let values = [
            self.removal(&i.access_name, "/", true),
            self.removal(&i.refresh_name, &i.refresh_path, true),
            self.removal(&i.csrf_name, "/", false),
        ];
        // Names and paths were validated by `build`, so every value is a valid header.
        SetCookies(
            values
                .into_iter()
                .filter_map(|v| HeaderValue::try_from(v).ok())
                .collect(),
        )
    }

    /// One cookie with this configuration's flags: `Path`, `HttpOnly` when asked, `Secure`,
    /// `SameSite`. Formatted by the `cookie` crate.
    fn cookie(&self, name: &str, value: &str, path: &str, http_only: bool) -> Cookie<'static> {
        Cookie::build((name.to_owned(), value.to_owned()))
            .path(path.to_owned())
            .http_only(http_only)
            .secure(self.inner.secure)
            .same_site(self.inner.same_site.into())
            .build()
    }

    /// A cookie that lives `max_age` seconds.
    fn lasting(
        &self,
        name: &str,
        value: &str,
        path: &str,
        max_age: i64,
        http_only: bool,
    ) -> String {
        let mut c = self.cookie(name, value, path, http_only);
        c.set_max_age(cookie::time::Duration::seconds(max_age.max(0)));
        c.to_string()
    }

    /// A cookie that deletes the browser's cookie of that name and path: empty, `Max-Age=0`,
    /// expired in 1970 (for browsers that ignore `Max-Age`).
    fn removal(&self, name: &str, path: &str, http_only: bool) -> String {
        let mut c = self.cookie(name, "", path, http_only);
        c.set_max_age(cookie::time::Duration::ZERO);
        c.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
        c.to_string()
    }

    /// The CSRF check of a cookie-authenticated request: nothing to check for a safe method;
    /// otherwise exactly one `X-CSRF-Token` header equal (in constant time) to the value of the
    /// token's session.
    pub(crate) fn check_csrf(
        &self,
        method: &Method,
        headers: &HeaderMap,
        sid: Option<&str>,
    ) -> Result<(), Error> {
        if is_safe(method) {
            return Ok(());
        }
        let mut values = headers.get_all(CSRF_HEADER).iter();
        let (Some(given), None) = (values.next(), values.next()) else {
            return Err(Error::Denied(Denied::Csrf(
                if headers.contains_key(CSRF_HEADER) {
                    "multiple CSRF token headers"
                } else {
                    "CSRF token missing"
                },
            )));
        };
        let Some(sid) = sid else {
            return Err(Error::Denied(Denied::Csrf(
                "token is not bound to a session",
            )));
        };
        let expected = self.csrf_token(sid);
        if constant_time::verify_slices_are_equal(given.as_bytes(), expected.as_bytes()).is_ok() {
            Ok(())
        } else {
            Err(Error::Denied(Denied::Csrf("CSRF token does not match")))
        }
    }
}

/// RFC 9110 §9.2.1 safe methods. Every other method — including ones unknown here — is checked.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secure: bool) -> CookieConfig {
        CookieConfig::builder()
            .secure(secure)
            .csrf_secret([3u8; 32])
            .build()
            .unwrap()
    }

    #[test]
    fn csrf_secret_and_refresh_path_are_validated() {
        let err = CookieConfig::builder()
            .csrf_secret([1u8; 31])
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config { ref setting, .. } if setting == "csrf_secret"));
        for bad in ["", "auth/refresh", "/a;b", "/a b", "/é"] {
            let err = CookieConfig::builder()
                .refresh_path(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(err, Error::Config { ref setting, .. } if setting == "refresh_path"),
                "{bad}"
            );
        }
    }

    #[test]
    fn csrf_values_depend_on_session_and_secret() {
        let a = config(true);
        let b = CookieConfig::builder()
            .csrf_secret([4u8; 32])
            .build()
            .unwrap();
        assert_eq!(a.csrf_token("s1"), config(false).csrf_token("s1"));
        assert_ne!(a.csrf_token("s1"), a.csrf_token("s2"));
        assert_ne!(a.csrf_token("s1"), b.csrf_token("s1"));
        assert_eq!(a.csrf_token("s1").len(), 43);
        // Without a secret each build draws its own key.
        let r1 = CookieConfig::builder().build().unwrap();
        let r2 = CookieConfig::builder().build().unwrap();
        assert_ne!(r1.csrf_token("s"), r2.csrf_token("s"));
    }

    #[test]
    fn check_csrf_cases() {
        let c = config(true);
        let good = c.csrf_token("s1");
        let h = |vals: &[&str]| {
            let mut m = HeaderMap::new();
            for v in vals {
                m.append(CSRF_HEADER, HeaderValue::from_str(v).unwrap());
            }
            m
        };
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(c.check_csrf(&m, &h(&[]), Some("s1")).is_ok());
        }
        let post = Method::POST;
        assert!(c.check_csrf(&post, &h(&[&good]), Some("s1")).is_ok());
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert!(matches!(
            c.check_csrf(&custom, &h(&[]), Some("s1")),
            Err(Error::Denied(Denied::Csrf("CSRF token missing")))
        ));
        assert!(matches!(
            c.check_csrf(&post, &h(&[&good, &good]), Some("s1")),
            Err(Error::Denied(Denied::Csrf("multiple CSRF token headers")))
        ));
        assert!(matches!(
            c.check_csrf(&post, &h(&[&good]), Some("s2")),
            Err(Error::Denied(Denied::Csrf("CSRF token does not match")))
        ));
        assert!(matches!(
            c.check_csrf(&post, &h(&[&good[..42]]), Some("s1")),
            Err(Error::Denied(Denied::Csrf("CSRF token does not match")))
        ));
        assert!(matches!(
            c.check_csrf(&post, &h(&[&good]), None),
            Err(Error::Denied(Denied::Csrf(
                "token is not bound to a session"
            )))
        ));
    }

    #[test]
    fn debug_redacts_the_key() {
        let c = format!("{:?}", config(true));
        assert!(c.contains("[redacted]"));
        let b = format!("{:?}", CookieConfig::builder().csrf_secret([3u8; 32]));
        assert!(b.contains("[redacted]") && !b.contains("3, 3"));
    }
}
