//! Every way `Verifier` refuses a token, each asserting the exact `tokengate::Error` variant.
//!
//! Tokens are crafted byte by byte in `common` and signed with aws-lc-rs directly, so each test
//! controls exactly one defect. `accepts_the_crafted_baseline` proves the helpers produce tokens
//! the verifier accepts; every other test changes one thing about that baseline.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use aws_lc_rs::hmac;
use tokengate::store::{RevocationFuture, TokenRef};
use tokengate::{
    Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, ManualClock, NoExtra, Revocation,
    TokenKind, TokenPart, Verifier,
};
use tokengate::{TokenError, Unavailable};

fn check(verifier: &Verifier, token: &str) -> Result<Claims, Error> {
    verifier
        .dangerous()
        .verify_without_revocation::<NoExtra>(token)
}

/// Asserts the exact variant (Error is not PartialEq: it carries an I/O source in other variants).
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(,)?) => {{
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {:?}", stringify!($pattern), other.map(|_| "Ok(claims)")),
        }
    }};
    ($result:expr, $pattern:pat, $($ctx:tt)+) => {{
        match $result {
            Err($pattern) => {}
            other => panic!(
                "expected {} ({}), got {:?}",
                stringify!($pattern),
                format!($($ctx)+),
                other.map(|_| "Ok(claims)")
            ),
        }
    }};
}

#[test]
fn accepts_the_crafted_baseline() {
    let claims = check(&verifier(), &token(&header(), &claims())).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.iss, ISS);
    assert_eq!(claims.aud, vec![AUD]);
}

// ------------------------------------------------------------------ alg none

#[test]
fn alg_none_in_every_spelling_is_refused() {
    let v = verifier();
    let real_tag = token(&header(), &claims())
        .rsplit_once('.')
        .unwrap()
        .1
        .to_owned();
    for spelling in ["none", "None", "NONE", "nOnE", "noNe"] {
        for hdr in [
            format!(r#"{{"alg":"{spelling}"}}"#),
            format!(r#"{{"alg":"{spelling}","typ":"at+jwt","kid":"{KID}"}}"#),
        ] {
            let unsigned = format!("{}.{}", b64(&hdr), b64(claims()));
            for signature in ["", "c2lnbmF0dXJl", real_tag.as_str()] {
                let t = format!("{unsigned}.{signature}");
                assert_err!(
                    check(&v, &t),
                    Error::Token(TokenError::AlgorithmNone),
                    "{hdr} sig={signature:?}"
                );
            }
        }
    }
}

// ------------------------------------------------------------------ RS256 -> HS256 key confusion

#[test]
fn rsa_public_key_as_hmac_secret_is_refused() {
    let (_pair, _private_pem, spki_der) = rsa_pair();
    let public_pem = pem("PUBLIC KEY", &spki_der);
    let crlf_pem = public_pem.replace('\n', "\r\n");
    let rsa_key = Key::from_pem(public_pem.as_bytes()).unwrap();
    assert_eq!(rsa_key.algorithm(), Algorithm::RS256);
    let rsa_kid = rsa_key.kid().to_owned();
    let victim = verifier_for(KeyRing::verify_only([rsa_key]).unwrap());

    let secrets: [(&str, &[u8]); 3] = [
        ("PEM text", public_pem.as_bytes()),
        ("PEM text, CRLF", crlf_pem.as_bytes()),
        ("DER", &spki_der),
    ];
    for (what, secret) in secrets {
        for hdr in [
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{rsa_kid}"}}"#),
            r#"{"alg":"HS256","typ":"at+jwt"}"#.to_owned(),
        ] {
            let forged = hs256(secret, &hdr, &claims());
            assert_err!(
                check(&victim, &forged),
                Error::Token(TokenError::AlgorithmMismatch),
                "{what} {hdr}"
            );

            // The forgery is otherwise well formed: a ring in which those very bytes *are* an
            // HS256 key under the RSA key's kid accepts it. Only the key/alg binding stops it.
            let naive_key = Key::from_secret(Algorithm::HS256, secret)
                .unwrap()
                .with_kid(&rsa_kid);
            let naive = verifier_for(KeyRing::new(naive_key).unwrap());
            assert_eq!(check(&naive, &forged).unwrap().sub, "alice", "{what} {hdr}");
        }
    }
}

#[test]
fn ec_public_key_as_hmac_secret_is_refused() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    let (pair, key) = ec_pair();
    let kid = key.kid().to_owned();
    let point = pair.public_key().as_ref().to_vec();
    let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(pair.public_key())
        .unwrap()
        .as_ref()
        .to_vec();
    let public_pem = pem("PUBLIC KEY", &spki);
    let victim = verifier_for(KeyRing::verify_only([key]).unwrap());
    let secrets: [(&str, &[u8]); 3] = [
        ("uncompressed point", &point),
        ("SPKI DER", &spki),
        ("PEM text", public_pem.as_bytes()),
    ];
    for (what, secret) in secrets {
        let hdr = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#);
        let forged = hs256(secret, &hdr, &claims());
        assert_err!(
            check(&victim, &forged),
            Error::Token(TokenError::AlgorithmMismatch),
            "{what}"
        );
        let naive_key = Key::from_secret(Algorithm::HS256, secret)
            .unwrap()
            .with_kid(&kid);
        let naive = verifier_for(KeyRing::new(naive_key).unwrap());
        assert!(check(&naive, &forged).is_ok(), "{what}");
    }
}

// ------------------------------------------------------------------ signatures and shape

#[test]
fn stripped_empty_and_garbled_signatures_are_invalid() {
    let v = verifier();
    let good = token(&header(), &claims());
    let (input, tag) = good.rsplit_once('.').unwrap();
    let tag_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tag).unwrap();

    // Stripped: `h.p.`
    assert_err!(
        check(&v, &format!("{input}.")),
        Error::Token(TokenError::InvalidSignature)
    );

    let mut flipped = tag_bytes.clone();
    flipped[31] ^= 0x01;
    let garbled = [
        b64(&flipped),                              // one bit flipped
        b64(&tag_bytes[..31]),                      // truncated by one byte
        b64([tag_bytes.as_slice(), &[0]].concat()), // one byte appended
        b64([0u8; 32]),                             // all zero
        "AAAA".to_owned(),                          // short
        b64(vec![7u8; 700]),                        // long, still inside 8 KiB
        b64(hmac_tag(
            hmac::HMAC_SHA256,
            b"another secret of 32 bytes......",
            input,
        )),
        b64(hmac_tag(hmac::HMAC_SHA384, SECRET, input)), // right secret, wrong hash
    ];
    for sig in garbled {
        assert_err!(
            check(&v, &format!("{input}.{sig}")),
            Error::Token(TokenError::InvalidSignature),
            "{sig}"
        );
    }

    // A signature over other claims does not transfer.
    let other = token(&header(), &claims_with(r#""roles":["admin"]"#));
    let other_tag = other.rsplit_once('.').unwrap().1;
    assert_err!(
        check(&v, &format!("{input}.{other_tag}")),
        Error::Token(TokenError::InvalidSignature)
    );
}

#[test]
fn tokens_without_three_segments_are_malformed() {
    let v = verifier();
    let good = token(&header(), &claims());
    let (input, tag) = good.rsplit_once('.').unwrap();
    let (h, p) = input.split_once('.').unwrap();
    for bad in [
        String::new(),
        h.to_owned(),
        input.to_owned(), // two segments: header.payload
        format!("{h}.{tag}"),
        format!(".{p}.{tag}"),
        format!("{h}..{tag}"),
        format!("{good}.{tag}"), // four segments
        format!("{good}."),
        "..".to_owned(),
    ] {
        assert_err!(
            check(&v, &bad),
            Error::Token(TokenError::Malformed),
            "{bad:?}"
        );
    }
}

// ------------------------------------------------------------------ key selection

#[test]
fn unknown_kid_is_refused() {
    let v = verifier();
    for kid in ["nope", "HS", "hs ", ""] {
        let t = token(
            &format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#),
            &claims(),
        );
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::UnknownKeyId),
            "{kid:?}"
        );
    }
}

