//! A [`TokenPair`] as an HTTP answer: the RFC 6749 §5.1 token response, never cached.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, PRAGMA};
use serde::Serialize;

use crate::sessions::TokenPair;

#[derive(Serialize)]
struct TokenJson<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: &'a str,
}

/// `200 {"access_token", "token_type": "Bearer", "expires_in", "refresh_token"}` with
/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1) — what the ready `/auth`
/// router answers, for a custom login or refresh endpoint. A handler returning
/// `Result<TokenPair, tokengate::Error>` answers refusals through the one mapping.
///
/// ```
/// use axum::response::IntoResponse;
/// use tokengate::{Algorithm, Error, Grant, Issuer, Key, KeyRing, MemoryStore, Sessions, TokenPair, Verifier};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let store = std::sync::Arc::new(MemoryStore::new());
/// let issuer = Issuer::builder(ring.clone()).issuer("i").audience("a").build()?;
/// let verifier = Verifier::builder(ring).issuer("i").audience("a").revocation(store.clone()).build()?;
/// let sessions = Sessions::builder(issuer, verifier, store).build()?;
///
/// async fn custom_login(sessions: &Sessions) -> Result<TokenPair, Error> {
///     // … check the credentials the application's way …
///     sessions.start(Grant::new("alice")).await
/// }
/// let response = custom_login(&sessions).await.into_response();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["cache-control"], "no-store");
///
/// let refused = Err::<TokenPair, _>(Error::InvalidGrant).into_response();
/// assert_eq!(refused.status(), 401);
/// # Ok(()) }
/// ```
impl IntoResponse for TokenPair {
    fn into_response(self) -> Response {
        token_response(&self)
    }
}

/// The token response for `pair` (also used by the `/auth` router).
pub(crate) fn token_response(pair: &TokenPair) -> Response {
    let mut response = Json(TokenJson {
        access_token: &pair.access.token,
        token_type: "Bearer",
        expires_in: pair.expires_in(),
        refresh_token: &pair.refresh.token,
    })
    .into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
