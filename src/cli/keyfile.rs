//! Key files: `<kid>.pem` (PEM, private or public) and `<kid>.secret` (an HMAC secret).
//!
//! The kid of a loaded PEM key is its file name without the extension, and that of a secret the
//! id derived from it (as the library derives it), unless overridden.

use std::path::Path;

use zeroize::Zeroizing;

use super::Failure;
use crate::error::Error;
use crate::keys::{Algorithm, Key};

/// Extension of PEM key files.
pub(super) const PEM_EXT: &str = "pem";
/// Extension of HMAC secret files.
pub(super) const SECRET_EXT: &str = "secret";
/// The algorithm of secret files and `--secret-env` secrets.
pub(super) const SECRET_ALG: Algorithm = Algorithm::HS256;

/// Loads a key file, with the kid `kid` or else: the file's name without its extension for a PEM
/// key, the id derived from the secret for a `.secret` file.
///
/// `alg` chooses among the algorithms the key allows (RS*/PS* for an RSA key, HS* for a secret);
/// `None` lets the key decide (RS256 for RSA, HS256 for a secret).
pub(super) fn load(path: &Path, kid: Option<&str>, alg: Option<Algorithm>) -> Result<Key, Failure> {
    let shown = path.display();
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read key file {shown}: {e}")))?,
    );
    let is_pem = bytes.trim_ascii_start().starts_with(b"-----BEGIN");
    let is_secret = path.extension().is_some_and(|e| e == SECRET_EXT);
    let key = if is_pem {
        match alg {
            Some(alg) => Key::from_pem_with_alg(alg, &bytes),
            None => Key::from_pem(&bytes),
        }
    } else if is_secret {
        // The line's text is the secret, used as raw bytes (like JWT_SECRET).
        Key::from_secret(alg.unwrap_or(SECRET_ALG), bytes.trim_ascii_end())
    } else {
        return Err(Failure::usage(format!(
            "{shown}: not a PEM key, and not a `.{SECRET_EXT}` file holding an HMAC secret"
        )));
    };
    let key = key.map_err(|e| key_failure(&shown.to_string(), &e))?;
    match kid {
        Some(kid) => Ok(key.with_kid(kid)),
        // A secret keeps the kid derived from it, as `Key::from_secret_env` derives it, so a
        // service reading the same text from `JWT_SECRET` agrees on the kid without configuration.
        None if is_secret => Ok(key),
        None => Ok(key.with_kid(kid_from_path(path)?)),
    }
}

/// Parses `--alg`: a JOSE algorithm name (case-insensitive); `none` is never one.
pub(super) fn parse_alg(text: &str) -> Result<Algorithm, String> {
    Algorithm::ALL
        .iter()
        .copied()
        .find(|a| a.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown algorithm `{text}`; one of {}", names.join(", "))
        })
}

/// The kid a key file stands for: its file name without the extension.
pub(super) fn kid_from_path(path: &Path) -> Result<String, Failure> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::usage(format!(
                "{}: cannot take a kid from this file name (use --kid)",
                path.display()
            ))
        })
}

/// Checks a kid given on the command line: it becomes a file name, so only `A-Z a-z 0-9 . _ -`,
/// 1 to 128 characters, not starting with a dot.
pub(super) fn check_kid(kid: &str) -> Result<(), Failure> {
    let ok = !kid.is_empty()
        && kid.len() <= 128
        && !kid.starts_with('.')
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(
            "--kid: use 1 to 128 characters from A-Z a-z 0-9 . _ - (not starting with a dot)",
        ))
    }
}

/// A key error from the library, named after where the key came from (exit 2).
pub(super) fn key_failure(source: &str, err: &Error) -> Failure {
    Failure::usage(format!("{source}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_that_would_be_unsafe_file_names_are_refused() {
        for good in ["dev-es256", "2026-11.a_b", "x"] {
            assert!(check_kid(good).is_ok(), "{good}");
        }
        let long = "a".repeat(129);
        for bad in ["", ".hidden", "../up", "a/b", "a b", "é", long.as_str()] {
            assert_eq!(
                check_kid(bad).map_err(|f| f.code),
                Err(super::super::EXIT_USAGE),
                "{bad}"
            );
        }
    }

    #[test]
    fn kid_is_the_file_stem() {
        assert_eq!(
            kid_from_path(Path::new("keys/dev-es256.pem"))
                .ok()
                .as_deref(),
            Some("dev-es256")
        );
        assert_eq!(
            kid_from_path(Path::new("a.b.secret")).ok().as_deref(),
            Some("a.b")
        );
    }
}
