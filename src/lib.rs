//! # tokengate
//!
//! JWT-based stateless authentication for [axum](https://docs.rs/axum) services whose clients are
//! single-page and mobile apps: keys that cannot be misused, an [`Issuer`] that mints tokens, a
//! [`Verifier`] that checks them with RFC 8725 defaults.
//!
//! ## Quick start
//!
//! ```
//! use tokengate::{Algorithm, Claims, Grant, Issuer, Key, KeyRing, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
//! // One key ring, shared by the issuer and the verifier.
//! let key = Key::from_secret(Algorithm::HS256, b"an-example-secret-of-32-bytes!!!")?;
//! let ring = KeyRing::new(key)?;
//! let issuer = Issuer::builder(ring.clone()).issuer("https://auth.example").audience("api").build()?;
//! let verifier = Verifier::builder(ring).issuer("https://auth.example").audience("api").build()?;
//!
//! let access = issuer.issue_access(&Grant::new("alice").role("admin"))?;
//! let claims: Claims = verifier.verify(&access.token).await?;
//! assert_eq!(claims.sub, "alice");
//! assert!(claims.has_role("admin"));
//! # Ok(()) }
//! ```
//!
//! ## In axum
//!
//! Put a [`Gate`] (the verifier, the realm, the error body format, the role hierarchy) in the
//! router state and take [`Claims`] in a handler; `Option<Claims>` for optional authentication;
//! [`SharedClaims`] on hot routes (the claims the verifier's cache holds, shared instead of
//! copied); [`RequireRole`] / [`RequirePermission`] or a [`RequireLayer`] for role and permission checks.
//! [`Verifier::verify`] remembers the tokens it verified (see [the verified-token
//! cache](Verifier#the-verified-token-cache)): a client's next request with the same token skips
//! the signature check, never the expiry and revocation checks. Every refusal
//! is answered as RFC 6750 says — 401 with a `WWW-Authenticate: Bearer` challenge, 403
//! `insufficient_scope`, 400 `invalid_request` — by one mapping, [`Rejection`]. Tokens are read
//! from the `Authorization` header, never from the query string.
//!
//! ## Browsers: cookie mode
//!
//! Single-page apps should not hold tokens where scripts can read them. With a [`CookieConfig`]
//! ([`GateBuilder::cookies`]) the same tokens travel in `HttpOnly`, `Secure`, `SameSite` cookies
//! with `__Host-` names, the extractors read the access cookie, and every cookie-authenticated
//! unsafe request must echo a CSRF value bound to the session in `X-CSRF-Token` (403
//! `csrf_failed` otherwise); bearer requests need none. The [`AuthRouter`] then also serves
//! `POST /session`, `POST /session/refresh` and `DELETE /session`.
//!
//! ## Security model
//!
//! - **The key decides the algorithm.** Every [`Key`] is bound to one [`Algorithm`]; a token's
//!   `alg` header must equal it. `alg: none` is refused in every spelling, and an RSA public key can
//!   never be used as an HMAC secret.
//! - **Weak material is refused at start-up**: HMAC secrets shorter than the hash (32/48/64 bytes),
//!   RSA under 2048 bits, empty or missing variables — with an error naming the setting.
//! - **Tokens are typed.** Access tokens carry `typ: at+jwt`, refresh tokens `typ: refresh+jwt`; a
//!   verifier expecting one refuses the other.
//! - **Claims are strict.** `exp`, `iss`, `aud` and `sub` are required; `iss`/`aud` match exactly;
//!   `exp`/`nbf`/`iat` are checked with a 30-second leeway; a wrongly typed registered claim or a
//!   duplicate member makes the token invalid; unknown `crit` headers are refused; embedded
//!   `jwk`/`jku`/`x5u` are never trusted or fetched; tokens over 8 KiB are refused unread.
//! - **Application claims cannot grant privileges.** [`Issuer::issue`] refuses a
//!   [`Grant::extra`] member named like a claim tokengate owns (`roles`, `permissions`, `scope`,
//!   `sid`, the registered claims, ...) with [`Error::Config`] naming the member.
//! - **Nothing secret is printed.** `Debug` of keys and issued tokens is redacted; error texts never
//!   contain tokens, claim values or keys.
//! - **Revocation fails closed.** With a revocation hook, [`Verifier::verify`] refuses a token
//!   whose revocation state cannot be known.
//! - **Logout cannot be silently off.** [`Sessions`] and [`AuthRouter`] refuse to build over a
//!   verifier or gate without a revocation hook ([`Error::Config`] naming `revocation`).
//!
//! ## Features
//!
//! | feature | adds |
//! |---|---|
//! | `cli` | the `tokengate` binary (keygen, jwks, mint, inspect, verify, hash-password) and its library module `cli`; install with `cargo install --path . --features cli` |
//! | `testing` | [`testing::TestTokens`](crate::testing): tokens (roles, permissions, extra claims, expired, not yet valid) and a matching `Gate` with a fixed clock, for handler tests without a login |
//! | `redis` | [`RedisStore`]: revocations, refresh-token families and login throttling shared by every instance of a service |
//!
//! ## Layout
//!
//! The root re-exports the everyday types. Items only a store-backend author needs (the values
//! the [`Store`] methods exchange, the backends' defaults) are in [`store`]. Every error is one
//! [`Error`], whose variants group [`TokenError`], [`RequestError`], [`Denied`], [`Unavailable`],
//! [`KeyError`] and [`InternalError`]; [`Rejection`] answers each over HTTP.
//!
//! The crypto is aws-lc (through `aws-lc-rs`, the backend `jsonwebtoken` is built with here),
//! selected at compile time: there is no runtime provider to forget to install.

