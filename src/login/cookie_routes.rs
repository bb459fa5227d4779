//! The cookie-mode routes of the `/auth` router: `POST /session`, `POST /session/refresh`,
//! `DELETE /session`. Present when the router's [`Gate`](crate::Gate) has a
//! [`CookieConfig`]; documented on [`AuthRouter`].

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode};
use serde::Serialize;

use super::{AuthRouter, LOG_TARGET, Media, media};
use crate::claims::{Claims, NoExtra};
use crate::error::{Error, RequestError};
use crate::sessions::TokenPair;
use crate::web::cookie::CookieConfig;
use crate::web::credentials::read_cookie;

/// The body of a successful cookie login or refresh: no token, only when the access cookie
/// expires.
#[derive(Serialize)]
struct SessionJson {
    token_type: &'static str,
    expires_in: i64,
}

/// The router's cookie configuration; the routes are only mounted when there is one.
fn config(auth: &AuthRouter) -> Result<CookieConfig, Error> {
    auth.inner
        .gate
        .cookies()
        .cloned()
        .ok_or_else(|| Error::config("cookies", "the gate has none"))
}

/// 200, the session's cookies, and `{"token_type":"cookie","expires_in":…}`.
fn session_response(cookies: &CookieConfig, pair: &TokenPair) -> Result<Response, Error> {
    let set = cookies.set(pair)?;
    Ok((
        set,
        Json(SessionJson {
            token_type: "cookie",
            expires_in: pair.expires_in(),
        }),
    )
        .into_response())
}

/// Adds the headers that delete every cookie to `response`.
fn cleared(cookies: &CookieConfig, response: Response) -> Response {
    (cookies.clear(), response).into_response()
}

/// `POST /session`: a JSON login (same credentials check and throttling as `POST /login`) whose
/// tokens are set as cookies.
pub(super) async fn create(State(auth): State<AuthRouter>, request: Request) -> Response {
    let result = async {
        let cookies = config(&auth)?;
        // JSON only: a cross-site HTML form cannot send it, so no page can log a visitor into
        // another account ("login CSRF") without a CORS preflight this router never grants.
        if media(request.headers()) != Media::Json {
            return Err(Error::Request(RequestError::UnsupportedMediaType(
                "send the credentials as application/json",
            )));
        }
        let pair = auth.log_in(request).await?;
        session_response(&cookies, &pair)
    }
    .await;
    result.unwrap_or_else(|error| auth.answer(error))
}

/// `POST /session/refresh`: rotates the refresh cookie's token; needs the CSRF header.
pub(super) async fn refresh(
    State(auth): State<AuthRouter>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let cookies = match config(&auth) {
        Ok(c) => c,
        Err(error) => return auth.answer(error),
    };
    let token = match read_cookie(&headers, cookies.refresh_name()) {
        Ok(Some(token)) => token,
        Ok(None) => {
            tracing::info!(target: LOG_TARGET, "cookie refresh refused: no refresh cookie");
            return cleared(&cookies, auth.answer(Error::InvalidGrant));
        }
        Err(error) => return auth.answer(error),
    };
    // The refresh cookie authenticates this unsafe request: the CSRF header must carry the value
    // of the refresh token's session, checked before the token is spent.
    let check =
        |claims: &Claims<NoExtra>| cookies.check_csrf(&method, &headers, claims.sid.as_deref());
    match auth.rotate(token, check).await {
        Ok(pair) => session_response(&cookies, &pair).unwrap_or_else(|e| auth.answer(e)),
        // A dead refresh token: the cookies are useless, delete them.
        Err(Error::InvalidGrant) => cleared(&cookies, auth.answer(Error::InvalidGrant)),
        Err(error) => auth.answer(error),
    }
}

/// `DELETE /session`: logs out the access cookie's (or bearer token's) session and deletes every
/// cookie.
pub(super) async fn delete(
    State(auth): State<AuthRouter>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let cookies = match config(&auth) {
        Ok(c) => c,
        Err(error) => return auth.answer(error),
    };
    let gate = &auth.inner.gate;
    match gate
        .authenticate_request::<NoExtra>(&method, &headers)
        .await
    {
        Ok(Some(claims)) => match auth.inner.sessions.logout(&claims).await {
            Ok(()) => {
                tracing::info!(target: LOG_TARGET, sub = %claims.sub, "logged out (cookie session)");
                cleared(&cookies, StatusCode::NO_CONTENT.into_response())
            }
            Err(e) => auth.answer(e),
        },
        // Nothing to revoke (no cookie left, e.g. the access cookie expired): still delete them.
        Ok(None) => cleared(&cookies, StatusCode::NO_CONTENT.into_response()),
        Err(rejection) => {
            // A dead token: delete the cookies along with the refusal. A failed CSRF check or a
            // malformed request leaves them: that request may not come from the user.
            let dead = rejection.error().is_token_error();
            let r = rejection.into_response();
            if dead { cleared(&cookies, r) } else { r }
        }
    }
}

/// 405 for `/session` (which, unlike the other routes, also takes `DELETE`).
pub(super) async fn method_not_allowed(State(auth): State<AuthRouter>) -> Response {
    auth.answer(Error::Request(RequestError::MethodNotAllowed {
        allow: "POST, DELETE",
    }))
}
