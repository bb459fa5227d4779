//! axum extractors: a request's bearer token, verified, as [`Claims<T>`].
//!
//! The behaviour is documented on [`Gate`] (this module is private, its items are re-exported).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum_extra::extract::cookie::Cookie;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::cookie::{CookieConfig, read_cookie};
use crate::rbac::RoleHierarchy;
use crate::rejection::{ErrorBody, Rejection};
use crate::{Claims, Error, NoExtra, Verifier};

/// Default realm in `WWW-Authenticate` challenges: `"api"`.
pub const DEFAULT_REALM: &str = "api";

/// Everything the extractors and guards need: the [`Verifier`], the realm named in
/// `WWW-Authenticate`, the [`ErrorBody`] format and the [`RoleHierarchy`]. Cheap to clone (one
/// `Arc`).
///
/// Put it in the router state — directly, or as a field of the application's state with a
/// [`FromRef`] implementation — and every handler can take [`Claims`]:
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode, header::AUTHORIZATION};
/// use tower::ServiceExt as _;
/// use tokengate::{Algorithm, Claims, Gate, Grant, Issuer, Key, KeyRing, Verifier};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, b"an-example-secret-of-32-bytes!!!")?)?;
/// let issuer = Issuer::builder(ring.clone()).issuer("https://auth.example").audience("api").build()?;
/// let verifier = Verifier::builder(ring).issuer("https://auth.example").audience("api").build()?;
/// let gate = Gate::builder(verifier).realm("example").build()?;
///
/// async fn me(claims: Claims) -> String {
///     claims.sub
/// }
/// let app = Router::new().route("/me", get(me)).with_state(gate);
///
/// // Without a token: 401 and the bare challenge.
/// let res = app.clone().oneshot(Request::get("/me").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="example""#);
///
/// // With one: 200.
/// let token = issuer.issue_access(&Grant::new("alice"))?.token;
/// let req = Request::get("/me").header(AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), StatusCode::OK);
/// # Ok(()) }
/// ```
///
/// # What the extractors do
///
/// [`Claims<T>`] is itself the extractor. It reads the application's [`Gate`] from the router
/// state (through [`FromRef`], so the state can be the `Gate` itself or any struct holding one),
/// reads the `Authorization: Bearer` header, verifies the token with [`Verifier::verify`]
/// (every check, including the revocation hook) and yields the claims.
///
/// | request | `Claims<T>` | `Option<Claims<T>>` |
/// |---|---|---|
/// | valid `Authorization: Bearer <token>` (scheme in any case) | the claims | `Some(claims)` |
/// | no `Authorization` header | 401, no error code | `None` |
/// | `Authorization` with another scheme (`Basic …`) | 401, no error code | `None` |
/// | a token that fails verification | 401 `invalid_token` | 401 `invalid_token` |
/// | two `Authorization` headers, `Bearer` with an empty or non-`b64token` value | 400 `invalid_request` | 400 `invalid_request` |
/// | revocation state unknown (the hook failed) | 503 | 503 |
///
/// A non-`Bearer` scheme counts as "no bearer credentials" because RFC 6750 §3.1 says so for a
/// client "attempting an unsupported authentication method": the answer is the bare challenge that
/// tells it which scheme to use. `Option<Claims<T>>` never turns a bad bearer token into `None`.
///
/// Tokens in the query string (`?access_token=`) are never read: they end up in logs and
/// `Referer` headers (RFC 6750 §5.3).
///
/// # Cookies
///
/// By default tokens are read from the `Authorization` header only. With a
/// [`CookieConfig`] ([`GateBuilder::cookies`]) the access-token cookie is read too:
///
/// | request | `Claims<T>` |
/// |---|---|
/// | valid token in the access cookie, safe method (`GET`, `HEAD`, `OPTIONS`, `TRACE`) | the claims |
/// | valid token in the access cookie, any other method, matching `X-CSRF-Token` | the claims |
/// | valid token in the access cookie, any other method, `X-CSRF-Token` missing or not matching | 403 `csrf_failed` |
/// | a token in the `Authorization` header and one in the access cookie | 400 `invalid_request` (RFC 6750 §2: "more than one method") |
/// | the access cookie twice | 400 `invalid_request` |
/// | a bad token in the access cookie | 401 `invalid_token` |
/// | bearer header only | as without cookies: no CSRF token needed |
///
/// An empty access cookie (a cleared one) counts as absent. The CSRF check is described on
/// [`CookieConfig`].
///
/// The application's claims type `T` (see [`Claims`]) must be
/// `DeserializeOwned + Clone + Send + Sync + 'static`.
///
/// Claims already verified earlier in the same request by a
/// [`RequireRoleLayer`](crate::RequireRoleLayer) (stored in the request extensions) are reused,
/// so a layer plus an extractor verify the token once.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    realm: Box<str>,
    body: ErrorBody,
    roles: RoleHierarchy,
    /// The cookie transport: when set, the access cookie is read (with the CSRF check), and a
    /// token in both the header and the cookie is refused.
    cookie: Option<CookieConfig>,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("Gate")
            .field("verifier", &i.verifier)
            .field("realm", &i.realm)
            .field("body", &i.body)
            .field("roles", &i.roles)
            .field("cookie", &i.cookie)
            .finish()
    }
}

