//! Typed role and permission guards: the [`role!`](crate::role) / [`permission!`](crate::permission)
//! markers and the [`RequireRole`] / [`RequirePermission`] extractors.
//!
//! The overview is on [`Requirement`] (this module is private, its items are re-exported).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::gate::Gate;
use super::rejection::Rejection;
use crate::claims::{Claims, NoExtra};
use crate::error::{Denied, Error};
use crate::requirement::Requirement;
use crate::roles::RoleHierarchy;

/// A role marker type for [`RequireRole`]. Declare one with [`role!`](crate::role).
pub trait Role: Send + Sync + 'static {
    /// The role's name in tokens.
    const NAME: &'static str;
}

/// A permission marker type for [`RequirePermission`]. Declare one with
/// [`permission!`](crate::permission).
pub trait Permission: Send + Sync + 'static {
    /// The permission's name in tokens (`permissions` array or `scope` string).
    const NAME: &'static str;
}

/// Declares a role marker type: `tokengate::role!(pub Admin = "admin");`.
///
/// The name is checked at compile time with [`is_scope_token`](crate::is_scope_token). Doc
/// comments and attributes may precede the visibility.
///
/// ```
/// tokengate::role!(/// Administrators.
///     pub Admin = "admin");
/// use tokengate::Role;
/// assert_eq!(Admin::NAME, "admin");
/// ```
#[macro_export]
macro_rules! role {
    ($(#[$meta:meta])* $vis:vis $ty:ident = $name:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        $vis struct $ty;
        impl $crate::Role for $ty {
            const NAME: &'static str = $name;
        }
        const _: () = assert!($crate::is_scope_token($name), concat!("invalid role name: ", $name));
    };
}

/// Declares a permission marker type: `tokengate::permission!(pub DraftsWrite = "drafts:write");`.
///
/// ```
/// tokengate::permission!(DraftsWrite = "drafts:write");
/// use tokengate::Permission;
/// assert_eq!(DraftsWrite::NAME, "drafts:write");
/// ```
#[macro_export]
macro_rules! permission {
    ($(#[$meta:meta])* $vis:vis $ty:ident = $name:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        $vis struct $ty;
        impl $crate::Permission for $ty {
            const NAME: &'static str = $name;
        }
        const _: () = assert!($crate::is_scope_token($name), concat!("invalid permission name: ", $name));
    };
}

/// "Any of these": `RequireRole<AnyOf<(Editor, Admin)>>` (tuples of 2 to 6 markers).
pub struct AnyOf<T>(PhantomData<fn() -> T>);

/// "All of these": `RequirePermission<AllOf<(DraftsRead, DraftsWrite)>>` (tuples of 2 to 6
/// markers).
pub struct AllOf<T>(PhantomData<fn() -> T>);

impl<T> fmt::Debug for AnyOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyOf")
    }
}

impl<T> fmt::Debug for AllOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AllOf")
    }
}

/// A role requirement known from types: a [`Role`] marker, or [`AnyOf`] / [`AllOf`] of markers.
pub trait Roles: Send + Sync + 'static {
    /// Whether the `granted` roles meet it, through `hierarchy`.
    fn is_met(hierarchy: &RoleHierarchy, granted: &[String]) -> bool;
    /// The same requirement as a value (for the 403 answer and for layers).
    fn requirement() -> Requirement;
}

/// A permission requirement known from types: a [`Permission`] marker, or [`AnyOf`] / [`AllOf`]
/// of markers.
pub trait Permissions: Send + Sync + 'static {
    /// Whether the `granted` permissions meet it.
    fn is_met(granted: &[String]) -> bool;
    /// The same requirement as a value (for the 403 answer and for layers).
    fn requirement() -> Requirement;
}

impl<R: Role> Roles for R {
    fn is_met(hierarchy: &RoleHierarchy, granted: &[String]) -> bool {
        hierarchy.grants(granted, R::NAME)
    }
    fn requirement() -> Requirement {
        Requirement::role(R::NAME)
    }
}

impl<P: Permission> Permissions for P {
    fn is_met(granted: &[String]) -> bool {
        granted.iter().any(|g| g == P::NAME)
    }
    fn requirement() -> Requirement {
        Requirement::permission(P::NAME)
    }
}

macro_rules! tuples {
    ($($m:ident),+) => {
        impl<$($m: Role),+> Roles for AnyOf<($($m,)+)> {
            fn is_met(hierarchy: &RoleHierarchy, granted: &[String]) -> bool {
                $(hierarchy.grants(granted, $m::NAME))||+
            }
            fn requirement() -> Requirement {
                Requirement::any_role([$($m::NAME),+])
            }
        }
        impl<$($m: Role),+> Roles for AllOf<($($m,)+)> {
            fn is_met(hierarchy: &RoleHierarchy, granted: &[String]) -> bool {
                $(hierarchy.grants(granted, $m::NAME))&&+
            }
            fn requirement() -> Requirement {
                Requirement::all_roles([$($m::NAME),+])
            }
        }
        impl<$($m: Permission),+> Permissions for AnyOf<($($m,)+)> {
            fn is_met(granted: &[String]) -> bool {
                $(granted.iter().any(|g| g == $m::NAME))||+
            }
            fn requirement() -> Requirement {
                Requirement::any_permission([$($m::NAME),+])
            }
        }
        impl<$($m: Permission),+> Permissions for AllOf<($($m,)+)> {
            fn is_met(granted: &[String]) -> bool {
                $(granted.iter().any(|g| g == $m::NAME))&&+
            }
            fn requirement() -> Requirement {
                Requirement::all_permissions([$($m::NAME),+])
            }
        }
    };
}

