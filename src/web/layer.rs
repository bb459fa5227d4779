//! [`RequireLayer`]: a tower layer that guards a whole router with a [`Requirement`] (roles or
//! permissions).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::Request;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use super::gate::Gate;
use super::guard::{Permissions, Roles};
use crate::claims::{Claims, NoExtra};
use crate::error::{Error, RequestError};
use crate::requirement::Requirement;

/// A tower layer that lets through only requests whose bearer token is valid and meets a
/// [`Requirement`]; for `Router::route_layer`. Its service is [`RequireService`].
///
/// The verified `Claims<T>` are stored in the request extensions, where the [`Claims`] extractor
/// (and nested layers) find them without verifying again.
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt as _;
/// use tokengate::{Algorithm, Gate, Key, KeyRing, RequireLayer, Requirement, Verifier};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), tokengate::Error> {
/// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
/// let gate = Gate::new(Verifier::builder(ring).issuer("i").audience("a").build()?);
///
/// let admin = Router::new()
///     .route("/admin/stats", get(|| async { "stats" }))
///     .route_layer(RequireLayer::new(gate.clone(), Requirement::role("admin")));
/// let res = admin.oneshot(Request::get("/admin/stats").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// ```
pub struct RequireLayer<T = NoExtra> {
    gate: Gate,
    requirement: Arc<Requirement>,
    _claims: PhantomData<fn() -> T>,
}

impl RequireLayer {
    /// A layer requiring `requirement` (roles or permissions), checked with `gate`. It stores
    /// `Claims<NoExtra>`; see [`RequireLayer::with_claims`] for the application's claims type.
    pub fn new(gate: Gate, requirement: Requirement) -> Self {
        Self {
            gate,
            requirement: Arc::new(requirement),
            _claims: PhantomData,
        }
    }

    /// A layer requiring the typed role requirement `R` (a marker, [`AnyOf`](crate::AnyOf) or [`AllOf`](crate::AllOf)).
    pub fn roles<R: Roles>(gate: Gate) -> Self {
        Self::new(gate, R::requirement())
    }

    /// A layer requiring the typed permission requirement `P`.
    pub fn permissions<P: Permissions>(gate: Gate) -> Self {
        Self::new(gate, P::requirement())
    }
}

impl<T> RequireLayer<T> {
    /// The same layer, verifying tokens as `Claims<U>` (`U`: the application's extra claims) and
    /// storing those, so that handlers taking `Claims<U>` reuse them.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tokengate::{Algorithm, Claims, Gate, Key, KeyRing, RequireLayer, Requirement, Verifier};
    ///
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Tenant {
    ///     tenant_id: String,
    /// }
    ///
    /// async fn report(claims: Claims<Tenant>) -> String {
    ///     claims.extra.tenant_id
    /// }
    ///
    /// let ring = KeyRing::new(Key::from_secret(Algorithm::HS256, &[7u8; 32])?)?;
    /// let gate = Gate::new(Verifier::builder(ring).issuer("i").audience("a").build()?);
    /// let app: Router = Router::new()
    ///     .route("/report", get(report))
    ///     .route_layer(
    ///         RequireLayer::new(gate.clone(), Requirement::role("auditor")).with_claims::<Tenant>(),
    ///     )
    ///     .with_state(gate);
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    pub fn with_claims<U>(self) -> RequireLayer<U> {
        RequireLayer {
            gate: self.gate,
            requirement: self.requirement,
            _claims: PhantomData,
        }
    }
}

impl<T> Clone for RequireLayer<T> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

impl<T> fmt::Debug for RequireLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, T> Layer<S> for RequireLayer<T> {
    type Service = RequireService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

/// The service of [`RequireLayer`].
pub struct RequireService<S, T = NoExtra> {
    inner: S,
    gate: Gate,
    requirement: Arc<Requirement>,
    _claims: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for RequireService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            gate: self.gate.clone(),
            requirement: Arc::clone(&self.requirement),
            _claims: PhantomData,
        }
    }
}

impl<S, T> fmt::Debug for RequireService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireService")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, B, T> Service<Request<B>> for RequireService<S, T>
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
                    Ok(None) => {
                        return Ok(gate
                            .reject(Error::Request(RequestError::MissingCredentials))
                            .into_response());
                    }
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

/// The former name of [`RequireLayer`], which checks permissions as well as roles.
#[deprecated(note = "renamed RequireLayer: it checks any Requirement, roles or permissions")]
pub type RequireRoleLayer<T = NoExtra> = RequireLayer<T>;

/// The former name of [`RequireService`].
#[deprecated(note = "renamed RequireService")]
pub type RequireRoleService<S, T = NoExtra> = RequireService<S, T>;
