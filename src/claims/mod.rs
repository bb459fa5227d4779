//! The claims a token carries: the registered ones, roles and permissions, and the application's
//! own fields through a type parameter.
//!
//! Parsing is strict where RFC 8725 asks for it: a registered claim of the wrong JSON type (an `exp`
//! that is a string, `null`, negative or fractional-and-negative; an `aud` that is a number) makes
//! the token invalid rather than being ignored, and a member name that appears twice is refused.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::error::TokenPart;
use crate::error::{Error, TokenError};
use crate::requirement::Requirement;
use crate::roles::RoleHierarchy;

mod fast;

/// The claims of a verified token.
///
/// `T` holds the application's own claims: any `serde` type that deserializes from a map (a
/// struct, a `HashMap`, `serde_json::Map`). It sees every member that is not one of the fields
/// below; the default [`NoExtra`] ignores them.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// struct Tenant { tenant: String }
/// type MyClaims = tokengate::Claims<Tenant>;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims<T = NoExtra> {
    /// Issuer (`iss`); always present after verification.
    pub iss: String,
    /// Subject (`sub`): the user or client the token speaks for; always present after
    /// verification.
    pub sub: String,
    /// Audience (`aud`): one or more recipients. Serialized as a string when there is one.
    #[serde(serialize_with = "serialize_aud")]
    pub aud: Vec<String>,
    /// Expiry (`exp`), seconds since the Unix epoch; always present after verification.
    pub exp: i64,
    /// Not before (`nbf`), seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at (`iat`), seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Token id (`jti`): what a revocation names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Session id (`sid`): the refresh-token family this token belongs to, so that logging out
    /// revokes the whole session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Roles (`roles`, an array of strings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Permissions: the `permissions` array, or the space-separated OAuth `scope` string (both are
    /// read; they are merged when both are present).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// The application's own claims.
    #[serde(flatten)]
    pub extra: T,
}

impl<T> Claims<T> {
    /// Whether `role` is among the token's roles (exact match; hierarchies live in `rbac`).
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether `permission` is among the token's permissions or scopes.
    #[must_use]
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

fn serialize_aud<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
    match aud {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

/// "No application claims": deserializes from any map by ignoring it, serializes as nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NoExtra;

impl Serialize for NoExtra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for NoExtra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Self)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing. One pass over the JSON object; registered claims are read leniently (any JSON type) so
// that a wrong type becomes `Error::Token(TokenError::InvalidClaim(name))` rather than an opaque parse error, and
// unknown members are kept as raw slices for `T`.

/// A JSON value read without failing, classified by the claim's reader.
enum Lenient<V> {
    Ok(V),
    Bad,
}

struct LenientVisitor<V>(PhantomData<V>);

/// Drains whatever compound value the visitor was handed, so parsing can continue.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

macro_rules! reject_other_types {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Lenient::Bad)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient::Bad)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient::Bad)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map).map(|()| Lenient::Bad)
        }
    };
}

/// NumericDate: a non-negative number of seconds (fractions are truncated).
impl<'de> Visitor<'de> for LenientVisitor<i64> {
    type Value = Lenient<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(if v >= 0 { Lenient::Ok(v) } else { Lenient::Bad })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Lenient::Bad, Lenient::Ok))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        #[allow(clippy::cast_possible_truncation)] // range checked just before
        let ok = v.is_finite() && (0.0..9.0e15).contains(&v);
        Ok(if ok {
            Lenient::Ok(v.trunc() as i64)
        } else {
            Lenient::Bad
        })
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Lenient::Bad)
    }
    reject_other_types!();
}

/// A string claim.
impl<'de> Visitor<'de> for LenientVisitor<String> {
    type Value = Lenient<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Ok(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Lenient::Ok(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| Lenient::Bad)
    }
    reject_other_types!();
}

/// A string or an array of strings (`aud`), or an array of strings (`roles`, `permissions`).
struct StringList {
    items: Vec<String>,
    was_single: bool,
}

impl<'de> Visitor<'de> for LenientVisitor<StringList> {
    type Value = Lenient<StringList>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Ok(StringList {
            items: vec![v.to_owned()],
            was_single: true,
        }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(16));
        let mut bad = false;
        while let Some(item) = seq.next_element_seed(LenientSeed::<String>(PhantomData))? {
            match item {
                Lenient::Ok(s) if !bad => items.push(s),
                _ => bad = true,
            }
        }
        Ok(if bad {
            Lenient::Bad
        } else {
            Lenient::Ok(StringList {
                items,
                was_single: false,
            })
        })
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Bad)
    }
    reject_other_types!();
}

struct LenientSeed<V>(PhantomData<V>);

