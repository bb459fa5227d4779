//! Keys and the key ring.
//!
//! A [`Key`] is key material bound to exactly one [`Algorithm`] and one key id (`kid`). The
//! algorithm comes from the key — never from a token's header — so a token that says `HS256` can
//! never be checked against an RSA public key used as an HMAC secret.
//!
//! A [`KeyRing`] holds one active signing key and any number of verify-only keys, addressed by
//! `kid`. Rotation: add the new key as the signing key, keep the old one verify-only until the
//! tokens it signed have expired, then remove it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, ParsedPublicKey,
    RsaEncoding, RsaKeyPair,
};
use aws_lc_rs::{hmac, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, KeyOperations, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use zeroize::Zeroizing;

mod algorithm;

pub use algorithm::Algorithm;

use crate::error::{Error, InternalError, KeyError, TokenError};

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; RFC 7518 §3.3 says "2048 or larger").
pub const MIN_RSA_BITS: usize = 2048;

/// The smallest HMAC secret accepted for `alg`, in bytes: the size of the hash output
/// (RFC 7518 §3.2: "a key of the same size as the hash output … MUST be used").
#[must_use]
pub fn min_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// Key material bound to one algorithm and one `kid`.
///
/// `Debug` never prints secret material. Private keys live inside the crypto backend (aws-lc),
/// which wipes them when the key is dropped; secrets that pass through tokengate's own buffers are
/// zeroized.
pub struct Key {
    kid: String,
    alg: Algorithm,
    material: Material,
}

enum Material {
    Hmac(Box<hmac::Key>),
    Rsa {
        pair: Option<Box<RsaKeyPair>>,
        public: ParsedPublicKey,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        pair: Option<Box<EcdsaKeyPair>>,
        public: ParsedPublicKey,
        /// Uncompressed point 0x04 || x || y.
        point: Vec<u8>,
    },
    Ed {
        pair: Option<Box<Ed25519KeyPair>>,
        public: ParsedPublicKey,
        x: Vec<u8>,
    },
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.material {
            Material::Hmac(_) => "hmac secret [redacted]",
            Material::Rsa { pair: Some(_), .. } => "rsa private [redacted]",
            Material::Ec { pair: Some(_), .. } => "ec private [redacted]",
            Material::Ed { pair: Some(_), .. } => "ed25519 private [redacted]",
            Material::Rsa { .. } => "rsa public",
            Material::Ec { .. } => "ec public",
            Material::Ed { .. } => "ed25519 public",
        };
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("material", &kind)
            .finish()
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn hmac_alg(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

fn rsa_verify_alg(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn rsa_sign_alg(alg: Algorithm) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_SHA512,
        _ => return None,
    })
}

