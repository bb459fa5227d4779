//! [`RoleHierarchy`]: which roles include which, and checking a [`Requirement`] through it.

use std::collections::{HashMap, HashSet};

use crate::error::Error;
use crate::requirement::{Requirement, is_scope_token};

/// Which roles include which: with `admin ⊇ editor ⊇ viewer`, a token with `admin` meets a
/// requirement for `editor` or `viewer`. Stored in the [`Gate`](crate::Gate) ([`GateBuilder::roles`](crate::GateBuilder::roles)).
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
/// assert!(matches!(cycle, Err(Error::Config { .. })));
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
                    return Err(Error::config(
                        "role hierarchy",
                        format!(
                            "role name {name:?} is empty or has a space, quote, backslash or non-ASCII character"
                        ),
                    ));
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
            return Err(Error::config(
                "role hierarchy",
                format!("cycle through {} -> {child}", path.join(" -> ")),
            ));
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

impl Requirement {
    /// Whether a token granting `roles` and `permissions` meets the requirement, applying
    /// `hierarchy` to roles. [`Requirement::is_met_by`] asks it of a token's claims.
    pub(crate) fn is_met_by_grants(
        &self,
        hierarchy: &RoleHierarchy,
        roles: &[String],
        permissions: &[String],
    ) -> bool {
        self.is_met(
            |name| hierarchy.grants(roles, name),
            |name| permissions.iter().any(|p| p == name),
        )
    }

    /// Whether a list of granted roles meets a role requirement (always false for a permission
    /// requirement).
    #[must_use]
    pub fn is_met_by_roles(&self, hierarchy: &RoleHierarchy, granted: &[String]) -> bool {
        self.is_role() && self.is_met(|name| hierarchy.grants(granted, name), |_| false)
    }
}