impl<'de, V> de::DeserializeSeed<'de> for LenientSeed<V>
where
    LenientVisitor<V>: Visitor<'de, Value = Lenient<V>>,
{
    type Value = Lenient<V>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

/// A member name, borrowed when it has no escapes (an escaped `"\u0065xp"` is still `exp`).
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Tracks which registered member names were seen, to refuse duplicates.
#[derive(Default)]
struct Seen {
    registered: u32,
}

impl Seen {
    /// Records a registered member (by bit); false when it was seen before.
    fn first(&mut self, bit: u32) -> bool {
        let fresh = self.registered & (1 << bit) == 0;
        self.registered |= 1 << bit;
        fresh
    }
}

struct ClaimsVisitor<T>(PhantomData<T>);

/// The outcome of a parse: `Err` carries the first claim error found; the JSON was still read to
/// its end so that syntax errors anywhere are reported as such.
type Parsed<T> = Result<Claims<T>, Error>;

impl<'de, T: DeserializeOwned> Visitor<'de> for ClaimsVisitor<T> {
    type Value = Parsed<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims set")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = Seen::default();
        let mut problem: Option<Error> = None;
        let mut iss = None;
        let mut sub = None;
        let mut aud: Option<Vec<String>> = None;
        let mut exp = None;
        let mut nbf = None;
        let mut iat = None;
        let mut jti = None;
        let mut sid = None;
        let mut roles = Vec::new();
        let mut permissions = Vec::new();
        let mut extras: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();

        macro_rules! read {
            ($bit:expr, $name:literal, $ty:ty, $slot:ident, $map_ok:expr) => {{
                let value = map.next_value_seed(LenientSeed::<$ty>(PhantomData))?;
                if !seen.first($bit) {
                    problem.get_or_insert(Error::Token(TokenError::DuplicateMember(
                        TokenPart::Claims,
                    )));
                } else {
                    match value {
                        Lenient::Ok(v) => $slot = $map_ok(v),
                        Lenient::Bad => {
                            problem.get_or_insert(Error::Token(TokenError::InvalidClaim($name)));
                        }
                    }
                }
            }};
        }

        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            match &*name {
                "iss" => read!(0, "iss", String, iss, Some),
                "sub" => read!(1, "sub", String, sub, Some),
                "aud" => read!(2, "aud", StringList, aud, |l: StringList| Some(l.items)),
                "exp" => read!(3, "exp", i64, exp, Some),
                "nbf" => read!(4, "nbf", i64, nbf, Some),
                "iat" => read!(5, "iat", i64, iat, Some),
                "jti" => read!(6, "jti", String, jti, Some),
                "sid" => read!(7, "sid", String, sid, Some),
                "roles" => {
                    let value = map.next_value_seed(LenientSeed::<StringList>(PhantomData))?;
                    if !seen.first(8) {
                        problem.get_or_insert(Error::Token(TokenError::DuplicateMember(
                            TokenPart::Claims,
                        )));
                    } else {
                        match value {
                            Lenient::Ok(l) if !l.was_single => roles = l.items,
                            _ => {
                                problem
                                    .get_or_insert(Error::Token(TokenError::InvalidClaim("roles")));
                            }
                        }
                    }
                }
                "permissions" => {
                    let value = map.next_value_seed(LenientSeed::<StringList>(PhantomData))?;
                    if !seen.first(9) {
                        problem.get_or_insert(Error::Token(TokenError::DuplicateMember(
                            TokenPart::Claims,
                        )));
                    } else {
                        match value {
                            Lenient::Ok(l) if !l.was_single => merge(&mut permissions, l.items),
                            _ => {
                                problem.get_or_insert(Error::Token(TokenError::InvalidClaim(
                                    "permissions",
                                )));
                            }
                        }
                    }
                }
                "scope" => {
                    let value = map.next_value_seed(LenientSeed::<String>(PhantomData))?;
                    if !seen.first(10) {
                        problem.get_or_insert(Error::Token(TokenError::DuplicateMember(
                            TokenPart::Claims,
                        )));
                    } else {
                        match value {
                            Lenient::Ok(s) => merge(
                                &mut permissions,
                                s.split(' ')
                                    .filter(|p| !p.is_empty())
                                    .map(str::to_owned)
                                    .collect(),
                            ),
                            Lenient::Bad => {
                                problem
                                    .get_or_insert(Error::Token(TokenError::InvalidClaim("scope")));
                            }
                        }
                    }
                }
                _ => {
                    let raw: &'de RawValue = map.next_value()?;
                    if extras.iter().any(|(seen_name, _)| *seen_name == name) {
                        problem.get_or_insert(Error::Token(TokenError::DuplicateMember(
                            TokenPart::Claims,
                        )));
                    }
                    extras.push((name, raw));
                }
            }
        }

        if let Some(problem) = problem {
            return Ok(Err(problem));
        }
        // The member whose value is being read, so that a failure can name it.
        // A borrowed name costs no allocation; it becomes a String only if the claims fail.
        let current: std::cell::RefCell<Option<Cow<'de, str>>> = std::cell::RefCell::new(None);
        let extra = T::deserialize(de::value::MapDeserializer::new(extras.into_iter().map(
            |(k, v)| {
                *current.borrow_mut() = Some(k.clone());
                (CowKey(k), v)
            },
        )));
        let extra = match extra {
            Ok(extra) => extra,
            Err(e) => return Ok(Err(app_claims_error(&e, current.into_inner()))),
        };
        let claims = (|| {
            Ok(Claims {
                exp: exp.ok_or(Error::Token(TokenError::MissingClaim("exp")))?,
                iss: iss.ok_or(Error::Token(TokenError::MissingClaim("iss")))?,
                aud: aud.ok_or(Error::Token(TokenError::MissingClaim("aud")))?,
                sub: sub.ok_or(Error::Token(TokenError::MissingClaim("sub")))?,
                nbf,
                iat,
                jti,
                sid,
                roles,
                permissions,
                extra,
            })
        })();
        Ok(claims)
    }
}

