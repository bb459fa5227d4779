//! What the login routes need from the application: [`UserDirectory`] and its [`UserRecord`].

use std::fmt;

use async_trait::async_trait;

use crate::error::BoxError;
use crate::password::PasswordHash;

/// What the login router needs to know about one user. `Debug` redacts `password_hash`.
#[derive(Clone)]
pub struct UserRecord {
    /// The user's stable id; becomes the tokens' `sub`.
    pub subject: String,
    /// The argon2id PHC string (as made by [`Passwords::hash`](crate::Passwords::hash)).
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
/// counts as a failed login. Implement it with `#[tokengate::async_trait]`:
///
/// ```
/// use tokengate::{BoxError, PasswordHash, UserDirectory, UserRecord};
///
/// struct NoUsers;
///
/// #[tokengate::async_trait]
/// impl UserDirectory for NoUsers {
///     async fn find_by_username(&self, _: &str) -> Result<Option<UserRecord>, BoxError> {
///         Ok(None)
///     }
///     async fn find_by_subject(&self, _: &str) -> Result<Option<UserRecord>, BoxError> {
///         Ok(None)
///     }
///     async fn update_password_hash(&self, _: &str, _: &PasswordHash) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
/// ```
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
    /// ([`Verification::ValidNeedsRehash`](crate::Verification::ValidNeedsRehash)), with a fresh hash of the same password to store.
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

    /// The application's own claims for `user`'s tokens — the members of a JSON object, such as
    /// `{"tenant_id": "acme"}` — asked at login and again at every refresh, so that a change
    /// reaches the next token. Handlers read them as `Claims<T>` with the application's `T`.
    /// The default adds none.
    ///
    /// A member tokengate writes itself (`sub`, `roles`, `permissions`, `sid`, `exp`, …) is
    /// refused: the login or refresh fails with a 500 and the cause is logged (see
    /// [`Issuer::issue_access`](crate::Issuer::issue_access)).
    ///
    /// # Errors
    /// Whatever the backend reports when it cannot answer (the request gets 503).
    async fn claims(&self, user: &UserRecord) -> Result<AppClaims, BoxError> {
        let _ = user;
        Ok(AppClaims::new())
    }
}

/// The application's claims a [`UserDirectory`] adds to a user's tokens: JSON members by name.
pub type AppClaims = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

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
