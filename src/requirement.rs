//! What a guard requires: [`Requirement`] (roles or permissions, any or all). Pure policy: no
//! HTTP, no tokens; the role hierarchy it is checked through is in `roles`.

use std::borrow::Cow;
use std::fmt;

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
/// 1. **In the handler signature**: [`RequireRole<R>`](crate::RequireRole) and [`RequirePermission<P>`](crate::RequirePermission) are extractors
///    that verify the token like [`Claims`](crate::Claims) and then check it. The markers are declared in one line
///    with [`role!`](crate::role) and [`permission!`](crate::permission); [`AnyOf`](crate::AnyOf) and [`AllOf`](crate::AllOf)
///    combine them.
/// 2. **For a whole router**: [`RequireLayer`](crate::RequireLayer) (with its service [`RequireService`](crate::RequireService)), for
///    `Router::route_layer`.
/// 3. **As a plain check**: [`Gate::require`](crate::Gate::require) (or [`Requirement::is_met_by`]) on claims the handler
///    already has.
///
/// Roles go through the [`RoleHierarchy`](crate::RoleHierarchy) held by the [`Gate`](crate::Gate) (admin ⊇ editor ⊇ viewer: a token
/// with `admin` passes a guard for `viewer`). Permissions match exactly.
///
/// A request without bearer credentials, or with a bad token, is answered 401 exactly as by the
/// [`Claims`](crate::Claims) extractor; a valid token that does not meet the requirement gets 403
/// `insufficient_scope` with `scope` naming what was required. Guards fail closed: a requirement
/// with no names is never met, and a hierarchy with a cycle is refused by
/// [`RoleHierarchyBuilder::build`](crate::RoleHierarchyBuilder::build).
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

    /// Whether the names are met: with `has` telling whether one name is granted, any or all of
    /// them as the requirement says. Never met without names (fail closed).
    pub(crate) fn is_met(
        &self,
        mut has_role: impl FnMut(&str) -> bool,
        mut has_permission: impl FnMut(&str) -> bool,
    ) -> bool {
        match self.kind {
            Kind::Role => self.check(|n| has_role(n)),
            Kind::Permission => self.check(|n| has_permission(n)),
        }
    }

    /// Whether this is a role requirement (a permission requirement otherwise).
    pub(crate) fn is_role(&self) -> bool {
        self.kind == Kind::Role
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
