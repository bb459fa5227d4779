//! Keys to and from JWK (RFC 7517): [`Key::from_jwk`], [`Key::to_public_jwk`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, KeyOperations, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use zeroize::Zeroizing;

use super::algorithm::Algorithm;
use super::key::{Key, Material};
use super::{b64url, invalid};
use crate::error::Error;

impl Key {
    /// A key from a parsed JWK: `RSA`, `EC` (P-256, P-384) and `OKP` (Ed25519) public keys, which
    /// verify only, and `oct` secrets (HMAC).
    ///
    /// The algorithm is the JWK's `alg` when present, otherwise RS256 / ES256 / ES384 / EdDSA /
    /// HS256 by key type. The key id is the JWK's `kid`, or the RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) for unsupported key types, curves, mismatched `alg`, a `use` other
    /// than `sig`, `key_ops` without `verify` or `sign`, or malformed members; [`KeyError::Weak`](crate::KeyError::Weak)
    /// for short secrets and small RSA moduli.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        let declared = match &jwk.common.key_algorithm {
            None => None,
            Some(ka) => Some(key_algorithm_to_alg(*ka)?),
        };
        if let Some(use_) = &jwk.common.public_key_use
            && *use_ != PublicKeyUse::Signature
        {
            return Err(invalid("JWK `use` is not `sig`"));
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops
                .iter()
                .any(|op| matches!(op, KeyOperations::Verify | KeyOperations::Sign))
        {
            return Err(invalid("JWK `key_ops` allows neither `verify` nor `sign`"));
        }
        let decode = |field: &str, v: &str| {
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| invalid(format!("JWK member `{field}` is not base64url")))
        };
        let mut key = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => Self::from_rsa_components(
                declared.unwrap_or(Algorithm::RS256),
                decode("n", &p.n)?,
                decode("e", &p.e)?,
            )?,
            AlgorithmParameters::EllipticCurve(p) => {
                let curve_alg = match p.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => return Err(invalid("unsupported JWK curve (P-256 and P-384 are)")),
                };
                let alg = declared.unwrap_or(curve_alg);
                if alg != curve_alg {
                    return Err(invalid("JWK `alg` does not match its curve"));
                }
                let (x, y) = (decode("x", &p.x)?, decode("y", &p.y)?);
                // Each coordinate is exactly the curve's size (RFC 7518 §6.2.1.2); only checking
                // their sum would accept a misplaced split of the same bytes.
                if x.len() != y.len() {
                    return Err(invalid(
                        "JWK `x` and `y` must each be the curve's coordinate size",
                    ));
                }
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Self::from_ec_point(alg, point)?
            }
            AlgorithmParameters::OctetKeyPair(p) => {
                if p.curve != EllipticCurve::Ed25519 {
                    return Err(invalid("unsupported OKP curve (Ed25519 is)"));
                }
                if declared.is_some_and(|a| a != Algorithm::EdDSA) {
                    return Err(invalid("JWK `alg` does not match an Ed25519 key"));
                }
                Self::from_ed_x(decode("x", &p.x)?)?
            }
            AlgorithmParameters::OctetKey(p) => {
                let secret = Zeroizing::new(decode("k", &p.value)?);
                Self::from_secret(declared.unwrap_or(Algorithm::HS256), &secret)?
            }
            _ => return Err(invalid("unsupported JWK key type")),
        };
        if let Some(kid) = &jwk.common.key_id {
            key = key.with_kid(kid.clone());
        }
        Ok(key)
    }

    /// A key from JWK JSON text (see [`Key::from_jwk`]).
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) when the text is not a JWK, else as [`Key::from_jwk`].
    pub fn from_jwk_json(json: &str) -> Result<Self, Error> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|_| invalid("not a JWK"))?;
        Self::from_jwk(&jwk)
    }

    /// The key's public half as a JWK (`kid`, `alg`, `use: sig`), or `None` for an HMAC secret,
    /// which must never be published.
    #[must_use]
    pub fn to_public_jwk(&self) -> Option<Jwk> {
        let algorithm = match &self.material {
            Material::Hmac(_) => return None,
            Material::Rsa { n, e, .. } => AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: b64url(n),
                e: b64url(e),
            }),
            Material::Ec { point, .. } => {
                let coord = (point.len() - 1) / 2;
                AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: if coord == 32 {
                        EllipticCurve::P256
                    } else {
                        EllipticCurve::P384
                    },
                    x: b64url(&point[1..=coord]),
                    y: b64url(&point[1 + coord..]),
                })
            }
            Material::Ed { x, .. } => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64url(x),
            }),
        };
        Some(Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(alg_to_key_algorithm(self.alg)),
                key_id: (!self.kid.is_empty()).then(|| self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm,
        })
    }
}

fn key_algorithm_to_alg(ka: KeyAlgorithm) -> Result<Algorithm, Error> {
    let name = serde_json::to_value(ka)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    name.parse::<Algorithm>()
        .map_err(|_| invalid(format!("JWK `alg` {name} is not a JWS signing algorithm")))
}

fn alg_to_key_algorithm(alg: Algorithm) -> KeyAlgorithm {
    KeyAlgorithm::from(alg.to_jsonwebtoken())
}