#[test]
fn missing_kid_is_refused_when_the_ring_is_ambiguous_or_kid_is_required() {
    let no_kid = token(r#"{"alg":"HS256","typ":"at+jwt"}"#, &claims());
    // Single key, no requirement: the only key is used.
    assert!(check(&verifier(), &no_kid).is_ok());

    let other = Key::from_secret(Algorithm::HS256, &[5u8; 32])
        .unwrap()
        .with_kid("other");
    let ring = KeyRing::new(hs_key())
        .unwrap()
        .with_verify_only(other)
        .unwrap();
    assert_err!(
        check(&verifier_for(ring), &no_kid),
        Error::Token(TokenError::MissingKeyId)
    );

    let strict = Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(NOW))
        .require_kid(true)
        .build()
        .unwrap();
    assert_err!(
        check(&strict, &no_kid),
        Error::Token(TokenError::MissingKeyId)
    );
    assert!(check(&strict, &token(&header(), &claims())).is_ok());
}

#[test]
fn wrong_alg_for_the_kid_is_a_mismatch() {
    let (rsa_pair, rsa_pem, _) = rsa_pair();
    let rsa_key = Key::from_pem(rsa_pem.as_bytes()).unwrap().with_kid("rsa");
    let (ec_pair, ec_key) = ec_pair();
    let ring = KeyRing::new(hs_key())
        .unwrap()
        .with_verify_only(rsa_key)
        .unwrap()
        .with_verify_only(ec_key.with_kid("ec"))
        .unwrap();
    let v = verifier_for(ring);

    // Each key verifies its own algorithm (baseline).
    let rs = rs256(
        &rsa_pair,
        r#"{"alg":"RS256","typ":"at+jwt","kid":"rsa"}"#,
        &claims(),
    );
    assert!(check(&v, &rs).is_ok());
    let es = es256(
        &ec_pair,
        r#"{"alg":"ES256","typ":"at+jwt","kid":"ec"}"#,
        &claims(),
    );
    assert!(check(&v, &es).is_ok());

    // ES256 header, signed with the EC key, pointing at the RSA key.
    let t = es256(
        &ec_pair,
        r#"{"alg":"ES256","typ":"at+jwt","kid":"rsa"}"#,
        &claims(),
    );
    assert_err!(check(&v, &t), Error::Token(TokenError::AlgorithmMismatch));
    // RS256 header on the EC key, PS256 on the RS256 key, HS384 on the HS256 key.
    let t = rs256(
        &rsa_pair,
        r#"{"alg":"RS256","typ":"at+jwt","kid":"ec"}"#,
        &claims(),
    );
    assert_err!(check(&v, &t), Error::Token(TokenError::AlgorithmMismatch));
    let t = rs256(
        &rsa_pair,
        r#"{"alg":"PS256","typ":"at+jwt","kid":"rsa"}"#,
        &claims(),
    );
    assert_err!(check(&v, &t), Error::Token(TokenError::AlgorithmMismatch));
    let t = token(r#"{"alg":"HS384","typ":"at+jwt","kid":"hs"}"#, &claims());
    assert_err!(check(&v, &t), Error::Token(TokenError::AlgorithmMismatch));
}

#[test]
fn unsupported_alg_strings_are_refused() {
    let v = verifier();
    for alg in [
        "HS1", "hs256", "Hs256", "HS256 ", " HS256", "ES512", "ES256K", "RS1", "PS1", "Ed25519",
        "EDDSA", "A256GCM", "RSA-OAEP", "dir", "", "nonee", "none ",
    ] {
        let t = token(
            &format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{KID}"}}"#),
            &claims(),
        );
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::UnsupportedAlgorithm),
            "{alg:?}"
        );
    }
    // No alg at all.
    let t = token(&format!(r#"{{"typ":"at+jwt","kid":"{KID}"}}"#), &claims());
    assert_err!(
        check(&v, &t),
        Error::Token(TokenError::UnsupportedAlgorithm)
    );
    // An alg that is not a string does not make a JOSE header.
    for alg in ["256", "null", r#"["HS256"]"#, r#"{"name":"HS256"}"#] {
        let t = token(&format!(r#"{{"alg":{alg},"typ":"at+jwt"}}"#), &claims());
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidJson(TokenPart::Header)),
            "{alg}"
        );
    }
}

// ------------------------------------------------------------------ time, at the leeway edges

fn at(now: i64, leeway: Option<u64>) -> Verifier {
    let mut b = Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(now));
    if let Some(secs) = leeway {
        b = b.leeway(Duration::from_secs(secs));
    }
    b.build().unwrap()
}