tuples!(A, B);
tuples!(A, B, C);
tuples!(A, B, C, D);
tuples!(A, B, C, D, E);
tuples!(A, B, C, D, E, F);

/// Extractor: the verified claims of a token holding the role(s) `R` (through the hierarchy).
///
/// `R` is a [`role!`](crate::role) marker, or [`AnyOf`] / [`AllOf`] of markers. No or a bad
/// token: 401 as for [`Claims`]; a valid token without the role: 403 `insufficient_scope`.
/// Dereferences to the claims.
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode, header::AUTHORIZATION};
/// use tower::ServiceExt as _;
/// use tokengate::{Algorithm, AnyOf, Gate, Grant, Issuer, Key, KeyRing, RequireRole, Verifier};
/// tokengate::role!(Admin = "admin");
/// tokengate::role!(Editor = "editor");
///
/// async fn stats(admin: RequireRole<Admin>) -> String {
///     format!("hello {}", admin.sub)
/// }
/// async fn drafts(_: RequireRole<AnyOf<(Editor, Admin)>>) {}
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let issuer = Issuer::builder(ring.clone()).issuer("i").audience("a").build()?;
/// let gate = Gate::new(Verifier::builder(ring).issuer("i").audience("a").build()?);
/// let app = Router::new().route("/stats", get(stats)).route("/drafts", get(drafts)).with_state(gate);
///
/// let editor = issuer.issue_access(&Grant::new("bob").role("editor"))?.token;
/// let get = |uri| Request::get(uri).header(AUTHORIZATION, format!("Bearer {editor}")).body(Body::empty()).unwrap();
/// assert_eq!(app.clone().oneshot(get("/drafts")).await.unwrap().status(), StatusCode::OK);
/// let res = app.oneshot(get("/stats")).await.unwrap();
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// assert_eq!(
///     res.headers()["www-authenticate"],
///     r#"Bearer realm="api", error="insufficient_scope", error_description="requires role admin", scope="admin""#
/// );
/// # Ok(()) }
/// ```
pub struct RequireRole<R, T = NoExtra> {
    /// The verified claims.
    pub claims: Claims<T>,
    _role: PhantomData<fn() -> R>,
}

/// Extractor: the verified claims of a token holding the permission(s) `P` (its `permissions`
/// array or `scope` string). As [`RequireRole`] otherwise.
///
/// ```
/// use axum::{Router, routing::post};
/// use tokengate::{AllOf, RequirePermission};
/// tokengate::permission!(DraftsRead = "drafts:read");
/// tokengate::permission!(DraftsWrite = "drafts:write");
///
/// async fn save(_: RequirePermission<AllOf<(DraftsRead, DraftsWrite)>>) {}
/// let app: Router<tokengate::Gate> = Router::new().route("/drafts", post(save));
/// ```
pub struct RequirePermission<P, T = NoExtra> {
    /// The verified claims.
    pub claims: Claims<T>,
    _permission: PhantomData<fn() -> P>,
}

macro_rules! guard_common {
    ($ty:ident) => {
        impl<G, T> $ty<G, T> {
            /// The verified claims.
            #[must_use]
            pub fn into_claims(self) -> Claims<T> {
                self.claims
            }
        }

        impl<G, T> Deref for $ty<G, T> {
            type Target = Claims<T>;
            fn deref(&self) -> &Claims<T> {
                &self.claims
            }
        }

        impl<G, T: fmt::Debug> fmt::Debug for $ty<G, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("claims", &self.claims)
                    .finish()
            }
        }

        impl<G, T: Clone> Clone for $ty<G, T> {
            fn clone(&self) -> Self {
                Self {
                    claims: self.claims.clone(),
                    ..*self
                }
            }
        }
    };
}

guard_common!(RequireRole);
guard_common!(RequirePermission);

impl<S, R, T> FromRequestParts<S> for RequireRole<R, T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    R: Roles,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = <Claims<T> as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let gate = Gate::from_ref(state);
        if R::is_met(gate.roles(), &claims.roles) {
            Ok(Self {
                claims,
                _role: PhantomData,
            })
        } else {
            Err(gate
                .reject(Error::Denied(Denied::InsufficientScope(R::requirement())))
                .with_sub(Some(&claims.sub)))
        }
    }
}

impl<S, P, T> FromRequestParts<S> for RequirePermission<P, T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    P: Permissions,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let claims = <Claims<T> as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if P::is_met(&claims.permissions) {
            Ok(Self {
                claims,
                _permission: PhantomData,
            })
        } else {
            let gate = Gate::from_ref(state);
            Err(gate
                .reject(Error::Denied(Denied::InsufficientScope(P::requirement())))
                .with_sub(Some(&claims.sub)))
        }
    }
}