fn merge(into: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Adapts a borrowed-or-owned member name for `MapDeserializer`.
struct CowKey<'de>(Cow<'de, str>);

impl<'de> IntoDeserializer<'de, serde_json::Error> for CowKey<'de> {
    type Deserializer = de::value::CowStrDeserializer<'de, serde_json::Error>;
    fn into_deserializer(self) -> Self::Deserializer {
        de::value::CowStrDeserializer::new(self.0)
    }
}

/// Why the application's claims type refused the token's members, naming the claim: serde's
/// "missing field" names a field of the application's type; otherwise the member being read when
/// it failed. The value is never shown (serde's own message can quote it).
fn app_claims_error(error: &serde_json::Error, reading: Option<Cow<'_, str>>) -> Error {
    let text = error.to_string();
    if let Some(name) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        return Error::Token(TokenError::MissingAppClaim(name.to_owned()));
    }
    match reading {
        Some(name) if name.len() <= 64 && !name.chars().any(char::is_control) => {
            Error::Token(TokenError::InvalidAppClaim(name.into_owned()))
        }
        _ => Error::Token(TokenError::InvalidJson(TokenPart::Claims)),
    }
}

/// Parses a claims set (the decoded second segment of a JWT).
///
/// # Errors
/// [`TokenError::InvalidJson`](crate::TokenError::InvalidJson) for text that is not one JSON object (or whose extra members do not fit
/// `T`), [`TokenError::DuplicateMember`](crate::TokenError::DuplicateMember), [`TokenError::InvalidClaim`](crate::TokenError::InvalidClaim) for a registered claim of the wrong
/// type, [`TokenError::MissingClaim`](crate::TokenError::MissingClaim) for a missing `exp`, `iss`, `aud` or `sub`.
pub(crate) fn parse<T: DeserializeOwned>(json: &[u8]) -> Result<Claims<T>, Error> {
    match fast::parse(json) {
        Some(claims) => Ok(claims),
        None => parse_full(json),
    }
}

/// [`parse`] through serde_json, for every input.
fn parse_full<T: DeserializeOwned>(json: &[u8]) -> Result<Claims<T>, Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = de
        .deserialize_map(ClaimsVisitor::<T>(PhantomData))
        .map_err(|_| Error::Token(TokenError::InvalidJson(TokenPart::Claims)))?;
    de.end()
        .map_err(|_| Error::Token(TokenError::InvalidJson(TokenPart::Claims)))?;
    parsed
}

