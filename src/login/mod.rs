//! The ready `/auth` router: password login, refresh rotation and logout over the application's
//! user directory.

mod auth;
mod body;
mod cookie_routes;
mod directory;
mod throttle;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::header::{CACHE_CONTROL, PRAGMA};
use http::{HeaderValue, StatusCode};

use crate::claims::{Claims, NoExtra};
use crate::error::{Error, RequestError, TokenError, Unavailable};
use crate::issue::Grant;
use crate::password::{Passwords, Verification};
use crate::sessions::{Sessions, TokenPair};
use crate::store::ThrottlePolicy;
use crate::web::gate::Gate;
use crate::web::rejection::Rejection;
use crate::web::token_pair::token_response;

pub use auth::{Auth, AuthBuilder};
use body::{Media, login_credentials, media, read_body, refresh_token};
pub use directory::{AppClaims, UserDirectory, UserRecord};
use throttle::{account_key, client_ip, client_key};

/// Default largest request body the `/auth` routes read: 16 KiB. Larger bodies are answered 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest username accepted at login, in bytes (longer ones are answered 400 `invalid_request`
/// before any lookup, so that they cannot bloat the throttling store).
pub const MAX_USERNAME_LEN: usize = 256;

/// The `tracing` target of login, refresh and logout outcomes.
const LOG_TARGET: &str = "tokengate::login";