/// (signing, verifying, coordinate length) for an ECDSA algorithm.
fn ec_algs(
    alg: Algorithm,
) -> Option<(
    &'static EcdsaSigningAlgorithm,
    &'static sig::EcdsaVerificationAlgorithm,
    usize,
)> {
    match alg {
        Algorithm::ES256 => Some((
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            &sig::ECDSA_P256_SHA256_FIXED,
            32,
        )),
        Algorithm::ES384 => Some((
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            &sig::ECDSA_P384_SHA384_FIXED,
            48,
        )),
        _ => None,
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Key(KeyError::Invalid(msg.into()))
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64 in any of its common spellings (standard or url-safe, padded or not).
fn decode_any_base64(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let s = s.trim();
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .map(Zeroizing::new)
}

impl Key {
    // ------------------------------------------------------------------ HMAC

    /// An HMAC key (`HS256`, `HS384` or `HS512`) from raw secret bytes.
    ///
    /// The key id is derived from the secret (an HMAC of a fixed label, so it reveals nothing an
    /// attacker holding a signed token could not already test offline); set your own with
    /// [`Key::with_kid`].
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) when `alg` is not an HMAC algorithm; [`KeyError::Weak`](crate::KeyError::Weak) when the
    /// secret is shorter than [`min_secret_len`] (32, 48, 64 bytes).
    ///
    /// ```
    /// use tokengate::{Algorithm, Error, Key};
    /// let key = Key::from_secret(Algorithm::HS256, b"0123456789abcdef0123456789abcdef")?;
    /// assert_eq!(key.algorithm(), Algorithm::HS256);
    /// assert!(matches!(
    ///     Key::from_secret(Algorithm::HS256, b"too short"),
    ///     Err(Error::Key(tokengate::KeyError::Weak(_)))
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let hmac_alg = hmac_alg(alg).ok_or_else(|| {
            invalid(format!(
                "a secret can only be used with HS256/384/512, not {alg:?}"
            ))
        })?;
        let min = min_secret_len(alg);
        if secret.len() < min {
            return Err(Error::Key(KeyError::Weak(format!(
                "{alg:?} secret must be at least {min} bytes, got {}",
                secret.len()
            ))));
        }
        let id_key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&id_key, b"tokengate key id v1");
        Ok(Self {
            kid: b64url(&tag.as_ref()[..12]),
            alg,
            material: Material::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
        })
    }

    /// An HMAC key from a base64 secret (standard or url-safe alphabet, padded or not).
    ///
    /// # Errors
    /// As [`Key::from_secret`], plus [`KeyError::Invalid`](crate::KeyError::Invalid) when the text is not base64.
    pub fn from_base64_secret(alg: Algorithm, secret_b64: &str) -> Result<Self, Error> {
        let bytes =
            decode_any_base64(secret_b64).ok_or_else(|| invalid("secret is not valid base64"))?;
        Self::from_secret(alg, &bytes)
    }

    /// An HMAC key from the raw bytes of an environment variable.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable when it is unset, empty or not UTF-8; otherwise
    /// as [`Key::from_secret`] (the message of a [`KeyError::Weak`](crate::KeyError::Weak) names the variable).
    pub fn from_secret_env(alg: Algorithm, var: &str) -> Result<Self, Error> {
        let value = read_env(var)?;
        Self::from_secret(alg, value.as_bytes()).map_err(|e| name_setting(e, var))
    }

    /// An HMAC key from an environment variable holding base64.
    ///
    /// # Errors
    /// As [`Key::from_secret_env`] and [`Key::from_base64_secret`].
    pub fn from_base64_secret_env(alg: Algorithm, var: &str) -> Result<Self, Error> {
        let value = read_env(var)?;
        Self::from_base64_secret(alg, &value).map_err(|e| name_setting(e, var))
    }

    // ------------------------------------------------------------------ PEM

    /// A key from PEM text, with the algorithm following the key: RSA → `RS256`, P-256 → `ES256`,
    /// P-384 → `ES384`, Ed25519 → `EdDSA`.
    ///
    /// Accepts a PKCS#8 private key (`BEGIN PRIVATE KEY`, signs and verifies), a PKCS#1 RSA private
    /// key (`BEGIN RSA PRIVATE KEY`), or a public key (`BEGIN PUBLIC KEY` / `BEGIN RSA PUBLIC KEY`,
    /// verify only). The key id is the key's RFC 7638 thumbprint unless set with
    /// [`Key::with_kid`].
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) for text that is not such a key; [`KeyError::Weak`](crate::KeyError::Weak) for an RSA key under
    /// 2048 bits.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        Self::from_pem_inner(None, pem)
    }

    /// Like [`Key::from_pem`] with an explicit algorithm, e.g. `PS256` for an RSA key.
    ///
    /// # Errors
    /// As [`Key::from_pem`], plus [`KeyError::Invalid`](crate::KeyError::Invalid) when the key cannot be used with `alg`.
    pub fn from_pem_with_alg(alg: Algorithm, pem: &[u8]) -> Result<Self, Error> {
        Self::from_pem_inner(Some(alg), pem)
    }

    /// Reads a PEM file (see [`Key::from_pem`]).
    ///
    /// # Errors
    /// [`KeyError::File`](crate::KeyError::File) naming the path when it cannot be read; errors of [`Key::from_pem`] are
    /// prefixed with the path.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read(path).map_err(|source| {
            Error::Key(KeyError::File {
                path: path.display().to_string(),
                source,
            })
        })?);
        Self::from_pem(&text).map_err(|e| match e {
            Error::Key(KeyError::Invalid(m)) => {
                Error::Key(KeyError::Invalid(format!("{}: {m}", path.display())))
            }
            Error::Key(KeyError::Weak(m)) => {
                Error::Key(KeyError::Weak(format!("{}: {m}", path.display())))
            }
            other => other,
        })
    }

    fn from_pem_inner(alg: Option<Algorithm>, pem_text: &[u8]) -> Result<Self, Error> {
        let block = pem::parse(pem_text).map_err(|_| invalid("not PEM text"))?;
        let der = Zeroizing::new(block.contents().to_vec());
        match block.tag() {
            "PRIVATE KEY" => Self::from_pkcs8(alg, &der),
            "RSA PRIVATE KEY" => {
                let pair = RsaKeyPair::from_der(&der).map_err(rsa_rejected)?;
                Self::from_rsa_pair(alg.unwrap_or(Algorithm::RS256), pair)
            }
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_public_der(alg, &der),
            "EC PRIVATE KEY" => Err(invalid(
                "SEC1 EC keys are not supported; convert to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)",
            )),
            "ENCRYPTED PRIVATE KEY" => Err(invalid("encrypted private keys are not supported")),
            other => Err(invalid(format!("unsupported PEM block `{other}`"))),
        }
    }

    fn from_pkcs8(alg: Option<Algorithm>, der: &[u8]) -> Result<Self, Error> {
        const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
        const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
        const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
        // The algorithm identifier sits in the first few dozen bytes of a PKCS#8 document.
        let head = &der[..der.len().min(40)];
        let has = |oid: &[u8]| head.windows(oid.len()).any(|w| w == oid);
        if has(OID_RSA) || has(OID_RSA_PSS) {
            let pair = RsaKeyPair::from_pkcs8(der).map_err(rsa_rejected)?;
            Self::from_rsa_pair(alg.unwrap_or(Algorithm::RS256), pair)
        } else if has(OID_EC) {
            let curve_alg = if has(OID_P256) {
                Algorithm::ES256
            } else if has(OID_P384) {
                Algorithm::ES384
            } else {
                return Err(invalid("unsupported elliptic curve (P-256 and P-384 are)"));
            };
            let alg = alg.unwrap_or(curve_alg);
            if alg != curve_alg {
                return Err(invalid(format!(
                    "this EC key is for {curve_alg:?}, not {alg:?}"
                )));
            }
            let (sign_alg, verify_alg, _) =
                ec_algs(alg).ok_or_else(|| invalid("not an ECDSA algorithm"))?;
            let pair = EcdsaKeyPair::from_pkcs8(sign_alg, der)
                .map_err(|e| invalid(format!("EC private key rejected: {e}")))?;
            let point = pair.public_key().as_ref().to_vec();
            let public = ParsedPublicKey::new(verify_alg, &point)
                .map_err(|e| invalid(format!("EC public key rejected: {e}")))?;
            Self::finish(
                alg,
                Material::Ec {
                    pair: Some(Box::new(pair)),
                    public,
                    point,
                },
            )
        } else if has(OID_ED25519) {
            let alg = alg.unwrap_or(Algorithm::EdDSA);
            if alg != Algorithm::EdDSA {
                return Err(invalid(format!("an Ed25519 key is for EdDSA, not {alg:?}")));
            }
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| invalid(format!("Ed25519 private key rejected: {e}")))?;
            let x = pair.public_key().as_ref().to_vec();
            let public = ParsedPublicKey::new(&sig::ED25519, &x)
                .map_err(|e| invalid(format!("Ed25519 public key rejected: {e}")))?;
            Self::finish(
                alg,
                Material::Ed {
                    pair: Some(Box::new(pair)),
                    public,
                    x,
                },
            )
        } else {
            Err(invalid(
                "unsupported PKCS#8 key type (RSA, P-256, P-384 and Ed25519 are)",
            ))
        }
    }

    fn from_rsa_pair(alg: Algorithm, pair: RsaKeyPair) -> Result<Self, Error> {
        let verify_alg = rsa_verify_alg(alg)
            .ok_or_else(|| invalid(format!("an RSA key cannot be used with {alg:?}")))?;
        let bits = pair.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(weak_rsa(bits));
        }
        let components = rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let public = ParsedPublicKey::new(verify_alg, pair.public_key().as_ref())
            .map_err(|e| invalid(format!("RSA public key rejected: {e}")))?;
        Self::finish(
            alg,
            Material::Rsa {
                pair: Some(Box::new(pair)),
                public,
                n: components.n,
                e: components.e,
            },
        )
    }

    fn from_public_der(alg: Option<Algorithm>, der: &[u8]) -> Result<Self, Error> {
        if let Ok(rsa_key) = rsa::PublicKey::from_der(der) {
            let bits = rsa_key.modulus_len() * 8;
            if bits < MIN_RSA_BITS {
                return Err(weak_rsa(bits));
            }
            let components = rsa::PublicKeyComponents::<Vec<u8>>::from(&rsa_key);
            return Self::from_rsa_components(
                alg.unwrap_or(Algorithm::RS256),
                components.n,
                components.e,
            );
        }
        // SubjectPublicKeyInfo for EC and Ed25519 ends with the raw public key in a BIT STRING.
        for (candidate, raw_len) in [
            (Algorithm::ES256, 65),
            (Algorithm::ES384, 97),
            (Algorithm::EdDSA, 32),
        ] {
            if alg.is_some_and(|a| a != candidate) {
                continue;
            }
            let verify_alg: &'static dyn sig::VerificationAlgorithm = match candidate {
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
                _ => &sig::ED25519,
            };
            if ParsedPublicKey::new(verify_alg, der).is_err() || der.len() < raw_len + 2 {
                continue;
            }
            let raw = &der[der.len() - raw_len..];
            return match candidate {
                Algorithm::EdDSA => Self::from_ed_x(raw.to_vec()),
                _ => Self::from_ec_point(candidate, raw.to_vec()),
            };
        }
        Err(invalid("unsupported or malformed public key"))
    }

    fn from_rsa_components(alg: Algorithm, n: Vec<u8>, e: Vec<u8>) -> Result<Self, Error> {
        let verify_alg = rsa_verify_alg(alg)
            .ok_or_else(|| invalid(format!("an RSA key cannot be used with {alg:?}")))?;
        let n_trimmed: &[u8] = {
            let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
            &n[start..]
        };
        let bits = n_trimmed.len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(weak_rsa(bits));
        }
        let components = rsa::PublicKeyComponents {
            n: n_trimmed.to_vec(),
            e,
        };
        let spki = components
            .as_der()
            .map_err(|_| invalid("RSA public key rejected"))?;
        let public = ParsedPublicKey::new(verify_alg, spki.as_ref())
            .map_err(|e| invalid(format!("RSA public key rejected: {e}")))?;
        Self::finish(
            alg,
            Material::Rsa {
                pair: None,
                public,
                n: components.n,
                e: components.e,
            },
        )
    }

    fn from_ec_point(alg: Algorithm, point: Vec<u8>) -> Result<Self, Error> {
        let (_, verify_alg, coord) = ec_algs(alg)
            .ok_or_else(|| invalid(format!("an EC key cannot be used with {alg:?}")))?;
        if point.len() != 1 + 2 * coord || point[0] != 0x04 {
            return Err(invalid(
                "EC public key must be an uncompressed point on the curve",
            ));
        }
        let public = ParsedPublicKey::new(verify_alg, &point)
            .map_err(|e| invalid(format!("EC public key rejected: {e}")))?;
        Self::finish(
            alg,
            Material::Ec {
                pair: None,
                public,
                point,
            },
        )
    }

    fn from_ed_x(x: Vec<u8>) -> Result<Self, Error> {
        if x.len() != 32 {
            return Err(invalid("Ed25519 public key must be 32 bytes"));
        }
        let public = ParsedPublicKey::new(&sig::ED25519, &x)
            .map_err(|e| invalid(format!("Ed25519 public key rejected: {e}")))?;
        Self::finish(
            Algorithm::EdDSA,
            Material::Ed {
                pair: None,
                public,
                x,
            },
        )
    }

    fn finish(alg: Algorithm, material: Material) -> Result<Self, Error> {
        let mut key = Self {
            kid: String::new(),
            alg,
            material,
        };
        let jwk = key
            .to_public_jwk()
            .ok_or_else(|| invalid("no public form"))?;
        key.kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| invalid("cannot compute the key's thumbprint"))?;
        Ok(key)
    }

    // ------------------------------------------------------------------ JWK

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

    // ------------------------------------------------------------------ generation

    /// Makes a new random key for `alg` and returns it with its serialized form: PKCS#8 PEM for
    /// asymmetric algorithms (RSA keys are 2048 bits), a base64url secret of the hash's length for
    /// HMAC (at least 32 random bytes).
    ///
    /// # Errors
    /// [`InternalError::Crypto`](crate::InternalError::Crypto) if the system's random generator fails.
    pub fn generate(alg: Algorithm) -> Result<(Self, Zeroizing<String>), Error> {
        if is_hmac(alg) {
            let mut secret = Zeroizing::new(vec![0u8; min_secret_len(alg)]);
            aws_lc_rs::rand::fill(&mut secret)
                .map_err(|_| Error::Internal(InternalError::Crypto))?;
            let text = Zeroizing::new(b64url(&secret));
            return Ok((Self::from_secret(alg, &secret)?, text));
        }
        let der: Zeroizing<Vec<u8>> = if rsa_verify_alg(alg).is_some() {
            let pair = RsaKeyPair::generate(rsa::KeySize::Rsa2048)
                .map_err(|_| Error::Internal(InternalError::Crypto))?;
            let doc = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair)
                .map_err(|_| Error::Internal(InternalError::Crypto))?;
            Zeroizing::new(doc.as_ref().to_vec())
        } else if let Some((sign_alg, _, _)) = ec_algs(alg) {
            let doc = EcdsaKeyPair::generate_pkcs8(sign_alg, &SystemRandom::new())
                .map_err(|_| Error::Internal(InternalError::Crypto))?;
            Zeroizing::new(doc.as_ref().to_vec())
        } else {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| Error::Internal(InternalError::Crypto))?;
            Zeroizing::new(doc.as_ref().to_vec())
        };
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        let pem_text = Zeroizing::new(pem::encode_config(
            &pem::Pem::new("PRIVATE KEY", der.to_vec()),
            config,
        ));
        let key = Self::from_pem_with_alg(alg, pem_text.as_bytes())?;
        Ok((key, pem_text))
    }

    // ------------------------------------------------------------------ accessors

    /// Sets the key id (`kid`) tokens signed with this key carry and are looked up by.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key is used with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether this key can sign (an HMAC secret or a private key).
    #[must_use]
    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Rsa { pair, .. } => pair.is_some(),
            Material::Ec { pair, .. } => pair.is_some(),
            Material::Ed { pair, .. } => pair.is_some(),
        }
    }

    /// Whether this is a symmetric (HMAC) key, which has no public form.
    #[must_use]
    pub fn is_symmetric(&self) -> bool {
        matches!(self.material, Material::Hmac(_))
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

    /// Signs `message`, returning the raw signature (JWS encoding: ECDSA as fixed `r || s`).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.material {
            Material::Hmac(k) => Ok(hmac::sign(k, message).as_ref().to_vec()),
            Material::Rsa {
                pair: Some(pair), ..
            } => {
                let enc = rsa_sign_alg(self.alg).ok_or(Error::Internal(InternalError::Crypto))?;
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(enc, &SystemRandom::new(), message, &mut out)
                    .map_err(|_| Error::Internal(InternalError::Crypto))?;
                Ok(out)
            }
            Material::Ec {
                pair: Some(pair), ..
            } => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(|_| Error::Internal(InternalError::Crypto))?
                .as_ref()
                .to_vec()),
            Material::Ed {
                pair: Some(pair), ..
            } => Ok(pair.sign(message).as_ref().to_vec()),
            _ => Err(Error::Key(KeyError::NoSigningKey)),
        }
    }

    /// Checks a raw JWS signature over `message` with this key and its one algorithm — the
    /// low-level check [`Verifier`](crate::Verifier) runs on a token's signing input
    /// (`base64url(header) "." base64url(payload)`), without any of its header or claim checks.
    ///
    /// `signature` is the decoded third segment of a compact JWS: for ECDSA the fixed-length
    /// `r || s` of RFC 7518 §3.4 (DER is refused), for RSA as long as the modulus. HMAC tags are
    /// compared in constant time.
    ///
    /// # Errors
    /// [`TokenError::InvalidSignature`](crate::TokenError::InvalidSignature) when the signature does not verify.
    ///
    /// ```
    /// use tokengate::{Algorithm, Error, Key};
    /// // RFC 7515 appendix A.1: HS256 over the example signing input.
    /// let key = Key::from_base64_secret(
    ///     Algorithm::HS256,
    ///     "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    /// )?;
    /// let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    /// let tag: [u8; 32] = [
    ///     116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
    ///     37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    /// ];
    /// key.verify_signature(input.as_bytes(), &tag)?;
    /// assert!(matches!(
    ///     key.verify_signature(b"tampered", &tag),
    ///     Err(Error::Token(tokengate::TokenError::InvalidSignature))
    /// ));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        if self.verify(message, signature) {
            Ok(())
        } else {
            Err(Error::Token(TokenError::InvalidSignature))
        }
    }

    /// Checks `signature` over `message` (constant time for HMAC).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(k) => hmac::verify(k, message, signature).is_ok(),
            Material::Rsa { public, .. }
            | Material::Ec { public, .. }
            | Material::Ed { public, .. } => public.verify_sig(message, signature).is_ok(),
        }
    }

    /// Drops the private half, keeping a verify-only key. HMAC keys are returned unchanged (a
    /// symmetric key always can sign).
    #[must_use]
    pub fn into_verify_only(mut self) -> Self {
        match &mut self.material {
            Material::Hmac(_) => {}
            Material::Rsa { pair, .. } => *pair = None,
            Material::Ec { pair, .. } => *pair = None,
            Material::Ed { pair, .. } => *pair = None,
        }
        self
    }
}

