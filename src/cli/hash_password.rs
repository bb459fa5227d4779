//! `tokengate hash-password`: an argon2id PHC string for a password, or a check against one,
//! with the library's [`Passwords`] (OWASP parameters) on the calling thread.

use std::io::{self, IsTerminal as _};

use zeroize::Zeroizing;

use super::{Failure, Output};
use crate::error::Error;
use crate::error::InternalError;
use crate::password::{Passwords, Verification};

#[derive(clap::Args)]
pub(super) struct Args {
    /// Check the password against this PHC string instead of hashing it (exit 0 match, 1
    /// mismatch).
    #[arg(long, value_name = "HASH")]
    verify: Option<String>,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    let interactive = io::stdin().is_terminal();
    // One worker: the blocking calls below hash on this thread; the pool stays idle.
    let passwords = Passwords::builder()
        .workers(1)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(phc) = &args.verify {
        // Refuse a malformed hash before asking for anything.
        if !phc.starts_with("$argon2") || passwords.needs_rehash(phc).is_err() {
            return Err(Failure::usage("--verify: not a valid argon2 PHC string"));
        }
        let password = read_password(interactive, false)?;
        return match passwords
            .verify_blocking(&password, phc)
            .map_err(|e| password_failure(&e))?
        {
            Verification::Invalid => Err(Failure::rejected("password does not match")),
            verdict => {
                let rehash = verdict.needs_rehash();
                Ok(if json {
                    Output::json(
                        &serde_json::json!({ "match": true, "needs_rehash": rehash }),
                        false,
                    )
                } else if rehash {
                    Output::stdout(
                        "password matches (the hash uses other parameters than the current \
                         defaults; hash it again)",
                    )
                } else {
                    Output::stdout("password matches")
                })
            }
        };
    }
    let password = read_password(interactive, true)?;
    let phc = passwords
        .hash_blocking(&password)
        .map_err(|e| password_failure(&e))?;
    let phc = phc.as_str();
    Ok(if json {
        Output::json(&serde_json::json!({ "hash": phc }), false)
    } else {
        Output::stdout(phc)
    })
}

fn password_failure(err: &Error) -> Failure {
    match err {
        Error::Internal(InternalError::PasswordHashInvalid) => {
            Failure::usage("--verify: not a valid argon2 PHC string")
        }
        other => Failure::usage(other.to_string()),
    }
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
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_hashes_are_usage_errors() {
        let code = password_failure(&Error::Internal(InternalError::PasswordHashInvalid)).code;
        assert_eq!(code, super::super::EXIT_USAGE);
    }
}
