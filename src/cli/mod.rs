//! The `tokengate` command-line tool (feature `cli`): make keys, publish their JWKS, mint test
//! tokens, look inside tokens, verify them, and hash passwords.
//!
//! The binary `src/bin/tokengate.rs` only calls [`run`]; everything else lives here so that it is
//! compiled, linted and documented with the library.
//!
//! ```text
//! tokengate keygen --alg ES256 --kid dev-es256 --out keys        # writes keys/dev-es256.pem (0600)
//! tokengate jwks keys/dev-es256.pem                              # public JWKS
//! tokengate mint --key keys/dev-es256.pem --sub alice --role admin --ttl 15m
//! tokengate inspect "$TOKEN"                                     # decodes, does NOT verify
//! tokengate verify "$TOKEN" --key keys/dev-es256.pem             # exit 0 valid, 1 invalid
//! tokengate hash-password < password.txt                         # argon2id PHC string
//! ```
//!
//! # Key files
//!
//! - Asymmetric keys are PKCS#8 PEM files named `<kid>.pem` (a public-key PEM also works wherever
//!   only verification is needed). The algorithm follows the key: RSA → RS256, P-256 → ES256,
//!   Ed25519 → EdDSA.
//! - HMAC secrets are `<kid>.secret` files holding one line of text; that text (without the line
//!   end) **is** the secret, used as its raw bytes, exactly like the example server's
//!   `JWT_SECRET` and `--secret-env`. `keygen` writes 32 random bytes as base64url (43
//!   characters). Secret files are always HS256.
//! - **The kid of a key file is its file name without the extension** (`keys/dev-es256.pem` →
//!   `dev-es256`); `--kid` overrides it where a single key is loaded. `keygen` names its files
//!   this way, so a kid chosen with `keygen --kid` is the kid every later command uses.
//!
//! # Output and exit codes
//!
//! Results go to standard output, human-readable by default and as JSON with `--json`. Errors go
//! to standard error (`error: …`, or a one-line JSON object with `--json`; command-line parsing
//! errors are always plain text). Exit codes:
//!
//! | code | constant | meaning |
//! |---|---|---|
//! | 0 | [`EXIT_OK`] | success: key written, token minted, token valid, password matches |
//! | 1 | [`EXIT_REJECTED`] | the answer is no: token invalid (with the exact reason) or not decodable, password does not match |
//! | 2 | [`EXIT_USAGE`] | usage or configuration error: bad flags, unreadable or unusable key files, missing variables, refusing to overwrite |
//!
//! The issuer and audience that `mint` writes and `verify` accepts default to `--iss` /
//! `--aud`, then the `JWT_ISSUER` / `JWT_AUDIENCE` environment variables (the example server's
//! settings), then [`DEFAULT_ISSUER`] / [`DEFAULT_AUDIENCE`].

use std::ffi::OsString;
use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod hash_password;
mod inspect;
mod jwks;
mod keyfile;
mod keygen;
mod mint;
mod verify;

/// Exit code of a command that succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code when the answer is "no": a token is invalid or cannot be decoded, a password does not
/// match its hash.
pub const EXIT_REJECTED: u8 = 1;
/// Exit code of a usage or configuration error: bad flags, unreadable or unusable files, a missing
/// environment variable, an existing file `keygen` will not overwrite.
pub const EXIT_USAGE: u8 = 2;

/// The issuer `mint` writes and `verify` accepts when neither `--iss` nor `JWT_ISSUER` is set.
pub const DEFAULT_ISSUER: &str = "tokengate";
/// The audience `mint` writes and `verify` accepts when neither `--aud` nor `JWT_AUDIENCE` is set.
pub const DEFAULT_AUDIENCE: &str = "tokengate";

/// Largest input read from standard input (a token or a password), in bytes.
const MAX_STDIN: u64 = 64 * 1024;

#[derive(Parser)]
#[command(
    name = "tokengate",
    version,
    about = "Keys, tokens and password hashes for tokengate services",
    after_help = "Exit codes: 0 success, 1 token invalid / password mismatch, 2 usage or configuration error."
)]
struct Cli {
    /// Print results as JSON (errors on stderr become one-line JSON objects).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a new signing key (PKCS#8 PEM or HMAC secret), written with mode 0600.
    Keygen(keygen::Args),
    /// Print the public JWKS of key files.
    Jwks(jwks::Args),
    /// Mint a signed access (or refresh) token, for testing.
    Mint(mint::Args),
    /// Decode a token WITHOUT verifying it: header, claims, times.
    Inspect(inspect::Args),
    /// Verify a token: exit 0 and its claims when valid, exit 1 and the reason when not.
    Verify(verify::Args),
    /// Hash a password with argon2id (read without echo, or from stdin), or check one.
    HashPassword(hash_password::Args),
}