/// The ready `/auth` router: `POST /login`, `POST /refresh`, `POST /logout`. Cloning is cheap.
///
/// Mount it under `/auth`: `Router::new().nest("/auth", auth.router())`, and serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` so that failed logins are also counted
/// per client address.
///
/// # Routes
///
/// | request | answer |
/// |---|---|
/// | `POST /login` with credentials that match an enabled user | 200 `{"access_token", "token_type": "Bearer", "expires_in", "refresh_token"}` (RFC 6749 §5.1) |
/// | `POST /login`, unknown user, wrong password or disabled user | 401 `invalid_grant`, one body for every cause |
/// | `POST /login` while the account or the client address is locked out | 429 `too_many_requests` + `Retry-After` (seconds) |
/// | `POST /refresh` `{"refresh_token"}` of a live session of an enabled user | 200 new pair; the presented token is spent |
/// | `POST /refresh` with a spent, revoked, expired or wrong-type token, or for a disabled user | 401 `invalid_grant` (RFC 6749 §5.2) |
/// | `POST /logout` with `Authorization: Bearer <access token>` | 204; the access token and its session's refresh token stop working |
/// | `POST /logout` without a valid access token | the [`Gate`]'s answer (401 `invalid_token`, ...) |
/// | a missing field, malformed JSON or form, an empty or too long username, a too long password | 400 `invalid_request` |
/// | `grant_type` other than `password` (login) or `refresh_token` (refresh) | 400 `unsupported_grant_type` |
/// | a body in another content type | 415 `invalid_request` |
/// | a body over [`max_body_bytes`](AuthRouterBuilder::max_body_bytes) | 413 `invalid_request` |
/// | another method | 405 `invalid_request` |
/// | password hashing saturated ([`Unavailable::PasswordBusy`](crate::Unavailable::PasswordBusy)) | 503 `temporarily_unavailable` + `Retry-After: 1` |
/// | the store or the user directory failing | 503 `temporarily_unavailable` |
///
/// Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`; error bodies are
/// `{"error", "error_description"}` JSON (5xx ones follow the [`Gate`]'s body format). The 401
/// answers carry no `WWW-Authenticate` challenge: this is an OAuth token endpoint answering
/// `invalid_grant` (RFC 6749 §5.2 defines no challenge for it), and a `Basic` challenge would make
/// browsers open a password dialog over a single-page app.
///
/// # Cookie mode (browsers)
///
/// When the [`Gate`] has a [`CookieConfig`](crate::CookieConfig)
/// ([`GateBuilder::cookies`](crate::GateBuilder::cookies)), three more routes carry the same
/// sessions in cookies, so that a single-page app's scripts never hold a token:
///
/// | request | answer |
/// |---|---|
/// | `POST /session`, JSON `{"username", "password"}` | as `POST /login` (same credentials check, throttling, 401/429/503 answers), but the tokens are set as cookies ([`CookieConfig::set`](crate::CookieConfig::set)) and the body is `{"token_type": "cookie", "expires_in"}` |
/// | `POST /session` with a form, `Basic` only, or another content type | 415 `invalid_request`: a cross-site HTML form cannot send JSON, which closes "login CSRF" |
/// | `POST /session/refresh` with the refresh cookie and the session's `X-CSRF-Token` | 200, rotated cookies, `{"token_type": "cookie", "expires_in"}` |
/// | `POST /session/refresh` without or with a wrong `X-CSRF-Token` | 403 `csrf_failed`; the refresh token is not spent |
/// | `POST /session/refresh` without a refresh cookie, or with a spent, revoked or expired one | 401 `invalid_grant`, and every cookie is deleted |
/// | `DELETE /session` with the access cookie and its `X-CSRF-Token` (or a bearer token) | 204; the session is revoked ([`Sessions::logout`]) and every cookie deleted |
/// | `DELETE /session` without credentials | 204, every cookie deleted (nothing to revoke) |
/// | `DELETE /session` with the access cookie but without its `X-CSRF-Token` | 403 `csrf_failed`; nothing revoked, no cookie deleted |
/// | `DELETE /session` with a dead token | the [`Gate`]'s 401 `invalid_token`, and every cookie is deleted |
///
/// The refresh cookie is scoped to [`CookieConfig::refresh_path`](crate::CookieConfig::refresh_path),
/// by default `/auth/session/refresh`: mount the router under `/auth` (or set that path to where
/// `/session/refresh` is mounted).
///
/// # Credentials
///
/// `POST /login` takes the username and password from exactly one of: a JSON object
/// `{"username", "password"}` (`application/json`), a form `username=..&password=..`
/// (`application/x-www-form-urlencoded`), or `Authorization: Basic` (RFC 7617; a body, if any, may
/// then only carry `grant_type`). An optional `grant_type` must be `password` (RFC 6749 §4.3);
/// other members are ignored. Passwords are taken whole (any length up to the [`Passwords`]
/// `max_len`, any Unicode). `POST /refresh` takes `refresh_token` (and optionally
/// `grant_type=refresh_token`) as JSON or form.
///
/// # Throttling
///
/// Failed logins are counted in the [`Store`](crate::Store) under two keys: the account
/// (`account:` + the lower-cased username, whether or not the user exists, so that a lock-out says
/// nothing about existence) with [`account_throttle`](AuthRouterBuilder::account_throttle), and
/// the client address (`client:` + the IPv4 address, or the IPv6 /64 prefix) with
/// [`client_throttle`](AuthRouterBuilder::client_throttle). A locked key is answered 429 before
/// any lookup or password work — even when the password is right. The failure that reaches the
/// limit is still answered 401; the next attempt gets 429. A success resets the account's count
/// (not the address's, which many users may share). Refresh and logout never count: an invalid
/// token is not a failed login.
///
/// The client address comes from axum's `ConnectInfo<SocketAddr>` (or `MockConnectInfo` in
/// tests). Without it (a router served without connect info, or driven with `oneshot`), failures
/// are counted per account only. `X-Forwarded-For` and `Forwarded` are never trusted: behind a
/// proxy every client has the proxy's address, so raise `client_throttle` there.
///
/// The check and the count are separate store calls, so a burst of concurrent guesses against one
/// account can have more attempts in flight than `max_failures`; the password pool's admission
/// limit (workers + queue, answered 503 beyond) bounds that burst.
///
/// # Logging
///
/// Under the target `tokengate::login`: a successful login or refresh at `INFO` with the subject
/// (the user's id, not what was typed); a refused login at `INFO` with the client address and
/// nothing that identifies the attempted username (it may be a password typed in the wrong field);
/// a lock-out at `WARN` with the client address and which key is locked. Passwords, tokens and
/// hashes are never logged.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, body::Body, http::Request};
/// use tower::ServiceExt as _;
/// use tokengate::*;
///
/// struct OneUser(UserRecord);
/// #[tokengate::async_trait]
/// impl UserDirectory for OneUser {
///     async fn find_by_username(&self, name: &str) -> Result<Option<UserRecord>, BoxError> {
///         Ok((name == "alice").then(|| self.0.clone()))
///     }
///     async fn find_by_subject(&self, sub: &str) -> Result<Option<UserRecord>, BoxError> {
///         Ok((sub == self.0.subject).then(|| self.0.clone()))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7; 32])?)?;
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let issuer = Issuer::builder(ring.clone()).issuer("me").audience("api").build()?;
/// let verifier = Verifier::builder(ring).issuer("me").audience("api").revocation(store.clone()).build()?;
/// let sessions = Sessions::builder(issuer, verifier.clone(), store).build()?;
/// let passwords = Passwords::builder().memory_kib(256).iterations(1).build()?;
/// let alice = UserRecord {
///     subject: "u-1".into(),
///     password_hash: passwords.hash("correct horse").await?.into_string(),
///     roles: vec!["admin".into()],
///     permissions: vec![],
///     disabled: false,
/// };
/// let auth = AuthRouter::builder(sessions, passwords, Arc::new(OneUser(alice)), Gate::new(verifier))
///     .build()?;
/// let app: Router = Router::new().nest("/auth", auth.router());
///
/// let login = |body: &'static str| {
///     Request::post("/auth/login")
///         .header("content-type", "application/json")
///         .body(Body::from(body))
///         .unwrap()
/// };
/// let ok = app.clone().oneshot(login(r#"{"username":"alice","password":"correct horse"}"#)).await.unwrap();
/// assert_eq!(ok.status(), 200);
/// assert_eq!(ok.headers()["cache-control"], "no-store");
/// let bad = app.oneshot(login(r#"{"username":"alice","password":"wrong"}"#)).await.unwrap();
/// assert_eq!(bad.status(), 401);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthRouter {
    inner: Arc<Inner>,
}

