//! Helpers shared by the integration tests: crafting tokens byte by byte, signed with aws-lc-rs
//! directly (never with tokengate's own signing path), so that every header and claims shape an
//! attacker could send can be produced.

pub(crate) mod logs;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair, RsaKeyPair};
use aws_lc_rs::{hmac, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokengate::{Algorithm, Key, KeyRing, ManualClock, Verifier};

/// "Now" for every verifier built here.
pub(crate) const NOW: i64 = 1_700_000_000;
/// The accepted issuer and audience.
pub(crate) const ISS: &str = "https://issuer.example";
pub(crate) const AUD: &str = "api";
/// The test HMAC secret (exactly 32 bytes) and its kid.
pub(crate) const SECRET: &[u8; 32] = b"verify-rejects-test-secret-32b!!";
pub(crate) const KID: &str = "hs";

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC over `input` with `secret`.
pub(crate) fn hmac_tag(alg: hmac::Algorithm, secret: &[u8], input: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(alg, secret), input.as_bytes())
        .as_ref()
        .to_vec()
}

/// `b64(header).b64(claims).b64(HMAC-SHA256(secret, signing input))`.
pub(crate) fn hs256(secret: &[u8], header: &str, claims: &str) -> String {
    hs256_segments(secret, &b64(header), &b64(claims))
}

/// Like [`hs256`] over segments given already encoded (so they can be malformed on purpose).
pub(crate) fn hs256_segments(secret: &[u8], header_b64: &str, claims_b64: &str) -> String {
    let input = format!("{header_b64}.{claims_b64}");
    let tag = hmac_tag(hmac::HMAC_SHA256, secret, &input);
    format!("{input}.{}", b64(tag))
}

/// A token with the test secret.
pub(crate) fn token(header: &str, claims: &str) -> String {
    hs256(SECRET, header, claims)
}

/// The header the test verifier accepts.
pub(crate) fn header() -> String {
    format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}"}}"#)
}

/// Claims the test verifier accepts, with `extra` members (`"k":v,...`) appended.
pub(crate) fn claims_with(extra: &str) -> String {
    let base = format!(
        r#""iss":"{ISS}","sub":"alice","aud":"{AUD}","exp":{},"iat":{NOW},"nbf":{NOW},"jti":"j-1""#,
        NOW + 600
    );
    if extra.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{base},{extra}}}")
    }
}

/// Claims the test verifier accepts.
pub(crate) fn claims() -> String {
    claims_with("")
}

/// Claims from explicit members only (for missing-claim tests).
pub(crate) fn raw_claims(members: &str) -> String {
    format!("{{{members}}}")
}

/// The test HMAC key (kid [`KID`]).
pub(crate) fn hs_key() -> Key {
    Key::from_secret(Algorithm::HS256, SECRET)
        .unwrap()
        .with_kid(KID)
}

/// A verifier over `ring` at [`NOW`], accepting [`ISS`] and [`AUD`].
pub(crate) fn verifier_for(ring: KeyRing) -> Verifier {
    Verifier::builder(ring)
        .issuer(ISS)
        .audience(AUD)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap()
}

/// The test verifier: one HS256 key.
pub(crate) fn verifier() -> Verifier {
    verifier_for(KeyRing::new(hs_key()).unwrap())
}

/// PEM text (LF line endings) of a DER document.
pub(crate) fn pem(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// A fresh RSA-2048 key pair: (aws-lc pair for forging, PKCS#8 PEM, SPKI DER of the public key).
pub(crate) fn rsa_pair() -> (RsaKeyPair, String, Vec<u8>) {
    let pair = RsaKeyPair::generate(rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair).unwrap();
    let spki =
        AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(pair.public_key()).unwrap();
    (
        pair,
        pem("PRIVATE KEY", pkcs8.as_ref()),
        spki.as_ref().to_vec(),
    )
}

/// A fresh P-256 key pair: (aws-lc pair for forging, the same key as a tokengate `Key`).
pub(crate) fn ec_pair() -> (EcdsaKeyPair, Key) {
    let doc =
        EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let key = Key::from_pem(pem("PRIVATE KEY", doc.as_ref()).as_bytes()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    (pair, key)
}

/// `b64(header).b64(claims)` signed with an aws-lc ECDSA P-256 pair (fixed `r || s`).
pub(crate) fn es256(pair: &EcdsaKeyPair, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", b64(signature.as_ref()))
}

/// `b64(header).b64(claims)` signed with an aws-lc RSA pair, PKCS#1 v1.5 SHA-256.
pub(crate) fn rs256(pair: &RsaKeyPair, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let mut out = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &sig::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut out,
    )
    .unwrap();
    format!("{input}.{}", b64(out))
}
