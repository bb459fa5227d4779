//! Keys from PEM text: PKCS#8 and PKCS#1 private keys, SubjectPublicKeyInfo public keys.

use std::path::Path;

use aws_lc_rs::rsa;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
};
use zeroize::Zeroizing;

use super::algorithm::Algorithm;
use super::invalid;
use super::key::{Key, MIN_RSA_BITS, Material, ec_algs, rsa_verify_alg, weak_rsa};
use crate::error::{Error, KeyError};

impl Key {
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
