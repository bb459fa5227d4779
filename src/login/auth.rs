//! [`Auth`]: one builder that wires a whole service — issuer, verifier (with the store as its
//! revocation hook), sessions, passwords, gate and the `/auth` router.

use std::fmt;
use std::sync::Arc;

use axum::Router;

use super::directory::UserDirectory;
use super::{AuthRouter, DEFAULT_MAX_BODY_BYTES};
use crate::error::Error;
use crate::issue::Issuer;
use crate::keys::KeyRing;
use crate::password::Passwords;
use crate::roles::RoleHierarchy;
use crate::sessions::Sessions;
use crate::store::{MemoryStore, Store};
use crate::verify::Verifier;
use crate::web::cookie::CookieConfig;
use crate::web::gate::Gate;

/// Everything a service with login, refresh, logout and guarded routes needs, wired once: the key
/// ring, the issuer and audience, the store and the user directory are given one time each, and
/// the store is the verifier's revocation hook, so logout cannot be forgotten.
///
/// Built with [`Auth::builder`]; hands out the [`Gate`] (router state for the extractors and
/// guards), the `/auth` [`router`](Auth::router), and the [`Sessions`], [`Issuer`], [`Verifier`]
/// and [`Passwords`] for custom endpoints. The separate builders stay for setups this one does
/// not cover (several audiences, a custom leeway, throttling policies …). Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use tokengate::{Algorithm, Auth, BoxError, Claims, Key, KeyRing, RequireRole, UserDirectory, UserRecord};
///
/// struct Users;
/// #[tokengate::async_trait]
/// impl UserDirectory for Users {
///     async fn find_by_username(&self, _: &str) -> Result<Option<UserRecord>, BoxError> { Ok(None) }
///     async fn find_by_subject(&self, _: &str) -> Result<Option<UserRecord>, BoxError> { Ok(None) }
/// }
/// tokengate::role!(Admin = "admin");
///
/// # fn main() -> Result<(), tokengate::Error> {
/// let auth = Auth::builder(KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?)
///     .issuer("https://auth.example")
///     .audience("api")
///     .users(Arc::new(Users))
///     .build()?;
/// let app: Router = Router::new()
///     .route("/me", get(|c: Claims| async move { c.sub }))
///     .route("/admin", get(|_: RequireRole<Admin>| async { "admin" }))
///     .nest("/auth", auth.router())
///     .with_state(auth.gate());
/// # let _ = app;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Auth {
    gate: Gate,
    router: AuthRouter,
    sessions: Sessions,
    issuer: Issuer,
    passwords: Passwords,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Starts wiring a service around `ring` (the keys that sign and verify).
    pub fn builder(ring: KeyRing) -> AuthBuilder {
        AuthBuilder {
            ring,
            issuer: None,
            audience: None,
            store: None,
            users: None,
            passwords: None,
            realm: None,
            roles: None,
            cookies: None,
            max_body: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The router state for the extractors and guards.
    #[must_use]
    pub fn gate(&self) -> Gate {
        self.gate.clone()
    }

    /// `POST /login`, `/refresh`, `/logout` (and the cookie routes when cookies are configured),
    /// to nest: `.nest("/auth", auth.router())`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.router.router()
    }

    /// The refresh sessions, for custom login or logout endpoints.
    #[must_use]
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The verifier (with the store as its revocation hook).
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        self.gate.verifier()
    }

    /// The password hasher (to hash a new user's password).
    #[must_use]
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }
}

/// Builds an [`Auth`]; `issuer`, `audience` and `users` are required.
#[must_use]
pub struct AuthBuilder {
    ring: KeyRing,
    issuer: Option<String>,
    audience: Option<String>,
    store: Option<Arc<dyn Store>>,
    users: Option<Arc<dyn UserDirectory>>,
    passwords: Option<Passwords>,
    realm: Option<String>,
    roles: Option<RoleHierarchy>,
    cookies: Option<CookieConfig>,
    max_body: usize,
}

impl fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    /// The `iss` the tokens carry and the verifier requires.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` the tokens carry and the verifier requires.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The store of revocations, refresh families and login failures; default a
    /// [`MemoryStore`] (one instance only — use a `RedisStore` for several).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The application's users, for the `/auth` routes.
    pub fn users(mut self, users: Arc<dyn UserDirectory>) -> Self {
        self.users = Some(users);
        self
    }

    /// The password hasher; default [`Passwords::builder`]`().build()` (argon2id, OWASP
    /// parameters).
    pub fn passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = Some(passwords);
        self
    }

    /// The realm of `WWW-Authenticate` challenges; default `"api"`.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Which roles include which.
    pub fn roles(mut self, roles: RoleHierarchy) -> Self {
        self.roles = Some(roles);
        self
    }

    /// Cookie transport for browsers (adds the `/auth/session` routes).
    pub fn cookies(mut self, cookies: CookieConfig) -> Self {
        self.cookies = Some(cookies);
        self
    }

    /// The largest body the `/auth` routes read; default [`DEFAULT_MAX_BODY_BYTES`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Wires everything.
    ///
    /// # Errors
    /// [`Error::Config`] naming `issuer`, `audience` or `users` when one is missing, and the
    /// errors of the builders it uses (a ring that cannot sign, a bad realm, …).
    pub fn build(self) -> Result<Auth, Error> {
        let issuer_name = self
            .issuer
            .ok_or_else(|| Error::config("issuer", "required: the `iss` tokens carry"))?;
        let audience = self
            .audience
            .ok_or_else(|| Error::config("audience", "required: the `aud` tokens carry"))?;
        let users = self.users.ok_or_else(|| {
            Error::config(
                "users",
                "required: the UserDirectory the /auth routes log in against",
            )
        })?;
        let store: Arc<dyn Store> = match self.store {
            Some(store) => store,
            None => Arc::new(MemoryStore::new()),
        };
        let passwords = match self.passwords {
            Some(passwords) => passwords,
            None => Passwords::builder().build()?,
        };
        let ring = Arc::new(self.ring);
        let issuer = Issuer::builder(Arc::clone(&ring))
            .issuer(issuer_name.clone())
            .audience(audience.clone())
            .build()?;
        let verifier = Verifier::builder(ring)
            .issuer(issuer_name)
            .audience(audience)
            .revocation(store.clone())
            .build()?;
        let mut gate = Gate::builder(verifier.clone());
        if let Some(realm) = self.realm {
            gate = gate.realm(realm);
        }
        if let Some(roles) = self.roles {
            gate = gate.roles(roles);
        }
        if let Some(cookies) = self.cookies {
            gate = gate.cookies(cookies);
        }
        let gate = gate.build()?;
        let sessions = Sessions::builder(issuer.clone(), verifier, store).build()?;
        let router = AuthRouter::builder(sessions.clone(), passwords.clone(), users, gate.clone())
            .max_body_bytes(self.max_body)
            .build()?;
        Ok(Auth {
            gate,
            router,
            sessions,
            issuer,
            passwords,
        })
    }
}
