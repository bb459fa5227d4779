//! [`Gate`]: what the extractors, guards and layers need to turn a request into verified claims.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use super::cookie::CookieConfig;
use super::credentials::{bearer_token, peek, read_cookie};
use super::rejection::{ErrorBody, Rejection};
use crate::claims::Claims;
use crate::error::{Denied, Error};
use crate::requirement::Requirement;
use crate::roles::RoleHierarchy;
use crate::verify::Verifier;

/// Default realm in `WWW-Authenticate` challenges: `"api"`.
pub const DEFAULT_REALM: &str = "api";

/// Everything the extractors and guards need: the [`Verifier`], the realm named in
/// `WWW-Authenticate`, the [`ErrorBody`] format and the [`RoleHierarchy`]. Cheap to clone (one
/// `Arc`).
///
/// Put it in the router state — directly, or as a field of the application's state with a
/// [`FromRef`](axum::extract::FromRef) implementation — and every handler can take [`Claims`]:
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
/// state (through [`FromRef`](axum::extract::FromRef), so the state can be the `Gate` itself or any struct holding one),
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
/// [`RequireLayer`](crate::RequireLayer) (stored in the request extensions) are reused,
/// so a layer plus an extractor verify the token once.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    realm: Arc<str>,
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
            return Err(Error::config(
                "realm",
                "must be non-empty printable ASCII without `\"` or `\\`",
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
        Rejection::new(
            error,
            Arc::clone(&self.inner.realm),
            self.inner.body.clone(),
        )
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
    /// A [`Rejection`] with [`RequestError::Malformed`](crate::RequestError::Malformed) for malformed credentials, the verifier's
    /// error for a bad token, [`Denied::Csrf`](crate::Denied::Csrf) for a cookie-authenticated unsafe request
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

impl Gate {
    /// Checks `claims` against `requirement` with this gate's role hierarchy.
    ///
    /// ```
    /// use tokengate::{Algorithm, Error, Gate, Grant, Issuer, Key, KeyRing, Requirement, RoleHierarchy, Verifier};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
    /// let issuer = Issuer::builder(ring.clone()).issuer("i").audience("a").build()?;
    /// let gate = Gate::builder(Verifier::builder(ring).issuer("i").audience("a").build()?)
    ///     .roles(RoleHierarchy::builder().role("admin", ["editor"]).build()?)
    ///     .build()?;
    /// let claims: tokengate::Claims =
    ///     gate.verifier().verify(&issuer.issue_access(&Grant::new("u").role("admin"))?.token).await?;
    ///
    /// assert!(gate.require(&claims, &Requirement::role("editor")).is_ok());
    /// let refused = gate.require(&claims, &Requirement::permission("billing")).unwrap_err();
    /// assert_eq!(refused.status(), 403);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A [`Rejection`] with [`Denied::InsufficientScope`](crate::Denied::InsufficientScope) (403) when the requirement is not met.
    pub fn require<T>(
        &self,
        claims: &Claims<T>,
        requirement: &Requirement,
    ) -> Result<(), Rejection> {
        if requirement.is_met_by(claims, self.roles()) {
            Ok(())
        } else {
            Err(self
                .reject(Error::Denied(Denied::InsufficientScope(
                    requirement.clone(),
                )))
                .with_sub(Some(&claims.sub)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::NoExtra;
    use crate::issue::{Grant, Issuer};
    use crate::keys::{Algorithm, Key, KeyRing};
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

    #[tokio::test]
    async fn gate_with_cookie_answers_400_for_both() {
        let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32]).unwrap()).unwrap();
        let issuer = Issuer::builder(ring.clone())
            .issuer("i")
            .audience("a")
            .build()
            .unwrap();
        let cookies = crate::web::cookie::CookieConfig::builder()
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
                matches!(err, Error::Config { ref setting, .. } if setting == "realm"),
                "{bad}"
            );
        }
        assert_eq!(
            Gate::builder(v).realm("my api").build().unwrap().realm(),
            "my api"
        );
    }
}