impl Requirement {
    /// Whether `claims` meet the requirement, applying `hierarchy` to roles (permissions match
    /// the token's `permissions` or `scope` exactly).
    #[must_use]
    pub fn is_met_by<T>(&self, claims: &Claims<T>, hierarchy: &RoleHierarchy) -> bool {
        self.is_met_by_grants(hierarchy, &claims.roles, &claims.permissions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Result<Claims, Error> {
        parse::<NoExtra>(json.as_bytes())
    }

    const BASE: &str = r#""iss":"i","sub":"s","aud":"a","exp":10"#;

    #[test]
    fn parses_registered_claims() {
        let c = p(&format!(r#"{{{BASE},"nbf":1,"iat":2.5,"jti":"j","roles":["admin"],"scope":"a b","permissions":["b","c"]}}"#)).unwrap();
        assert_eq!(c.exp, 10);
        assert_eq!(c.iat, Some(2));
        assert_eq!(c.aud, vec!["a"]);
        assert_eq!(c.roles, vec!["admin"]);
        assert_eq!(c.permissions, vec!["a", "b", "c"]);
    }

    #[test]
    fn wrong_types_are_invalid_not_ignored() {
        for (json, claim) in [
            (r#"{"iss":"i","sub":"s","aud":"a","exp":"10"}"#, "exp"),
            (r#"{"iss":"i","sub":"s","aud":"a","exp":null}"#, "exp"),
            (r#"{"iss":"i","sub":"s","aud":"a","exp":-1}"#, "exp"),
            (r#"{"iss":"i","sub":"s","aud":"a","exp":[10]}"#, "exp"),
            (r#"{"iss":"i","sub":"s","aud":"a","exp":true}"#, "exp"),
            (r#"{"iss":"i","sub":"s","aud":"a","exp":1e300}"#, "exp"),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":10,"nbf":"1"}"#,
                "nbf",
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":10,"iat":{}}"#,
                "iat",
            ),
            (r#"{"iss":"i","sub":"s","aud":5,"exp":10}"#, "aud"),
            (r#"{"iss":"i","sub":"s","aud":["a",5],"exp":10}"#, "aud"),
            (r#"{"iss":7,"sub":"s","aud":"a","exp":10}"#, "iss"),
            (r#"{"iss":"i","sub":null,"aud":"a","exp":10}"#, "sub"),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":10,"roles":"admin"}"#,
                "roles",
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":10,"scope":["a"]}"#,
                "scope",
            ),
        ] {
            assert!(
                matches!(p(json), Err(Error::Token(TokenError::InvalidClaim(c))) if c == claim),
                "{json}: {:?}",
                p(json)
            );
        }
    }

    #[test]
    fn missing_required_claims() {
        assert!(matches!(
            p(r#"{"iss":"i","sub":"s","aud":"a"}"#),
            Err(Error::Token(TokenError::MissingClaim("exp")))
        ));
        assert!(matches!(
            p(r#"{"sub":"s","aud":"a","exp":1}"#),
            Err(Error::Token(TokenError::MissingClaim("iss")))
        ));
        assert!(matches!(
            p(r#"{"iss":"i","sub":"s","exp":1}"#),
            Err(Error::Token(TokenError::MissingClaim("aud")))
        ));
        assert!(matches!(
            p(r#"{"iss":"i","aud":"a","exp":1}"#),
            Err(Error::Token(TokenError::MissingClaim("sub")))
        ));
    }

    #[test]
    fn duplicate_members_are_refused_even_when_escaped() {
        for json in [
            format!(r#"{{{BASE},"exp":99}}"#),
            format!(r#"{{{BASE},"\u0065xp":99}}"#),
            format!(r#"{{{BASE},"x":1,"x":2}}"#),
            format!(r#"{{{BASE},"roles":[],"roles":["admin"]}}"#),
        ] {
            assert!(
                matches!(
                    p(&json),
                    Err(Error::Token(TokenError::DuplicateMember(TokenPart::Claims)))
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn not_an_object() {
        for json in ["[]", "1", "", "{", r#"{"exp":1} x"#, "null"] {
            assert!(
                matches!(
                    p(json),
                    Err(Error::Token(TokenError::InvalidJson(TokenPart::Claims)))
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn extra_claims_reach_the_application_type() {
        #[derive(Deserialize, Debug)]
        struct Extra {
            tenant: String,
            #[serde(default)]
            level: u8,
        }
        let c =
            parse::<Extra>(format!(r#"{{{BASE},"tenant":"acme","level":3}}"#).as_bytes()).unwrap();
        assert_eq!(c.extra.tenant, "acme");
        assert_eq!(c.extra.level, 3);
        // A claim the application's type requires is missing: named.
        let missing = parse::<Extra>(format!("{{{BASE}}}").as_bytes()).unwrap_err();
        assert!(
            matches!(&missing, Error::Token(TokenError::MissingAppClaim(name)) if name == "tenant"),
            "{missing:?}"
        );
        assert_eq!(missing.to_string(), "claim `tenant` missing");
        // A claim of the wrong type: named, its value never shown.
        let wrong = parse::<Extra>(
            format!(r#"{{{BASE},"tenant":"acme","level":"secret-ish"}}"#).as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(&wrong, Error::Token(TokenError::InvalidAppClaim(name)) if name == "level"),
            "{wrong:?}"
        );
        assert_eq!(wrong.to_string(), "claim `level` has an invalid value");
        assert!(!format!("{wrong} {wrong:?}").contains("secret-ish"));
    }

    #[test]
    fn serializes_single_audience_as_string() {
        let c = p(&format!("{{{BASE}}}")).unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["aud"], "a");
        assert!(v.get("roles").is_none());
    }
}
