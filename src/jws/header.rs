//! The JOSE header: the one this crate writes, and the members a verifier reads from any.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, InternalError, SerializeError, TokenError, TokenPart};
use crate::keys::{Algorithm, Key};

/// The header this crate writes: `alg`, `typ`, `kid`, nothing else.
#[derive(Serialize)]
struct OutHeader<'a> {
    alg: Algorithm,
    typ: &'a str,
    kid: &'a str,
}

/// The base64url JOSE header tokens signed by `key` with this `typ` carry.
pub(crate) fn header_b64(key: &Key, typ: &str) -> Result<String, Error> {
    let header = serde_json::to_vec(&OutHeader {
        alg: key.algorithm(),
        typ,
        kid: key.kid(),
    })
    .map_err(|e| Error::Internal(InternalError::Serialize(SerializeError::new(e))))?;
    Ok(URL_SAFE_NO_PAD.encode(header))
}

/// The header members the verifier looks at.
pub(crate) struct Header<'a> {
    /// `alg`, unchecked.
    pub(crate) alg: Option<Cow<'a, str>>,
    /// `typ`, unchecked.
    pub(crate) typ: Option<Cow<'a, str>>,
    /// `kid`.
    pub(crate) kid: Option<Cow<'a, str>>,
    /// Whether a `crit` member is present (whatever its value).
    pub(crate) crit: bool,
}

/// Parses a decoded JOSE header: one JSON object, no duplicate member names (in any escaping),
/// `alg`/`typ`/`kid` strings; every other member is parsed past and never used.
pub(crate) fn parse_header(json: &[u8]) -> Result<Header<'_>, Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let header = de
        .deserialize_map(HeaderVisitor)
        .map_err(|_| Error::Token(TokenError::InvalidJson(TokenPart::Header)))?;
    de.end()
        .map_err(|_| Error::Token(TokenError::InvalidJson(TokenPart::Header)))?;
    header
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Result<Header<'de>, Error>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = Header {
            alg: None,
            typ: None,
            kid: None,
            crit: false,
        };
        let mut names: Vec<Cow<'de, str>> = Vec::with_capacity(4);
        let mut duplicate = false;
        while let Some(HeaderName(name)) = map.next_key::<HeaderName<'de>>()? {
            if names.contains(&name) {
                duplicate = true;
            }
            match &*name {
                "alg" => header.alg = Some(map.next_value::<StrValue<'de>>()?.0),
                "typ" => header.typ = Some(map.next_value::<StrValue<'de>>()?.0),
                "kid" => header.kid = Some(map.next_value::<StrValue<'de>>()?.0),
                "crit" => {
                    map.next_value::<IgnoredAny>()?;
                    header.crit = true;
                }
                // jwk, jku, x5u, x5c, x5t, cty and the rest are never used.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            names.push(name);
        }
        Ok(if duplicate {
            Err(Error::Token(TokenError::DuplicateMember(TokenPart::Header)))
        } else {
            Ok(header)
        })
    }
}

struct HeaderName<'de>(Cow<'de, str>);
struct StrValue<'de>(Cow<'de, str>);

struct CowVisitor<'de>(PhantomData<&'de ()>);

impl<'de> Visitor<'de> for CowVisitor<'de> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> Deserialize<'de> for HeaderName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(CowVisitor(PhantomData)).map(Self)
    }
}

impl<'de> Deserialize<'de> for StrValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(CowVisitor(PhantomData)).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing() {
        let h = parse_header(br#"{"alg":"HS256","typ":"at+jwt","kid":"k","x5u":"http://evil"}"#)
            .unwrap();
        assert_eq!(h.alg.as_deref(), Some("HS256"));
        assert_eq!(h.kid.as_deref(), Some("k"));
        assert!(!h.crit);
        assert!(matches!(
            parse_header(br#"{"alg":"HS256","\u0061lg":"none"}"#),
            Err(Error::Token(TokenError::DuplicateMember(TokenPart::Header)))
        ));
        assert!(matches!(
            parse_header(br#"{"alg":5}"#),
            Err(Error::Token(TokenError::InvalidJson(TokenPart::Header)))
        ));
        assert!(matches!(
            parse_header(b"[]"),
            Err(Error::Token(TokenError::InvalidJson(TokenPart::Header)))
        ));
    }
}
