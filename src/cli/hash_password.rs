//! `tokengate hash-password`: an argon2id PHC string for a password, or a check against one.

use std::io::{self, IsTerminal as _};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use super::{Failure, Output};

/// OWASP parameters for argon2id: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
/// Longest password accepted, in bytes.
const MAX_PASSWORD_LEN: usize = 1024;

#[derive(clap::Args)]
pub(super) struct Args {
    /// Check the password against this PHC string instead of hashing it (exit 0 match, 1
    /// mismatch).
    #[arg(long, value_name = "HASH")]
    verify: Option<String>,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    let interactive = io::stdin().is_terminal();
    if let Some(phc) = &args.verify {
        // Refuse a malformed hash before asking for anything.
        PasswordHash::new(phc).map_err(|_| Failure::usage("--verify: not a valid PHC string"))?;
        let password = read_password(interactive, false)?;
        return if check(&password, phc)? {
            Ok(if json {
                Output::json(&serde_json::json!({ "match": true }), false)
            } else {
                Output::stdout("password matches")
            })
        } else {
            Err(Failure::rejected("password does not match"))
        };
    }
    let password = read_password(interactive, true)?;
    let phc = hash(&password)?;
    Ok(if json {
        Output::json(&serde_json::json!({ "hash": phc }), false)
    } else {
        Output::stdout(phc)
    })
}

/// Reads the password from the terminal without echo (asking twice when `confirm`), or from
/// standard input when it is not a terminal (one trailing line end is removed).
fn read_password(interactive: bool, confirm: bool) -> Result<Zeroizing<String>, Failure> {
    let password = if interactive {
        let first = Zeroizing::new(
            rpassword::prompt_password("Password: ")
                .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Repeat password: ")
                    .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))?,
            );
            if *first != *again {
                return Err(Failure::usage("the passwords differ"));
            }
        }
        first
    } else {
        let mut text = Zeroizing::new(super::read_stdin("password")?);
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        text
    };
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(Failure::usage(format!(
            "the password is longer than {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(password)
}

fn hasher() -> Result<Argon2<'static>, Failure> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| Failure::usage(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash(password: &str) -> Result<String, Failure> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| Failure::usage("no random bytes for the salt"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Failure::usage(format!("salt: {e}")))?;
    let phc = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Failure::usage(format!("cannot hash the password: {e}")))?;
    Ok(phc.to_string())
}

/// Whether `password` matches `phc` (the hash's own parameters are used).
fn check(password: &str, phc: &str) -> Result<bool, Failure> {
    let parsed =
        PasswordHash::new(phc).map_err(|_| Failure::usage("--verify: not a valid PHC string"))?;
    match hasher()?.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(Failure::usage(format!(
            "--verify: cannot check this hash: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(check("correct horse", &phc).ok(), Some(true));
        assert_eq!(check("wrong horse", &phc).ok(), Some(false));
        assert!(check("x", "not-a-hash").is_err());
    }
}
