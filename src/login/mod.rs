//! The ready `/auth` router: password login, refresh rotation and logout over the application's
//! user directory.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::extract::{FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, PRAGMA};
use http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use http_body_util::LengthLimitError;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::claims::{Claims, NoExtra};
use crate::error::BoxError;
use crate::error::{Error, RequestError, TokenError, Unavailable};
use crate::issue::Grant;
use crate::password::{PasswordHash, Passwords, Verification};
use crate::sessions::{Sessions, TokenPair};
use crate::store::ThrottlePolicy;
use crate::web::gate::Gate;
use crate::web::rejection::Rejection;

mod cookie_routes;

/// Default largest request body the `/auth` routes read: 16 KiB. Larger bodies are answered 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest username accepted at login, in bytes (longer ones are answered 400 `invalid_request`
/// before any lookup, so that they cannot bloat the throttling store).
pub const MAX_USERNAME_LEN: usize = 256;

/// The `tracing` target of login, refresh and logout outcomes.
const LOG_TARGET: &str = "tokengate::login";

/// What the login router needs to know about one user. `Debug` redacts `password_hash`.
#[derive(Clone)]
pub struct UserRecord {
    /// The user's stable id; becomes the tokens' `sub`.
    pub subject: String,
    /// The argon2id PHC string (as made by [`Passwords::hash`]).
    pub password_hash: String,
    /// Roles, copied into the tokens' `roles`.
    pub roles: Vec<String>,
    /// Permissions, copied into the tokens' `permissions`.
    pub permissions: Vec<String>,
    /// A disabled user can neither log in nor refresh (answered exactly like a wrong password).
    pub disabled: bool,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("subject", &self.subject)
            .field("password_hash", &"[redacted]")
            .field("roles", &self.roles)
            .field("permissions", &self.permissions)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// The application's users, as the login router sees them. Implemented by the application (the
/// example server implements it over SQLite with sqlx).
///
/// An error from any method is answered 503 `temporarily_unavailable` (and logged); it never
/// counts as a failed login.
#[async_trait]
pub trait UserDirectory: Send + Sync + 'static {
    /// The user a login names, or `None` when there is no such user.
    ///
    /// # Errors
    /// Whatever the backend reports when it cannot answer.
    async fn find_by_username(&self, username: &str) -> Result<Option<UserRecord>, BoxError>;

    /// The user a refresh token's `sub` names. Read again at every refresh: a disabled (or
    /// deleted) user cannot refresh, and changed roles/permissions reach the new tokens.
    ///
    /// # Errors
    /// Whatever the backend reports when it cannot answer.
    async fn find_by_subject(&self, subject: &str) -> Result<Option<UserRecord>, BoxError>;

    /// Called after a successful login whose stored hash has outdated parameters
    /// ([`Verification::ValidNeedsRehash`]), with a fresh hash of the same password to store.
    /// The default does nothing. A failure is logged and the login still succeeds.
    ///
    /// # Errors
    /// Whatever the backend reports when it cannot write.
    async fn update_password_hash(
        &self,
        subject: &str,
        hash: &PasswordHash,
    ) -> Result<(), BoxError> {
        let _ = (subject, hash);
        Ok(())
    }
}

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
/// #[async_trait::async_trait]
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
    /// [`Error::Config`] naming `account_throttle` or `client_throttle` when a policy allows zero
    /// failures or has a zero window or lock-out, and `max_body_bytes` when it is zero.
    pub fn build(self) -> Result<AuthRouter, Error> {
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
        let grant = Grant::new(user.subject.clone())
            .roles(user.roles)
            .permissions(user.permissions);
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
                    Ok(Some(user)) if !user.disabled => Ok(Grant::new(claims.sub)
                        .roles(user.roles)
                        .permissions(user.permissions)),
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

#[derive(Serialize)]
struct TokenJson<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: &'a str,
}