/// Builds a [`Gate`]; see each setter for its default.
#[derive(Debug)]
#[must_use]
pub struct GateBuilder {
    verifier: Verifier,
    realm: String,
    body: ErrorBody,
    roles: RoleHierarchy,
    cookies: Option<CookieConfig>,
}

impl GateBuilder {
    /// The realm named in every `WWW-Authenticate` challenge; default [`DEFAULT_REALM`] (`"api"`).
    /// Printable ASCII without `"` and `\`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// How refusal bodies are written; default [`ErrorBody::Json`].
    pub fn error_body(mut self, body: ErrorBody) -> Self {
        self.body = body;
        self
    }

    /// The role hierarchy the guards apply; default none (a role grants only itself).
    pub fn roles(mut self, roles: RoleHierarchy) -> Self {
        self.roles = roles;
        self
    }

    /// Reads the access token from the cookie described by `cookies` as well as from the
    /// `Authorization` header, with the CSRF check for unsafe methods (see "Cookies" on
    /// [`Gate`]); default: the header only.
    pub fn cookies(mut self, cookies: CookieConfig) -> Self {
        self.cookies = Some(cookies);
        self
    }

    /// Builds the gate.
    ///
    /// # Errors
    /// [`Error::Config`] naming `realm` when it is empty or holds a character a quoted string in
    /// a `WWW-Authenticate` header cannot carry (`"`, `\`, or anything outside printable ASCII).
    pub fn build(self) -> Result<Gate, Error> {
        let valid = !self.realm.is_empty()
            && self
                .realm
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\');
        if !valid {
            return Err(Error::Config(
                "realm: must be non-empty printable ASCII without `\"` or `\\`".into(),
            ));
        }
        Ok(Gate {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                realm: self.realm.into(),
                body: self.body,
                roles: self.roles,
                cookie: self.cookies,
            }),
        })
    }
}

impl Gate {
    /// Starts building a gate around `verifier`.
    pub fn builder(verifier: Verifier) -> GateBuilder {
        GateBuilder {
            verifier,
            realm: DEFAULT_REALM.to_owned(),
            body: ErrorBody::default(),
            roles: RoleHierarchy::default(),
            cookies: None,
        }
    }

    /// A gate with every default: realm `"api"`, JSON bodies, no role hierarchy.
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        Self {
            inner: Arc::new(Inner {
                verifier,
                realm: DEFAULT_REALM.into(),
                body: ErrorBody::default(),
                roles: RoleHierarchy::default(),
                cookie: None,
            }),
        }
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The realm named in challenges.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The refusal body format.
    #[must_use]
    pub fn error_body(&self) -> &ErrorBody {
        &self.inner.body
    }

    /// The role hierarchy.
    #[must_use]
    pub fn roles(&self) -> &RoleHierarchy {
        &self.inner.roles
    }

    /// Wraps `error` into a [`Rejection`] answered with this gate's realm and body format.
    #[must_use]
    pub fn reject(&self, error: Error) -> Rejection {
        Rejection::new(error, self.clone())
    }

