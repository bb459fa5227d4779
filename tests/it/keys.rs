//! Key material: what is refused (weak, wrong, corrupt, missing), what never leaks (`Debug`, JWKS),
//! and JWK / JWKS import.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use tokengate::KeyError;
use tokengate::{Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, NoExtra, Verifier};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data(name)).unwrap()
}

// ------------------------------------------------------------------ weak and wrong secrets

#[test]
fn hmac_secrets_shorter_than_the_hash_are_weak() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        assert_eq!(tokengate::min_secret_len(alg), min);
        match Key::from_secret(alg, &vec![b'k'; min - 1]) {
            Err(Error::Key(KeyError::Weak(m))) => {
                assert!(m.contains(&min.to_string()), "{m}");
                assert!(m.contains(&(min - 1).to_string()), "{m}");
            }
            other => panic!("{alg:?}: {other:?}"),
        }
        assert!(matches!(
            Key::from_secret(alg, b""),
            Err(Error::Key(KeyError::Weak(_)))
        ));
        let key = Key::from_secret(alg, &vec![b'k'; min]).unwrap();
        assert_eq!(key.algorithm(), alg);
        // Base64 input is measured after decoding.
        let b64_short = URL_SAFE_NO_PAD.encode(vec![1u8; min - 1]);
        assert!(matches!(
            Key::from_base64_secret(alg, &b64_short),
            Err(Error::Key(KeyError::Weak(_)))
        ));
    }
}

#[test]
fn a_secret_cannot_be_an_asymmetric_key() {
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        assert!(
            matches!(
                Key::from_secret(alg, &[7u8; 64]),
                Err(Error::Key(KeyError::Invalid(_)))
            ),
            "{alg:?}"
        );
    }
}

#[test]
fn base64_secrets_in_every_common_spelling() {
    let secret = [0xfbu8; 33]; // encodes with `+`/`/` (or `-`/`_`) and needs padding
    let reference = Key::from_secret(Algorithm::HS256, &secret).unwrap();
    for engine in [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD] {
        let text = engine.encode(secret);
        let key = Key::from_base64_secret(Algorithm::HS256, &text).unwrap();
        assert_eq!(key.kid(), reference.kid(), "{text}");
    }
    assert!(matches!(
        Key::from_base64_secret(Algorithm::HS256, "not base64 at all!"),
        Err(Error::Key(KeyError::Invalid(_)))
    ));
}

// ------------------------------------------------------------------ RSA under 2048 bits