/// `--iss` / `--aud`, shared by `mint` (which writes them) and `verify` (which accepts them).
#[derive(clap::Args)]
struct Parties {
    /// The issuer (`iss`) written by `mint`, required by `verify`.
    #[arg(long, env = "JWT_ISSUER", default_value = DEFAULT_ISSUER)]
    iss: String,
    /// The audience (`aud`) written by `mint` / accepted by `verify`; repeat for several.
    #[arg(long, env = "JWT_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    aud: Vec<String>,
    /// A refresh token (`typ: refresh+jwt`) instead of an access token (`typ: at+jwt`).
    #[arg(long)]
    refresh: bool,
}

impl Parties {
    fn kind(&self) -> crate::jws::TokenKind {
        if self.refresh {
            crate::jws::TokenKind::Refresh
        } else {
            crate::jws::TokenKind::Access
        }
    }
}

/// A failed command: what to print on stderr and the exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
    /// For a rejected token: the exact `tokengate::Error` Display.
    reason: Option<String>,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
            reason: None,
        }
    }

    /// A "no" answer (exit 1).
    fn rejected(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_REJECTED,
            message: message.into(),
            reason: None,
        }
    }

    /// A token refused by the library: exit 1 with the error's exact Display as the reason.
    fn invalid_token(err: &crate::error::Error) -> Self {
        Self {
            code: EXIT_REJECTED,
            message: format!("invalid token: {err}"),
            reason: Some(err.to_string()),
        }
    }
}

/// What a successful command prints.
struct Output {
    /// For standard output.
    stdout: String,
    /// An extra human note for standard error (not printed with `--json`).
    note: Option<String>,
}

impl Output {
    fn stdout(text: impl Into<String>) -> Self {
        let mut stdout = text.into();
        if !stdout.ends_with('\n') {
            stdout.push('\n');
        }
        Self { stdout, note: None }
    }

    fn json(value: &serde_json::Value, pretty: bool) -> Self {
        let text = if pretty {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        };
        // Serializing a `Value` cannot fail (its keys are strings).
        Self::stdout(text.unwrap_or_default())
    }
}

/// Runs the tool with the process's arguments; the binary's `main`.
#[must_use]
pub fn run() -> ExitCode {
    run_from(std::env::args_os())
}

/// Runs the tool with the given arguments (the first is the program name), printing to standard
/// output and standard error, and returns the exit code: [`EXIT_OK`], [`EXIT_REJECTED`] or
/// [`EXIT_USAGE`].
///
/// Never panics on bad input: unknown flags, unreadable files, garbage tokens all end in a message
/// on standard error and a non-zero code.
///
/// ```
/// use std::process::ExitCode;
/// // Not a token: refused with exit code 1 ("invalid token: token malformed" on stderr).
/// let code = tokengate::cli::run_from(["tokengate", "inspect", "not-a-token"]);
/// assert_eq!(code, ExitCode::from(tokengate::cli::EXIT_REJECTED));
/// // An unknown flag is a usage error.
/// let code = tokengate::cli::run_from(["tokengate", "mint", "--frobnicate"]);
/// assert_eq!(code, ExitCode::from(tokengate::cli::EXIT_USAGE));
/// ```
pub fn run_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    let json = cli.json;
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(&args, json),
        Command::Jwks(args) => jwks::run(&args, json),
        Command::Mint(args) => mint::run(&args, json),
        Command::Inspect(args) => inspect::run(&args, json),
        Command::Verify(args) => verify::run(&args, json),
        Command::HashPassword(args) => hash_password::run(&args, json),
    };
    match result {
        Ok(output) => {
            if let Some(note) = output.note.filter(|_| !json) {
                let _ = writeln!(io::stderr().lock(), "{note}");
            }
            match io::stdout().lock().write_all(output.stdout.as_bytes()) {
                // A closed pipe (`tokengate … | head -1`) is not worth a complaint.
                Ok(()) => ExitCode::from(EXIT_OK),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_OK),
                Err(e) => report(
                    &Failure::usage(format!("cannot write to standard output: {e}")),
                    json,
                ),
            }
        }
        Err(failure) => report(&failure, json),
    }
}