fn token_response(pair: &TokenPair) -> Response {
    Json(TokenJson {
        access_token: &pair.access.token,
        token_type: "Bearer",
        expires_in: pair.expires_in(),
        refresh_token: &pair.refresh.token,
    })
    .into_response()
}

/// Every answer of the router, success or refusal, carries tokens or says why there are none:
/// never cached (RFC 6749 §5.1). One layer over the whole router.
async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| {
            extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|m| m.0.ip())
        })
}

/// `client:` + the IPv4 address, or the /64 prefix of an IPv6 address (one host usually owns a
/// whole /64, and could otherwise rotate through it).
fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("client:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("client:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn account_key(username: &str) -> String {
    format!("account:{}", username.to_lowercase())
}

/// Reads the whole body, refusing more than `limit` bytes (413) — by its `Content-Length` before
/// reading, by counting while reading otherwise. The copy this returns is wiped on drop.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let too_large = || Error::Request(RequestError::BodyTooLarge { max: limit });
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(Zeroizing::new(Vec::from(bytes))),
        Err(e) => {
            let limit_hit =
                std::error::Error::source(&e).is_some_and(|s| s.is::<LengthLimitError>());
            Err(if limit_hit {
                too_large()
            } else {
                bad("request body could not be read")
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    Form,
    Absent,
    Other,
}

fn media(headers: &HeaderMap) -> Media {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Media::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Media::Other;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Media::Json
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Media::Form
    } else {
        Media::Other
    }
}

/// 400 `invalid_request` for a malformed or incomplete body; the text names what is wrong.
fn bad(what: &'static str) -> Error {
    Error::Request(RequestError::MalformedBody(what))
}

/// The members the routes read; others are ignored. A member given twice is refused.
#[derive(Deserialize, Default)]
struct Fields {
    username: Option<String>,
    password: Option<String>,
    grant_type: Option<String>,
    refresh_token: Option<String>,
}

/// Decodes the body as JSON or a form (by `Content-Type`); an empty body without a content type
/// has no fields.
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<Fields, Error> {
    match media(headers) {
        // Only an object: serde would otherwise also take a JSON array, member by position.
        Media::Json => {
            if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(bad("body must be a JSON object"));
            }
            // The parser's message is not used: it can quote the input (the password).
            serde_json::from_slice(body).map_err(|_| bad("malformed JSON body"))
        }
        Media::Form => serde_urlencoded::from_bytes(body).map_err(|_| bad("malformed form body")),
        Media::Absent if body.is_empty() => Ok(Fields::default()),
        Media::Absent | Media::Other => Err(Error::Request(RequestError::UnsupportedMediaType(
            "use application/json or application/x-www-form-urlencoded",
        ))),
    }
}

fn check_grant_type(fields: &Fields, expected: &str) -> Result<(), Error> {
    match fields.grant_type.as_deref() {
        None => Ok(()),
        Some(g) if g == expected => Ok(()),
        Some(_) => Err(Error::Request(RequestError::UnsupportedGrantType)),
    }
}

struct Credentials {
    username: String,
    password: Zeroizing<String>,
}

/// `Authorization: Basic` credentials, if the request has them.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Credentials>, Error> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(bad("multiple Authorization headers"));
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        // Another scheme (a stale bearer token, say) is not a login credential: ignored.
        return Ok(None);
    }
    let malformed = || bad("malformed Basic credentials");
    let rest = rest.trim_ascii();
    let decoded = Zeroizing::new(STANDARD.decode(rest).map_err(|_| malformed())?);
    let text = std::str::from_utf8(&decoded).map_err(|_| malformed())?;
    let (username, password) = text.split_once(':').ok_or_else(malformed)?;
    Ok(Some(Credentials {
        username: username.to_owned(),
        password: Zeroizing::new(password.to_owned()),
    }))
}