#[test]
fn rsa_1024_is_weak_in_every_form() {
    for (what, result) in [
        ("PKCS#8 PEM", Key::from_pem(read("rsa1024.pem").as_bytes())),
        (
            "SPKI PEM",
            Key::from_pem(read("rsa1024.pub.pem").as_bytes()),
        ),
        ("JWK", Key::from_jwk_json(&read("rsa1024.pub.jwk.json"))),
        (
            "PS256 PEM",
            Key::from_pem_with_alg(Algorithm::PS256, read("rsa1024.pem").as_bytes()),
        ),
    ] {
        match result {
            Err(Error::Key(KeyError::Weak(m))) => assert!(m.contains("2048"), "{what}: {m}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    match Key::from_pem_file(data("rsa1024.pem")) {
        Err(Error::Key(KeyError::Weak(m))) => assert!(m.contains("rsa1024.pem"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        KeyRing::from_jwks_json(&format!(r#"{{"keys":[{}]}}"#, read("rsa1024.pub.jwk.json"))),
        Err(Error::Key(KeyError::Weak(_)))
    ));
}

// ------------------------------------------------------------------ environment variables

const ENV_SHORT: &str = "thirty-one-bytes-is-not-enough!";

/// The environment cases run in a child process (`env_child`), because changing this process's
/// environment is `unsafe` and the crate forbids unsafe code.
#[test]
fn secrets_from_env_are_checked_and_named() {
    assert_eq!(ENV_SHORT.len(), 31);
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "keys::env_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TOKENGATE_ENV_CHILD", "1")
        .env_remove("TG_UNSET")
        .env("TG_EMPTY", "")
        .env("TG_SHORT", ENV_SHORT)
        .env("TG_B64_SHORT", URL_SAFE_NO_PAD.encode([9u8; 31]))
        .env("TG_B64_BAD", "%%% not base64 %%%")
        .env("TG_GOOD", "a-thirty-two-byte-secret-for-env")
        .env("TG_B64_GOOD", STANDARD.encode([9u8; 64]))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("env cases checked: 9"),
        "child did not run its checks:\n{stdout}"
    );
}

/// Runs only when spawned by `secrets_from_env_are_checked_and_named` (see there); in a normal
/// run it has nothing to check.
#[test]
fn env_child() {
    if std::env::var_os("TOKENGATE_ENV_CHILD").is_none() {
        return;
    }
    let mut checked = 0;
    let mut expect_missing = |r: Result<Key, Error>, var: &str| {
        match r {
            Err(e @ Error::Config { .. }) => {
                assert_eq!(e.setting(), Some(var));
                let msg = e.to_string();
                assert!(msg.contains(var) && msg.contains("missing"), "{msg}");
            }
            other => panic!("{var}: {other:?}"),
        }
        checked += 1;
    };
    expect_missing(
        Key::from_secret_env(Algorithm::HS256, "TG_UNSET"),
        "TG_UNSET",
    );
    expect_missing(
        Key::from_secret_env(Algorithm::HS256, "TG_EMPTY"),
        "TG_EMPTY",
    );
    expect_missing(
        Key::from_base64_secret_env(Algorithm::HS256, "TG_UNSET"),
        "TG_UNSET",
    );
    expect_missing(
        Key::from_base64_secret_env(Algorithm::HS256, "TG_EMPTY"),
        "TG_EMPTY",
    );

    let mut expect = |r: Result<Key, Error>, var: &str, weak: bool| {
        let msg = match (r, weak) {
            (Err(e @ Error::Key(KeyError::Weak(_))), true)
            | (Err(e @ Error::Key(KeyError::Invalid(_))), false) => e.to_string(),
            (other, _) => panic!("{var}: {other:?}"),
        };
        assert!(msg.contains(var), "message names the variable: {msg}");
        assert!(!msg.contains(ENV_SHORT), "message leaks the secret: {msg}");
        checked += 1;
    };
    expect(
        Key::from_secret_env(Algorithm::HS256, "TG_SHORT"),
        "TG_SHORT",
        true,
    );
    expect(
        Key::from_base64_secret_env(Algorithm::HS256, "TG_B64_SHORT"),
        "TG_B64_SHORT",
        true,
    );
    expect(
        Key::from_base64_secret_env(Algorithm::HS256, "TG_B64_BAD"),
        "TG_B64_BAD",
        false,
    );
    // A 32-byte variable is not enough for HS384.
    expect(
        Key::from_secret_env(Algorithm::HS384, "TG_GOOD"),
        "TG_GOOD",
        true,
    );

    let good = Key::from_secret_env(Algorithm::HS256, "TG_GOOD").unwrap();
    assert_eq!(
        good.kid(),
        Key::from_secret(Algorithm::HS256, b"a-thirty-two-byte-secret-for-env")
            .unwrap()
            .kid()
    );
    let b64_good = Key::from_base64_secret_env(Algorithm::HS512, "TG_B64_GOOD").unwrap();
    assert_eq!(
        b64_good.kid(),
        Key::from_secret(Algorithm::HS512, &[9u8; 64])
            .unwrap()
            .kid()
    );
    checked += 1;
    println!("env cases checked: {checked}");
}

// ------------------------------------------------------------------ files and PEM

#[test]
fn missing_key_file_names_the_path() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/no-such-key.pem");
    match Key::from_pem_file(&path) {
        Err(e @ Error::Key(KeyError::File { .. })) => {
            let Error::Key(KeyError::File { path: p, source }) = &e else {
                unreachable!()
            };
            assert_eq!(p, &path.display().to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(e.to_string().contains("no-such-key.pem"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn corrupt_pem_is_an_invalid_key() {
    let (_, good_pem, _) = rsa_pair();
    let body_start = good_pem.find('\n').unwrap() + 1;
    let mut flipped = good_pem.clone().into_bytes();
    flipped[body_start + 40] = if flipped[body_start + 40] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let lines: Vec<&str> = good_pem.lines().collect();
    let truncated = format!(
        "{}\n{}\n{}\n",
        lines[0],
        lines[1..4].join("\n"),
        lines[lines.len() - 1]
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not PEM", b"hello".to_vec()),
        ("empty", Vec::new()),
        (
            "junk body",
            b"-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
        ),
        (
            "bad base64 body",
            b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_vec(),
        ),
        ("truncated PKCS#8", truncated.into_bytes()),
        ("bit flipped in the DER", flipped),
        (
            "SEC1 EC key",
            pem("EC PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]).into_bytes(),
        ),
        (
            "certificate",
            pem("CERTIFICATE", &[0x30, 0x00]).into_bytes(),
        ),
        (
            "encrypted",
            pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]).into_bytes(),
        ),
        (
            "junk public key",
            pem("PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]).into_bytes(),
        ),
    ];
    for (what, text) in cases {
        match Key::from_pem(&text) {
            Err(Error::Key(KeyError::Invalid(_))) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    // From a file, the message names the path.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corrupt.pem");
    std::fs::write(
        &file,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    match Key::from_pem_file(&file) {
        Err(Error::Key(KeyError::Invalid(m))) => assert!(m.contains("corrupt.pem"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A good key asked to serve an algorithm it cannot is refused too.
    let (_, ec_pem) = Key::generate(Algorithm::ES256).unwrap();
    for alg in [
        Algorithm::RS256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        assert!(
            matches!(
                Key::from_pem_with_alg(alg, ec_pem.as_bytes()),
                Err(Error::Key(KeyError::Invalid(_)))
            ),
            "{alg:?}"
        );
    }
    assert!(matches!(
        Key::from_pem_with_alg(Algorithm::ES256, good_pem.as_bytes()),
        Err(Error::Key(KeyError::Invalid(_)))
    ));
}

// ------------------------------------------------------------------ rings

#[test]
fn a_public_key_cannot_sign() {
    let (_, _, spki) = rsa_pair();
    let public = Key::from_pem(pem("PUBLIC KEY", &spki).as_bytes()).unwrap();
    assert!(!public.can_sign());
    assert!(matches!(
        KeyRing::new(public),
        Err(Error::Key(KeyError::NoSigningKey))
    ));

    let (_, ec) = ec_pair();
    let ec_public = ec.into_verify_only();
    assert!(!ec_public.can_sign());
    let mut ring = KeyRing::new(hs_key()).unwrap();
    assert!(matches!(
        ring.set_signing_key(ec_public),
        Err(Error::Key(KeyError::NoSigningKey))
    ));

    // A verify-only ring cannot back an issuer.
    let (_, ec) = ec_pair();
    let ring = KeyRing::verify_only([ec]).unwrap();
    assert!(ring.signing_key().is_none());
    assert!(matches!(
        Issuer::builder(ring).issuer(ISS).audience(AUD).build(),
        Err(Error::Key(KeyError::NoSigningKey))
    ));
}

#[test]
fn duplicate_and_empty_kids_are_config_errors() {
    let a = Key::from_secret(Algorithm::HS256, &[1u8; 32])
        .unwrap()
        .with_kid("same");
    let b = Key::from_secret(Algorithm::HS256, &[2u8; 32])
        .unwrap()
        .with_kid("same");
    match KeyRing::new(a).unwrap().with_verify_only(b) {
        Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("same"), "{e}"),
        other => panic!("{other:?}"),
    }
    let c = Key::from_secret(Algorithm::HS256, &[3u8; 32])
        .unwrap()
        .with_kid("");
    assert!(matches!(KeyRing::new(c), Err(Error::Config { .. })));
    // The same key material twice gets the same derived kid: also a duplicate.
    let d1 = Key::from_secret(Algorithm::HS256, &[4u8; 32]).unwrap();
    let d2 = Key::from_secret(Algorithm::HS256, &[4u8; 32]).unwrap();
    assert!(matches!(
        KeyRing::verify_only([d1, d2]),
        Err(Error::Config { .. })
    ));
}

// ------------------------------------------------------------------ nothing secret in Debug

fn assert_hidden(debug: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(!debug.contains(s.as_str()), "Debug leaks {s:?}:\n{debug}");
    }
}

#[test]
fn debug_never_prints_secrets() {
    let secret = *b"debug-must-not-print-this-32-by!";
    let secret_forms: Vec<String> = vec![
        String::from_utf8(secret.to_vec()).unwrap(),
        URL_SAFE_NO_PAD.encode(secret),
        STANDARD.encode(secret),
        format!("{:?}", secret), // [100, 101, ...]
        format!("{:?}", &secret[..8]),
        secret.iter().map(|b| format!("{b:02x}")).collect(),
    ];
    let hmac = Key::from_secret(Algorithm::HS256, &secret).unwrap();
    assert_hidden(&format!("{hmac:?}"), &secret_forms);
    assert!(format!("{hmac:?}").contains("redacted"));

    let (rsa, rsa_pem) = Key::generate(Algorithm::RS256).unwrap();
    let (ed, ed_pem) = Key::generate(Algorithm::EdDSA).unwrap();
    let (ec, ec_pem) = Key::generate(Algorithm::ES256).unwrap();
    let mut pem_forms: Vec<String> = Vec::new();
    for text in [&rsa_pem, &ed_pem, &ec_pem] {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        pem_forms.push(body.clone());
        pem_forms.extend(
            body.as_bytes()
                .chunks(24)
                .map(|c| String::from_utf8(c.to_vec()).unwrap()),
        );
    }
    for key in [&rsa, &ed, &ec] {
        assert_hidden(&format!("{key:?}"), &pem_forms);
        assert_hidden(&format!("{key:#?}"), &pem_forms);
    }

    let ring = KeyRing::new(hmac)
        .unwrap()
        .with_verify_only(rsa)
        .unwrap()
        .with_verify_only(ed)
        .unwrap()
        .with_verify_only(ec)
        .unwrap();
    let all: Vec<String> = secret_forms.iter().chain(&pem_forms).cloned().collect();
    assert_hidden(&format!("{ring:?}"), &all);
    assert_hidden(&format!("{ring:#?}"), &all);

    let issuer = Issuer::builder(ring.clone())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    assert_hidden(&format!("{issuer:?}"), &all);
    assert_hidden(&format!("{verifier:?}"), &all);

    let issued = issuer.issue_access(&Grant::new("alice")).unwrap();
    let (input, signature) = issued.token.rsplit_once('.').unwrap();
    let (header_b64, claims_b64) = input.split_once('.').unwrap();
    let token_forms = vec![
        issued.token.clone(),
        signature.to_owned(),
        claims_b64.to_owned(),
        header_b64.to_owned(),
    ];
    assert_hidden(&format!("{issued:?}"), &token_forms);
    assert_hidden(&format!("{issued:#?}"), &token_forms);
    // And the token is real: it verifies.
    let claims: Claims = verifier
        .dangerous()
        .verify_without_revocation(&issued.token)
        .unwrap();
    assert_eq!(claims.sub, "alice");
}

// ------------------------------------------------------------------ JWKS export

#[test]
fn jwks_export_has_public_members_only_and_no_hmac_keys() {
    let hmac_secret = [0x5au8; 64];
    let (rsa, _) = Key::generate(Algorithm::PS256).unwrap();
    let (ec, _) = Key::generate(Algorithm::ES384).unwrap();
    let (ed, _) = Key::generate(Algorithm::EdDSA).unwrap();
    let (rsa_kid, ec_kid, ed_kid) = (
        rsa.kid().to_owned(),
        ec.kid().to_owned(),
        ed.kid().to_owned(),
    );
    let ring = KeyRing::new(Key::from_secret(Algorithm::HS512, &hmac_secret).unwrap())
        .unwrap()
        .with_verify_only(rsa)
        .unwrap()
        .with_verify_only(ec)
        .unwrap()
        .with_verify_only(ed)
        .unwrap();
    assert_eq!(ring.len(), 4);
    let text = serde_json::to_string(&ring.jwks()).unwrap();
    assert!(!text.contains(&URL_SAFE_NO_PAD.encode(hmac_secret)));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "the HMAC key is not published: {text}");
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort_unstable();
    let mut expected = vec![rsa_kid.as_str(), ec_kid.as_str(), ed_kid.as_str()];
    expected.sort_unstable();
    assert_eq!(kids, expected);
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string());
        assert_ne!(key["kty"], "oct");
    }
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(
        algs.contains(&"PS256") && algs.contains(&"ES384") && algs.contains(&"EdDSA"),
        "{algs:?}"
    );
    // An HMAC key alone has no public form.
    assert!(
        Key::from_secret(Algorithm::HS256, &[1u8; 32])
            .unwrap()
            .to_public_jwk()
            .is_none()
    );
}

// ------------------------------------------------------------------ JWK import

fn ec_jwk(extra: &str) -> String {
    let (_, key) = ec_pair();
    let mut v = serde_json::to_value(key.to_public_jwk().unwrap()).unwrap();
    let patch: serde_json::Value = serde_json::from_str(&format!("{{{extra}}}")).unwrap();
    for (k, val) in patch.as_object().unwrap() {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v.to_string()
}

fn invalid_jwk(json: &str, what: &str) {
    match Key::from_jwk_json(json) {
        Err(Error::Key(KeyError::Invalid(_))) => {}
        other => panic!("{what}: expected InvalidKey, got {other:?}"),
    }
}

#[test]
fn jwk_refusals() {
    // Baseline: the untouched JWK imports.
    let base = Key::from_jwk_json(&ec_jwk("")).unwrap();
    assert_eq!(base.algorithm(), Algorithm::ES256);
    assert!(!base.can_sign());

    // Wrong use / key_ops.
    invalid_jwk(&ec_jwk(r#""use":"enc""#), "use enc");
    invalid_jwk(
        &ec_jwk(r#""use":null,"key_ops":["encrypt"]"#),
        "key_ops encrypt",
    );
    invalid_jwk(
        &ec_jwk(r#""use":null,"key_ops":["decrypt","wrapKey"]"#),
        "key_ops decrypt",
    );
    assert!(Key::from_jwk_json(&ec_jwk(r#""use":null,"key_ops":["verify"]"#)).is_ok());

    // alg / curve / kty mismatches.
    invalid_jwk(&ec_jwk(r#""alg":"ES384""#), "P-256 key, ES384");
    invalid_jwk(&ec_jwk(r#""alg":"RS256""#), "EC key, RS256");
    invalid_jwk(&ec_jwk(r#""alg":"HS256""#), "EC key, HS256");
    invalid_jwk(&ec_jwk(r#""alg":"ES512""#), "ES512 is not supported");
    invalid_jwk(&ec_jwk(r#""alg":"RSA-OAEP""#), "an encryption alg");
    invalid_jwk(&ec_jwk(r#""alg":"none""#), "alg none");
    invalid_jwk(&ec_jwk(r#""crv":"P-384""#), "P-256 coordinates on P-384");
    invalid_jwk(&ec_jwk(r#""crv":"P-521""#), "P-521 unsupported");
    invalid_jwk(&ec_jwk(r#""crv":"secp256k1""#), "secp256k1 unsupported");
    invalid_jwk(&ec_jwk(r#""kty":"RSA""#), "kty RSA with EC members");
    invalid_jwk(&ec_jwk(r#""kty":"oct""#), "kty oct with EC members");
    invalid_jwk(&ec_jwk(r#""kty":"foo""#), "unknown kty");
    invalid_jwk(&ec_jwk(r#""x":null"#), "missing x");

    // Bad base64 and bad points.
    invalid_jwk(&ec_jwk(r#""x":"!!!!""#), "x not base64");
    let good: serde_json::Value = serde_json::from_str(&ec_jwk("")).unwrap();
    let x = good["x"].as_str().unwrap();
    invalid_jwk(&ec_jwk(&format!(r#""x":"{x}=""#)), "x padded");
    invalid_jwk(
        &ec_jwk(&format!(
            r#""x":"{}""#,
            x.replace('-', "+").replace('_', "/") + "+"
        )),
        "x std alphabet",
    );
    invalid_jwk(
        &ec_jwk(&format!(r#""x":"{}""#, &x[..x.len() - 2])),
        "x truncated",
    );
    let y = good["y"].as_str().unwrap();
    let mut y_bytes = URL_SAFE_NO_PAD.decode(y).unwrap();
    y_bytes[31] ^= 1;
    // Coordinates of the wrong length, even when together they spell the same point.
    let x_bytes = URL_SAFE_NO_PAD.decode(x).unwrap();
    let y_orig = URL_SAFE_NO_PAD.decode(y).unwrap();
    let x_long = [x_bytes.as_slice(), &y_orig[..1]].concat();
    invalid_jwk(
        &ec_jwk(&format!(
            r#""x":"{}","y":"{}""#,
            URL_SAFE_NO_PAD.encode(&x_long),
            URL_SAFE_NO_PAD.encode(&y_orig[1..])
        )),
        "x of 33 bytes, y of 31 bytes",
    );
    invalid_jwk(
        &ec_jwk(&format!(r#""y":"{}""#, URL_SAFE_NO_PAD.encode(&y_bytes))),
        "point off the curve",
    );

    // OKP.
    let (ed, _) = Key::generate(Algorithm::EdDSA).unwrap();
    let ed_jwk = serde_json::to_value(ed.to_public_jwk().unwrap()).unwrap();
    assert!(Key::from_jwk_json(&ed_jwk.to_string()).is_ok());
    let mut x25519 = ed_jwk.clone();
    x25519["crv"] = "X25519".into();
    invalid_jwk(&x25519.to_string(), "X25519 is not a signature curve");
    let mut ed_wrong_alg = ed_jwk.clone();
    ed_wrong_alg["alg"] = "ES256".into();
    invalid_jwk(&ed_wrong_alg.to_string(), "Ed25519 with ES256");
    let mut ed_short = ed_jwk;
    ed_short["x"] = URL_SAFE_NO_PAD.encode([1u8; 31]).into();
    invalid_jwk(&ed_short.to_string(), "Ed25519 x of 31 bytes");

    // RSA.
    let (rsa, _) = Key::generate(Algorithm::RS256).unwrap();
    let rsa_jwk = serde_json::to_value(rsa.to_public_jwk().unwrap()).unwrap();
    let mut rsa_es = rsa_jwk.clone();
    rsa_es["alg"] = "ES256".into();
    invalid_jwk(&rsa_es.to_string(), "RSA key with ES256");
    let mut rsa_hs = rsa_jwk.clone();
    rsa_hs["alg"] = "HS256".into();
    invalid_jwk(&rsa_hs.to_string(), "RSA key with HS256");
    let mut rsa_bad_n = rsa_jwk;
    rsa_bad_n["n"] = "%%%".into();
    invalid_jwk(&rsa_bad_n.to_string(), "n not base64");

    // oct: secrets follow the same rules as from_secret.
    let k32 = URL_SAFE_NO_PAD.encode([3u8; 32]);
    assert!(Key::from_jwk_json(&format!(r#"{{"kty":"oct","k":"{k32}"}}"#)).is_ok());
    assert!(matches!(
        Key::from_jwk_json(&format!(r#"{{"kty":"oct","alg":"HS512","k":"{k32}"}}"#)),
        Err(Error::Key(KeyError::Weak(_)))
    ));
    assert!(matches!(
        Key::from_jwk_json(r#"{"kty":"oct","k":""}"#),
        Err(Error::Key(KeyError::Weak(_)))
    ));
    invalid_jwk(
        &format!(r#"{{"kty":"oct","alg":"RS256","k":"{k32}"}}"#),
        "oct with RS256",
    );
    invalid_jwk(
        &format!(r#"{{"kty":"oct","alg":"A256GCM","k":"{k32}"}}"#),
        "oct AES key",
    );
    invalid_jwk(r#"{"kty":"oct","k":"a+b/"}"#, "k in the standard alphabet");

    // Not JSON / not a JWK.
    invalid_jwk("", "empty");
    invalid_jwk("[]", "array");
    invalid_jwk(r#"{"kty":"EC"}"#, "no members");
}

#[test]
fn jwk_kid_and_alg_are_taken_from_the_jwk() {
    let with_kid = Key::from_jwk_json(&ec_jwk(r#""kid":"my-key""#)).unwrap();
    assert_eq!(with_kid.kid(), "my-key");
    // Without kid: the RFC 7638 thumbprint, equal to the exported key's kid.
    let (_, key) = ec_pair();
    let kid = key.kid().to_owned();
    let mut jwk = serde_json::to_value(key.to_public_jwk().unwrap()).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    assert_eq!(Key::from_jwk_json(&jwk.to_string()).unwrap().kid(), kid);
    // Without alg: by key type.
    jwk.as_object_mut().unwrap().remove("alg");
    assert_eq!(
        Key::from_jwk_json(&jwk.to_string()).unwrap().algorithm(),
        Algorithm::ES256
    );
}

// ------------------------------------------------------------------ JWKS import

#[test]
fn keyring_from_jwks_json() {
    let (rsa, _) = Key::generate(Algorithm::RS256).unwrap();
    let (ed, _) = Key::generate(Algorithm::EdDSA).unwrap();
    let ring = KeyRing::new(rsa).unwrap().with_verify_only(ed).unwrap();
    let issuer = Issuer::builder(ring.clone())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    let token = issuer.issue_access(&Grant::new("alice")).unwrap().token;

    // A resource server that only has the published JWKS verifies the issuer's tokens.
    let published = serde_json::to_string(&ring.jwks()).unwrap();
    let remote = KeyRing::from_jwks_json(&published).unwrap();
    assert_eq!(remote.len(), 2);
    assert!(remote.signing_key().is_none());
    assert!(remote.keys().all(|k| !k.can_sign()));
    let verifier = Verifier::builder(remote)
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    assert_eq!(
        verifier
            .dangerous()
            .verify_without_revocation::<NoExtra>(&token)
            .unwrap()
            .sub,
        "alice"
    );

    // Not a JWKS.
    for bad in ["", "{}", "[]", r#"{"keys":{}}"#, r#"{"keys":[1]}"#] {
        assert!(
            matches!(
                KeyRing::from_jwks_json(bad),
                Err(Error::Key(KeyError::Invalid(_)))
            ),
            "{bad}"
        );
    }
    // One unusable key refuses the whole set (not skipped).
    let mut set: serde_json::Value = serde_json::from_str(&published).unwrap();
    set["keys"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"kty":"EC","crv":"P-521","x":"AA","y":"AA"}));
    assert!(matches!(
        KeyRing::from_jwks_json(&set.to_string()),
        Err(Error::Key(KeyError::Invalid(_)))
    ));
    // Duplicate kid.
    let mut dup: serde_json::Value = serde_json::from_str(&published).unwrap();
    let first = dup["keys"][0].clone();
    dup["keys"].as_array_mut().unwrap().push(first);
    assert!(matches!(
        KeyRing::from_jwks_json(&dup.to_string()),
        Err(Error::Config { .. })
    ));
    // An empty set gives an empty ring, which a verifier refuses to be built on.
    let empty = KeyRing::from_jwks_json(r#"{"keys":[]}"#).unwrap();
    assert!(empty.is_empty());
    assert!(matches!(
        Verifier::builder(empty).issuer(ISS).audience(AUD).build(),
        Err(Error::Config { .. })
    ));
}

// ------------------------------------------------------------------ public PEM import

#[test]
fn public_pem_of_every_family_verifies_what_the_private_key_signed() {
    for alg in [
        Algorithm::RS256,
        Algorithm::PS384,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let (private, private_pem) = Key::generate(alg).unwrap();
        let kid = private.kid().to_owned();
        let spki = public_der_from_private_pem(&private_pem);
        let public = Key::from_pem_with_alg(alg, pem("PUBLIC KEY", &spki).as_bytes()).unwrap();
        assert!(!public.can_sign(), "{alg:?}");
        assert_eq!(public.kid(), kid, "{alg:?}: same key, same thumbprint");
        assert_eq!(public.algorithm(), alg);

        let issuer = Issuer::builder(KeyRing::new(private).unwrap())
            .issuer(ISS)
            .audience(AUD)
            .build()
            .unwrap();
        let token = issuer.issue_access(&Grant::new("alice")).unwrap().token;
        let verifier = Verifier::builder(KeyRing::verify_only([public]).unwrap())
            .issuer(ISS)
            .audience(AUD)
            .build()
            .unwrap();
        assert_eq!(
            verifier
                .dangerous()
                .verify_without_revocation::<NoExtra>(&token)
                .unwrap()
                .sub,
            "alice",
            "{alg:?}"
        );
    }
    // PKCS#1 `RSA PUBLIC KEY` too.
    let (rsa, rsa_pem) = Key::generate(Algorithm::RS256).unwrap();
    let pkcs1 = rsa_pkcs1_public(&rsa_pem);
    let public = Key::from_pem(pem("RSA PUBLIC KEY", &pkcs1).as_bytes()).unwrap();
    assert_eq!(public.kid(), rsa.kid());
}

/// SPKI DER of a PKCS#8 PEM private key, via openssl-free aws-lc parsing of the public JWK.
fn public_der_from_private_pem(private_pem: &str) -> Vec<u8> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
    let der = ::pem::parse(private_pem).unwrap().into_contents();
    if let Ok(pair) = RsaKeyPair::from_pkcs8(&der) {
        return AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(pair.public_key())
            .unwrap()
            .as_ref()
            .to_vec();
    }
    for alg in [
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
    ] {
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(alg, &der) {
            return AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(pair.public_key())
                .unwrap()
                .as_ref()
                .to_vec();
        }
    }
    let pair = Ed25519KeyPair::from_pkcs8(&der).unwrap();
    AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(pair.public_key())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// PKCS#1 RSAPublicKey DER of a PKCS#8 RSA private key.
fn rsa_pkcs1_public(private_pem: &str) -> Vec<u8> {
    use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
    let der = ::pem::parse(private_pem).unwrap().into_contents();
    RsaKeyPair::from_pkcs8(&der)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec()
}
