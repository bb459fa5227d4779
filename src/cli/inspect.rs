//! `tokengate inspect`: a token's header and claims, decoded WITHOUT verification.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::{Failure, Output};
use crate::error::TokenError;
use crate::error::{Error, TokenPart};

/// Largest token `inspect` decodes (well above the verifier's 8 KiB default, to let oversized
/// tokens be looked at).
const MAX_INSPECT: usize = 64 * 1024;

/// The first line of human output: nothing was checked.
pub(super) const UNVERIFIED_BANNER: &str =
    "NOT VERIFIED: decoded only; signature, expiry, issuer and audience were not checked";

#[derive(clap::Args)]
pub(super) struct Args {
    /// The token, or `-` to read it from standard input.
    #[arg(value_name = "TOKEN|-", allow_hyphen_values = true)]
    token: String,
}

/// A compact JWS taken apart without checking anything.
pub(super) struct Decoded {
    pub(super) header: Map<String, Value>,
    pub(super) claims: Map<String, Value>,
    /// Length of the decoded signature (0 for an unsecured token).
    pub(super) signature_len: usize,
}

/// Splits and decodes a compact JWS. Errors are the library's token errors.
pub(super) fn decode(token: &str) -> Result<Decoded, Error> {
    if token.len() > MAX_INSPECT {
        return Err(Error::Token(TokenError::TooLarge { max: MAX_INSPECT }));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Token(TokenError::Malformed));
    };
    if header.is_empty() || claims.is_empty() {
        return Err(Error::Token(TokenError::Malformed));
    }
    let object = |b64: &str, part: TokenPart| -> Result<Map<String, Value>, Error> {
        let bytes = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| Error::Token(TokenError::InvalidBase64(part)))?;
        serde_json::from_slice(&bytes).map_err(|_| Error::Token(TokenError::InvalidJson(part)))
    };
    let header = object(header, TokenPart::Header)?;
    let claims = object(claims, TokenPart::Claims)?;
    let signature_len = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Error::Token(TokenError::InvalidBase64(TokenPart::Signature)))?
        .len();
    Ok(Decoded {
        header,
        claims,
        signature_len,
    })
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    let token = super::read_token(&args.token)?;
    let decoded =
        decode(&token).map_err(|e| Failure::rejected(format!("cannot decode the token: {e}")))?;
    let now = super::now();
    if json {
        let mut times = Map::new();
        for (name, secs) in time_claims(&decoded.claims) {
            let mut t = serde_json::json!({ "timestamp": secs });
            if let Some(secs) = secs {
                t["date"] = super::format_date(secs).into();
                t["relative"] = describe(name, secs, now).into();
                if name == "exp" {
                    t["expired"] = (secs <= now).into();
                }
            }
            times.insert(name.to_owned(), t);
        }
        return Ok(Output::json(
            &serde_json::json!({
                "verified": false,
                "header": decoded.header,
                "claims": decoded.claims,
                "signature_bytes": decoded.signature_len,
                "times": times,
            }),
            false,
        ));
    }
    Ok(Output::stdout(human(&decoded, now)))
}

fn human(decoded: &Decoded, now: i64) -> String {
    let pretty = |m: &Map<String, Value>| serde_json::to_string_pretty(m).unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "{UNVERIFIED_BANNER}");
    let _ = writeln!(out, "header:\n{}", pretty(&decoded.header));
    let _ = writeln!(out, "claims:\n{}", pretty(&decoded.claims));
    let unsigned = decoded.signature_len == 0
        || decoded
            .header
            .get("alg")
            .and_then(Value::as_str)
            .is_some_and(|a| a.eq_ignore_ascii_case("none"));
    if unsigned {
        let _ = writeln!(
            out,
            "signature: NONE (unsecured token; tokengate never accepts it)"
        );
    } else {
        let _ = writeln!(
            out,
            "signature: {} bytes, not checked",
            decoded.signature_len
        );
    }
    let times = time_claims(&decoded.claims);
    if !times.is_empty() {
        let _ = writeln!(out, "times:");
        for (name, secs) in times {
            match secs.and_then(|s| Some((s, super::format_date(s)?))) {
                Some((secs, date)) => {
                    let _ = writeln!(out, "  {name}  {date}  ({})", describe(name, secs, now));
                }
                None => {
                    let _ = writeln!(out, "  {name}  not a valid NumericDate");
                }
            }
        }
    }
    out
}

/// The `iat`, `nbf`, `exp` claims present, with their value when it is a NumericDate.
fn time_claims(claims: &Map<String, Value>) -> Vec<(&'static str, Option<i64>)> {
    ["iat", "nbf", "exp"]
        .into_iter()
        .filter_map(|name| {
            let value = claims.get(name)?;
            let secs = value.as_i64().or_else(|| {
                #[allow(clippy::cast_possible_truncation)] // range checked first
                value
                    .as_f64()
                    .filter(|f| (0.0..9.0e15).contains(f))
                    .map(|f| f.trunc() as i64)
            });
            Some((name, secs))
        })
        .collect()
}

fn describe(name: &str, secs: i64, now: i64) -> String {
    match name {
        "exp" => super::expiry_phrase(secs, now),
        "iat" => format!("issued {}", super::relative_phrase(secs, now)),
        _ if secs > now => format!("not valid until {}", super::relative_phrase(secs, now)),
        _ => format!("valid since {}", super::relative_phrase(secs, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn decodes_without_checking_and_names_the_broken_part() {
        let h = b64(r#"{"alg":"HS256"}"#);
        let c = b64(r#"{"sub":"a","exp":5}"#);
        let d = decode(&format!("{h}.{c}.{}", b64("sig"))).expect("decodes");
        assert_eq!(d.claims["sub"], "a");
        assert_eq!(d.signature_len, 3);

        assert!(matches!(
            decode("abc"),
            Err(Error::Token(TokenError::Malformed))
        ));
        assert!(matches!(
            decode("a.b.c.d"),
            Err(Error::Token(TokenError::Malformed))
        ));
        assert!(matches!(
            decode(&format!(".{c}.x")),
            Err(Error::Token(TokenError::Malformed))
        ));
        assert!(matches!(
            decode(&format!("{h}.***.x")),
            Err(Error::Token(TokenError::InvalidBase64(TokenPart::Claims)))
        ));
        assert!(matches!(
            decode(&format!("{}.{c}.", b64("[1]"))),
            Err(Error::Token(TokenError::InvalidJson(TokenPart::Header)))
        ));
        assert!(matches!(
            decode(&format!("{h}.{c}.*")),
            Err(Error::Token(TokenError::InvalidBase64(
                TokenPart::Signature
            )))
        ));
        assert!(matches!(
            decode(&"a".repeat(MAX_INSPECT + 1)),
            Err(Error::Token(TokenError::TooLarge { .. }))
        ));
    }

    #[test]
    fn human_output_says_unverified_first_and_describes_times() {
        let h = b64(r#"{"alg":"none"}"#);
        let c = b64(r#"{"exp":1000,"iat":"soon"}"#);
        let d = decode(&format!("{h}.{c}.")).expect("decodes");
        let text = human(&d, 1000 + 3 * 3600);
        assert!(text.starts_with(UNVERIFIED_BANNER), "{text}");
        assert!(text.contains("expired 3 h ago"), "{text}");
        assert!(text.contains("iat  not a valid NumericDate"), "{text}");
        assert!(text.contains("signature: NONE"), "{text}");
    }
}