struct Inner {
    sessions: Sessions,
    passwords: Passwords,
    users: Arc<dyn UserDirectory>,
    gate: Gate,
    account: ThrottlePolicy,
    client: ThrottlePolicy,
    max_body: usize,
}

impl fmt::Debug for AuthRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("AuthRouter")
            .field("sessions", &i.sessions)
            .field("passwords", &i.passwords)
            .field("gate", &i.gate)
            .field("account_throttle", &i.account)
            .field("client_throttle", &i.client)
            .field("max_body_bytes", &i.max_body)
            .finish_non_exhaustive()
    }
}

impl FromRef<AuthRouter> for Gate {
    fn from_ref(auth: &AuthRouter) -> Self {
        auth.inner.gate.clone()
    }
}

/// Builds an [`AuthRouter`]; start with [`AuthRouter::builder`].
#[must_use]
pub struct AuthRouterBuilder {
    sessions: Sessions,
    passwords: Passwords,
    users: Arc<dyn UserDirectory>,
    gate: Gate,
    account: ThrottlePolicy,
    client: ThrottlePolicy,
    max_body: usize,
}

impl fmt::Debug for AuthRouterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRouterBuilder")
            .field("account_throttle", &self.account)
            .field("client_throttle", &self.client)
            .field("max_body_bytes", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl AuthRouterBuilder {
    /// Failed-login policy per account; default [`ThrottlePolicy::ACCOUNT`] (10 failures in 15
    /// minutes lock the account for 15 minutes).
    pub fn account_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.account = policy;
        self
    }

    /// Failed-login policy per client address; default [`ThrottlePolicy::CLIENT`] (100 failures
    /// in 15 minutes lock the address for 15 minutes — larger, since users behind one NAT share
    /// an address).
    pub fn client_throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.client = policy;
        self
    }

    /// Largest request body read, in bytes; default [`DEFAULT_MAX_BODY_BYTES`] (16 KiB). Larger
    /// bodies are answered 413 with a JSON error, unread.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Builds the router.
    ///
    /// # Errors
    /// [`Error::Config`] naming `revocation` when the gate's verifier has no revocation hook,
    /// `account_throttle` or `client_throttle` when a policy allows zero failures or has a zero
    /// window or lock-out, and `max_body_bytes` when it is zero.
    ///
    /// The gate checks the access token of `POST /logout` and `DELETE /session`, and is the one
    /// the application's own routes usually share: without a hook it would keep accepting the
    /// tokens those routes just logged out. (The [`Sessions`] builder refuses a verifier without
    /// a hook for the same reason; see [`SessionsBuilder::build`](crate::SessionsBuilder::build)
    /// for why this is a build error rather than a hook wired from the store.)
    pub fn build(self) -> Result<AuthRouter, Error> {
        if self.gate.verifier().revocation().is_none() {
            return Err(Error::config(
                "revocation",
                "the gate's verifier has no revocation hook, so logged-out access tokens would \
                 keep verifying; build it with `.revocation(store)`",
            ));
        }
        for (name, p) in [
            ("account_throttle", &self.account),
            ("client_throttle", &self.client),
        ] {
            if p.max_failures == 0 || p.window.is_zero() || p.lockout.is_zero() {
                return Err(Error::config(
                    name,
                    "max_failures, window and lockout must be greater than zero",
                ));
            }
        }
        if self.max_body == 0 {
            return Err(Error::config("max_body_bytes", "must be at least 1 byte"));
        }
        Ok(AuthRouter {
            inner: Arc::new(Inner {
                sessions: self.sessions,
                passwords: self.passwords,
                users: self.users,
                gate: self.gate,
                account: self.account,
                client: self.client,
                max_body: self.max_body,
            }),
        })
    }
}

