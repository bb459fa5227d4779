//! Role and permission guards, three ways, over one [`Requirement`] check.
//!
//! The overview is on [`Requirement`] (this module is private, its items are re-exported).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::Request;
use http::request::Parts;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use crate::extract::Gate;
use crate::rejection::Rejection;
use crate::{Claims, Error, NoExtra};

/// Whether `name` can be named in the `scope` attribute of a challenge (an RFC 6750
/// `scope-token`: printable ASCII except space, `"` and `\`). [`role!`](crate::role) and
/// [`permission!`](crate::permission) check their names with it at compile time.
///
/// ```
/// assert!(tokengate::is_scope_token("drafts:write"));
/// assert!(!tokengate::is_scope_token("two words"));
/// ```
#[must_use]
pub const fn is_scope_token(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x21 || b > 0x7e || b == b'"' || b == b'\\' {
            return false;
        }
        i += 1;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Requirement: the runtime form every guard checks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Role,
    Permission,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Any,
    All,
}

/// What a guard requires: one role or permission, any of several, or all of several.
///
/// A requirement with no names is never met (fail closed).
///
/// ```
/// use tokengate::{Requirement, RoleHierarchy};
/// let editors = Requirement::any_role(["editor", "admin"]);
/// assert_eq!(editors.to_string(), "requires one of the roles editor, admin");
/// assert!(!Requirement::all_roles(Vec::<String>::new()).is_met_by_roles(&RoleHierarchy::default(), &[]));
/// ```
///
/// # Guards, three ways
///
/// 1. **In the handler signature**: [`RequireRole<R>`] and [`RequirePermission<P>`] are extractors
///    that verify the token like [`Claims`] and then check it. The markers are declared in one line
///    with [`role!`](crate::role) and [`permission!`](crate::permission); [`AnyOf`] and [`AllOf`]
///    combine them.
/// 2. **For a whole router**: [`RequireRoleLayer`] (with its service [`RequireRoleService`]), for
///    `Router::route_layer`.
/// 3. **As a plain check**: [`Gate::require`] (or [`Requirement::is_met_by`]) on claims the handler
///    already has.
///
/// Roles go through the [`RoleHierarchy`] held by the [`Gate`] (admin ⊇ editor ⊇ viewer: a token
/// with `admin` passes a guard for `viewer`). Permissions match exactly.
///
/// A request without bearer credentials, or with a bad token, is answered 401 exactly as by the
/// [`Claims`] extractor; a valid token that does not meet the requirement gets 403
/// `insufficient_scope` with `scope` naming what was required. Guards fail closed: a requirement
/// with no names is never met, and a hierarchy with a cycle is refused by
/// [`RoleHierarchyBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    kind: Kind,
    mode: Mode,
    names: Vec<Cow<'static, str>>,
}

impl Requirement {
    fn new<I, S>(kind: Kind, mode: Mode, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        Self {
            kind,
            mode,
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// One role (through the hierarchy).
    pub fn role(name: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Role, Mode::Any, [name])
    }

    /// At least one of these roles (through the hierarchy).
    pub fn any_role<I: IntoIterator<Item = S>, S: Into<Cow<'static, str>>>(names: I) -> Self {
        Self::new(Kind::Role, Mode::Any, names)
    }

