//! The cookie-mode routes of the `/auth` router: `POST /session`, `POST /session/refresh`,
//! `DELETE /session`. Present when the router's [`Gate`](crate::Gate) has a
//! [`CookieConfig`]; documented on [`AuthRouter`].

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;

use super::{AuthRouter, Failure, LOG_TARGET, Media, error_json, media, no_store};
use crate::claims::NoExtra;
use crate::error::Error;
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
fn config(auth: &AuthRouter) -> Result<CookieConfig, Failure> {
    auth.inner
        .gate
        .cookies()
        .cloned()
        .ok_or_else(|| Failure::Server(Error::Config("cookies: the gate has none".into())))
}

/// 200, the session's cookies, and `{"token_type":"cookie","expires_in":…}`.
fn session_response(cookies: &CookieConfig, pair: &TokenPair) -> Result<Response, Failure> {
    let set = cookies.set(pair).map_err(Failure::Server)?;
    let mut r = (
        set,
        Json(SessionJson {
            token_type: "cookie",
            expires_in: pair.expires_in(),
        }),
    )
        .into_response();
    no_store(r.headers_mut());
    Ok(r)
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
            return Err(Failure::Request {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code: "invalid_request",
                description: "send the credentials as application/json",
            });
        }
        let pair = auth.log_in(request).await?;
        session_response(&cookies, &pair)
    }
    .await;
    result.unwrap_or_else(|failure| auth.answer(failure))
}

/// `POST /session/refresh`: rotates the refresh cookie's token; needs the CSRF header.
pub(super) async fn refresh(
    State(auth): State<AuthRouter>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let cookies = match config(&auth) {
        Ok(c) => c,
        Err(failure) => return auth.answer(failure),
    };
    let token = match read_cookie(&headers, cookies.refresh_name()) {
        Ok(Some(token)) => token,
        Ok(None) => {
            tracing::info!(target: LOG_TARGET, "cookie refresh refused: no refresh cookie");
            return cleared(&cookies, auth.answer(Failure::InvalidGrant));
        }
        Err(error) => return auth.answer(Failure::Server(error)),
    };
    // The refresh cookie authenticates this unsafe request: the CSRF header must carry the value
    // of the refresh token's session, checked before the token is spent.
    let check = |claims: &crate::Claims<NoExtra>| {
        cookies.check_csrf(&method, &headers, claims.sid.as_deref())
    };
    match auth.rotate(token, check).await {
        Ok(pair) => session_response(&cookies, &pair).unwrap_or_else(|f| auth.answer(f)),
        // A dead refresh token: the cookies are useless, delete them.
        Err(Failure::InvalidGrant) => cleared(&cookies, auth.answer(Failure::InvalidGrant)),
        Err(failure) => auth.answer(failure),
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
        Err(failure) => return auth.answer(failure),
    };
    let gate = &auth.inner.gate;
    match gate
        .authenticate_request::<NoExtra>(&method, &headers)
        .await
    {
        Ok(Some(claims)) => match auth.inner.sessions.logout(&claims).await {
            Ok(()) => {
                tracing::info!(target: LOG_TARGET, sub = %claims.sub, "logged out (cookie session)");
                let mut r = cleared(&cookies, StatusCode::NO_CONTENT.into_response());
                no_store(r.headers_mut());
                r
            }
            Err(e) => auth.answer(Failure::Server(e)),
        },
        // Nothing to revoke (no cookie left, e.g. the access cookie expired): still delete them.
        Ok(None) => {
            let mut r = cleared(&cookies, StatusCode::NO_CONTENT.into_response());
            no_store(r.headers_mut());
            r
        }
        Err(rejection) => {
            // A dead token: delete the cookies along with the refusal. A failed CSRF check or a
            // malformed request leaves them: that request may not come from the user.
            let dead = rejection.error().is_token_error();
            let mut r = rejection.into_response();
            no_store(r.headers_mut());
            if dead { cleared(&cookies, r) } else { r }
        }
    }
}

/// 405 for `/session` (which, unlike the other routes, also takes `DELETE`).
pub(super) async fn method_not_allowed() -> Response {
    let mut r = error_json(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "use POST or DELETE",
    );
    r.headers_mut().insert(
        http::header::ALLOW,
        HeaderValue::from_static("POST, DELETE"),
    );
    no_store(r.headers_mut());
    r
}