fn report(failure: &Failure, json: bool) -> ExitCode {
    let line = if json {
        let mut obj = serde_json::json!({ "error": failure.message, "exit_code": failure.code });
        if let Some(reason) = &failure.reason {
            obj["reason"] = reason.clone().into();
        }
        obj.to_string()
    } else {
        format!("error: {}", failure.message)
    };
    let _ = writeln!(io::stderr().lock(), "{line}");
    ExitCode::from(failure.code)
}

/// Reads a token given as an argument, or from standard input when it is `-`, without
/// surrounding whitespace.
fn read_token(arg: &str) -> Result<String, Failure> {
    let text = if arg == "-" {
        read_stdin("token")?
    } else {
        arg.to_owned()
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::usage("no token given"));
    }
    Ok(token.to_owned())
}

/// Reads standard input up to [`MAX_STDIN`] bytes.
fn read_stdin(what: &str) -> Result<String, Failure> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        let _ = writeln!(
            io::stderr().lock(),
            "reading the {what} from standard input (end with Ctrl-D)"
        );
    }
    read_bounded(
        stdin.lock(),
        MAX_STDIN,
        &format!("the {what} on standard input"),
    )
}

/// Reads at most `max` bytes of UTF-8 text from `reader`; `what` names the source in errors.
fn read_bounded(reader: impl io::Read, max: u64, what: &str) -> Result<String, Failure> {
    let mut buf = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::usage(format!("cannot read {what}: {e}")))?;
    if buf.len() as u64 > max {
        return Err(Failure::usage(format!("{what} is longer than {max} bytes")));
    }
    String::from_utf8(buf).map_err(|_| Failure::usage(format!("{what} is not UTF-8")))
}

/// `2026-11-22 06:14:40 UTC` for a NumericDate, or `None` when it is out of range.
fn format_date(secs: i64) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// A duration in words, rounded to its largest sensible unit: `42 s`, `12 min`, `3 h`, `9 d`.
fn span(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    let round = |unit: u64| (secs + unit / 2) / unit;
    if secs < MIN {
        format!("{secs} s")
    } else if round(MIN) < 60 {
        format!("{} min", round(MIN))
    } else if round(HOUR) < 48 {
        format!("{} h", round(HOUR))
    } else {
        format!("{} d", round(DAY))
    }
}

/// "expires in 12 min" / "expired 3 h ago" for an `exp` seen at `now`.
fn expiry_phrase(exp: i64, now: i64) -> String {
    if exp > now {
        format!("expires in {}", span(exp.abs_diff(now)))
    } else {
        format!("expired {} ago", span(exp.abs_diff(now)))
    }
}

/// "12 min ago" / "in 3 h" for any other time seen at `now`.
fn relative_phrase(t: i64, now: i64) -> String {
    if t > now {
        format!("in {}", span(t.abs_diff(now)))
    } else {
        format!("{} ago", span(t.abs_diff(now)))
    }
}

fn now() -> i64 {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_round_to_a_readable_unit() {
        assert_eq!(span(0), "0 s");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(89), "1 min");
        assert_eq!(span(12 * 60 + 10), "12 min");
        assert_eq!(span(3_599), "1 h");
        assert_eq!(span(3 * 3600 + 100), "3 h");
        assert_eq!(span(9 * 86_400), "9 d");
    }

    #[test]
    fn phrases_say_which_side_of_now() {
        assert_eq!(expiry_phrase(1_000 + 720, 1_000), "expires in 12 min");
        assert_eq!(expiry_phrase(1_000, 1_000 + 3 * 3600), "expired 3 h ago");
        assert_eq!(expiry_phrase(1_000, 1_000), "expired 0 s ago");
        assert_eq!(relative_phrase(950, 1_000), "50 s ago");
        assert_eq!(relative_phrase(1_000 + 86_400 * 3, 1_000), "in 3 d");
    }

    #[test]
    fn dates_are_utc_and_out_of_range_is_none() {
        assert_eq!(format_date(0).as_deref(), Some("1970-01-01 00:00:00 UTC"));
        assert_eq!(format_date(i64::MAX), None);
    }
}