    /// Every one of these roles (each through the hierarchy).
    pub fn all_roles<I: IntoIterator<Item = S>, S: Into<Cow<'static, str>>>(names: I) -> Self {
        Self::new(Kind::Role, Mode::All, names)
    }

    /// One permission (the token's `permissions` or `scope`; exact match).
    pub fn permission(name: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Kind::Permission, Mode::Any, [name])
    }

    /// At least one of these permissions.
    pub fn any_permission<I: IntoIterator<Item = S>, S: Into<Cow<'static, str>>>(names: I) -> Self {
        Self::new(Kind::Permission, Mode::Any, names)
    }

    /// Every one of these permissions.
    pub fn all_permissions<I: IntoIterator<Item = S>, S: Into<Cow<'static, str>>>(
        names: I,
    ) -> Self {
        Self::new(Kind::Permission, Mode::All, names)
    }

    /// The required role or permission names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// Whether `claims` meet the requirement, applying `hierarchy` to roles.
    #[must_use]
    pub fn is_met_by<T>(&self, claims: &Claims<T>, hierarchy: &RoleHierarchy) -> bool {
        match self.kind {
            Kind::Role => self.is_met_by_roles(hierarchy, &claims.roles),
            Kind::Permission => self.check(|name| claims.permissions.iter().any(|p| p == name)),
        }
    }

    /// Whether a list of granted roles meets a role requirement (always false for a permission
    /// requirement).
    #[must_use]
    pub fn is_met_by_roles(&self, hierarchy: &RoleHierarchy, granted: &[String]) -> bool {
        self.kind == Kind::Role && self.check(|name| hierarchy.grants(granted, name))
    }

    fn check(&self, mut has: impl FnMut(&str) -> bool) -> bool {
        if self.names.is_empty() {
            return false;
        }
        match self.mode {
            Mode::Any => self.names.iter().any(|n| has(n)),
            Mode::All => self.names.iter().all(|n| has(n)),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = match self.kind {
            Kind::Role => ("role", "roles"),
            Kind::Permission => ("permission", "permissions"),
        };
        let list = self.names.join(", ");
        match (self.mode, self.names.len()) {
            (_, 0) => write!(f, "requires {many} (none configured)"),
            (_, 1) => write!(f, "requires {one} {list}"),
            (Mode::Any, _) => write!(f, "requires one of the {many} {list}"),
            (Mode::All, _) => write!(f, "requires all of the {many} {list}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Role hierarchy.

/// Which roles include which: with `admin ⊇ editor ⊇ viewer`, a token with `admin` meets a
/// requirement for `editor` or `viewer`. Stored in the [`Gate`] ([`GateBuilder::roles`](crate::GateBuilder::roles)).
/// The default hierarchy is empty: every role grants only itself.
///
/// ```
/// use tokengate::{Error, RoleHierarchy};
/// let roles = RoleHierarchy::builder()
///     .role("admin", ["editor"])
///     .role("editor", ["viewer"])
///     .build()?;
/// assert!(roles.grants(&["admin".to_owned()], "viewer"));
/// assert!(!roles.grants(&["viewer".to_owned()], "editor"));
///
/// // A cycle is refused: a guard must never depend on which way a loop is walked.
/// let cycle = RoleHierarchy::builder().role("a", ["b"]).role("b", ["a"]).build();
/// assert!(matches!(cycle, Err(Error::Config(_))));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RoleHierarchy {
    /// Required role → the other roles that include it (transitively).
    included_in: HashMap<String, Vec<String>>,
}

/// Builds a [`RoleHierarchy`].
#[derive(Debug, Default)]
#[must_use]
pub struct RoleHierarchyBuilder {
    includes: Vec<(String, Vec<String>)>,
}

impl RoleHierarchyBuilder {
    /// Declares that `role` includes every role in `includes` (and, transitively, what they
    /// include). Calling it again for the same role adds to the list.
    pub fn role<I, S>(mut self, role: impl Into<String>, includes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.includes
            .push((role.into(), includes.into_iter().map(Into::into).collect()));
        self
    }

    /// Builds the hierarchy.
    ///
    /// # Errors
    /// [`Error::Config`] naming `role hierarchy` when a role name is not a valid scope token
    /// (see [`is_scope_token`]) or the declarations form a cycle (including a role that includes
    /// itself).
    pub fn build(self) -> Result<RoleHierarchy, Error> {
        let mut edges: HashMap<String, Vec<String>> = HashMap::new();
        for (role, includes) in self.includes {
            for name in std::iter::once(&role).chain(&includes) {
                if !is_scope_token(name) {
                    return Err(Error::Config(format!(
                        "role hierarchy: role name {name:?} is empty or has a space, quote, backslash or non-ASCII character"
                    )));
                }
            }
            let entry = edges.entry(role).or_default();
            for included in includes {
                if !entry.contains(&included) {
                    entry.push(included);
                }
            }
        }
        // Walk from every role; meeting a role already on the current path is a cycle.
        let mut included_in: HashMap<String, Vec<String>> = HashMap::new();
        for root in edges.keys() {
            let mut reached = HashSet::new();
            let mut path = vec![root.as_str()];
            walk(&edges, root, &mut path, &mut reached)?;
            for role in reached {
                let holders = included_in.entry(role.to_owned()).or_default();
                holders.push(root.clone());
            }
        }
        for holders in included_in.values_mut() {
            holders.sort();
        }
        Ok(RoleHierarchy { included_in })
    }
}

fn walk<'a>(
    edges: &'a HashMap<String, Vec<String>>,
    role: &'a str,
    path: &mut Vec<&'a str>,
    reached: &mut HashSet<&'a str>,
) -> Result<(), Error> {
    for child in edges.get(role).into_iter().flatten() {
        if path.contains(&child.as_str()) {
            return Err(Error::Config(format!(
                "role hierarchy: cycle through {} -> {child}",
                path.join(" -> ")
            )));
        }
        if reached.insert(child) {
            path.push(child);
            walk(edges, child, path, reached)?;
            path.pop();
        }
    }
    Ok(())
}

impl RoleHierarchy {
    /// Starts building a hierarchy.
    pub fn builder() -> RoleHierarchyBuilder {
        RoleHierarchyBuilder::default()
    }

    /// Whether the `granted` roles (a token's `roles`) include `required`, directly or through the
    /// hierarchy.
    #[must_use]
    pub fn grants(&self, granted: &[String], required: &str) -> bool {
        if granted.iter().any(|g| g == required) {
            return true;
        }
        if self.included_in.is_empty() {
            return false;
        }
        self.included_in
            .get(required)
            .is_some_and(|holders| granted.iter().any(|g| holders.contains(g)))
    }
}

// ---------------------------------------------------------------------------------------------
// Typed markers.

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

// ---------------------------------------------------------------------------------------------
// The plain check.

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
    /// A [`Rejection`] with [`Error::InsufficientScope`] (403) when the requirement is not met.
    pub fn require<T>(
        &self,
        claims: &Claims<T>,
        requirement: &Requirement,
    ) -> Result<(), Rejection> {
        if requirement.is_met_by(claims, self.roles()) {
            Ok(())
        } else {
            Err(self
                .reject(Error::InsufficientScope(requirement.clone()))
                .with_sub(Some(&claims.sub)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Extractors.

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
                .reject(Error::InsufficientScope(R::requirement()))
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
                .reject(Error::InsufficientScope(P::requirement()))
                .with_sub(Some(&claims.sub)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layer.

/// A tower layer that lets through only requests whose bearer token is valid and meets a
/// [`Requirement`]; for `Router::route_layer`. Its service is [`RequireRoleService`].
///
/// The verified `Claims<T>` are stored in the request extensions, where the [`Claims`] extractor
/// (and nested layers) find them without verifying again.
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt as _;
/// use tokengate::{Algorithm, Gate, Key, KeyRing, RequireRoleLayer, Requirement, Verifier};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let gate = Gate::new(Verifier::builder(ring).issuer("i").audience("a").build()?);
///
/// let admin = Router::new()
///     .route("/admin/stats", get(|| async { "stats" }))
///     .route_layer(RequireRoleLayer::new(gate.clone(), Requirement::role("admin")));
/// let res = admin.oneshot(Request::get("/admin/stats").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// ```
pub struct RequireRoleLayer<T = NoExtra> {
    gate: Gate,
    requirement: Arc<Requirement>,
    _claims: PhantomData<fn() -> T>,
}

impl RequireRoleLayer {
    /// A layer requiring `requirement` (roles or permissions), checked with `gate`. It stores
    /// `Claims<NoExtra>`; see [`RequireRoleLayer::with_claims`] for the application's claims type.
    pub fn new(gate: Gate, requirement: Requirement) -> Self {
        Self {
            gate,
            requirement: Arc::new(requirement),
            _claims: PhantomData,
        }
    }

    /// A layer requiring the typed role requirement `R` (a marker, [`AnyOf`] or [`AllOf`]).
    pub fn roles<R: Roles>(gate: Gate) -> Self {
        Self::new(gate, R::requirement())
    }

    /// A layer requiring the typed permission requirement `P`.
    pub fn permissions<P: Permissions>(gate: Gate) -> Self {
        Self::new(gate, P::requirement())
    }
}

impl<T> RequireRoleLayer<T> {
    /// The same layer, verifying tokens as `Claims<U>` and storing those, so that handlers taking
    /// `Claims<U>` reuse them: `RequireRoleLayer::new(gate, req).with_claims::<MyClaims>()`.
    pub fn with_claims<U>(self) -> RequireRoleLayer<U> {
        RequireRoleLayer {
            gate: self.gate,
            requirement: self.requirement,
            _claims: PhantomData,
        }
    }
}

impl<T> Clone for RequireRoleLayer<T> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RequireRoleLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRoleLayer")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, T> Layer<S> for RequireRoleLayer<T> {
    type Service = RequireRoleService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRoleService {
            inner,
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

/// The service of [`RequireRoleLayer`].
pub struct RequireRoleService<S, T = NoExtra> {
    inner: S,
    gate: Gate,
    requirement: Arc<Requirement>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for RequireRoleService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

impl<S, T> fmt::Debug for RequireRoleService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRoleService")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, B, T> Service<Request<B>> for RequireRoleService<S, T>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready; call the instance `poll_ready` was called on.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        let requirement = Arc::clone(&self.requirement);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let claims = match parts.extensions.remove::<Claims<T>>() {
                Some(claims) => claims,
                None => match gate
                    .authenticate_request::<T>(&parts.method, &parts.headers)
                    .await
                {
                    Ok(Some(claims)) => claims,
                    Ok(None) => return Ok(gate.reject(Error::MissingCredentials).into_response()),
                    Err(rejection) => return Ok(rejection.into_response()),
                },
            };
            if let Err(rejection) = gate.require(&claims, &requirement) {
                return Ok(rejection.into_response());
            }
            parts.extensions.insert(claims);
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}
