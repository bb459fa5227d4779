//! Reading credentials from a request: the bearer token (RFC 6750 §2.1), cookies, and what of a
//! refused token may be logged.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::Cookie;
use http::{HeaderMap, header};

use crate::error::{Error, RequestError, TokenError, Unavailable};

/// Finds the bearer token in `headers`; `Ok(None)` when there are no bearer credentials.
pub(crate) fn bearer_token<'h>(
    headers: &'h HeaderMap,
    cookie: Option<&str>,
) -> Result<Option<&'h str>, Error> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::Request(RequestError::Malformed(
            "multiple Authorization headers",
        )));
    }
    // `Bearer` (any case), one space, then the token (RFC 6750 §2.1). A value that does not start
    // with the `Bearer` scheme is another scheme: no bearer credentials.
    let bytes = first.as_bytes();
    let scheme_end = bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
    if !bytes[..scheme_end].eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let rest = &bytes[scheme_end..];
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    let token = &rest[start..];
    if token.is_empty() {
        return Err(Error::Request(RequestError::Malformed(
            "empty bearer token",
        )));
    }
    if !is_b64token(token) {
        return Err(Error::Request(RequestError::Malformed(
            "malformed bearer token",
        )));
    }
    // A b64token is ASCII, so this cannot fail.
    let token = std::str::from_utf8(token)
        .map_err(|_| Error::Request(RequestError::Malformed("malformed bearer token")))?;
    if let Some(name) = cookie
        && has_cookie(headers, name)
    {
        return Err(Error::Request(RequestError::Malformed(
            "token in both the Authorization header and a cookie",
        )));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|b| **b == b'=').count();
    let body = &token[..token.len() - padding];
    // One pass without early exit, which the compiler vectorises: tokens are hundreds of bytes.
    !body.is_empty()
        && body.iter().fold(true, |ok, &b| {
            ok & (b.is_ascii_alphanumeric() | matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
        })
}

/// Whether any `Cookie` header holds a non-empty cookie called `name`.
fn has_cookie(headers: &HeaderMap, name: &str) -> bool {
    cookie_pairs(headers).any(|c| c.name() == name && !c.value().is_empty())
}

/// For the log line of a refused token: its `kid` when the header is readable, and its `sub` when
/// the error shows the signature was verified (so the value is authentic).
pub(crate) fn peek(token: &str, error: &Error) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Kid {
        kid: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Sub {
        sub: Option<String>,
    }
    if matches!(
        error,
        Error::Token(TokenError::TooLarge { .. } | TokenError::Malformed)
    ) {
        return (None, None);
    }
    let mut segments = token.split('.');
    let decode = |s: Option<&str>| s.and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let kid = decode(segments.next())
        .and_then(|h| serde_json::from_slice::<Kid>(&h).ok())
        .and_then(|h| h.kid);
    let signed = matches!(
        error,
        Error::Token(
            TokenError::Expired
                | TokenError::NotYetValid
                | TokenError::IssuedInFuture
                | TokenError::InvalidIssuer
                | TokenError::InvalidAudience
                | TokenError::Revoked
        ) | Error::Unavailable(Unavailable::Revocation(_))
    );
    let sub = if signed {
        decode(segments.next())
            .and_then(|p| serde_json::from_slice::<Sub>(&p).ok())
            .and_then(|p| p.sub)
    } else {
        None
    };
    (kid, sub)
}

/// The value of the one non-empty cookie called `name`, `Ok(None)` when there is none.
///
/// # Errors
/// [`RequestError::Malformed`](crate::RequestError::Malformed) when several non-empty cookies have that name (a planted duplicate).
pub(crate) fn read_cookie<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, Error> {
    let mut found = None;
    for value in cookie_pairs(headers)
        .filter(|c| c.name_raw() == Some(name))
        .filter_map(|c| c.value_raw())
        .filter(|v| !v.is_empty())
    {
        if found.is_some() {
            return Err(Error::Request(RequestError::Malformed(
                "cookie sent more than once",
            )));
        }
        found = Some(value);
    }
    Ok(found)
}