    /// The cookie transport, when configured ([`GateBuilder::cookies`]).
    #[must_use]
    pub fn cookies(&self) -> Option<&CookieConfig> {
        self.inner.cookie.as_ref()
    }

    /// Reads and verifies the token of a request, as the extractors do; for middleware of the
    /// application's own.
    ///
    /// Without the request method, a cookie-authenticated request is treated as unsafe: it needs
    /// its `X-CSRF-Token` header. Use [`Gate::authenticate_request`] to exempt safe methods.
    ///
    /// # Errors
    /// As [`Gate::authenticate_request`].
    pub async fn authenticate<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Claims<T>>, Rejection> {
        self.authenticate_request(&Method::POST, headers).await
    }

    /// Reads and verifies the token of a request with method `method`, as the extractors do.
    ///
    /// `Ok(None)` when the request carries no credentials (see the tables on [`Gate`]).
    ///
    /// # Errors
    /// A [`Rejection`] with [`Error::InvalidRequest`] for malformed credentials, the verifier's
    /// error for a bad token, [`Error::CsrfFailed`] for a cookie-authenticated unsafe request
    /// without the right CSRF token.
    pub async fn authenticate_request<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Claims<T>>, Rejection> {
        let shared = self.authenticate_shared(method, headers).await?;
        Ok(shared.map(Arc::unwrap_or_clone))
    }

    /// [`Gate::authenticate_request`], answering with the claims shared with the verifier's
    /// cache (see [`Verifier::verify_shared`]) rather than a copy.
    ///
    /// # Errors
    /// As [`Gate::authenticate_request`].
    pub async fn authenticate_shared<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<Claims<T>>>, Rejection> {
        let cookies = self.inner.cookie.as_ref();
        let (token, from_cookie) =
            match bearer_token(headers, cookies.map(CookieConfig::access_name)) {
                Ok(Some(token)) => (token, false),
                Ok(None) => match cookies.map(|c| read_cookie(headers, c.access_name())) {
                    None | Some(Ok(None)) => return Ok(None),
                    Some(Ok(Some(token))) => (token, true),
                    Some(Err(error)) => return Err(self.reject(error)),
                },
                Err(error) => return Err(self.reject(error)),
            };
        let claims = match self.inner.verifier.verify_shared::<T>(token).await {
            Ok(claims) => claims,
            Err(error) => {
                let (kid, sub) = peek(token, &error);
                return Err(self
                    .reject(error)
                    .with_kid(kid.as_deref())
                    .with_sub(sub.as_deref()));
            }
        };
        if from_cookie && let Some(cookies) = cookies {
            cookies
                .check_csrf(method, headers, claims.sid.as_deref())
                .map_err(|error| self.reject(error).with_sub(Some(&claims.sub)))?;
        }
        Ok(Some(claims))
    }
}

/// Finds the bearer token in `headers`; `Ok(None)` when there are no bearer credentials.
fn bearer_token<'h>(
    headers: &'h HeaderMap,
    cookie: Option<&str>,
) -> Result<Option<&'h str>, Error> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::InvalidRequest("multiple Authorization headers"));
    }
    // `Bearer` (any case), one space, then the token (RFC 6750 §2.1). A value that does not start
    // with the `Bearer` scheme is another scheme: no bearer credentials.
    let bytes = first.as_bytes();
    let scheme_end = bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
    if !bytes[..scheme_end].eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let rest = &bytes[scheme_end..];
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let token = &rest[start..];
    if token.is_empty() {
        return Err(Error::InvalidRequest("empty bearer token"));
    }
    if !is_b64token(token) {
        return Err(Error::InvalidRequest("malformed bearer token"));
    }
    // A b64token is ASCII, so this cannot fail.
    let token =
        std::str::from_utf8(token).map_err(|_| Error::InvalidRequest("malformed bearer token"))?;
    if let Some(name) = cookie
        && has_cookie(headers, name)
    {
        return Err(Error::InvalidRequest(
            "token in both the Authorization header and a cookie",
        ));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|b| **b == b'=').count();
    let body = &token[..token.len() - padding];
    // One pass without early exit, which the compiler vectorises: tokens are hundreds of bytes.
    !body.is_empty()
        && body.iter().fold(true, |ok, &b| {
            ok & (b.is_ascii_alphanumeric() | matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
        })
}

