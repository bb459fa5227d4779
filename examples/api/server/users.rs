//! The example's users: a SQLite table through sqlx, created on start, with the demo users seeded
//! into an empty database.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use tokengate::async_trait;
use tokengate::{BoxError, PasswordHash, Passwords, UserDirectory, UserRecord};

/// The demo users: (username, password, roles).
pub(crate) const DEMO_USERS: [(&str, &str, &str); 3] = [
    ("alice", "alice-dev-password", "admin"),
    ("bob", "bob-dev-password", "editor"),
    ("carol", "carol-dev-password", "viewer"),
];

/// Users in SQLite.
#[derive(Debug, Clone)]
pub(crate) struct SqliteUsers {
    pool: SqlitePool,
}

impl SqliteUsers {
    /// Connects to `url`, creates the schema, and seeds the demo users when the table is empty.
    ///
    /// # Errors
    /// A one-line message naming `DATABASE_URL` when the database cannot be opened or written.
    pub(crate) async fn open(url: &str, passwords: &Passwords) -> Result<Self, String> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| format!("DATABASE_URL: not a usable SQLite URL: {e}"))?;
        // An in-memory database lives in one connection: keep exactly one, forever.
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .idle_timeout(if memory {
                None
            } else {
                Some(std::time::Duration::from_secs(600))
            })
            .max_lifetime(if memory {
                None
            } else {
                Some(std::time::Duration::from_secs(3600))
            })
            .connect_with(options)
            .await
            .map_err(|e| format!("DATABASE_URL: cannot open the database: {e}"))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS users (
                subject       TEXT PRIMARY KEY,
                username      TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                roles         TEXT NOT NULL DEFAULT '',
                permissions   TEXT NOT NULL DEFAULT '',
                disabled      INTEGER NOT NULL DEFAULT 0
            )",
        )
        .execute(&pool)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot create the users table: {e}"))?;
        let users = Self { pool };
        users.seed(passwords).await?;
        Ok(users)
    }

    async fn seed(&self, passwords: &Passwords) -> Result<(), String> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("DATABASE_URL: cannot read the users table: {e}"))?;
        if count > 0 {
            return Ok(());
        }
        for (username, password, roles) in DEMO_USERS {
            let hash = passwords
                .hash(password)
                .await
                .map_err(|e| format!("seeding demo users: {e}"))?;
            sqlx::query(
                "INSERT INTO users (subject, username, password_hash, roles)
                 VALUES (lower(hex(randomblob(16))), ?, ?, ?)",
            )
            .bind(username)
            .bind(hash.as_str())
            .bind(roles)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("DATABASE_URL: cannot seed the demo users: {e}"))?;
        }
        tracing::info!(
            users = DEMO_USERS.len(),
            "seeded the demo users into an empty database"
        );
        Ok(())
    }

    /// Number of users (for `/admin/stats`).
    pub(crate) async fn count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
    }

    /// Enables or disables a user (used by the tests).
    #[allow(dead_code)] // used by the integration tests that include this module, not by main
    pub(crate) async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET disabled = ? WHERE username = ?")
            .bind(disabled)
            .bind(username)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The stored hash of a user (used by the rehash test).
    #[allow(dead_code)] // used by the integration tests that include this module, not by main
    pub(crate) async fn password_hash(&self, username: &str) -> Result<String, sqlx::Error> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = ?")
            .bind(username)
            .fetch_one(&self.pool)
            .await
    }

    async fn find(&self, column: &str, value: &str) -> Result<Option<UserRecord>, BoxError> {
        // `column` is one of two literals chosen below, never user input.
        let sql = format!(
            "SELECT subject, password_hash, roles, permissions, disabled FROM users WHERE {column} = ?"
        );
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| {
            let words = |s: String| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            UserRecord {
                subject: row.get("subject"),
                password_hash: row.get("password_hash"),
                roles: words(row.get("roles")),
                permissions: words(row.get("permissions")),
                disabled: row.get::<bool, _>("disabled"),
            }
        }))
    }
}

#[async_trait]
impl UserDirectory for SqliteUsers {
    async fn find_by_username(&self, username: &str) -> Result<Option<UserRecord>, BoxError> {
        self.find("username", username).await
    }

    async fn find_by_subject(&self, subject: &str) -> Result<Option<UserRecord>, BoxError> {
        self.find("subject", subject).await
    }

    async fn update_password_hash(
        &self,
        subject: &str,
        hash: &PasswordHash,
    ) -> Result<(), BoxError> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE subject = ?")
            .bind(hash.as_str())
            .bind(subject)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