fn timed(exp: i64, nbf: Option<i64>, iat: Option<i64>) -> String {
    let mut members = format!(r#""iss":"{ISS}","sub":"alice","aud":"{AUD}","exp":{exp}"#);
    if let Some(nbf) = nbf {
        members.push_str(&format!(r#","nbf":{nbf}"#));
    }
    if let Some(iat) = iat {
        members.push_str(&format!(r#","iat":{iat}"#));
    }
    token(&header(), &raw_claims(&members))
}

#[test]
fn exp_at_the_leeway_edge() {
    let exp = NOW;
    let t = timed(exp, None, None);
    // Default leeway 30 s: valid while now < exp + 30.
    assert!(check(&at(exp + 29, None), &t).is_ok());
    assert_err!(
        check(&at(exp + 30, None), &t),
        Error::Token(TokenError::Expired)
    );
    assert_err!(
        check(&at(exp + 31, None), &t),
        Error::Token(TokenError::Expired)
    );
    // Well before expiry, fine.
    assert!(check(&at(exp - 1, None), &t).is_ok());

    // Leeway 0: exp itself is already too late (RFC 7519 §4.1.4 "on or after").
    assert!(check(&at(exp - 1, Some(0)), &t).is_ok());
    assert_err!(
        check(&at(exp, Some(0)), &t),
        Error::Token(TokenError::Expired)
    );
    assert_err!(
        check(&at(exp + 1, Some(0)), &t),
        Error::Token(TokenError::Expired)
    );

    // Leeway 120 s.
    assert!(check(&at(exp + 119, Some(120)), &t).is_ok());
    assert_err!(
        check(&at(exp + 120, Some(120)), &t),
        Error::Token(TokenError::Expired)
    );
    assert_err!(
        check(&at(exp + 121, Some(120)), &t),
        Error::Token(TokenError::Expired)
    );
}

#[test]
fn exp_moves_with_a_shared_manual_clock() {
    let clock = ManualClock::new(NOW);
    let v = Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone())
        .build()
        .unwrap();
    let t = timed(NOW + 10, None, None);
    assert!(check(&v, &t).is_ok());
    clock.advance(39); // now = exp + 29
    assert!(check(&v, &t).is_ok());
    clock.advance(1); // now = exp + 30
    assert_err!(check(&v, &t), Error::Token(TokenError::Expired));
}

#[test]
fn nbf_at_the_leeway_edge() {
    let nbf = NOW;
    let t = timed(nbf + 3600, Some(nbf), None);
    // Valid from nbf - 30 on.
    assert!(check(&at(nbf - 29, None), &t).is_ok());
    assert!(check(&at(nbf - 30, None), &t).is_ok());
    assert_err!(
        check(&at(nbf - 31, None), &t),
        Error::Token(TokenError::NotYetValid)
    );

    assert!(check(&at(nbf, Some(0)), &t).is_ok());
    assert_err!(
        check(&at(nbf - 1, Some(0)), &t),
        Error::Token(TokenError::NotYetValid)
    );

    assert!(check(&at(nbf - 119, Some(120)), &t).is_ok());
    assert!(check(&at(nbf - 120, Some(120)), &t).is_ok());
    assert_err!(
        check(&at(nbf - 121, Some(120)), &t),
        Error::Token(TokenError::NotYetValid)
    );
}

#[test]
fn iat_at_the_leeway_edge() {
    let iat = NOW;
    let t = timed(iat + 3600, None, Some(iat));
    assert!(check(&at(iat - 29, None), &t).is_ok());
    assert!(check(&at(iat - 30, None), &t).is_ok());
    assert_err!(
        check(&at(iat - 31, None), &t),
        Error::Token(TokenError::IssuedInFuture)
    );

    assert!(check(&at(iat, Some(0)), &t).is_ok());
    assert_err!(
        check(&at(iat - 1, Some(0)), &t),
        Error::Token(TokenError::IssuedInFuture)
    );

    assert!(check(&at(iat - 119, Some(120)), &t).is_ok());
    assert!(check(&at(iat - 120, Some(120)), &t).is_ok());
    assert_err!(
        check(&at(iat - 121, Some(120)), &t),
        Error::Token(TokenError::IssuedInFuture)
    );
}

#[test]
fn leeway_over_five_minutes_is_a_config_error() {
    let r = Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .leeway(Duration::from_secs(301))
        .build();
    assert!(matches!(r, Err(Error::Config { setting, .. }) if setting == "leeway"));
}

// ------------------------------------------------------------------ iss / aud / registered claims

fn without(member: &str) -> String {
    let all = [
        ("iss", format!(r#""iss":"{ISS}""#)),
        ("sub", r#""sub":"alice""#.to_owned()),
        ("aud", format!(r#""aud":"{AUD}""#)),
        ("exp", format!(r#""exp":{}"#, NOW + 600)),
    ];
    let kept: Vec<_> = all
        .iter()
        .filter(|(n, _)| *n != member)
        .map(|(_, m)| m.as_str())
        .collect();
    raw_claims(&kept.join(","))
}

fn with_member(name: &str, value: &str) -> String {
    let mut members = vec![
        format!(r#""iss":"{ISS}""#),
        r#""sub":"alice""#.to_owned(),
        format!(r#""aud":"{AUD}""#),
        format!(r#""exp":{}"#, NOW + 600),
    ];
    members.retain(|m| !m.starts_with(&format!(r#""{name}":"#)));
    members.push(format!(r#""{name}":{value}"#));
    raw_claims(&members.join(","))
}

#[test]
fn wrong_and_missing_issuer() {
    let v = verifier();
    for iss in [
        r#""https://evil.example""#,
        r#""https://issuer.example/""#,
        r#""HTTPS://ISSUER.EXAMPLE""#,
        r#""""#,
    ] {
        assert_err!(
            check(&v, &token(&header(), &with_member("iss", iss))),
            Error::Token(TokenError::InvalidIssuer),
            "{iss}"
        );
    }
    assert_err!(
        check(&v, &token(&header(), &without("iss"))),
        Error::Token(TokenError::MissingClaim("iss"))
    );
    for bad in ["1", "null", r#"["https://issuer.example"]"#, "{}"] {
        assert_err!(
            check(&v, &token(&header(), &with_member("iss", bad))),
            Error::Token(TokenError::InvalidClaim("iss")),
            "{bad}"
        );
    }
}

#[test]
fn wrong_and_missing_audience() {
    let v = verifier();
    for aud in [
        r#""other""#,
        r#""API""#,
        r#""api ""#,
        r#"["other"]"#,
        r#"["other","API"]"#,
        "[]",
    ] {
        assert_err!(
            check(&v, &token(&header(), &with_member("aud", aud))),
            Error::Token(TokenError::InvalidAudience),
            "{aud}"
        );
    }
    // The configured audience anywhere in an array is accepted.
    let ok = check(
        &v,
        &token(&header(), &with_member("aud", r#"["other","api"]"#)),
    )
    .unwrap();
    assert_eq!(ok.aud, vec!["other", "api"]);
    assert_err!(
        check(&v, &token(&header(), &without("aud"))),
        Error::Token(TokenError::MissingClaim("aud"))
    );
    for bad in ["1", "null", "true", r#"["api",1]"#, r#"{"aud":"api"}"#] {
        assert_err!(
            check(&v, &token(&header(), &with_member("aud", bad))),
            Error::Token(TokenError::InvalidClaim("aud")),
            "{bad}"
        );
    }
}

#[test]
fn missing_exp_and_sub() {
    let v = verifier();
    assert_err!(
        check(&v, &token(&header(), &without("exp"))),
        Error::Token(TokenError::MissingClaim("exp"))
    );
    assert_err!(
        check(&v, &token(&header(), &without("sub"))),
        Error::Token(TokenError::MissingClaim("sub"))
    );
}

#[test]
fn wrongly_typed_time_claims_are_invalid_not_ignored() {
    let v = verifier();
    let far = NOW + 600;
    for bad in [
        format!(r#""{far}""#),
        "null".into(),
        "-1".into(),
        "true".into(),
        "[]".into(),
        "{}".into(),
        "-0.5".into(),
        "1e300".into(),
    ] {
        assert_err!(
            check(&v, &token(&header(), &with_member("exp", &bad))),
            Error::Token(TokenError::InvalidClaim("exp")),
            "exp {bad}"
        );
    }
    for name in ["nbf", "iat"] {
        for bad in [
            format!(r#""{NOW}""#),
            "null".into(),
            "-1".into(),
            "false".into(),
        ] {
            let t = token(
                &header(),
                &claims().replace(&format!(r#""{name}":{NOW}"#), &format!(r#""{name}":{bad}"#)),
            );
            let expected = if name == "nbf" { "nbf" } else { "iat" };
            match check(&v, &t) {
                Err(Error::Token(TokenError::InvalidClaim(n))) if n == expected => {}
                other => panic!("{name} {bad}: {other:?}"),
            }
        }
    }
}

// ------------------------------------------------------------------ token types

#[test]
fn token_kinds_are_not_interchangeable() {
    let ring = KeyRing::new(hs_key()).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let v = verifier_for(ring);
    let refresh = issuer.issue_refresh(&Grant::new("alice")).unwrap();
    let access = issuer.issue_access(&Grant::new("alice")).unwrap();

    // Refresh presented as access.
    assert_err!(
        check(&v, &refresh.token),
        Error::Token(TokenError::WrongType)
    );
    // Access presented where a refresh token is expected.
    assert_err!(
        v.dangerous()
            .verify_without_revocation_as::<NoExtra>(&access.token, &TokenKind::Refresh),
        Error::Token(TokenError::WrongType)
    );
    // Each is accepted in its own place.
    assert!(check(&v, &access.token).is_ok());
    assert!(
        v.dangerous()
            .verify_without_revocation_as::<NoExtra>(&refresh.token, &TokenKind::Refresh)
            .is_ok()
    );
    // Another kind is neither.
    let other = TokenKind::Other("email-verify+jwt".into());
    let mail = issuer.issue(other.clone(), &Grant::new("alice")).unwrap();
    assert_err!(check(&v, &mail.token), Error::Token(TokenError::WrongType));
    assert!(
        v.dangerous()
            .verify_without_revocation_as::<NoExtra>(&mail.token, &other)
            .is_ok()
    );

    // Generic or missing typ: not an access token.
    for typ in [Some("JWT"), Some("jwt"), Some("at+jwt2"), Some(""), None] {
        let hdr = match typ {
            Some(t) => format!(r#"{{"alg":"HS256","typ":"{t}","kid":"{KID}"}}"#),
            None => format!(r#"{{"alg":"HS256","kid":"{KID}"}}"#),
        };
        assert_err!(
            check(&v, &token(&hdr, &claims())),
            Error::Token(TokenError::WrongType),
            "{typ:?}"
        );
    }
    // The media-type spellings RFC 7515 §4.1.9 allows are the same type.
    for typ in ["application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
        let hdr = format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"{KID}"}}"#);
        assert!(check(&v, &token(&hdr, &claims())).is_ok(), "{typ}");
    }
}

// ------------------------------------------------------------------ crit

#[test]
fn any_crit_header_is_refused() {
    let v = verifier();
    for crit in [r#"["exp"]"#, r#"["b64"]"#, r#"["x-unknown"]"#, "[]"] {
        let hdr = format!(
            r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}","crit":{crit},"x-unknown":1}}"#
        );
        assert_err!(
            check(&v, &token(&hdr, &claims())),
            Error::Token(TokenError::UnsupportedCritical),
            "{crit}"
        );
    }
}

// ------------------------------------------------------------------ base64

const STD_ALPHABET_SWAP: [(char, char); 2] = [('-', '+'), ('_', '/')];

/// Flips the lowest bit of the last character of an unpadded segment whose length is not a
/// multiple of 4: that bit is never used, so the bytes stay the same but the encoding is no
/// longer canonical.
fn non_canonical(seg: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_ne!(seg.len() % 4, 0, "needs unused bits");
    let last = seg.as_bytes()[seg.len() - 1];
    let idx = ALPHABET.iter().position(|c| *c == last).unwrap();
    format!("{}{}", &seg[..seg.len() - 1], ALPHABET[idx ^ 1] as char)
}

/// Rewrites a base64url segment into something that is not canonical base64url.
type Mangle = fn(&str) -> String;

/// Appends `A`s until the length is 1 modulo 4, which no base64 encoding has.
fn impossible_len(seg: &str) -> String {
    let k = match (5 - seg.len() % 4) % 4 {
        0 => 4,
        k => k,
    };
    format!("{seg}{}", "A".repeat(k))
}

/// Header and claims whose encodings contain `-` and `_` and have unused trailing bits.
fn awkward_parts() -> (String, String) {
    for pad in 0..12 {
        let h = format!(
            r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}","x":"???>>>{}"}}"#,
            " ".repeat(pad)
        );
        let c = claims_with(&format!(r#""x":"???>>>{}""#, " ".repeat(pad)));
        let (hb, cb) = (b64(&h), b64(&c));
        let awkward = |s: &str| s.contains('-') && s.contains('_') && !s.len().is_multiple_of(4);
        if awkward(&hb) && awkward(&cb) {
            return (h, c);
        }
    }
    unreachable!("some padding gives both");
}

#[test]
fn malformed_base64_names_the_part() {
    let v = verifier();
    let (h, c) = awkward_parts();
    let (hb, cb) = (b64(&h), b64(&c));
    // Baseline: these awkward parts verify as they are.
    assert!(check(&v, &hs256_segments(SECRET, &hb, &cb)).is_ok());

    let std_alphabet = |s: &str| {
        STD_ALPHABET_SWAP
            .iter()
            .fold(s.to_owned(), |s, (a, b)| s.replace(*a, &b.to_string()))
    };
    let padded = |s: &str| format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
    let mangles: [(&str, Mangle); 7] = [
        ("padding", (padded)),
        ("+/ alphabet", (std_alphabet)),
        (
            "invalid char *",
            (|s: &str| format!("{}*{}", &s[..4], &s[4..])),
        ),
        ("space", (|s: &str| format!("{} {}", &s[..4], &s[4..]))),
        ("newline", (|s: &str| format!("{}\n{}", &s[..4], &s[4..]))),
        ("non-canonical trailing bits", (|s: &str| non_canonical(s))),
        ("impossible length", (impossible_len)),
    ];
    for (what, mangle) in &mangles {
        // Header: refused before any key is looked at.
        let t = hs256_segments(SECRET, &mangle(&hb), &cb);
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidBase64(TokenPart::Header)),
            "header: {what}"
        );
        // Claims: the token is correctly signed over the mangled text, so the signature passes
        // and the claims segment itself is refused.
        let t = hs256_segments(SECRET, &hb, &mangle(&cb));
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidBase64(TokenPart::Claims)),
            "claims: {what}"
        );
    }

    // Signature: find a correctly signed token whose tag uses `-` or `_`.
    let (input, tag) = (0..200)
        .map(|i| token(&header(), &claims_with(&format!(r#""n":{i}"#))))
        .find_map(|t| {
            let (input, tag) = t.rsplit_once('.').unwrap();
            (tag.contains('-') || tag.contains('_')).then(|| (input.to_owned(), tag.to_owned()))
        })
        .unwrap();
    assert!(check(&v, &format!("{input}.{tag}")).is_ok());
    for (what, mangle) in &mangles {
        let t = format!("{input}.{}", mangle(&tag));
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidBase64(TokenPart::Signature)),
            "signature: {what}"
        );
    }
}

// ------------------------------------------------------------------ JSON

#[test]
fn header_that_is_not_a_json_object() {
    let v = verifier();
    for hdr in [
        "[]",
        "null",
        "\"HS256\"",
        "42",
        "not json",
        r#"{"alg":"HS256","typ":"at+jwt""#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs"} {}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs"},"#,
        r#"{"alg":"HS256",}"#,
        "\u{feff}{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
    ] {
        let t = hs256_segments(SECRET, &b64(hdr), &b64(claims()));
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidJson(TokenPart::Header)),
            "{hdr:?}"
        );
    }
    // Bytes that are not UTF-8.
    let t = hs256_segments(
        SECRET,
        &b64(b"{\"alg\":\"HS256\",\"typ\":\"\xff\"}"),
        &b64(claims()),
    );
    assert_err!(
        check(&v, &t),
        Error::Token(TokenError::InvalidJson(TokenPart::Header))
    );
}

#[test]
fn claims_that_are_not_a_json_object() {
    let v = verifier();
    let full = claims();
    for body in [
        "[]",
        "null",
        "\"alice\"",
        "42",
        "not json",
        &full[..full.len() - 1], // truncated
        &format!("{full} {{}}"), // trailing value
        &format!("{full}x"),
    ] {
        let t = token(&header(), body);
        assert_err!(
            check(&v, &t),
            Error::Token(TokenError::InvalidJson(TokenPart::Claims)),
            "{body:?}"
        );
    }
}

// ------------------------------------------------------------------ size

/// A valid token of exactly `len` bytes (found by growing a filler claim and header whitespace).
fn valid_token_of_len(len: usize) -> String {
    for spaces in 0..4 {
        let hdr = format!(
            r#"{{"alg":"HS256","typ":"at+jwt",{}"kid":"{KID}"}}"#,
            " ".repeat(spaces)
        );
        for fill in 0..len {
            let t = token(
                &hdr,
                &claims_with(&format!(r#""fill":"{}""#, "x".repeat(fill))),
            );
            if t.len() == len {
                return t;
            }
            if t.len() > len {
                break;
            }
        }
    }
    panic!("no token of exactly {len} bytes");
}

#[test]
fn oversized_tokens_are_refused_unread() {
    let v = verifier();
    let exact = valid_token_of_len(8 * 1024);
    assert!(
        check(&v, &exact).is_ok(),
        "a token of exactly max_token_size is accepted"
    );
    let over = valid_token_of_len(8 * 1024 + 1);
    assert_err!(
        check(&v, &over),
        Error::Token(TokenError::TooLarge { max: 8192 })
    );

    // 1 MB of anything, even garbage that would be Malformed: refused by size first.
    let megabyte = "A".repeat(1 << 20);
    assert_err!(
        check(&v, &megabyte),
        Error::Token(TokenError::TooLarge { max: 8192 })
    );
    let big_valid_shape = format!(
        "{}.{}.{}",
        b64(header()),
        "A".repeat(1 << 20),
        "A".repeat(43)
    );
    assert_err!(
        check(&v, &big_valid_shape),
        Error::Token(TokenError::TooLarge { max: 8192 })
    );

    // A custom maximum.
    let small = Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(NOW))
        .max_token_size(400)
        .build()
        .unwrap();
    assert!(check(&small, &valid_token_of_len(400)).is_ok());
    assert_err!(
        check(&small, &valid_token_of_len(401)),
        Error::Token(TokenError::TooLarge { max: 400 })
    );
}

// ------------------------------------------------------------------ duplicate members

#[test]
fn duplicate_members_are_refused() {
    let v = verifier();
    for hdr in [
        format!(r#"{{"alg":"HS256","alg":"HS256","typ":"at+jwt","kid":"{KID}"}}"#),
        format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}","\u0061lg":"none"}}"#),
        format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{KID}","\u0061lg":"HS256"}}"#),
        format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}","kid":"other"}}"#),
        format!(r#"{{"alg":"HS256","typ":"refresh+jwt","kid":"{KID}","t\u0079p":"at+jwt"}}"#),
        format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}","jku":"a","jku":"b"}}"#),
    ] {
        assert_err!(
            check(&v, &token(&hdr, &claims())),
            Error::Token(TokenError::DuplicateMember(TokenPart::Header)),
            "{hdr}"
        );
    }
    for extra in [
        format!(r#""exp":{}"#, NOW + 99_999),
        r#""sub":"mallory""#.to_owned(),
        r#""\u0073ub":"mallory""#.to_owned(),
        format!(r#""\u0061ud":"{AUD}""#),
        r#""roles":["admin"],"roles":[]"#.to_owned(),
        r#""scope":"a","scope":"b""#.to_owned(),
        r#""custom":1,"custom":2"#.to_owned(),
        r#""custom":1,"\u0063ustom":2"#.to_owned(),
    ] {
        let c = claims_with(&extra);
        assert_err!(
            check(&v, &token(&header(), &c)),
            Error::Token(TokenError::DuplicateMember(TokenPart::Claims)),
            "{extra}"
        );
    }
}

// ------------------------------------------------------------------ embedded keys

#[test]
fn embedded_jwk_jku_x5u_are_never_trusted() {
    let (victim_pair, victim_key) = ec_pair();
    let victim_kid = victim_key.kid().to_owned();
    let v = verifier_for(KeyRing::verify_only([victim_key]).unwrap());
    // Baseline: the victim's own key verifies.
    let legit = es256(
        &victim_pair,
        &format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{victim_kid}"}}"#),
        &claims(),
    );
    assert!(check(&v, &legit).is_ok());

    let (attacker_pair, attacker_key) = ec_pair();
    let attacker_jwk = serde_json::to_string(&attacker_key.to_public_jwk().unwrap()).unwrap();
    let attacker_kid = attacker_key.kid().to_owned();
    let embeds = [
        format!(r#""jwk":{attacker_jwk}"#),
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        r#""x5c":["MIIBAAAA"]"#.to_owned(),
        format!(
            r#""jwk":{attacker_jwk},"jku":"https://attacker.example/jwks.json","x5u":"https://attacker.example/c.pem""#
        ),
    ];
    for embed in &embeds {
        for kid in [Some(victim_kid.as_str()), None] {
            let hdr = match kid {
                Some(k) => format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{k}",{embed}}}"#),
                None => format!(r#"{{"alg":"ES256","typ":"at+jwt",{embed}}}"#),
            };
            let forged = es256(&attacker_pair, &hdr, &claims());
            assert_err!(
                check(&v, &forged),
                Error::Token(TokenError::InvalidSignature),
                "{hdr}"
            );

            // The forgery is genuine under the attacker's key: only ignoring the embedded key
            // stops it.
            let dupe = attacker_key_again(&attacker_key, kid.unwrap_or(&attacker_kid));
            let fooled = verifier_for(KeyRing::verify_only([dupe]).unwrap());
            assert!(check(&fooled, &forged).is_ok(), "{hdr}");
        }
        // Pointing kid at the embedded key's own thumbprint does not help either.
        let hdr = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{attacker_kid}",{embed}}}"#);
        assert_err!(
            check(&v, &es256(&attacker_pair, &hdr, &claims())),
            Error::Token(TokenError::UnknownKeyId)
        );
    }
}

fn attacker_key_again(key: &Key, kid: &str) -> Key {
    Key::from_jwk(&key.to_public_jwk().unwrap())
        .unwrap()
        .with_kid(kid)
}

// ------------------------------------------------------------------ revocation hook

#[derive(Debug)]
struct Hook {
    answer: Result<bool, &'static str>,
    asked: Mutex<Vec<(String, String, i64)>>,
}

impl Hook {
    fn new(answer: Result<bool, &'static str>) -> Arc<Self> {
        Arc::new(Self {
            answer,
            asked: Mutex::new(Vec::new()),
        })
    }
}

impl Revocation for Hook {
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> RevocationFuture<'a> {
        self.asked
            .lock()
            .unwrap()
            .push((token.jti.to_owned(), token.sub.to_owned(), token.iat));
        let answer = self.answer.map_err(|m| m.into());
        Box::pin(async move { answer })
    }
}

fn hooked(hook: Arc<Hook>) -> Verifier {
    Verifier::builder(KeyRing::new(hs_key()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(NOW))
        .revocation(hook)
        .build()
        .unwrap()
}

#[tokio::test]
async fn revocation_hook_decides_and_fails_closed() {
    let t = token(&header(), &claims());

    let not_revoked = Hook::new(Ok(false));
    let claims: Claims = hooked(not_revoked.clone()).verify(&t).await.unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(
        *not_revoked.asked.lock().unwrap(),
        vec![("j-1".to_owned(), "alice".to_owned(), NOW)]
    );

    let revoked = Hook::new(Ok(true));
    assert_err!(
        hooked(revoked.clone()).verify::<NoExtra>(&t).await,
        Error::Token(TokenError::Revoked)
    );
    assert_eq!(revoked.asked.lock().unwrap().len(), 1);

    let down = Hook::new(Err("store unreachable"));
    match hooked(down).verify::<NoExtra>(&t).await {
        Err(Error::Unavailable(Unavailable::Revocation(source))) => {
            assert_eq!(source.to_string(), "store unreachable")
        }
        other => panic!("expected RevocationUnavailable, got {other:?}"),
    }

    // The stateless path never asks the hook (documented), so a revoked token passes there.
    let revoked = Hook::new(Ok(true));
    assert!(
        hooked(revoked.clone())
            .dangerous()
            .verify_without_revocation::<NoExtra>(&t)
            .is_ok()
    );
    assert!(revoked.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn revocation_hook_needs_jti_and_iat() {
    let hook = Hook::new(Ok(false));
    let v = hooked(hook.clone());
    let no_jti = token(&header(), &claims().replace(r#","jti":"j-1""#, ""));
    assert_err!(
        v.verify::<NoExtra>(&no_jti).await,
        Error::Token(TokenError::MissingClaim("jti"))
    );
    assert_err!(
        v.dangerous().verify_without_revocation::<NoExtra>(&no_jti),
        Error::Token(TokenError::MissingClaim("jti"))
    );
    let no_iat = token(
        &header(),
        &claims().replace(&format!(r#","iat":{NOW}"#), ""),
    );
    assert_err!(
        v.verify::<NoExtra>(&no_iat).await,
        Error::Token(TokenError::MissingClaim("iat"))
    );
    assert!(
        hook.asked.lock().unwrap().is_empty(),
        "hook is not asked about incomplete tokens"
    );

    // Without a hook, jti is optional.
    assert!(check(&verifier(), &no_jti).is_ok());
}
