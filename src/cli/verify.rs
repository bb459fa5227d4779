//! `tokengate verify`: every stateless check of the library's [`Verifier`](crate::Verifier).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::keyfile::{self, SECRET_ALG};
use super::{Failure, Output, Parties};
use crate::claims::Claims;
use crate::error::{Error, TokenError};
use crate::keys::{Algorithm, Key, KeyRing};
use crate::verify::Verifier;

/// Largest JWKS document read from a file or URL: 1 MiB.
const MAX_JWKS: u64 = 1024 * 1024;
/// Time limit for fetching a JWKS URL.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).args(["key", "jwks", "secret_env"])))]
pub(super) struct Args {
    /// The token, or `-` to read it from standard input.
    #[arg(value_name = "TOKEN|-", allow_hyphen_values = true)]
    token: String,
    /// Verify with this key file (PEM private or public key, or a `.secret` file).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Verify with a JWKS: a file, or an https:// URL (plain http only for localhost).
    #[arg(long, value_name = "FILE_OR_URL")]
    jwks: Option<String>,
    /// Verify with HS256 using the raw bytes of this environment variable (e.g. JWT_SECRET).
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// The kid of the --key / --secret-env key, instead of the file name (or derived id).
    #[arg(long, conflicts_with = "jwks")]
    kid: Option<String>,
    /// The algorithm, where the key allows several: RS256 (default), RS384, RS512, PS256, PS384 or
    /// PS512 for an RSA key; HS256 (default), HS384 or HS512 for a secret. EC and Ed25519 keys
    /// decide it themselves.
    #[arg(long, value_parser = keyfile::parse_alg)]
    alg: Option<Algorithm>,
    #[command(flatten)]
    parties: Parties,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    let token = super::read_token(&args.token)?;
    let ring = key_ring(args)?;
    let mut builder = Verifier::builder(ring).issuer(args.parties.iss.clone());
    for aud in &args.parties.aud {
        builder = builder.audience(aud.clone());
    }
    let verifier = builder.build().map_err(|e| Failure::usage(e.to_string()))?;
    let claims: Claims<Map<String, Value>> = verifier
        .dangerous()
        .verify_without_revocation_as(&token, &args.parties.kind())
        .map_err(|e| {
            if e.is_token_error() {
                expected_parties(Failure::invalid_token(&e), &e, &args.parties)
            } else {
                Failure::usage(e.to_string())
            }
        })?;

    // Verified: the header decodes.
    let header = super::inspect::decode(&token)
        .map(|d| d.header)
        .unwrap_or_default();
    let claims = serde_json::to_value(&claims)
        .map_err(|e| Failure::usage(format!("cannot print the claims: {e}")))?;
    if json {
        return Ok(Output::json(
            &serde_json::json!({ "valid": true, "header": header, "claims": claims }),
            false,
        ));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("?");
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    Ok(Output::stdout(format!(
        "valid: signature and claims verified (alg {alg}, kid {kid}); {} ({})\n{}",
        super::expiry_phrase(exp, super::now()),
        super::format_date(exp).unwrap_or_default(),
        serde_json::to_string_pretty(&claims).unwrap_or_default(),
    )))
}

fn key_ring(args: &Args) -> Result<KeyRing, Failure> {
    if let Some(kid) = &args.kid
        && kid.is_empty()
    {
        return Err(Failure::usage("--kid must not be empty"));
    }
    let key = if let Some(path) = &args.key {
        keyfile::load(path, args.kid.as_deref(), args.alg)?
    } else if let Some(var) = &args.secret_env {
        let key = Key::from_secret_env(args.alg.unwrap_or(SECRET_ALG), var)
            .map_err(|e| Failure::usage(e.to_string()))?;
        match &args.kid {
            Some(kid) => key.with_kid(kid.clone()),
            None => key,
        }
    } else if let Some(source) = &args.jwks {
        let text = read_jwks(source)?;
        return KeyRing::from_jwks_json(&text).map_err(|e| keyfile::key_failure(source, &e));
    } else {
        // clap's group makes one of them required.
        return Err(Failure::usage(
            "give --key FILE, --jwks FILE_OR_URL or --secret-env VAR",
        ));
    };
    KeyRing::verify_only([key]).map_err(|e| Failure::usage(e.to_string()))
}

/// The text of a JWKS file or URL, at most [`MAX_JWKS`] bytes.
fn read_jwks(source: &str) -> Result<String, Failure> {
    let lower = source.to_ascii_lowercase();
    let reader: Box<dyn std::io::Read> =
        if lower.starts_with("https://") || lower.starts_with("http://") {
            Box::new(fetch(source)?)
        } else {
            Box::new(
                std::fs::File::open(source)
                    .map_err(|e| Failure::usage(format!("cannot read JWKS file {source}: {e}")))?,
            )
        };
    super::read_bounded(reader, MAX_JWKS, &format!("the JWKS from {source}"))
}

/// GETs a JWKS URL. Plain `http` is refused except for loopback hosts (anyone on the path could
/// swap the keys); redirects are followed only to `https`.
fn fetch(url: &str) -> Result<reqwest::blocking::Response, Failure> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Failure::usage(format!("--jwks {url}: {e}")))?;
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        return Err(Failure::usage(format!(
            "--jwks {url}: refusing to fetch keys over plain http from a non-loopback host; use https"
        )));
    }
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.url().scheme() == "https" && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let client = reqwest::blocking::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(policy)
        .user_agent(concat!("tokengate-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::usage(format!("cannot set up an HTTP client: {e}")))?;
    let response = client
        .get(parsed)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .map_err(|e| Failure::usage(format!("cannot fetch {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(Failure::usage(format!(
            "cannot fetch {url}: HTTP {}",
            response.status()
        )));
    }
    Ok(response)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        None => false,
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
    }
}

/// A refused issuer or audience says what was expected and where it comes from, since the
/// defaults (or `JWT_ISSUER` / `JWT_AUDIENCE`) apply when the flags are left out.
fn expected_parties(mut failure: Failure, error: &Error, parties: &Parties) -> Failure {
    let hint = match error {
        Error::Token(TokenError::InvalidIssuer) => {
            format!(
                "expected iss {:?}: pass --iss or set JWT_ISSUER",
                parties.iss
            )
        }
        Error::Token(TokenError::InvalidAudience) => format!(
            "expected aud {}: pass --aud (repeatable) or set JWT_AUDIENCE",
            parties
                .aud
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        _ => return failure,
    };
    failure.message = format!("{} ({hint})", failure.message);
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_may_use_plain_http() {
        for (url, ok) in [
            ("http://localhost:3000/jwks", true),
            ("http://127.0.0.1/x", true),
            ("http://[::1]:8080/x", true),
            ("http://example.com/x", false),
            ("http://10.0.0.1/x", false),
            ("http://localhost.evil.example/x", false),
        ] {
            assert_eq!(
                is_loopback(&reqwest::Url::parse(url).expect("url")),
                ok,
                "{url}"
            );
        }
        let refused = fetch("http://example.com/jwks.json").err().map(|f| f.code);
        assert_eq!(refused, Some(super::super::EXIT_USAGE));
    }
}
