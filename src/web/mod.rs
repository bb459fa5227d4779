//! The HTTP layer: the only part of the crate that knows axum, http and tower.
//!
//! - [`credentials`]: the bearer token and cookies of a request;
//! - [`gate`]: [`Gate`], what every extractor, guard and layer needs;
//! - [`extract`]: the [`Claims`](crate::Claims) and [`SharedClaims`] extractors;
//! - [`guard`]: the typed [`RequireRole`] / [`RequirePermission`] extractors and their markers;
//! - [`layer`]: [`RequireLayer`], a guard for a whole router;
//! - [`cookie`]: cookie transport for browsers, with CSRF protection;
//! - [`rejection`]: the one mapping from an [`Error`](crate::Error) to an HTTP answer;
//! - [`token_pair`]: a [`TokenPair`](crate::TokenPair) as the RFC 6749 token response.

pub(crate) mod cookie;
pub(crate) mod credentials;
mod extract;
pub(crate) mod gate;
mod guard;
mod layer;
pub(crate) mod rejection;
pub(crate) mod token_pair;

pub use cookie::{
    ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, CookieConfig, CookieConfigBuilder,
    DEFAULT_REFRESH_PATH, MIN_CSRF_SECRET_LEN, REFRESH_COOKIE, SameSite, SetCookies,
};
pub use extract::SharedClaims;
pub use gate::{DEFAULT_REALM, Gate, GateBuilder};
pub use guard::{
    AllOf, AnyOf, Permission, Permissions, RequirePermission, RequireRole, Role, Roles,
};
#[allow(deprecated)]
pub use layer::{RequireLayer, RequireRoleLayer, RequireRoleService, RequireService};
pub use rejection::{ErrorBody, REJECTION_LOG_TARGET, Rejection};
