//! axum extractors: a request's bearer token, verified, as [`Claims<T>`] or [`SharedClaims<T>`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use super::gate::Gate;
use super::rejection::Rejection;
use crate::claims::{Claims, NoExtra};
use crate::error::{Error, RequestError};

impl<S, T> FromRequestParts<S> for Claims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <SharedClaims<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(SharedClaims::into_owned)
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let shared = shared_claims::<S, T>(parts, state).await?;
        Ok(shared.map(SharedClaims::into_owned))
    }
}

/// The verified claims of a request, shared rather than copied: [`Claims<T>`] as an extractor
/// hands each handler its own copy of the claims; this hands it the claims the verifier's cache
/// holds for the token (see [`Verifier::verify_shared`](crate::Verifier::verify_shared)), so a request with a token seen before
/// costs no allocation for them. Same checks, same rejections, same `Option` form as
/// [`Claims<T>`]; reads like it through [`Deref`], serializes like it.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use tokengate::{Gate, SharedClaims};
///
/// async fn me(claims: SharedClaims) -> Json<SharedClaims> {
///     assert!(!claims.sub.is_empty());
///     Json(claims)
/// }
/// let app: Router<Gate> = Router::new().route("/me", get(me));
/// ```
pub struct SharedClaims<T = NoExtra>(Arc<Claims<T>>);

impl<T> SharedClaims<T> {
    /// The shared claims.
    #[must_use]
    pub fn into_inner(self) -> Arc<Claims<T>> {
        self.0
    }

    /// The claims as an owned value: moved out when nothing else shares them, else copied.
    #[must_use]
    pub fn into_owned(self) -> Claims<T>
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<T> Clone for SharedClaims<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedClaims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClaims").field(&*self.0).finish()
    }
}

impl<T> Deref for SharedClaims<T> {
    type Target = Claims<T>;
    fn deref(&self) -> &Claims<T> {
        &self.0
    }
}

impl<T> From<Arc<Claims<T>>> for SharedClaims<T> {
    fn from(claims: Arc<Claims<T>>) -> Self {
        Self(claims)
    }
}

impl<T: Serialize> Serialize for SharedClaims<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Claims a layer (`RequireLayer`) already verified, or the request's token verified now.
async fn shared_claims<S, T>(parts: &Parts, state: &S) -> Result<Option<SharedClaims<T>>, Rejection>
where
    Gate: FromRef<S>,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    if let Some(claims) = parts.extensions.get::<Claims<T>>() {
        return Ok(Some(SharedClaims(Arc::new(claims.clone()))));
    }
    let claims = Gate::from_ref(state)
        .authenticate_shared(&parts.method, &parts.headers)
        .await?;
    Ok(claims.map(SharedClaims))
}

impl<S, T> FromRequestParts<S> for SharedClaims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        shared_claims(parts, state).await?.ok_or_else(|| {
            Gate::from_ref(state).reject(Error::Request(RequestError::MissingCredentials))
        })
    }
}

impl<S, T> OptionalFromRequestParts<S> for SharedClaims<T>
where
    Gate: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        shared_claims(parts, state).await
    }
}