fn login_credentials(
    headers: &HeaderMap,
    body: &[u8],
    max_password: usize,
) -> Result<Credentials, Error> {
    let basic = basic_credentials(headers)?;
    let fields = fields(headers, body)?;
    check_grant_type(&fields, "password")?;
    let creds = match basic {
        Some(creds) => {
            if fields.username.is_some() || fields.password.is_some() {
                return Err(bad(
                    "credentials both in the Authorization header and in the body",
                ));
            }
            creds
        }
        None => {
            if body.is_empty() && media(headers) == Media::Absent {
                return Err(bad("missing credentials"));
            }
            Credentials {
                username: fields.username.ok_or_else(|| bad("missing username"))?,
                password: Zeroizing::new(fields.password.ok_or_else(|| bad("missing password"))?),
            }
        }
    };
    if creds.username.is_empty() {
        return Err(bad("empty username"));
    }
    if creds.username.len() > MAX_USERNAME_LEN {
        return Err(bad("username too long"));
    }
    if creds.password.len() > max_password {
        return Err(bad("password too long"));
    }
    Ok(creds)
}

fn refresh_token(headers: &HeaderMap, body: &[u8]) -> Result<Zeroizing<String>, Error> {
    let fields = fields(headers, body)?;
    check_grant_type(&fields, "refresh_token")?;
    match fields.refresh_token {
        Some(t) if !t.is_empty() => Ok(Zeroizing::new(t)),
        Some(_) => Err(bad("empty refresh_token")),
        None => Err(bad("missing refresh_token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn description(e: Error) -> &'static str {
        match e {
            Error::Request(RequestError::MalformedBody(description)) => description,
            _ => "not a malformed body",
        }
    }

    #[test]
    fn client_keys_group_ipv6_by_64_and_unmap_ipv4() {
        assert_eq!(
            client_key("203.0.113.7".parse().unwrap()),
            "client:203.0.113.7"
        );
        assert_eq!(
            client_key("::ffff:203.0.113.7".parse().unwrap()),
            "client:203.0.113.7"
        );
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            client_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(
            client_key("2001:db8:1:2::1".parse().unwrap()),
            "client:2001:db8:1:2::/64"
        );
    }

    #[test]
    fn account_keys_ignore_case() {
        assert_eq!(account_key("Alice"), account_key("alice"));
        assert_ne!(account_key("alice"), account_key("alice2"));
    }

    #[test]
    fn basic_credentials_cases() {
        // "alice:pa:ss" — the password may hold a colon.
        let h = headers(&[("authorization", "Basic YWxpY2U6cGE6c3M=")]);
        let c = basic_credentials(&h).unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "pa:ss")
        );
        let h = headers(&[("authorization", "bearer abc")]);
        assert!(basic_credentials(&h).unwrap().is_none());
        for bad in [
            "Basic",
            "Basic !!!",
            "Basic YWxpY2U=", /* no colon */
            "Basic //79",
        ] {
            let h = headers(&[("authorization", bad)]);
            let f = basic_credentials(&h).err().unwrap();
            assert_eq!(description(f), "malformed Basic credentials", "{bad}");
        }
    }

    #[test]
    fn json_errors_never_quote_the_input() {
        let h = headers(&[("content-type", "application/json")]);
        let f = fields(&h, br#"{"username":"a","password":12345678}"#)
            .err()
            .unwrap();
        assert_eq!(description(f), "malformed JSON body");
        let f = fields(&h, br#"["a","b"]"#).err().unwrap();
        assert_eq!(description(f), "body must be a JSON object");
        let f = fields(&h, br#"{"username":"a","username":"b"}"#)
            .err()
            .unwrap();
        assert_eq!(description(f), "malformed JSON body");
    }

    #[test]
    fn user_record_debug_redacts_the_hash() {
        let r = UserRecord {
            subject: "s".into(),
            password_hash: "$argon2id$secret".into(),
            roles: vec![],
            permissions: vec![],
            disabled: false,
        };
        let text = format!("{r:?}");
        assert!(!text.contains("argon2id"), "{text}");
        assert!(text.contains("[redacted]"));
    }
}
