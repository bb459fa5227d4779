//! Compact JWS (RFC 7515 §7.1): `base64url(header) "." base64url(claims) "." base64url(signature)`.
//!
//! The token layer's shared ground: [`Issuer`](crate::Issuer) signs with [`sign`],
//! [`Verifier`](crate::Verifier) takes tokens apart with [`split`], [`decode`] and
//! [`parse_header`]. Hand-written because it is the hot path (see BENCHMARKS.md); the tests below
//! hold the decoding to the `base64` crate's rules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::{Error, InternalError, SerializeError, TokenError, TokenPart};
use crate::keys::Key;

mod header;
mod token_kind;

pub(crate) use header::{header_b64, parse_header};
pub use token_kind::TokenKind;

/// Signs `claims` with `key` as a compact JWS with the given `typ`.
pub(crate) fn sign<C: Serialize>(key: &Key, typ: &str, claims: &C) -> Result<String, Error> {
    let payload = serde_json::to_vec(claims)
        .map_err(|e| Error::Internal(InternalError::Serialize(SerializeError::new(e))))?;
    let mut out = header_b64(key, typ)?;
    out.reserve(payload.len() * 4 / 3 + 700);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}

/// The compact JWS of a signing input (`base64url(header) "." base64url(claims)`) and a raw
/// signature.
pub(crate) fn join(signing_input: &str, signature: &[u8]) -> String {
    let mut out = String::with_capacity(signing_input.len() + 1 + signature.len().div_ceil(3) * 4);
    out.push_str(signing_input);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    out
}

/// Splits a compact JWS into (signing input, header, payload, signature).
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str, &str), Error> {
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or(Error::Token(TokenError::Malformed))?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(Error::Token(TokenError::Malformed))?;
    if header.is_empty() || payload.is_empty() || payload.contains('.') {
        return Err(Error::Token(TokenError::Malformed));
    }
    Ok((signing_input, header, payload, signature))
}

/// Decodes unpadded, canonical base64url: into `stack` when it fits (the common case, no
/// allocation), else into `heap`. The token's size was bounded before, so `heap` is too.
///
/// `base64-simd` rather than `base64` here: the same strict rules (no padding, no stray bits, no
/// other alphabet), two to three times faster on a 342-character RS256 signature, which matters
/// next to the signature check itself (see BENCHMARKS.md).
pub(crate) fn decode<'a>(
    b64: &str,
    stack: &'a mut [u8],
    heap: &'a mut Vec<u8>,
    part: TokenPart,
) -> Result<&'a [u8], Error> {
    let engine = base64_simd::URL_SAFE_NO_PAD;
    let bad = |_| Error::Token(TokenError::InvalidBase64(part));
    if b64.len() / 4 * 3 + 3 <= stack.len() {
        let out = base64_simd::Out::from_slice(stack);
        Ok(engine.decode(b64.as_bytes(), out).map_err(bad)?)
    } else {
        *heap = engine.decode_to_vec(b64).map_err(bad)?;
        Ok(heap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_is_as_strict_as_the_base64_crate() {
        // Random strings over the alphabet, padding and a few strangers, of every length up to 12.
        const CHARS: &[u8] = b"AQgwBCDabz09-_+/=.\\\x00 \xc3";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = usize::try_from(state % 13).unwrap();
            let text: String = (0..len)
                .map(|i| {
                    char::from(
                        CHARS[usize::try_from((state >> (i * 5)) % 23).unwrap() % CHARS.len()],
                    )
                })
                .collect();
            let reference = URL_SAFE_NO_PAD.decode(&text).ok();
            let (mut stack, mut heap) = ([0u8; 16], Vec::new());
            let ours = decode(&text, &mut stack, &mut heap, TokenPart::Claims)
                .ok()
                .map(<[u8]>::to_vec);
            assert_eq!(ours, reference, "{text:?}");
            let (mut small, mut heap) = ([0u8; 2], Vec::new());
            let ours = decode(&text, &mut small, &mut heap, TokenPart::Claims)
                .ok()
                .map(<[u8]>::to_vec);
            assert_eq!(ours, reference, "{text:?} (heap)");
        }
    }

    #[test]
    fn split_shapes() {
        assert!(split("a.b.c").is_ok());
        assert!(split("a.b.").is_ok());
        for bad in ["", "a", "a.b", ".b.c", "a..c", "a.b.c.d"] {
            assert!(
                matches!(split(bad), Err(Error::Token(TokenError::Malformed))),
                "{bad}"
            );
        }
    }
}