/// Every `name=value` pair of every `Cookie` header, parsed by the `cookie` crate; pairs it
/// cannot parse are skipped (a browser sends none).
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
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

    #[test]
    fn bearer_token_cases() {
        let ok = |v: &str| {
            bearer_token(&headers(&[("authorization", v)]), None).map(|t| t.map(str::to_owned))
        };
        assert_eq!(
            ok("Bearer abc.def.ghi").unwrap().as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(ok("bearer abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(ok("BEARER abc==").unwrap().as_deref(), Some("abc=="));
        assert_eq!(ok("Bearer   abc").unwrap().as_deref(), Some("abc"));
        assert_eq!(ok("Basic dXNlcjpwYXNz").unwrap(), None);
        assert_eq!(ok("Digest x=1").unwrap(), None);
        for (v, msg) in [
            ("Bearer", "empty bearer token"),
            ("Bearer ", "empty bearer token"),
            ("bearer    ", "empty bearer token"),
            ("Bearer a b", "malformed bearer token"),
            ("Bearer a\"b", "malformed bearer token"),
            ("Bearer =", "malformed bearer token"),
            ("Bearer a=b", "malformed bearer token"),
        ] {
            assert!(
                matches!(ok(v), Err(Error::Request(RequestError::Malformed(m))) if m == msg),
                "{v}: {:?}",
                ok(v)
            );
        }
        assert_eq!(bearer_token(&HeaderMap::new(), None).unwrap(), None);
        let two = headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]);
        assert!(matches!(
            bearer_token(&two, None),
            Err(Error::Request(RequestError::Malformed(
                "multiple Authorization headers"
            )))
        ));
    }

    #[test]
    fn non_utf8_bearer_is_malformed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        assert!(matches!(
            bearer_token(&h, None),
            Err(Error::Request(RequestError::Malformed(
                "malformed bearer token"
            )))
        ));
    }

    #[test]
    fn token_in_header_and_cookie_is_refused() {
        let both = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "theme=dark; at=xyz"),
        ]);
        assert!(matches!(
            bearer_token(&both, Some("at")),
            Err(Error::Request(RequestError::Malformed(
                "token in both the Authorization header and a cookie"
            )))
        ));
        // Other cookies, or no cookie name configured, do not matter.
        assert_eq!(bearer_token(&both, Some("other")).unwrap(), Some("abc"));
        assert_eq!(bearer_token(&both, None).unwrap(), Some("abc"));
    }

    #[test]
    fn peek_reads_kid_always_and_sub_only_after_the_signature() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let token = format!("{header}.{payload}.sig");
        assert_eq!(
            peek(&token, &Error::Token(TokenError::Expired)),
            (Some("k1".into()), Some("alice".into()))
        );
        assert_eq!(
            peek(&token, &Error::Token(TokenError::InvalidSignature)),
            (Some("k1".into()), None)
        );
        assert_eq!(
            peek(&token, &Error::Token(TokenError::Malformed)),
            (None, None)
        );
    }

    #[test]
    fn read_cookie_finds_one_and_refuses_duplicates() {
        let mut m = HeaderMap::new();
        m.append(
            http::header::COOKIE,
            HeaderValue::from_static("a=1; access_token=xyz; b="),
        );
        assert_eq!(read_cookie(&m, "access_token").unwrap(), Some("xyz"));
        assert_eq!(read_cookie(&m, "b").unwrap(), None);
        assert_eq!(read_cookie(&m, "c").unwrap(), None);
        m.append(
            http::header::COOKIE,
            HeaderValue::from_static("access_token=abc"),
        );
        assert!(matches!(
            read_cookie(&m, "access_token"),
            Err(Error::Request(RequestError::Malformed(
                "cookie sent more than once"
            )))
        ));
    }
}
