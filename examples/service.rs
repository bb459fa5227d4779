//! The README's service, complete: login, refresh and logout (`/auth`), a role guard, a permission
//! guard and a custom claim. `JWT_SECRET=$(openssl rand -base64 32) cargo run --example service`

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{Router, routing::get};
use tokengate::{Algorithm, AppClaims, Auth, BoxError, Claims, Key, KeyRing, Passwords};
use tokengate::{RequirePermission, RequireRole, UserDirectory, UserRecord};

tokengate::role!(Admin = "admin");
tokengate::permission!(ReportsRead = "reports:read");

/// The application's own claim, in every token of the user.
#[derive(Clone, serde::Deserialize)]
struct Tenant {
    tenant_id: String,
}

/// The users (a real service reads its database here): username → (record, tenant).
struct Users(HashMap<String, (UserRecord, String)>);

#[tokengate::async_trait]
impl UserDirectory for Users {
    async fn find_by_username(&self, name: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok(self.0.get(name).map(|(user, _)| user.clone()))
    }
    async fn find_by_subject(&self, sub: &str) -> Result<Option<UserRecord>, BoxError> {
        Ok(self
            .0
            .values()
            .find(|(u, _)| u.subject == sub)
            .map(|(u, _)| u.clone()))
    }
    async fn claims(&self, user: &UserRecord) -> Result<AppClaims, BoxError> {
        let tenant = self.0.values().find(|(u, _)| u.subject == user.subject);
        Ok(tenant
            .map(|(_, t)| ("tenant_id".to_owned(), t.as_str().into()))
            .into_iter()
            .collect())
    }
}

async fn me(claims: Claims<Tenant>) -> String {
    format!("{} of {}", claims.sub, claims.extra.tenant_id)
}

async fn stats(_: RequireRole<Admin>) -> &'static str {
    "admins only"
}

async fn reports(_: RequirePermission<ReportsRead>) -> &'static str {
    "reports"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let passwords = Passwords::builder().build()?;
    let alice = UserRecord {
        subject: "u-1".into(),
        password_hash: passwords.hash("alice-password").await?.into_string(),
        roles: vec!["admin".into()],
        permissions: vec!["reports:read".into()],
        disabled: false,
    };
    let users = Users(HashMap::from([("alice".into(), (alice, "acme".into()))]));

    let auth = Auth::builder(KeyRing::new(Key::from_secret_env(
        Algorithm::HS256,
        "JWT_SECRET",
    )?)?)
    .issuer("https://auth.example")
    .audience("api")
    .users(Arc::new(users))
    .passwords(passwords)
    .build()?;
    let app = Router::new()
        .route("/me", get(me))
        .route("/admin/stats", get(stats))
        .route("/reports", get(reports))
        .nest("/auth", auth.router())
        .with_state(auth.gate());

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
