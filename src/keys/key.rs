//! [`Key`]: key material bound to one algorithm and one `kid`, and what it does (sign, verify).
//!
//! The constructors live next to the format they read: [`secret`](super::secret) (HMAC),
//! [`pem`](super::pem), [`jwk`](super::jwk). This file holds the type, the public-key
//! constructors the formats share, key generation and the accessors.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, ParsedPublicKey, RsaEncoding,
    RsaKeyPair,
};
use aws_lc_rs::{hmac, rsa};
use jsonwebtoken::jwk::ThumbprintHash;
use zeroize::Zeroizing;

use super::algorithm::Algorithm;
use super::low_s;
use super::secret::min_secret_len;
use super::{b64url, invalid};
use crate::error::{Error, InternalError, KeyError, TokenError};

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A; RFC 7518 §3.3 says "2048 or larger").
pub const MIN_RSA_BITS: usize = 2048;

/// Key material bound to one algorithm and one `kid`.
///
/// `Debug` never prints secret material. Private keys live inside the crypto backend (aws-lc),
/// which wipes them when the key is dropped; secrets that pass through tokengate's own buffers are
/// zeroized.
pub struct Key {
    pub(super) kid: String,
    pub(super) alg: Algorithm,
    pub(super) material: Material,
}

pub(super) enum Material {
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

/// Whether `alg` is one of the HMAC algorithms.
pub(super) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The aws-lc HMAC algorithm for `HS256`/`HS384`/`HS512`.
pub(super) fn hmac_alg(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// The aws-lc RSA verification parameters for `RS*`/`PS*` (moduli of 2048 to 8192 bits).
pub(super) fn rsa_verify_alg(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
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

/// The aws-lc RSA signature encoding for `RS*`/`PS*`.
pub(super) fn rsa_sign_alg(alg: Algorithm) -> Option<&'static dyn RsaEncoding> {
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
pub(super) fn ec_algs(
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

impl Key {
    /// A key of `material`, whose kid is its public JWK's RFC 7638 thumbprint.
    pub(super) fn finish(alg: Algorithm, material: Material) -> Result<Self, Error> {
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

    pub(super) fn from_rsa_components(
        alg: Algorithm,
        n: Vec<u8>,
        e: Vec<u8>,
    ) -> Result<Self, Error> {
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

    pub(super) fn from_ec_point(alg: Algorithm, point: Vec<u8>) -> Result<Self, Error> {
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

    pub(super) fn from_ed_x(x: Vec<u8>) -> Result<Self, Error> {
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

    /// Signs `message`, returning the raw signature (JWS encoding: ECDSA as fixed `r || s`, always
    /// low-S: aws-lc returns either of the twins `(r, s)`, `(r, n − s)`, and the high one is
    /// replaced by its low twin, so that no token we mint has a twin that is "more canonical").
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
            } => {
                let signature = pair
                    .sign(&SystemRandom::new(), message)
                    .map_err(|_| Error::Internal(InternalError::Crypto))?;
                let signature = signature.as_ref();
                Ok(self
                    .low_s_twin(signature)
                    .unwrap_or_else(|| signature.to_vec()))
            }
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

    /// For an ECDSA key and a signature `r || s` of its curve whose `s` is high
    /// (`(n − 1) / 2 < s < n`): the low-S twin `r || n − s`, which verifies exactly when the
    /// signature does. `None` for any other key or signature (a low `s`, `s` out of range, another
    /// length), which has no other form. See `keys/low_s.rs`.
    pub(crate) fn low_s_twin(&self, signature: &[u8]) -> Option<Vec<u8>> {
        match self.material {
            Material::Ec { .. } => low_s::low_s(signature, low_s::order(self.alg)?),
            _ => None,
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

/// [`KeyError::Weak`] for an RSA modulus of `bits` bits.
pub(super) fn weak_rsa(bits: usize) -> Error {
    Error::Key(KeyError::Weak(format!(
        "RSA key must be at least {MIN_RSA_BITS} bits, got {bits}"
    )))
}
