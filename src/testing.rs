//! Test helpers (feature `testing`): tokens for handler tests, without a login.
//!
//! [`TestTokens`] holds a random HS256 key, an [`Issuer`] and a [`Verifier`] that agree on the
//! issuer and audience, and a [`ManualClock`] both read. A handler test mints the token it needs
//! — roles, permissions, application claims, expired, not yet valid — and sends it to a router
//! whose state is [`TestTokens::gate`], the way Spring's `mockJwt()` lets a controller test skip
//! the login. Never enable the feature in production code: the key is throw-away, but the point
//! of a test helper is to mint whatever it is asked for.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode, header::AUTHORIZATION};
//! use tower::ServiceExt as _;
//! use tokengate::{Grant, RequireRole};
//! use tokengate::testing::TestTokens;
//!
//! tokengate::role!(Admin = "admin");
//!
//! async fn stats(admin: RequireRole<Admin>) -> String {
//!     format!("hello {}", admin.sub)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let tokens = TestTokens::new();
//! let app = Router::new().route("/stats", get(stats)).with_state(tokens.gate());
//! let get = |token: String| {
//!     Request::get("/stats").header(AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
//! };
//!
//! let admin = tokens.access(&Grant::new("alice").role("admin"));
//! assert_eq!(app.clone().oneshot(get(admin)).await.unwrap().status(), StatusCode::OK);
//! let viewer = tokens.access(&Grant::new("bob").role("viewer"));
//! assert_eq!(app.clone().oneshot(get(viewer)).await.unwrap().status(), StatusCode::FORBIDDEN);
//! let expired = tokens.expired(&Grant::new("alice").role("admin"));
//! assert_eq!(app.oneshot(get(expired)).await.unwrap().status(), StatusCode::UNAUTHORIZED);
//! # }
//! ```

use std::time::Duration;

use serde::Serialize;

use crate::clock::ManualClock;
use crate::issue::{Grant, Issuer};
use crate::keys::{Algorithm, Key, KeyRing};
use crate::verify::{MAX_LEEWAY, Verifier};
use crate::web::gate::Gate;

/// The issuer every [`TestTokens`] token carries.
pub const TEST_ISSUER: &str = "https://issuer.test.invalid";
/// The audience every [`TestTokens`] token carries.
pub const TEST_AUDIENCE: &str = "test";
/// The time a [`TestTokens`] clock starts at: 2023-11-14T22:13:20Z.
pub const TEST_NOW: i64 = 1_700_000_000;

/// Mints tokens for tests and hands out a [`Gate`] that accepts them (see the [module
/// docs](self)). Cheap to clone; clones share the key and the clock.
#[derive(Debug, Clone)]
pub struct TestTokens {
    ring: KeyRing,
    clock: ManualClock,
    verifier: Verifier,
}

impl Default for TestTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl TestTokens {
    /// A fresh random HS256 key, issuer [`TEST_ISSUER`], audience [`TEST_AUDIENCE`], and a clock
    /// at [`TEST_NOW`].
    ///
    /// # Panics
    /// Only if the system's random generator fails (as a test would, with a clear message).
    #[must_use]
    #[allow(clippy::expect_used)] // a test helper: a broken random generator ends the test
    pub fn new() -> Self {
        let (key, _) = Key::generate(Algorithm::HS256).expect("random test key");
        let ring = KeyRing::new(key).expect("a ring of one signing key");
        let clock = ManualClock::new(TEST_NOW);
        let verifier = Verifier::builder(ring.clone())
            .issuer(TEST_ISSUER)
            .audience(TEST_AUDIENCE)
            .clock(clock.clone())
            .build()
            .expect("a verifier with issuer and audience");
        Self {
            ring,
            clock,
            verifier,
        }
    }

    /// The clock the verifier reads: move it to test expiry (`tokens.clock().advance(3600)`).
    #[must_use]
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The verifier that accepts these tokens (no revocation hook), to build a [`Gate`] of one's
    /// own (`Gate::builder(tokens.verifier()).roles(..)`).
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        self.verifier.clone()
    }

    /// A [`Gate`] with every default over [`TestTokens::verifier`].
    #[must_use]
    pub fn gate(&self) -> Gate {
        Gate::new(self.verifier())
    }

    /// An access token for `grant`, valid now (its roles, permissions, `extra` claims and ttl
    /// as the grant says).
    #[must_use]
    pub fn access<T: Serialize>(&self, grant: &Grant<T>) -> String {
        self.issue_at(self.clock_now(), grant)
    }

    /// An access token for `grant` that expired an hour ago (beyond any leeway).
    #[must_use]
    pub fn expired<T: Serialize>(&self, grant: &Grant<T>) -> String {
        let back =
            grant.ttl.unwrap_or(Duration::from_secs(3600)) + MAX_LEEWAY + Duration::from_secs(3600);
        self.issue_at(self.clock_now() - secs(back), grant)
    }

    /// An access token for `grant` issued an hour from now: not yet valid.
    #[must_use]
    pub fn not_yet_valid<T: Serialize>(&self, grant: &Grant<T>) -> String {
        self.issue_at(self.clock_now() + secs(MAX_LEEWAY) + 3600, grant)
    }

    fn clock_now(&self) -> i64 {
        crate::clock::Clock::now(&self.clock)
    }

    #[allow(clippy::expect_used)] // a test helper: a grant that cannot be issued ends the test
    fn issue_at<T: Serialize>(&self, now: i64, grant: &Grant<T>) -> String {
        let issuer = Issuer::builder(self.ring.clone())
            .issuer(TEST_ISSUER)
            .audience(TEST_AUDIENCE)
            .clock(ManualClock::new(now))
            .build()
            .expect("an issuer with issuer and audience");
        issuer
            .issue_access(grant)
            .expect("a test token for this grant")
            .token
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