// Foundation: no HTTP, no tokens.
mod clock;
mod error;
mod requirement;
mod roles;
// Tokens.
mod claims;
mod issue;
mod jws;
mod keys;
mod verify;
// State.
mod password;
mod sessions;
pub mod store;
// HTTP: the only layers that import axum, http or tower.
mod login;
mod web;
// Tools.
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "testing")]
pub mod testing;

pub use claims::{Claims, NoExtra};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{
    BoxError, Denied, Error, InternalError, KeyError, RequestError, SerializeError, TokenError,
    TokenPart, Unavailable,
};
pub use issue::{DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL, Grant, Issued, Issuer, IssuerBuilder};
pub use jws::TokenKind;
pub use keys::{Algorithm, Key, KeyRing, MIN_RSA_BITS, min_secret_len};
pub use login::{
    AppClaims, Auth, AuthBuilder, AuthRouter, AuthRouterBuilder, DEFAULT_MAX_BODY_BYTES,
    MAX_USERNAME_LEN, UserDirectory, UserRecord,
};
pub use password::{
    DEFAULT_ITERATIONS, DEFAULT_MAX_PASSWORD_LEN, DEFAULT_MEMORY_KIB, DEFAULT_PARALLELISM,
    DEFAULT_QUEUE_PER_WORKER, MAX_STORED_MEMORY_KIB, PasswordHash, Passwords, PasswordsBuilder,
    Verification,
};
pub use requirement::{Requirement, is_scope_token};
pub use roles::{RoleHierarchy, RoleHierarchyBuilder};
pub use sessions::{
    DEFAULT_IDLE_TIMEOUT, DEFAULT_SESSION_LIFETIME, Sessions, SessionsBuilder, TokenPair,
};
pub use store::{MemoryStore, MemoryStoreBuilder, Store, ThrottlePolicy};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreBuilder};
pub use verify::{
    DEFAULT_CACHE_CAPACITY, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, MAX_LEEWAY, Revocation,
    RevocationFuture, TokenRef, Verifier, VerifierBuilder,
};
pub use web::{
    ACCESS_COOKIE, AllOf, AnyOf, CSRF_COOKIE, CSRF_HEADER, CookieConfig, CookieConfigBuilder,
    DEFAULT_REALM, DEFAULT_REFRESH_PATH, ErrorBody, Gate, GateBuilder, MIN_CSRF_SECRET_LEN,
    Permission, Permissions, REFRESH_COOKIE, REJECTION_LOG_TARGET, Rejection, RequireLayer,
    RequirePermission, RequireRole, RequireService, Role, Roles, SameSite, SetCookies,
    SharedClaims,
};
#[allow(deprecated)]
pub use web::{RequireRoleLayer, RequireRoleService};

/// Verification that skips a check: [`Verifier::dangerous`] and what it returns. Every use is
/// easy to find in review.
pub mod dangerous {
    pub use crate::verify::DangerousVerifier;
}

/// The attribute the [`UserDirectory`] and [`Store`] traits are written with (re-exported from
/// the `async-trait` crate): put `#[tokengate::async_trait]` on an implementation, no extra
/// dependency needed.
pub use async_trait::async_trait;

/// The JWK types used by [`KeyRing::jwks`] and [`Key::from_jwk`] (re-exported from
/// `jsonwebtoken`).
pub mod jwk {
    pub use jsonwebtoken::jwk::{Jwk, JwkSet};
}

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