fn weak_rsa(bits: usize) -> Error {
    Error::Key(KeyError::Weak(format!(
        "RSA key must be at least {MIN_RSA_BITS} bits, got {bits}"
    )))
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> Error {
    if e.to_string().contains("TooSmall") {
        Error::Key(KeyError::Weak(format!(
            "RSA key must be at least {MIN_RSA_BITS} bits"
        )))
    } else {
        invalid(format!("RSA private key rejected: {e}"))
    }
}

fn read_env(var: &str) -> Result<Zeroizing<String>, Error> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
        _ => Err(Error::config(
            var.to_owned(),
            "environment variable is missing or empty",
        )),
    }
}

fn name_setting(e: Error, var: &str) -> Error {
    match e {
        Error::Key(KeyError::Weak(m)) => Error::Key(KeyError::Weak(format!("{var}: {m}"))),
        Error::Key(KeyError::Invalid(m)) => Error::Key(KeyError::Invalid(format!("{var}: {m}"))),
        other => other,
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

/// The keys a service signs and verifies with, addressed by `kid`.
///
/// One key is the active signing key; any number are verify-only (rotation). Kids are unique.
///
/// ```
/// use tokengate::{Algorithm, Key, KeyRing};
/// let new = Key::from_secret(Algorithm::HS256, &[7u8; 32])?.with_kid("2026-11");
/// let old = Key::from_secret(Algorithm::HS256, &[9u8; 32])?.with_kid("2026-10");
/// let ring = KeyRing::new(new)?.with_verify_only(old)?;
/// assert_eq!(ring.signing_key().map(|k| k.kid()), Some("2026-11"));
/// assert!(ring.get("2026-10").is_some());
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<Arc<Key>>,
    signing: Option<Arc<Key>>,
}

impl KeyRing {
    /// A ring whose active signing key is `signing`.
    ///
    /// # Errors
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey) when the key cannot sign (a public key); [`Error::Config`] when its
    /// kid is empty.
    pub fn new(signing: Key) -> Result<Self, Error> {
        let mut ring = Self::default();
        ring.set_signing_key(signing)?;
        Ok(ring)
    }

    /// A ring that only verifies (for example a resource server that trusts another service's
    /// public keys).
    ///
    /// # Errors
    /// As [`KeyRing::add_verify_only`].
    pub fn verify_only(keys: impl IntoIterator<Item = Key>) -> Result<Self, Error> {
        let mut ring = Self::default();
        for key in keys {
            ring.add_verify_only(key)?;
        }
        Ok(ring)
    }

    /// A verify-only ring from a JWKS document (`{"keys": [..]}`), e.g. another issuer's
    /// `/.well-known/jwks.json`. Keys the ring cannot use are refused, not skipped.
    ///
    /// # Errors
    /// [`KeyError::Invalid`](crate::KeyError::Invalid) for text that is not a JWKS or a key that cannot be used.
    pub fn from_jwks_json(json: &str) -> Result<Self, Error> {
        let set: JwkSet = serde_json::from_str(json).map_err(|_| invalid("not a JWK set"))?;
        let keys = set
            .keys
            .iter()
            .map(Key::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Self::verify_only(keys)
    }

    /// Adds a verify-only key, builder style.
    ///
    /// # Errors
    /// As [`KeyRing::add_verify_only`].
    pub fn with_verify_only(mut self, key: Key) -> Result<Self, Error> {
        self.add_verify_only(key)?;
        Ok(self)
    }

    /// Adds a key used only to verify (its private half, if any, is dropped).
    ///
    /// # Errors
    /// [`Error::Config`] when its kid is empty or already in the ring.
    pub fn add_verify_only(&mut self, key: Key) -> Result<(), Error> {
        self.insert(key.into_verify_only()).map(|_| ())
    }

    /// Makes `key` the active signing key; the previous signing key stays in the ring, verify-only.
    ///
    /// # Errors
    /// [`KeyError::NoSigningKey`](crate::KeyError::NoSigningKey) when `key` cannot sign; [`Error::Config`] for an empty or duplicate
    /// kid.
    pub fn set_signing_key(&mut self, key: Key) -> Result<(), Error> {
        if !key.can_sign() {
            return Err(Error::Key(KeyError::NoSigningKey));
        }
        let key = self.insert(key)?;
        self.signing = Some(key);
        Ok(())
    }

    fn insert(&mut self, key: Key) -> Result<Arc<Key>, Error> {
        if key.kid.is_empty() {
            return Err(Error::config("kid", "must not be empty"));
        }
        if self.get(&key.kid).is_some() {
            return Err(Error::config(
                "kid",
                format!("duplicate kid `{}` in key ring", key.kid),
            ));
        }
        let key = Arc::new(key);
        self.keys.push(Arc::clone(&key));
        Ok(key)
    }

    /// Removes the key with this kid (rotation's last step). Removing the signing key leaves the
    /// ring unable to sign.
    pub fn remove(&mut self, kid: &str) -> Option<Arc<Key>> {
        let pos = self.keys.iter().position(|k| k.kid == kid)?;
        if self.signing.as_ref().is_some_and(|s| s.kid == kid) {
            self.signing = None;
        }
        Some(self.keys.remove(pos))
    }

    /// The key with this kid.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The active signing key.
    #[must_use]
    pub fn signing_key(&self) -> Option<&Arc<Key>> {
        self.signing.as_ref()
    }

    /// All keys, signing and verify-only.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<Key>> {
        self.keys.iter()
    }

    /// Number of keys in the ring.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys as a JWKS. Symmetric keys and private members never appear.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(|k| k.to_public_jwk()).collect(),
        }
    }
}
