//! Round trips for every algorithm family, key rotation, and JWKS export.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use tokengate::TokenError;
use tokengate::{Algorithm, Claims, Error, Grant, Issuer, Key, KeyRing, Verifier};

fn pair(ring: KeyRing) -> (Issuer, Verifier) {
    let issuer = Issuer::builder(ring.clone())
        .issuer("iss")
        .audience("aud")
        .build()
        .unwrap();
    let verifier = Verifier::builder(ring)
        .issuer("iss")
        .audience("aud")
        .build()
        .unwrap();
    (issuer, verifier)
}

#[test]
fn every_algorithm_round_trips_and_public_half_verifies() {
    for alg in [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let (key, text) = Key::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let public = key.to_public_jwk();
        let (issuer, verifier) = pair(KeyRing::new(key).unwrap());
        let issued = issuer
            .issue_access(&Grant::new("alice").role("admin"))
            .unwrap();
        let claims: Claims = verifier
            .dangerous()
            .verify_without_revocation(&issued.token)
            .unwrap();
        assert_eq!(claims.sub, "alice", "{alg:?}");
        assert_eq!(claims.roles, vec!["admin"]);

        // The same key read back from its serialized form verifies the token.
        let reread = if format!("{alg:?}").starts_with("HS") {
            Key::from_base64_secret(alg, &text).unwrap()
        } else {
            Key::from_pem_with_alg(alg, text.as_bytes()).unwrap()
        };
        let (_, v2) = pair(KeyRing::new(reread).unwrap());
        v2.dangerous()
            .verify_without_revocation::<tokengate::NoExtra>(&issued.token)
            .unwrap();

        // The public JWK alone verifies it; HMAC keys have none.
        match public {
            None => assert!(format!("{alg:?}").starts_with("HS")),
            Some(jwk) => {
                let verify_only = Key::from_jwk(&jwk).unwrap();
                assert!(!verify_only.can_sign());
                let v3 = Verifier::builder(KeyRing::verify_only([verify_only]).unwrap())
                    .issuer("iss")
                    .audience("aud")
                    .build()
                    .unwrap();
                v3.dangerous()
                    .verify_without_revocation::<tokengate::NoExtra>(&issued.token)
                    .unwrap();
            }
        }
    }
}

#[test]
fn rotation_old_kid_verifies_while_verify_only_then_fails_once_removed() {
    let old = Key::from_secret(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_kid("old");
    let (issuer_old, _) = pair(KeyRing::new(old).unwrap());
    let old_token = issuer_old.issue_access(&Grant::new("u")).unwrap().token;

    let old_again = Key::from_secret(Algorithm::HS256, &[1; 32])
        .unwrap()
        .with_kid("old");
    let new = Key::from_secret(Algorithm::HS256, &[2; 32])
        .unwrap()
        .with_kid("new");
    let mut ring = KeyRing::new(new)
        .unwrap()
        .with_verify_only(old_again)
        .unwrap();
    let (issuer, verifier) = pair(ring.clone());
    verifier
        .dangerous()
        .verify_without_revocation::<tokengate::NoExtra>(&old_token)
        .unwrap();
    let new_token = issuer.issue_access(&Grant::new("u")).unwrap().token;
    verifier
        .dangerous()
        .verify_without_revocation::<tokengate::NoExtra>(&new_token)
        .unwrap();

    ring.remove("old").unwrap();
    let (_, verifier) = pair(ring);
    assert!(matches!(
        verifier
            .dangerous()
            .verify_without_revocation::<tokengate::NoExtra>(&old_token),
        Err(Error::Token(TokenError::UnknownKeyId))
    ));
    verifier
        .dangerous()
        .verify_without_revocation::<tokengate::NoExtra>(&new_token)
        .unwrap();
}

#[test]
fn jwks_holds_public_keys_only() {
    let (rsa, _) = Key::generate(Algorithm::RS256).unwrap();
    let hmac = Key::from_secret(Algorithm::HS256, &[3; 32]).unwrap();
    let ring = KeyRing::new(rsa).unwrap().with_verify_only(hmac).unwrap();
    let json = serde_json::to_value(ring.jwks()).unwrap();
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(keys[0].get(private).is_none(), "{private}");
    }
}

/// The former `verify_stateless*` names still answer exactly as their `dangerous()` replacements
/// (deprecated aliases).
#[test]
#[allow(deprecated)]
fn former_stateless_names_answer_as_dangerous_verify() {
    let (issuer, verifier) =
        pair(KeyRing::new(Key::generate(Algorithm::HS256).unwrap().0).unwrap());
    let access = issuer.issue_access(&Grant::new("alice")).unwrap().token;
    let refresh = issuer.issue_refresh(&Grant::new("alice")).unwrap().token;
    let old: Claims = verifier.verify_stateless(&access).unwrap();
    let new: Claims = verifier
        .dangerous()
        .verify_without_revocation(&access)
        .unwrap();
    assert_eq!(old.sub, new.sub);
    assert_eq!(old.jti, new.jti);
    let kind = tokengate::TokenKind::Refresh;
    let old: Claims = verifier.verify_stateless_as(&refresh, &kind).unwrap();
    assert_eq!(old.sub, "alice");
    assert!(matches!(
        verifier.verify_stateless::<tokengate::NoExtra>(&refresh),
        Err(Error::Token(TokenError::WrongType))
    ));
    assert!(matches!(
        verifier
            .dangerous()
            .verify_without_revocation::<tokengate::NoExtra>(&refresh),
        Err(Error::Token(TokenError::WrongType))
    ));
}
