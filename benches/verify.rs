//! `Verifier::verify` (every check on) against a bare `jsonwebtoken::decode` of the same token and
//! against the floor of the work any verifier must do:
//!
//! - HS256 floor: base64url-decode signature and claims, HMAC-SHA256 over the signing input, one
//!   serde parse of the claims into a plain struct.
//! - RS256 / ES256 / EdDSA floor: the raw signature check with a pre-parsed public key.
//!
//! `tokengate_verify` runs with the verified-token cache off, so every check is done on every
//! call (the benchmark presents one token again and again, which the cache would otherwise
//! answer); `tokengate_verify_cache_hit` is the same call with the cache on (the default), for
//! a token presented again; for ES256, `tokengate_verify_cache_hit_twin` presents the token's
//! twin (`s` replaced by `n − s`) after the token itself was cached.
//!
//! Run: `cargo bench --bench verify`. Compare the lines of a group; they run side by side.

use std::hint::black_box;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use tokengate::{Algorithm, Claims, Grant, Issuer, Key, KeyRing, Verifier};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "api.example.com";

/// What the floor and the bare decode parse: the same members the token carries.
#[derive(Deserialize)]
#[allow(dead_code)] // fields are read by serde, which is the point of the benchmark
struct PlainClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    roles: Vec<String>,
}

/// The raw public key for the floor, from the key's public JWK.
fn raw_public_key(key: &Key) -> ParsedPublicKey {
    let jwk = serde_json::to_value(key.to_public_jwk().expect("public")).expect("json");
    let b = |k: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[k].as_str().expect("member"))
            .expect("b64")
    };
    match key.algorithm() {
        Algorithm::RS256 => aws_lc_rs::rsa::PublicKeyComponents {
            n: b("n"),
            e: b("e"),
        }
        .to_parsed_public_key(&sig::RSA_PKCS1_2048_8192_SHA256)
        .expect("rsa"),
        Algorithm::ES256 => {
            let mut point = vec![0x04];
            point.extend(b("x"));
            point.extend(b("y"));
            ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).expect("ec")
        }
        _ => ParsedPublicKey::new(&sig::ED25519, b("x")).expect("ed"),
    }
}

/// The ES256 twin of a token: its signature's `s` replaced by `n − s` (n the P-256 group order).
fn es256_twin(token: &str) -> String {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let (input, sig) = token.rsplit_once('.').expect("dots");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("b64");
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let d = u16::from(N[i]) + 256 - u16::from(sig[32 + i]) - borrow;
        sig[32 + i] = u8::try_from(d & 0xff).expect("byte");
        borrow = u16::from(d < 256);
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn bench_alg(c: &mut Criterion, alg: Algorithm) {
    const SECRET: [u8; 32] = *b"benchmark-secret-32-bytes-long!!";
    let key = if alg == Algorithm::HS256 {
        Key::from_secret(alg, &SECRET).expect("secret")
    } else {
        Key::generate(alg).expect("generate").0
    };
    let bare_key = match &key.to_public_jwk() {
        None => DecodingKey::from_secret(&SECRET),
        Some(jwk) => DecodingKey::from_jwk(jwk).expect("jwk"),
    };
    let floor_public = (alg != Algorithm::HS256).then(|| raw_public_key(&key));
    let ring = KeyRing::new(key).expect("ring");
    let issuer = Issuer::builder(ring.clone())
        .issuer(ISS)
        .audience(AUD)
        .build()
        .expect("issuer");
    let verifier = Verifier::builder(ring.clone())
        .issuer(ISS)
        .audience(AUD)
        .cache_capacity(0)
        .build()
        .expect("verifier");
    let cached = Verifier::builder(ring)
        .issuer(ISS)
        .audience(AUD)
        .build()
        .expect("verifier");
    let token = issuer
        .issue_access(&Grant::new("user-1234").role("editor"))
        .expect("issue")
        .token;
    let mut validation = Validation::new(alg.as_str().parse().expect("jsonwebtoken algorithm"));
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);

    let token = token.as_str();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("dots");
    let payload_b64 = signing_input.split_once('.').expect("dot").1;
    let mut group = c.benchmark_group(format!("{alg:?}"));

    group.bench_function("tokengate_verify", |b| {
        b.iter(|| {
            let claims: Claims = verifier
                .verify(black_box(token))
                .now_or_never()
                .expect("ready")
                .expect("valid");
            black_box(claims)
        });
    });

    group.bench_function("tokengate_verify_cache_hit", |b| {
        b.iter(|| {
            let claims: Claims = cached
                .verify(black_box(token))
                .now_or_never()
                .expect("ready")
                .expect("valid");
            black_box(claims)
        });
    });

    if alg == Algorithm::ES256 {
        // The other of the two ECDSA strings of one token, presented after the first was cached.
        let twin = es256_twin(token);
        let _: Claims = cached
            .verify(token)
            .now_or_never()
            .expect("ready")
            .expect("valid");
        group.bench_function("tokengate_verify_cache_hit_twin", |b| {
            b.iter(|| {
                let claims: Claims = cached
                    .verify(black_box(twin.as_str()))
                    .now_or_never()
                    .expect("ready")
                    .expect("valid");
                black_box(claims)
            });
        });
    }

    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            let data =
                jsonwebtoken::decode::<PlainClaims>(black_box(token), &bare_key, &validation)
                    .expect("valid");
            black_box(data)
        });
    });

    match floor_public {
        None => {
            let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, &SECRET);
            group.bench_function("floor_b64_hmac_serde", |b| {
                b.iter(|| {
                    let sig = URL_SAFE_NO_PAD
                        .decode(black_box(signature_b64))
                        .expect("b64");
                    hmac::verify(&hmac_key, black_box(signing_input).as_bytes(), &sig)
                        .expect("mac");
                    let payload = URL_SAFE_NO_PAD.decode(black_box(payload_b64)).expect("b64");
                    let claims: PlainClaims = serde_json::from_slice(&payload).expect("json");
                    black_box(claims)
                });
            });
        }
        Some(public) => {
            let sig = URL_SAFE_NO_PAD.decode(signature_b64).expect("b64");
            group.bench_function("floor_signature_check", |b| {
                b.iter(|| {
                    public
                        .verify_sig(black_box(signing_input).as_bytes(), black_box(&sig))
                        .expect("sig");
                });
            });
        }
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        bench_alg(c, alg);
    }
}

criterion_group!(verify, benches);
criterion_main!(verify);