impl AuthRouter {
    /// Starts building over the sessions (issuer, verifier, store), the password hasher, the
    /// application's users and the gate that checks the access token at logout.
    pub fn builder(
        sessions: Sessions,
        passwords: Passwords,
        users: Arc<dyn UserDirectory>,
        gate: Gate,
    ) -> AuthRouterBuilder {
        AuthRouterBuilder {
            sessions,
            passwords,
            users,
            gate,
            account: ThrottlePolicy::ACCOUNT,
            client: ThrottlePolicy::CLIENT,
            max_body: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// `POST /login`, `POST /refresh`, `POST /logout`, ready to be nested:
    /// `.nest("/auth", auth.router())`. The router carries its own state, so it fits any
    /// application state `S`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = Router::new()
            .route("/login", post(login))
            .route("/refresh", post(refresh))
            .route("/logout", post(logout));
        if self.inner.gate.cookies().is_some() {
            router = router
                .route(
                    "/session",
                    post(cookie_routes::create)
                        .delete(cookie_routes::delete)
                        .fallback(cookie_routes::method_not_allowed),
                )
                .route("/session/refresh", post(cookie_routes::refresh));
        }
        router
            .method_not_allowed_fallback(method_not_allowed)
            .layer(axum::middleware::map_response(no_store))
            .with_state(self.clone())
    }

    /// Checks the credentials of a login request (with throttling) and starts a session; shared
    /// by `POST /login` and the cookie-mode `POST /session`.
    async fn log_in(&self, request: Request) -> Result<TokenPair, Error> {
        let inner = &*self.inner;
        let ip = client_ip(request.extensions());
        let (parts, body) = request.into_parts();
        let body = read_body(body, &parts.headers, inner.max_body).await?;
        let creds = login_credentials(&parts.headers, &body, inner.passwords.max_len())?;
        drop(body);

        let store = inner.sessions.store();
        let account = account_key(&creds.username);
        let client = ip.map(client_key);
        let mut retry_after: Option<Duration> = None;
        for (scope, key) in [("account", Some(&account)), ("client", client.as_ref())] {
            let Some(key) = key else { continue };
            let throttle = store.throttle(key).await?;
            if let Some(wait) = throttle.retry_after {
                tracing::warn!(target: LOG_TARGET, client = ?ip, locked = scope, "login refused: locked out");
                retry_after = Some(retry_after.map_or(wait, |w| w.max(wait)));
            }
        }
        if let Some(wait) = retry_after {
            return Err(Error::Throttled { retry_after: wait });
        }

        let user = inner
            .users
            .find_by_username(&creds.username)
            .await
            .map_err(|e| Error::Unavailable(Unavailable::Directory(e)))?;
        // Unknown users are checked against the dummy hash, so every cause costs one verification.
        let verification = inner
            .passwords
            .verify_or_dummy(
                &creds.password,
                user.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await?;
        let user = match user {
            Some(user) if verification.is_valid() && !user.disabled => user,
            _ => {
                let mut locked = store
                    .record_failure(&account, &inner.account)
                    .await?
                    .is_locked();
                if let Some(key) = &client {
                    locked |= store.record_failure(key, &inner.client).await?.is_locked();
                }
                tracing::info!(target: LOG_TARGET, client = ?ip, now_locked = locked, "login refused: bad credentials");
                return Err(Error::InvalidGrant);
            }
        };

        store.reset_failures(&account).await?;
        if verification == Verification::ValidNeedsRehash {
            self.rehash(&user.subject, &creds.password).await;
        }
        let extra = inner
            .users
            .claims(&user)
            .await
            .map_err(|e| Error::Unavailable(Unavailable::Directory(e)))?;
        let grant = Grant::new(user.subject.clone())
            .roles(user.roles)
            .permissions(user.permissions)
            .extra(extra);
        let pair = inner.sessions.start(grant).await?;
        tracing::info!(target: LOG_TARGET, sub = %user.subject, client = ?ip, "login succeeded");
        Ok(pair)
    }

    /// Stores a fresh hash of a password whose stored hash has outdated parameters. Failures are
    /// logged, never fatal: the login itself succeeded.
    async fn rehash(&self, subject: &str, password: &str) {
        let inner = &*self.inner;
        match inner.passwords.hash(password).await {
            Ok(hash) => match inner.users.update_password_hash(subject, &hash).await {
                Ok(()) => {
                    tracing::info!(target: LOG_TARGET, sub = %subject, "password hash upgraded to the current parameters");
                }
                Err(e) => {
                    tracing::warn!(target: LOG_TARGET, sub = %subject, error = %e, "cannot store the upgraded password hash");
                }
            },
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, sub = %subject, error = %e, "cannot upgrade the password hash");
            }
        }
    }

