//! The application's claims ([`Grant::extra`](super::Grant::extra)) flattened into a token's
//! claims, with every member name checked against the claims tokengate owns.
//!
//! The check runs inside the one serialization of the token's claims: a serializer wrapper sees
//! each member name as it is written (struct field names, map keys, enum variant names used as
//! keys) and stops at the first reserved one. Nothing is serialized twice and no intermediate
//! value is built, so issuing costs what it did plus a `match` per application member.

use std::cell::Cell;

use serde::ser::{
    self, Impossible, Serialize, SerializeMap, SerializeStruct, SerializeStructVariant, Serializer,
};

/// The claim names application claims may not use: the claims tokengate writes (`iss`, `sub`,
/// `aud`, `exp`, `nbf`, `iat`, `jti`, `sid`, `roles`, `permissions`), reads with a meaning
/// (`scope` becomes permissions), or that carry a meaning in JWT profiles a verifier may apply
/// (`cnf`, `auth_time`, `typ`). Case-sensitive, as JSON member names are.
pub(crate) const RESERVED_CLAIMS: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "roles",
    "permissions",
    "scope",
    "cnf",
    "auth_time",
    "typ",
];

/// The reserved claim name equal to `name`, if any.
fn reserved(name: &str) -> Option<&'static str> {
    RESERVED_CLAIMS.iter().find(|r| **r == name).copied()
}

/// The first reserved member name met, kept outside the serializer's own error type (which
/// cannot carry it out typed).
pub(super) type Refused = Cell<Option<&'static str>>;

/// `value`, serialized as members of the enclosing object (`#[serde(flatten)]`), refusing any
/// reserved member name: the serialization then fails and `refused` names the member.
pub(super) struct Checked<'a, T: ?Sized> {
    pub(super) value: &'a T,
    pub(super) refused: &'a Refused,
}

impl<T: Serialize + ?Sized> Serialize for Checked<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Members {
            inner: s,
            refused: self.refused,
        })
    }
}

/// Records `name` if it is reserved, and fails the serialization.
fn check<E: ser::Error>(refused: &Refused, name: &str) -> Result<(), E> {
    match reserved(name) {
        None => Ok(()),
        Some(name) => {
            refused.set(Some(name));
            Err(E::custom(
                "a reserved claim is set by the application's claims",
            ))
        }
    }
}

/// Forwards to the flattening serializer, checking member names on the way.
struct Members<'a, S> {
    inner: S,
    refused: &'a Refused,
}

macro_rules! forward {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<S::Ok, S::Error> {
            self.inner.$method(v)
        })*
    };
}

impl<'a, S: Serializer> Serializer for Members<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = Members<'a, S::SerializeMap>;
    type SerializeStruct = Members<'a, S::SerializeStruct>;
    type SerializeStructVariant = Members<'a, S::SerializeStructVariant>;

    // Not members: the flattening serializer refuses them itself.
    forward!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.inner.serialize_some(&Checked {
            value,
            refused: self.refused,
        })
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.inner.serialize_newtype_struct(
            name,
            &Checked {
                value,
                refused: self.refused,
            },
        )
    }

    /// Flattened, the variant's name becomes a member name.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        check(self.refused, variant)?;
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<S::SerializeSeq, S::Error> {
        self.inner.serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<S::SerializeTuple, S::Error> {
        self.inner.serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<S::SerializeTupleStruct, S::Error> {
        self.inner.serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<S::SerializeTupleVariant, S::Error> {
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(Members {
            inner: self.inner.serialize_map(len)?,
            refused: self.refused,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        Ok(Members {
            inner: self.inner.serialize_struct(name, len)?,
            refused: self.refused,
        })
    }

    /// Flattened, the variant's name becomes a member name.
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        check(self.refused, variant)?;
        Ok(Members {
            inner: self
                .inner
                .serialize_struct_variant(name, index, variant, len)?,
            refused: self.refused,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

impl<M: SerializeMap> SerializeMap for Members<'_, M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), M::Error> {
        if let Ok(Some(name)) = key.serialize(KeyName) {
            check(self.refused, name)?;
        }
        self.inner.serialize_key(key)
    }

    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), M::Error> {
        self.inner.serialize_value(value)
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), M::Error> {
        if let Ok(Some(name)) = key.serialize(KeyName) {
            check(self.refused, name)?;
        }
        self.inner.serialize_entry(key, value)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.inner.end()
    }
}

impl<M: SerializeStruct> SerializeStruct for Members<'_, M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), M::Error> {
        check(self.refused, key)?;
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), M::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.inner.end()
    }
}

impl<M: SerializeStructVariant> SerializeStructVariant for Members<'_, M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), M::Error> {
        // Nested one level down (`{"variant": {..}}`): not members of the claims object.
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), M::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.inner.end()
    }
}

/// The reserved name a map key serializes to, if any. Keys that are not strings cannot be
/// reserved names (the JSON serializer turns numbers and booleans into digits and `true`/`false`,
/// and refuses the rest itself).
struct KeyName;

/// A key that is not a name; the real serializer decides what to do with it.
#[derive(Debug)]
struct NotAName;

impl std::fmt::Display for NotAName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a member name")
    }
}

impl std::error::Error for NotAName {}

impl ser::Error for NotAName {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

type Name = Option<&'static str>;

macro_rules! no_name {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<Name, NotAName> {
            Ok(None)
        })*
    };
}

impl Serializer for KeyName {
    type Ok = Name;
    type Error = NotAName;
    type SerializeSeq = Impossible<Name, NotAName>;
    type SerializeTuple = Impossible<Name, NotAName>;
    type SerializeTupleStruct = Impossible<Name, NotAName>;
    type SerializeTupleVariant = Impossible<Name, NotAName>;
    type SerializeMap = Impossible<Name, NotAName>;
    type SerializeStruct = Impossible<Name, NotAName>;
    type SerializeStructVariant = Impossible<Name, NotAName>;

    no_name!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_str(self, v: &str) -> Result<Name, NotAName> {
        Ok(reserved(v))
    }

    fn serialize_none(self) -> Result<Name, NotAName> {
        Ok(None)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Name, NotAName> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Name, NotAName> {
        Ok(None)
    }

    /// A unit variant as a key is written as its name.
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Name, NotAName> {
        Ok(reserved(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Name, NotAName> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Name, NotAName> {
        Err(NotAName)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAName> {
        Err(NotAName)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAName> {
        Err(NotAName)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAName> {
        Err(NotAName)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAName> {
        Err(NotAName)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAName> {
        Err(NotAName)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAName> {
        Err(NotAName)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAName> {
        Err(NotAName)
    }
}
