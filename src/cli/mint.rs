//! `tokengate mint`: a signed token for testing.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::keyfile::{self, SECRET_ALG};
use super::{Failure, Output, Parties};
use crate::error::{Error, KeyError};
use crate::issue::{Grant, Issuer, RESERVED_CLAIMS};
use crate::keys::{Algorithm, Key, KeyRing};

/// Longest `--ttl` accepted: 366 days.
const MAX_TTL: Duration = Duration::from_secs(366 * 86_400);

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("signing_key").required(true).args(["key", "secret_env"])))]
pub(super) struct Args {
    /// The signing key: a private-key PEM or a `.secret` file.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Sign with HS256 using the raw bytes of this environment variable (e.g. JWT_SECRET).
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// The kid to write instead of the key file's name (or the secret's derived id).
    #[arg(long)]
    kid: Option<String>,
    /// The algorithm, where the key allows several: RS256 (default), RS384, RS512, PS256, PS384 or
    /// PS512 for an RSA key; HS256 (default), HS384 or HS512 for a secret. EC and Ed25519 keys
    /// decide it themselves.
    #[arg(long, value_parser = keyfile::parse_alg)]
    alg: Option<Algorithm>,
    /// The subject (`sub`).
    #[arg(long)]
    sub: String,
    /// A role (`roles`); repeat for several.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// A permission (`permissions`); repeat for several.
    #[arg(long = "permission", value_name = "PERMISSION")]
    permissions: Vec<String>,
    /// Lifetime: a number with a unit, s m h d, combinable (`90s`, `15m`, `1h30m`, `7d`).
    #[arg(long, default_value = "15m", value_parser = parse_ttl)]
    ttl: Duration,
    #[command(flatten)]
    parties: Parties,
    /// An extra claim; VALUE is JSON when it parses as JSON (`n=3`, `ok=true`, `tags=["a"]`),
    /// else a string. Registered and tokengate claims (iss sub aud exp nbf iat jti sid roles
    /// permissions scope cnf auth_time typ) are refused.
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = parse_claim)]
    claims: Vec<(String, Value)>,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    if args.sub.is_empty() {
        return Err(Failure::usage("--sub must not be empty"));
    }
    let mut extra = Map::new();
    for (name, value) in &args.claims {
        if extra.insert(name.clone(), value.clone()).is_some() {
            return Err(Failure::usage(format!("--claim {name} is given twice")));
        }
    }
    let key = signing_key(args)?;
    let ring = KeyRing::new(key).map_err(|e| match e {
        Error::Key(KeyError::NoSigningKey) => Failure::usage(
            "the key cannot sign (a public key?); mint needs a private key or secret",
        ),
        other => Failure::usage(other.to_string()),
    })?;
    let mut builder = Issuer::builder(ring).issuer(args.parties.iss.clone());
    for aud in &args.parties.aud {
        builder = builder.audience(aud.clone());
    }
    let issuer = builder.build().map_err(|e| Failure::usage(e.to_string()))?;
    let grant = Grant::new(args.sub.clone())
        .roles(args.roles.iter().cloned())
        .permissions(args.permissions.iter().cloned())
        .ttl(args.ttl)
        .extra(extra);
    let issued = issuer
        .issue(args.parties.kind(), &grant)
        .map_err(|e| Failure::usage(format!("cannot mint the token: {e}")))?;
    if json {
        let kid = issuer.key_ring().signing_key().map(|k| k.kid().to_owned());
        return Ok(Output::json(
            &serde_json::json!({
                "token": issued.token,
                "kind": issued.kind.typ(),
                "kid": kid,
                "jti": issued.jti,
                "issued_at": issued.issued_at,
                "expires_at": issued.expires_at,
                "expires_in": issued.expires_in(),
            }),
            false,
        ));
    }
    Ok(Output::stdout(issued.token))
}

fn signing_key(args: &Args) -> Result<Key, Failure> {
    if let Some(kid) = &args.kid
        && kid.is_empty()
    {
        return Err(Failure::usage("--kid must not be empty"));
    }
    match (&args.key, &args.secret_env) {
        (Some(path), _) => keyfile::load(path, args.kid.as_deref(), args.alg),
        (None, Some(var)) => {
            let key = Key::from_secret_env(args.alg.unwrap_or(SECRET_ALG), var)
                .map_err(|e| Failure::usage(e.to_string()))?;
            Ok(match &args.kid {
                Some(kid) => key.with_kid(kid.clone()),
                None => key,
            })
        }
        // clap's group makes one of them required.
        (None, None) => Err(Failure::usage("give --key FILE or --secret-env VAR")),
    }
}

/// Parses `NAME=VALUE`: the value as JSON when it is JSON, else as a string.
fn parse_claim(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text.split_once('=').ok_or("expected NAME=VALUE")?;
    if name.is_empty() {
        return Err("the claim name is empty".into());
    }
    if RESERVED_CLAIMS.contains(&name) {
        return Err(format!(
            "`{name}` is set by tokengate itself (use --sub, --role, --permission, --ttl, --iss, --aud)"
        ));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

/// Parses a lifetime such as `90s`, `15m`, `1h30m`, `7d` (a bare number is seconds).
pub(super) fn parse_ttl(text: &str) -> Result<Duration, String> {
    const HELP: &str = "expected a number with a unit, s m h d, e.g. 15m or 1h30m";
    let text = text.trim();
    if text.is_empty() {
        return Err(HELP.into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(HELP.into()),
        };
        let n: u64 = digits.parse().map_err(|_| HELP.to_owned())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or("too long")?;
        digits.clear();
    }
    if !digits.is_empty() {
        // `--ttl 15` could mean seconds or minutes: say which, never guess.
        return Err(format!(
            "`{digits}` needs a unit: {digits}s, {digits}m, {digits}h or {digits}d"
        ));
    }
    let ttl = Duration::from_secs(total);
    if ttl.is_zero() {
        return Err("must be longer than zero".into());
    }
    if ttl > MAX_TTL {
        return Err("at most 366 days".into());
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_units_and_refuses_nonsense() {
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        // A bare number used to mean seconds silently (`--ttl 15` was 15 s, not 15 min).
        assert_eq!(
            parse_ttl("15"),
            Err("`15` needs a unit: 15s, 15m, 15h or 15d".to_owned())
        );
        assert!(parse_ttl("1h30").is_err());
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        for bad in [
            "",
            "m",
            "15x",
            "-5m",
            "0s",
            "1.5h",
            "367d",
            "99999999999999999999s",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claims_parse_as_json_else_string_and_reserved_are_refused() {
        assert_eq!(parse_claim("n=3"), Ok(("n".into(), Value::from(3))));
        assert_eq!(parse_claim("ok=true"), Ok(("ok".into(), Value::Bool(true))));
        assert_eq!(parse_claim("t=acme"), Ok(("t".into(), Value::from("acme"))));
        assert_eq!(parse_claim("t="), Ok(("t".into(), Value::from(""))));
        assert_eq!(parse_claim("e=a=b"), Ok(("e".into(), Value::from("a=b"))));
        assert_eq!(
            parse_claim("tags=[\"a\"]"),
            Ok(("tags".into(), serde_json::json!(["a"])))
        );
        for bad in ["noequals", "=x", "exp=1", "roles=[]", "sub=x", "scope=a"] {
            assert!(parse_claim(bad).is_err(), "{bad}");
        }
    }
}