    async fn refresh(&self, request: Request) -> Result<Response, Error> {
        let inner = &*self.inner;
        let (parts, body) = request.into_parts();
        let body = read_body(body, &parts.headers, inner.max_body).await?;
        let token = refresh_token(&parts.headers, &body)?;
        drop(body);
        self.rotate(&token, |_| Ok(()))
            .await
            .map(|pair| token_response(&pair))
    }

    /// Rotates a refresh token, re-reading its user; shared by `POST /refresh` and the
    /// cookie-mode `POST /session/refresh`. `check` sees the verified refresh-token claims before
    /// anything else and can refuse (the token is then not spent).
    async fn rotate(
        &self,
        token: &str,
        check: impl FnOnce(&Claims<NoExtra>) -> Result<(), Error> + Send,
    ) -> Result<TokenPair, Error> {
        let inner = &*self.inner;
        let users = Arc::clone(&inner.users);
        let sessions = inner.sessions.clone();
        let result = inner
            .sessions
            .refresh_with(token, |claims: Claims<NoExtra>| async move {
                check(&claims)?;
                match users.find_by_subject(&claims.sub).await {
                    Ok(Some(user)) if !user.disabled => {
                        let extra = users
                            .claims(&user)
                            .await
                            .map_err(|e| Error::Unavailable(Unavailable::Directory(e)))?;
                        Ok(Grant::new(claims.sub)
                            .roles(user.roles)
                            .permissions(user.permissions)
                            .extra(extra))
                    }
                    Ok(_) => {
                        // Disabled or deleted: end the session too, not just this refresh.
                        if let Some(sid) = &claims.sid {
                            sessions.revoke_session(sid).await?;
                        }
                        tracing::info!(target: LOG_TARGET, sub = %claims.sub, "refresh refused: user disabled or gone");
                        Err(Error::Token(TokenError::SessionRevoked))
                    }
                    Err(e) => Err(Error::Unavailable(Unavailable::Directory(e))),
                }
            })
            .await;
        match result {
            Ok(pair) => {
                tracing::debug!(target: LOG_TARGET, "session refreshed");
                Ok(pair)
            }
            Err(e) if e.is_token_error() => {
                tracing::info!(target: LOG_TARGET, reason = %e, "refresh refused");
                Err(Error::InvalidGrant)
            }
            Err(e) => Err(e),
        }
    }

    /// The refusal of a request to these routes, through the gate's one mapping (its realm and
    /// body format).
    fn answer(&self, error: Error) -> Response {
        self.inner.gate.reject(error).into_response()
    }
}

async fn login(State(auth): State<AuthRouter>, request: Request) -> Response {
    match auth.log_in(request).await {
        Ok(pair) => token_response(&pair),
        Err(error) => auth.answer(error),
    }
}

async fn refresh(State(auth): State<AuthRouter>, request: Request) -> Response {
    match auth.refresh(request).await {
        Ok(response) => response,
        Err(error) => auth.answer(error),
    }
}

async fn logout(
    State(auth): State<AuthRouter>,
    claims: Result<Claims<NoExtra>, Rejection>,
) -> Response {
    let claims = match claims {
        Ok(claims) => claims,
        Err(rejection) => return rejection.into_response(),
    };
    match auth.inner.sessions.logout(&claims).await {
        Ok(()) => {
            tracing::info!(target: LOG_TARGET, sub = %claims.sub, "logged out");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => auth.answer(e),
    }
}

async fn method_not_allowed(State(auth): State<AuthRouter>) -> Response {
    auth.answer(Error::Request(RequestError::MethodNotAllowed {
        allow: "POST",
    }))
}

/// Every answer of the router, success or refusal, carries tokens or says why there are none:
/// never cached (RFC 6749 §5.1). One layer over the whole router.
async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