/// Whether any `Cookie` header holds a non-empty cookie called `name`.
fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim()).ok())
        .any(|c| c.name() == name && !c.value().is_empty())
}

/// For the log line of a refused token: its `kid` when the header is readable, and its `sub` when
/// the error shows the signature was verified (so the value is authentic).
fn peek(token: &str, error: &Error) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Kid {
        kid: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Sub {
        sub: Option<String>,
    }
    if matches!(error, Error::TokenTooLarge { .. } | Error::Malformed) {
        return (None, None);
    }
    let mut segments = token.split('.');
    let decode = |s: Option<&str>| s.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let kid = decode(segments.next())
        .and_then(|h| serde_json::from_slice::<Kid>(&h).ok())
        .and_then(|h| h.kid);
    let signed = matches!(
        error,
        Error::Expired
            | Error::NotYetValid
            | Error::IssuedInFuture
            | Error::InvalidIssuer
            | Error::InvalidAudience
            | Error::Revoked
            | Error::RevocationUnavailable(_)
    );
    let sub = if signed {
        decode(segments.next())
            .and_then(|p| serde_json::from_slice::<Sub>(&p).ok())
            .and_then(|p| p.sub)
    } else {
        None
    };
    (kid, sub)
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <SharedClaims<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(SharedClaims::into_owned)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let shared = shared_claims::<S, T>(parts, state).await?;
        Ok(shared.map(SharedClaims::into_owned))
    }
}

/// The verified claims of a request, shared rather than copied: [`Claims<T>`] as an extractor
/// hands each handler its own copy of the claims; this hands it the claims the verifier's cache
/// holds for the token (see [`Verifier::verify_shared`]), so a request with a token seen before
/// costs no allocation for them. Same checks, same rejections, same `Option` form as
/// [`Claims<T>`]; reads like it through [`Deref`], serializes like it.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use tokengate::{Gate, SharedClaims};
///
/// async fn me(claims: SharedClaims) -> Json<SharedClaims> {
///     assert!(!claims.sub.is_empty());
///     Json(claims)
/// }
/// let app: Router<Gate> = Router::new().route("/me", get(me));
/// ```
pub struct SharedClaims<T = NoExtra>(Arc<Claims<T>>);

impl<T> SharedClaims<T> {
    /// The shared claims.
    #[must_use]
    pub fn into_inner(self) -> Arc<Claims<T>> {
        self.0
    }

    /// The claims as an owned value: moved out when nothing else shares them, else copied.
    #[must_use]
    pub fn into_owned(self) -> Claims<T>
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<T> Clone for SharedClaims<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedClaims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClaims").field(&*self.0).finish()
    }
}

impl<T> Deref for SharedClaims<T> {
    type Target = Claims<T>;
    fn deref(&self) -> &Claims<T> {
        &self.0
    }
}

impl<T> From<Arc<Claims<T>>> for SharedClaims<T> {
    fn from(claims: Arc<Claims<T>>) -> Self {
        Self(claims)
    }
}

impl<T: Serialize> Serialize for SharedClaims<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Claims a layer (`RequireRoleLayer`) already verified, or the request's token verified now.
async fn shared_claims<S, T>(parts: &Parts, state: &S) -> Result<Option<SharedClaims<T>>, Rejection>
where
    Gate: FromRef<S>,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    if let Some(claims) = parts.extensions.get::<Claims<T>>() {
        return Ok(Some(SharedClaims(Arc::new(claims.clone()))));
    }
    let claims = Gate::from_ref(state)
        .authenticate_shared(&parts.method, &parts.headers)
        .await?;
    Ok(claims.map(SharedClaims))
}

impl<S, T> FromRequestParts<S> for SharedClaims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        shared_claims(parts, state)
            .await?
            .ok_or_else(|| Gate::from_ref(state).reject(Error::MissingCredentials))
    }
}

