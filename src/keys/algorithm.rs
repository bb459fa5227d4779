//! [`Algorithm`]: the JWS signing algorithms tokengate signs and verifies with.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::TokenError;

/// A JWS signing algorithm (RFC 7518 §3, RFC 8037 §3.1), named as in the JOSE `alg` header.
///
/// Every [`Key`](crate::Key) is bound to exactly one algorithm, and a token's `alg` header must
/// name it. There is no variant for `none`: unsecured tokens cannot be expressed, so they are
/// never accepted.
///
/// The text form — [`as_str`](Algorithm::as_str), `Display`, [`FromStr`] and serde — is the
/// JOSE name, spelled exactly (`"HS256"`, `"EdDSA"`).
///
/// ```
/// use tokengate::{Algorithm, TokenError};
/// let alg: Algorithm = "ES256".parse()?;
/// assert_eq!(alg, Algorithm::ES256);
/// assert_eq!(alg.to_string(), "ES256");
/// assert_eq!(serde_json::to_string(&Algorithm::EdDSA).unwrap(), r#""EdDSA""#);
/// assert_eq!("none".parse::<Algorithm>(), Err(TokenError::AlgorithmNone));
/// assert_eq!("es256".parse::<Algorithm>(), Err(TokenError::UnsupportedAlgorithm));
/// # Ok::<(), TokenError>(())
/// ```
// The variants are the JOSE names, which are upper-case acronyms.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 (a shared secret of at least 32 bytes).
    HS256,
    /// HMAC with SHA-384 (a shared secret of at least 48 bytes).
    HS384,
    /// HMAC with SHA-512 (a shared secret of at least 64 bytes).
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA of at least 2048 bits).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA; tokengate supports the Ed25519 curve.
    EdDSA,
}

impl Algorithm {
    /// Every algorithm tokengate supports, HMAC first, then RSA (PKCS#1 v1.5, PSS), ECDSA and
    /// EdDSA.
    pub const ALL: &'static [Self] = &[
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The JOSE name, as written in a token's `alg` header and a JWK's `alg` member.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The same algorithm in `jsonwebtoken`'s terms (for its JWK types). Crate-private, so that
    /// `jsonwebtoken`'s own `Algorithm` never becomes part of tokengate's API.
    pub(crate) const fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Self::HS256 => J::HS256,
            Self::HS384 => J::HS384,
            Self::HS512 => J::HS512,
            Self::RS256 => J::RS256,
            Self::RS384 => J::RS384,
            Self::RS512 => J::RS512,
            Self::PS256 => J::PS256,
            Self::PS384 => J::PS384,
            Self::PS512 => J::PS512,
            Self::ES256 => J::ES256,
            Self::ES384 => J::ES384,
            Self::EdDSA => J::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = TokenError;

    /// Parses a JOSE name, spelled exactly as [`Algorithm::as_str`] writes it (names are
    /// case-sensitive, RFC 7515 §4.1.1).
    ///
    /// # Errors
    /// [`TokenError::AlgorithmNone`] for `none` in any spelling (unsecured JWS is never
    /// accepted); [`TokenError::UnsupportedAlgorithm`] for every other name that is not one of
    /// [`Algorithm::ALL`]. Neither error's text repeats the input.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgorithmNone);
        }
        Self::ALL
            .iter()
            .copied()
            .find(|alg| alg.as_str() == name)
            .ok_or(TokenError::UnsupportedAlgorithm)
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    /// Reads a JOSE name as [`FromStr`] does; anything else (`none` included) is an
    /// "unknown variant" error listing the accepted names.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl Visitor<'_> for NameVisitor {
    type Value = Algorithm;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE signing algorithm name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Algorithm, E> {
        name.parse().map_err(|_| E::unknown_variant(name, &NAMES))
    }
}

/// The accepted names, for serde's "expected one of" message.
const NAMES: [&str; Algorithm::ALL.len()] = {
    let mut names = [""; Algorithm::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Algorithm::ALL[i].as_str();
        i += 1;
    }
    names
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_jsonwebtokens_and_round_trip() {
        for &alg in Algorithm::ALL {
            let name = alg.as_str();
            // The same name jsonwebtoken writes for the same algorithm.
            let theirs = serde_json::to_value(alg.to_jsonwebtoken()).unwrap();
            assert_eq!(theirs.as_str(), Some(name), "{alg:?}");
            assert_eq!(
                name.parse::<jsonwebtoken::Algorithm>().unwrap(),
                alg.to_jsonwebtoken()
            );
            // FromStr, Display and serde agree.
            assert_eq!(name.parse::<Algorithm>(), Ok(alg));
            assert_eq!(alg.to_string(), name);
            assert_eq!(format!("{alg:?}"), name);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), alg);
        }
    }

    #[test]
    fn none_and_unknown_names_are_refused() {
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                none.parse::<Algorithm>(),
                Err(TokenError::AlgorithmNone),
                "{none}"
            );
            assert!(serde_json::from_str::<Algorithm>(&format!("\"{none}\"")).is_err());
        }
        for unknown in [
            "", "hs256", "Hs256", "HS256 ", " HS256", "EDDSA", "eddsa", "ES512", "RS1", "HS",
            "RSA-OAEP", "ES256K", "Ed25519",
        ] {
            assert_eq!(
                unknown.parse::<Algorithm>(),
                Err(TokenError::UnsupportedAlgorithm),
                "{unknown:?}"
            );
            assert!(serde_json::from_str::<Algorithm>(&format!("{unknown:?}")).is_err());
        }
        assert!(serde_json::from_str::<Algorithm>("5").is_err());
        assert!(serde_json::from_str::<Algorithm>("null").is_err());
    }
}
