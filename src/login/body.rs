//! Reading a login route's request: the body (JSON or form, size-limited) and the credentials in it
//! or in an `Authorization: Basic` header.

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::LengthLimitError;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::MAX_USERNAME_LEN;
use crate::error::{Error, RequestError};

/// Reads the whole body, refusing more than `limit` bytes (413) — by its `Content-Length` before
/// reading, by counting while reading otherwise. The copy this returns is wiped on drop.
pub(super) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let too_large = || Error::Request(RequestError::BodyTooLarge { max: limit });
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(Zeroizing::new(Vec::from(bytes))),
        Err(e) => {
            let limit_hit =
                std::error::Error::source(&e).is_some_and(|s| s.is::<LengthLimitError>());
            Err(if limit_hit {
                too_large()
            } else {
                bad("request body could not be read")
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    Json,
    Form,
    Absent,
    Other,
}

pub(super) fn media(headers: &HeaderMap) -> Media {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Media::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Media::Other;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Media::Json
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Media::Form
    } else {
        Media::Other
    }
}

/// 400 `invalid_request` for a malformed or incomplete body; the text names what is wrong.
fn bad(what: &'static str) -> Error {
    Error::Request(RequestError::MalformedBody(what))
}

/// The members the routes read; others are ignored. A member given twice is refused.
#[derive(Deserialize, Default)]
struct Fields {
    username: Option<String>,
    password: Option<String>,
    grant_type: Option<String>,
    refresh_token: Option<String>,
}

/// Decodes the body as JSON or a form (by `Content-Type`); an empty body without a content type
/// has no fields.
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<Fields, Error> {
    match media(headers) {
        // Only an object: serde would otherwise also take a JSON array, member by position.
        Media::Json => {
            if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(bad("body must be a JSON object"));
            }
            // The parser's message is not used: it can quote the input (the password).
            serde_json::from_slice(body).map_err(|_| bad("malformed JSON body"))
        }
        Media::Form => serde_urlencoded::from_bytes(body).map_err(|_| bad("malformed form body")),
        Media::Absent if body.is_empty() => Ok(Fields::default()),
        Media::Absent | Media::Other => Err(Error::Request(RequestError::UnsupportedMediaType(
            "use application/json or application/x-www-form-urlencoded",
        ))),
    }
}

fn check_grant_type(fields: &Fields, expected: &str) -> Result<(), Error> {
    match fields.grant_type.as_deref() {
        None => Ok(()),
        Some(g) if g == expected => Ok(()),
        Some(_) => Err(Error::Request(RequestError::UnsupportedGrantType)),
    }
}

pub(super) struct Credentials {
    pub(super) username: String,
    pub(super) password: Zeroizing<String>,
}

/// `Authorization: Basic` credentials, if the request has them.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<Credentials>, Error> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(bad("multiple Authorization headers"));
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        // Another scheme (a stale bearer token, say) is not a login credential: ignored.
        return Ok(None);
    }
    let malformed = || bad("malformed Basic credentials");
    let rest = rest.trim_ascii();
    let decoded = Zeroizing::new(STANDARD.decode(rest).map_err(|_| malformed())?);
    let text = std::str::from_utf8(&decoded).map_err(|_| malformed())?;
    let (username, password) = text.split_once(':').ok_or_else(malformed)?;
    Ok(Some(Credentials {
        username: username.to_owned(),
        password: Zeroizing::new(password.to_owned()),
    }))
}

pub(super) fn login_credentials(
    headers: &HeaderMap,
    body: &[u8],
    max_password: usize,
) -> Result<Credentials, Error> {
    let basic = basic_credentials(headers)?;
    let fields = fields(headers, body)?;
    check_grant_type(&fields, "password")?;
    let creds = match basic {
        Some(creds) => {
            if fields.username.is_some() || fields.password.is_some() {
                return Err(bad(
                    "credentials both in the Authorization header and in the body",
                ));
            }
            creds
        }
        None => {
            if body.is_empty() && media(headers) == Media::Absent {
                return Err(bad("missing credentials"));
            }
            Credentials {
                username: fields.username.ok_or_else(|| bad("missing username"))?,
                password: Zeroizing::new(fields.password.ok_or_else(|| bad("missing password"))?),
            }
        }
    };
    if creds.username.is_empty() {
        return Err(bad("empty username"));
    }
    if creds.username.len() > MAX_USERNAME_LEN {
        return Err(bad("username too long"));
    }
    if creds.password.len() > max_password {
        return Err(bad("password too long"));
    }
    Ok(creds)
}

pub(super) fn refresh_token(headers: &HeaderMap, body: &[u8]) -> Result<Zeroizing<String>, Error> {
    let fields = fields(headers, body)?;
    check_grant_type(&fields, "refresh_token")?;
    match fields.refresh_token {
        Some(t) if !t.is_empty() => Ok(Zeroizing::new(t)),
        Some(_) => Err(bad("empty refresh_token")),
        None => Err(bad("missing refresh_token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn description(e: Error) -> &'static str {
        match e {
            Error::Request(RequestError::MalformedBody(description)) => description,
            _ => "not a malformed body",
        }
    }

    #[test]
    fn basic_credentials_cases() {
        // "alice:pa:ss" — the password may hold a colon.
        let h = headers(&[("authorization", "Basic YWxpY2U6cGE6c3M=")]);
        let c = basic_credentials(&h).unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "pa:ss")
        );
        let h = headers(&[("authorization", "bearer abc")]);
        assert!(basic_credentials(&h).unwrap().is_none());
        for bad in [
            "Basic",
            "Basic !!!",
            "Basic YWxpY2U=", /* no colon */
            "Basic //79",
        ] {
            let h = headers(&[("authorization", bad)]);
            let f = basic_credentials(&h).err().unwrap();
            assert_eq!(description(f), "malformed Basic credentials", "{bad}");
        }
    }

    #[test]
    fn json_errors_never_quote_the_input() {
        let h = headers(&[("content-type", "application/json")]);
        let f = fields(&h, br#"{"username":"a","password":12345678}"#)
            .err()
            .unwrap();
        assert_eq!(description(f), "malformed JSON body");
        let f = fields(&h, br#"["a","b"]"#).err().unwrap();
        assert_eq!(description(f), "body must be a JSON object");
        let f = fields(&h, br#"{"username":"a","username":"b"}"#)
            .err()
            .unwrap();
        assert_eq!(description(f), "malformed JSON body");
    }
}