impl<S, T> OptionalFromRequestParts<S> for SharedClaims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        shared_claims(parts, state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Grant, Issuer, Key, KeyRing, NoExtra};
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn bearer_token_cases() {
        let ok = |v: &str| {
            bearer_token(&headers(&[("authorization", v)]), None).map(|t| t.map(str::to_owned))
        };
        assert_eq!(
            ok("Bearer abc.def.ghi").unwrap().as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(ok("bearer abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(ok("BEARER abc==").unwrap().as_deref(), Some("abc=="));
        assert_eq!(ok("Bearer   abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(ok("Basic dXNlcjpwYXNz").unwrap(), None);
        assert_eq!(ok("Digest x=1").unwrap(), None);
        for (v, msg) in [
            ("Bearer", "empty bearer token"),
            ("Bearer ", "empty bearer token"),
            ("bearer    ", "empty bearer token"),
            ("Bearer a b", "malformed bearer token"),
            ("Bearer a\"b", "malformed bearer token"),
            ("Bearer =", "malformed bearer token"),
            ("Bearer a=b", "malformed bearer token"),
        ] {
            assert!(
                matches!(ok(v), Err(Error::InvalidRequest(m)) if m == msg),
                "{v}: {:?}",
                ok(v)
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new(), None).unwrap(), None);
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert!(matches!(
            bearer_token(&two, None),
            Err(Error::InvalidRequest("multiple Authorization headers"))
        ));
    }

    #[test]
    fn non_utf8_bearer_is_malformed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        assert!(matches!(
            bearer_token(&h, None),
            Err(Error::InvalidRequest("malformed bearer token"))
        ));
    }

    #[test]
    fn token_in_header_and_cookie_is_refused() {
        let both = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "theme=dark; at=xyz"),
        ]);
        assert!(matches!(
            bearer_token(&both, Some("at")),
            Err(Error::InvalidRequest(
                "token in both the Authorization header and a cookie"
            ))
        ));
        // Other cookies, or no cookie name configured, do not matter.
        assert_eq!(bearer_token(&both, Some("other")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&both, None).unwrap(), Some("abc"));
    }

    #[tokio::test]
    async fn gate_with_cookie_answers_400_for_both() {
        let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap()).unwrap();
        let issuer = Issuer::builder(ring.clone())
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        let cookies = crate::CookieConfig::builder()
            .secure(false)
            .build()
            .unwrap();
        let gate = Gate::builder(
            Verifier::builder(ring)
                .issuer("i")
                .audience("a")
                .build()
                .unwrap(),
        )
        .cookies(cookies)
        .build()
        .unwrap();
        let token = issuer.issue_access(&Grant::new("u")).unwrap().token;
        let auth = format!("Bearer {token}");
        let ok = gate
            .authenticate::<NoExtra>(&headers(&[("authorization", &auth)]))
            .await
            .unwrap();
        assert_eq!(ok.unwrap().sub, "u");
        let cookie = format!("access_token={token}");
        let err = gate
            .authenticate::<NoExtra>(&headers(&[("authorization", &auth), ("cookie", &cookie)]))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.error_code(), "invalid_request");
    }

    #[test]
    fn peek_reads_kid_always_and_sub_only_after_the_signature() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let token = format!("{header}.{payload}.sig");
        assert_eq!(
            peek(&token, &Error::Expired),
            (Some("k1".into()), Some("alice".into()))
        );
        assert_eq!(
            peek(&token, &Error::InvalidSignature),
            (Some("k1".into()), None)
        );
        assert_eq!(peek(&token, &Error::Malformed), (None, None));
    }

    #[test]
    fn realm_is_validated() {
        let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap()).unwrap();
        let v = Verifier::builder(ring)
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        for bad in ["", "a\"b", "a\\b", "é", "a\nb"] {
            let err = Gate::builder(v.clone()).realm(bad).build().unwrap_err();
            assert!(
                matches!(err, Error::Config(ref m) if m.starts_with("realm")),
                "{bad}"
            );
        }
        assert_eq!(
            Gate::builder(v).realm("my api").build().unwrap().realm(),
            "my api"
        );
    }
}
