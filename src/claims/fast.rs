//! The fast path of [`parse`](super::parse): compact claims sets made only of registered claims.
//!
//! Tokens minted by this crate's `Issuer` — and by the mainstream libraries, which write compact
//! JSON too — carry a flat object of strings, non-negative integers and arrays of strings, with no
//! whitespace and no escapes. This reads exactly that subset in one pass over the bytes, with the
//! meaning the full parser gives it, and gives up (`None`) on anything else: whitespace, an escape,
//! a control character, a number that is not a plain non-negative integer of at most 15 digits, a
//! member that is not a registered claim, a member seen twice, a registered claim of an unexpected
//! type, a missing required claim, trailing bytes. The full parser then reads the input and gives
//! the answer, including every error: the fast path never refuses anything itself.
//!
//! `tests::agrees_with_the_full_parser` checks that whenever this path answers, the full parser
//! gives the same claims, over generated and mutated inputs.

use serde::de::{self, DeserializeOwned};
use serde_json::value::RawValue;

use super::{Claims, CowKey, merge};

/// The claims in `json` when it is in the subset described in the module docs, else `None`.
pub(super) fn parse<T: DeserializeOwned>(json: &[u8]) -> Option<Claims<T>> {
    // Validated once, so that every slice between two ASCII quotes is a `str`.
    let text = std::str::from_utf8(json).ok()?;
    let mut at = Cursor { text, pos: 0 };
    let mut seen = 0u16;
    let (mut iss, mut sub, mut aud, mut exp) = (None, None, None, None);
    let (mut nbf, mut iat, mut jti, mut sid) = (None, None, None, None);
    let (mut roles, mut permissions) = (Vec::new(), Vec::new());

    at.eat(b'{')?;
    if !at.eat_if(b'}') {
        loop {
            let name = at.string()?;
            at.eat(b':')?;
            let bit = match name {
                "iss" => {
                    iss = Some(at.string()?.to_owned());
                    0
                }
                "sub" => {
                    sub = Some(at.string()?.to_owned());
                    1
                }
                "aud" => {
                    aud = Some(if at.peek()? == b'[' {
                        at.strings()?
                    } else {
                        vec![at.string()?.to_owned()]
                    });
                    2
                }
                "exp" => {
                    exp = Some(at.integer()?);
                    3
                }
                "nbf" => {
                    nbf = Some(at.integer()?);
                    4
                }
                "iat" => {
                    iat = Some(at.integer()?);
                    5
                }
                "jti" => {
                    jti = Some(at.string()?.to_owned());
                    6
                }
                "sid" => {
                    sid = Some(at.string()?.to_owned());
                    7
                }
                "roles" => {
                    roles = at.strings()?;
                    8
                }
                "permissions" => {
                    merge(&mut permissions, at.strings()?);
                    9
                }
                "scope" => {
                    let scope = at.string()?;
                    let items = scope.split(' ').filter(|p| !p.is_empty());
                    merge(&mut permissions, items.map(str::to_owned).collect());
                    10
                }
                _ => return None, // the application's own members: the full parser reads them
            };
            if seen & (1 << bit) != 0 {
                return None; // a duplicate: the full parser refuses it
            }
            seen |= 1 << bit;
            if at.eat_if(b'}') {
                break;
            }
            at.eat(b',')?;
        }
    }
    if at.pos != json.len() {
        return None;
    }
    // What the full parser hands `T` when the object has no other members.
    let no_members = std::iter::empty::<(CowKey<'_>, &RawValue)>();
    let extra = T::deserialize(de::value::MapDeserializer::<_, serde_json::Error>::new(
        no_members,
    ))
    .ok()?;
    Some(Claims {
        iss: iss?,
        sub: sub?,
        aud: aud?,
        exp: exp?,
        nbf,
        iat,
        jti,
        sid,
        roles,
        permissions,
        extra,
    })
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat_if(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.eat_if(byte).then_some(())
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = &self.text.as_bytes()[start..];
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        // Both ends are ASCII quotes, so both are character boundaries.
        self.text.get(start..start + len)
    }

    /// `[]` or `["a","b",…]`.
    fn strings(&mut self) -> Option<Vec<String>> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        if self.eat_if(b']') {
            return Some(items);
        }
        loop {
            items.push(self.string()?.to_owned());
            if self.eat_if(b']') {
                return Some(items);
            }
            self.eat(b',')?;
        }
    }

    /// A non-negative integer of 1 to 15 digits without a leading zero (or `0`), followed by
    /// neither a fraction nor an exponent.
    fn integer(&mut self) -> Option<i64> {
        let bytes = &self.text.as_bytes()[self.pos..];
        let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=15).contains(&digits) || (digits > 1 && bytes[0] == b'0') {
            return None;
        }
        if matches!(bytes.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = bytes[..digits]
            .iter()
            .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
        self.pos += digits;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::NoExtra;
    use serde::Deserialize;

    fn both<T: DeserializeOwned + PartialEq + std::fmt::Debug>(json: &[u8]) -> Option<Claims<T>> {
        let fast = parse::<T>(json);
        if let Some(claims) = &fast {
            let full = super::super::parse_full::<T>(json);
            assert_eq!(
                full.as_ref().ok(),
                Some(claims),
                "the fast path disagrees on {:?} (full parser: {full:?})",
                String::from_utf8_lossy(json)
            );
        }
        fast
    }

    const ISSUED: &str = r#"{"iss":"https://auth.example","sub":"user-1","aud":"api","exp":1800000900,"nbf":1800000000,"iat":1800000000,"jti":"AazCZB9YaSQZdiN2V7io2w","sid":"qJJjxwYMRqyA3hE5AHrXWA","roles":["admin","editor"],"permissions":["read"]}"#;

    #[test]
    fn reads_what_issuers_write() {
        let c = both::<NoExtra>(ISSUED.as_bytes()).expect("fast path");
        assert_eq!(c.sub, "user-1");
        assert_eq!(c.aud, vec!["api"]);
        assert_eq!(c.roles, vec!["admin", "editor"]);
        assert_eq!(c.exp, 1_800_000_900);
        for json in [
            r#"{"iss":"i","sub":"s","aud":["a","b"],"exp":0}"#,
            r#"{"exp":10,"aud":[],"sub":"","iss":"i"}"#,
            r#"{"iss":"i","sub":"s","aud":"a","exp":10,"scope":"a  b a","permissions":["b","c"]}"#,
            r#"{"iss":"ünï","sub":"s/€","aud":"a","exp":999999999999999,"roles":[]}"#,
        ] {
            assert!(both::<NoExtra>(json.as_bytes()).is_some(), "{json}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_full_parser() {
        for json in [
            "",
            "{}",
            "[]",
            r#"{"iss":"i","sub":"s","aud":"a"}"#, // no exp
            r#"{"iss":"i","sub":"s","aud":"a","exp":10} "#, // trailing space
            r#"{ "iss":"i","sub":"s","aud":"a","exp":10}"#, // whitespace
            r#"{"iss":"i\"","sub":"s","aud":"a","exp":10}"#, // escape
            r#"{"iss":"i","sub":"s","aud":"a","exp":10,"iss":"j"}"#, // duplicate
            r#"{"iss":"i","sub":"s","aud":"a","exp":10,"x":1}"#, // unknown member
            r#"{"iss":"i","sub":"s","aud":"a","exp":-1}"#, // negative
            r#"{"iss":"i","sub":"s","aud":"a","exp":1.5}"#, // fraction
            r#"{"iss":"i","sub":"s","aud":"a","exp":1e3}"#, // exponent
            r#"{"iss":"i","sub":"s","aud":"a","exp":010}"#, // leading zero
            r#"{"iss":"i","sub":"s","aud":"a","exp":1000000000000000}"#, // 16 digits
            r#"{"iss":"i","sub":"s","aud":"a","exp":"10"}"#, // wrong type
            r#"{"iss":"i","sub":"s","aud":"a","exp":10,"roles":"admin"}"#, // roles not a list
            r#"{"iss":"i","sub":"s","aud":["a",1],"exp":10}"#,
            r#"{"iss":"i","sub":"s","aud":"a","exp":10,}"#,
            r#"{"iss":"i","sub":"s","aud":"a","exp":10}}"#,
            "{\"iss\":\"i\n\",\"sub\":\"s\",\"aud\":\"a\",\"exp\":10}", // control character
        ] {
            assert!(parse::<NoExtra>(json.as_bytes()).is_none(), "{json}");
        }
        assert!(
            parse::<NoExtra>(b"{\"iss\":\"\xff\",\"sub\":\"s\",\"aud\":\"a\",\"exp\":1}").is_none()
        );
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Tenant {
        tenant: String,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Optional {
        #[serde(default)]
        tenant: Option<String>,
    }

    #[test]
    fn application_types_get_what_the_full_parser_gives_them() {
        // A required member of `T` that the token lacks: the full parser's error, not ours.
        let base = r#"{"iss":"i","sub":"s","aud":"a","exp":10}"#;
        assert!(parse::<Tenant>(base.as_bytes()).is_none());
        assert_eq!(
            both::<Optional>(base.as_bytes()).unwrap().extra,
            Optional { tenant: None }
        );
        let with = r#"{"iss":"i","sub":"s","aud":"a","exp":10,"tenant":"t"}"#;
        assert!(parse::<Tenant>(with.as_bytes()).is_none());
    }

    /// xorshift64*: a fixed sequence, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    #[test]
    fn agrees_with_the_full_parser() {
        const PIECES: [&str; 24] = [
            "\"",
            "\\",
            ",",
            ":",
            "{",
            "}",
            "[",
            "]",
            " ",
            "0",
            "7",
            "-",
            ".",
            "e",
            "a",
            "é",
            "\"iss\"",
            "\"aud\"",
            "\"exp\":1",
            "\"x\":1",
            "null",
            "\"scope\":\"a b\"",
            "\n",
            "1e2",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut fast_answers = 0;
        for _ in 0..100_000 {
            let mut json = ISSUED.to_owned();
            for _ in 0..=rng.below(3) {
                let at = rng.below(json.len() + 1);
                let at = (0..=at)
                    .rev()
                    .find(|i| json.is_char_boundary(*i))
                    .unwrap_or(0);
                match rng.below(3) {
                    0 => json.insert_str(at, PIECES[rng.below(PIECES.len())]),
                    1 => {
                        let end = (at + 1 + rng.below(8)).min(json.len());
                        if let Some(end) = (end..=json.len()).find(|i| json.is_char_boundary(*i)) {
                            json.replace_range(at..end, "");
                        }
                    }
                    _ => {
                        let end = (at + 1 + rng.below(8)).min(json.len());
                        if let Some(end) = (end..=json.len()).find(|i| json.is_char_boundary(*i)) {
                            json.replace_range(at..end, PIECES[rng.below(PIECES.len())]);
                        }
                    }
                }
            }
            if both::<NoExtra>(json.as_bytes()).is_some() {
                fast_answers += 1;
            }
            both::<Optional>(json.as_bytes());
        }
        // Mutations that keep the input in the subset (a changed letter or digit) are common:
        // the comparison above ran on many fast answers, not none.
        assert!(fast_answers > 1_000, "{fast_answers}");
    }
}
