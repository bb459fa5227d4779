//! The `tokengate` binary, run as a process: keygen → mint → verify for every algorithm, key
//! files, JWKS, verification failures and exit codes, inspect, hash-password, and bad input.
//!
//! Needs the `cli` feature: `cargo test --features cli --test cli` (CI: `--all-features`).
#![cfg(feature = "cli")]
// The helpers below are test code outside `#[test]` functions, where clippy.toml's
// allow-unwrap-in-tests does not reach.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;
use tokengate::TokenError;
use tokengate::{Algorithm, Error, Grant, Issuer, Key, KeyRing, ManualClock};

const ALGS: [&str; 4] = ["HS256", "RS256", "ES256", "EdDSA"];

/// The binary, with the example server's variables cleared so defaults apply.
fn tg() -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tokengate");
    cmd.env_remove("JWT_ISSUER")
        .env_remove("JWT_AUDIENCE")
        .timeout(Duration::from_secs(60));
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("runs");
    let run = Run {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    };
    // Never a panic, whatever the input.
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    run
}

/// Asserts a failure: the exit code, a message on stderr containing `needle`, nothing on stdout.
#[track_caller]
fn assert_fails(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, code, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "expected {needle:?} in stderr: {}",
        run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "stdout should be empty: {}",
        run.stdout
    );
}

fn keygen(dir: &Path, alg: &str, kid: Option<&str>) -> (String, PathBuf) {
    let mut cmd = tg();
    cmd.args(["keygen", "--alg", alg, "--out"]).arg(dir);
    if let Some(kid) = kid {
        cmd.args(["--kid", kid]);
    }
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed = r.stdout.trim().to_owned();
    let ext = if alg.starts_with("HS") {
        "secret"
    } else {
        "pem"
    };
    // The file is named after --kid when given (for a secret, --kid names the file only).
    let name = kid.map_or_else(|| printed.clone(), str::to_owned);
    let path = dir.join(format!("{name}.{ext}"));
    assert!(path.is_file(), "{} missing", path.display());
    (printed, path)
}

fn mint(key: &Path, extra: &[&str]) -> String {
    let r = run(tg()
        .args(["mint", "--sub", "alice", "--key"])
        .arg(key)
        .args(extra));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = r.stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    token
}

fn verify_json(token: &str, extra: &[&str]) -> Run {
    run(tg().args(["--json", "verify", token]).args(extra))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A token signed with the key file's key (kid = file stem) by an issuer whose clock says
/// `issued_at`, for expiry tests without sleeping.
fn token_issued_at(path: &Path, kid: &str, issued_at: i64, ttl: Duration) -> String {
    let key = Key::from_pem_file(path).unwrap().with_kid(kid);
    let issuer = Issuer::builder(KeyRing::new(key).unwrap())
        .issuer("tokengate")
        .audience("tokengate")
        .clock(ManualClock::new(issued_at))
        .build()
        .unwrap();
    issuer
        .issue_access(&Grant::new("alice").ttl(ttl))
        .unwrap()
        .token
}

/// The token with the first character of its signature changed.
fn tampered(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{signed}.{first}{}", &signature[1..])
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ------------------------------------------------------------------------------- round trips

#[test]
fn keygen_mint_verify_round_trip_for_every_algorithm() {
    let dir = TempDir::new().unwrap();
    for alg in ALGS {
        let kid = format!("k-{}", alg.to_lowercase());
        let (printed, key) = keygen(dir.path(), alg, Some(&kid));
        if alg == "HS256" {
            // A secret's kid is the id derived from it, whatever its file is called.
            let text = std::fs::read_to_string(&key).unwrap();
            let derived = Key::from_secret(Algorithm::HS256, text.trim_end().as_bytes()).unwrap();
            assert_eq!(printed, derived.kid());
        } else {
            assert_eq!(printed, kid);
        }

        let token = mint(
            &key,
            &[
                "--role",
                "admin",
                "--role",
                "editor",
                "--claim",
                "tenant=acme",
                "--claim",
                "n=3",
            ],
        );
        let human = run(tg().args(["verify", &token, "--key"]).arg(&key));
        assert_eq!(human.code, 0, "{alg}: {}", human.stderr);
        assert!(human.stdout.starts_with("valid: "), "{}", human.stdout);
        assert!(
            human.stdout.contains("expires in 15 min"),
            "{}",
            human.stdout
        );

        let r = verify_json(&token, &["--key", key.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{alg}: {}", r.stderr);
        let v = json(&r.stdout);
        assert_eq!(v["valid"], true);
        assert_eq!(v["header"]["alg"], alg);
        assert_eq!(
            v["header"]["kid"],
            printed.as_str(),
            "the kid keygen prints is the kid of the token"
        );
        assert_eq!(v["header"]["typ"], "at+jwt");
        assert_eq!(v["claims"]["sub"], "alice");
        assert_eq!(v["claims"]["roles"], serde_json::json!(["admin", "editor"]));
        assert_eq!(v["claims"]["tenant"], "acme");
        assert_eq!(v["claims"]["n"], 3);
        assert_eq!(v["claims"]["iss"], "tokengate");
        assert_eq!(v["claims"]["aud"], "tokengate");
        let exp = v["claims"]["exp"].as_i64().unwrap();
        assert_eq!(
            exp - v["claims"]["iat"].as_i64().unwrap(),
            900,
            "default --ttl 15m"
        );

        // Public keys: the JWKS alone verifies the token.
        if alg != "HS256" {
            let jwks = run(tg().arg("jwks").arg(&key));
            assert_eq!(jwks.code, 0, "{}", jwks.stderr);
            let jwks_path = dir.path().join(format!("{kid}.jwks.json"));
            std::fs::write(&jwks_path, &jwks.stdout).unwrap();
            let r = verify_json(&token, &["--jwks", jwks_path.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{alg}: {}", r.stderr);
        }
    }
}

#[test]
fn the_default_kid_is_recovered_from_the_file_name() {
    let dir = TempDir::new().unwrap();
    for alg in ALGS {
        let (kid, key) = keygen(dir.path(), alg, None);
        let token = mint(&key, &[]);
        let r = verify_json(&token, &["--key", key.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(json(&r.stdout)["header"]["kid"], kid.as_str(), "{alg}");
    }
}

#[test]
fn mint_options_reach_the_token() {
    let dir = TempDir::new().unwrap();
    let (_, key) = keygen(dir.path(), "ES256", Some("k"));
    let token = mint(
        &key,
        &[
            "--ttl",
            "1h30m",
            "--iss",
            "https://auth.example",
            "--aud",
            "api",
            "--aud",
            "admin",
        ],
    );
    let r = verify_json(
        &token,
        &[
            "--key",
            key.to_str().unwrap(),
            "--iss",
            "https://auth.example",
            "--aud",
            "admin",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let claims = &json(&r.stdout)["claims"];
    assert_eq!(claims["aud"], serde_json::json!(["api", "admin"]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        5_400
    );

    // The issuer and audience also come from the example server's variables.
    let r = run(tg()
        .args(["--json", "verify", &token, "--key"])
        .arg(&key)
        .env("JWT_ISSUER", "https://auth.example")
        .env("JWT_AUDIENCE", "api"));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A refresh token is only accepted as one.
    let refresh = mint(&key, &["--refresh"]);
    let r = verify_json(&refresh, &["--key", key.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert_eq!(
        json(&r.stderr)["reason"],
        Error::Token(TokenError::WrongType).to_string()
    );
    let r = verify_json(&refresh, &["--key", key.to_str().unwrap(), "--refresh"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["header"]["typ"], "refresh+jwt");
}

#[test]
fn a_secret_file_and_secret_env_are_the_same_key() {
    let dir = TempDir::new().unwrap();
    let (_, secret_file) = keygen(dir.path(), "HS256", None);
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert_eq!(secret.trim_end().len(), 43, "32 random bytes as base64url");

    // Minted with the file, verified with the variable holding the same text (as JWT_SECRET).
    let token = mint(&secret_file, &[]);
    let r = run(tg()
        .args(["verify", &token, "--secret-env", "TG_TEST_SECRET"])
        .env("TG_TEST_SECRET", secret.trim_end()));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // And the other way round.
    let r = run(tg()
        .args(["mint", "--sub", "bob", "--secret-env", "TG_TEST_SECRET"])
        .env("TG_TEST_SECRET", secret.trim_end()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(tg()
        .args(["verify", r.stdout.trim(), "--key"])
        .arg(&secret_file));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A missing or short variable is a configuration error naming it.
    let r = run(tg().args(["verify", &token, "--secret-env", "TG_TEST_UNSET_VARIABLE"]));
    assert_fails(
        &r,
        2,
        "TG_TEST_UNSET_VARIABLE: environment variable is missing or empty",
    );
    let r = run(tg()
        .args(["verify", &token, "--secret-env", "TG_SHORT"])
        .env("TG_SHORT", "short"));
    assert_fails(&r, 2, "TG_SHORT");
}

// ------------------------------------------------------------------------------- keygen, jwks

#[cfg(unix)]
#[test]
fn keygen_writes_mode_0600_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("new-dir");
    for alg in ALGS {
        let kid = format!("m-{alg}");
        let (_, path) = keygen(&out, alg, Some(&kid));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{alg}");
        let before = std::fs::read(&path).unwrap();

        let r = run(tg()
            .args(["keygen", "--alg", alg, "--kid", &kid, "--out"])
            .arg(&out));
        assert_fails(&r, 2, "refusing to overwrite");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{alg}: the existing key is untouched"
        );
    }
    let dir_mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        dir_mode, 0o700,
        "a missing --out directory is created private"
    );
}

#[test]
fn keygen_refuses_kids_that_are_not_plain_file_names() {
    let dir = TempDir::new().unwrap();
    for kid in ["../escape", "a/b", ".hidden", ""] {
        let r = run(tg()
            .args(["keygen", "--alg", "ES256", "--kid", kid, "--out"])
            .arg(dir.path()));
        assert_fails(&r, 2, "--kid");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(!dir.path().parent().unwrap().join("escape.pem").exists());
}

#[test]
fn jwks_has_public_members_only_and_refuses_secrets() {
    let dir = TempDir::new().unwrap();
    let files: Vec<PathBuf> = ["RS256", "ES256", "EdDSA"]
        .iter()
        .map(|a| keygen(dir.path(), a, Some(&format!("j-{a}"))).1)
        .collect();
    let r = run(tg().arg("--json").arg("jwks").args(&files));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let set = json(&r.stdout);
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for key in keys {
        let members: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                !members.contains(&private),
                "private member {private} in {key}"
            );
        }
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().unwrap().starts_with("j-"));
    }
    assert!(!r.stdout.contains("PRIVATE"));

    let (_, secret) = keygen(dir.path(), "HS256", Some("s"));
    let r = run(tg().arg("jwks").arg(&files[0]).arg(&secret));
    assert_fails(&r, 2, "HMAC secret");
    assert!(
        !r.stderr
            .contains(std::fs::read_to_string(&secret).unwrap().trim()),
        "secret leaked"
    );
}

#[test]
fn a_public_key_pem_verifies_and_publishes_but_cannot_mint() {
    use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

    let dir = TempDir::new().unwrap();
    let (_, private) = keygen(dir.path(), "ES256", Some("pub"));
    let der = pem::parse(std::fs::read(&private).unwrap()).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.contents()).unwrap();
    let spki: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let public = dir.path().join("pub.public.pem");
    std::fs::write(
        &public,
        pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec())),
    )
    .unwrap();

    let token = mint(&private, &[]);
    // The kid of `pub.public.pem` is `pub.public`; --kid names the key the token was signed with.
    let r = run(tg()
        .args(["verify", &token, "--kid", "pub", "--key"])
        .arg(&public));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(tg().args(["verify", &token, "--key"]).arg(&public));
    assert_fails(&r, 1, "unknown key id");

    let from_private = json(&run(tg().arg("jwks").arg(&private)).stdout);
    let from_public = json(&run(tg().arg("jwks").arg(&public)).stdout);
    assert_eq!(from_public["keys"][0]["x"], from_private["keys"][0]["x"]);
    assert_eq!(from_public["keys"][0]["kid"], "pub.public");

    let r = run(tg().args(["mint", "--sub", "a", "--key"]).arg(&public));
    assert_fails(&r, 2, "cannot sign");
}

// ------------------------------------------------------------------------------- verify failures

#[test]
fn verify_reports_the_exact_reason_with_exit_code_1() {
    let dir = TempDir::new().unwrap();
    let (kid, key) = keygen(dir.path(), "ES256", Some("main"));
    let (_, other) = keygen(dir.path(), "ES256", Some("other"));
    let key_arg = key.to_str().unwrap();
    let token = mint(&key, &[]);

    // Expired: issued 2 h ago for 15 min (minted through the library with a fixed clock).
    let expired = token_issued_at(&key, &kid, now() - 7_200, Duration::from_secs(900));
    let cases: Vec<(String, Vec<&str>, Error)> = vec![
        (
            expired,
            vec!["--key", key_arg],
            Error::Token(TokenError::Expired),
        ),
        (
            token.clone(),
            vec!["--key", key_arg, "--aud", "someone-else"],
            Error::Token(TokenError::InvalidAudience),
        ),
        (
            token.clone(),
            vec!["--key", key_arg, "--iss", "someone-else"],
            Error::Token(TokenError::InvalidIssuer),
        ),
        // Another key under another kid: the token's kid is unknown.
        (
            token.clone(),
            vec!["--key", other.to_str().unwrap()],
            Error::Token(TokenError::UnknownKeyId),
        ),
        // Another key under the token's kid: the signature fails.
        (
            token.clone(),
            vec!["--key", other.to_str().unwrap(), "--kid", "main"],
            Error::Token(TokenError::InvalidSignature),
        ),
        (
            tampered(&token),
            vec!["--key", key_arg],
            Error::Token(TokenError::InvalidSignature),
        ),
        (
            "a.b".to_owned(),
            vec!["--key", key_arg],
            Error::Token(TokenError::Malformed),
        ),
    ];
    for (tok, args, expected) in cases {
        let human = run(tg().args(["verify", &tok]).args(&args));
        assert_fails(&human, 1, &format!("invalid token: {expected}"));
        assert!(!human.stderr.contains(&tok), "the token is never echoed");

        let machine = verify_json(&tok, &args);
        assert_eq!(machine.code, 1);
        let err = json(&machine.stderr);
        assert_eq!(err["reason"], expected.to_string(), "{args:?}");
        assert_eq!(err["exit_code"], 1);
    }
}

/// A refused issuer or audience names what `verify` expected, since the defaults apply when
/// `--iss` / `--aud` are left out (the message used to say only "not accepted").
#[test]
fn verify_says_which_issuer_and_audience_it_expected() {
    let dir = TempDir::new().unwrap();
    let (_, key) = keygen(dir.path(), "EdDSA", None);
    let token = mint(&key, &["--iss", "https://issuer.example", "--aud", "api"]);
    let r = run(tg()
        .args(["verify", &token, "--key"])
        .arg(&key)
        .args(["--aud", "api"]));
    assert_fails(
        &r,
        1,
        "invalid token: token issuer not accepted (expected iss \"tokengate\": pass --iss or set JWT_ISSUER)",
    );
    let r = run(tg().args(["verify", &token, "--key"]).arg(&key).args([
        "--iss",
        "https://issuer.example",
        "--aud",
        "web",
        "--aud",
        "mobile",
    ]));
    assert_fails(
        &r,
        1,
        "invalid token: token audience not accepted (expected aud \"web\" or \"mobile\": pass --aud (repeatable) or set JWT_AUDIENCE)",
    );
    // The machine-readable reason stays the library's exact Display.
    let machine = verify_json(&token, &["--key", key.to_str().unwrap(), "--aud", "api"]);
    assert_eq!(json(&machine.stderr)["reason"], "token issuer not accepted");
}

/// A secret made by `keygen --alg HS256 --kid hs` and read by a service with
/// `Key::from_secret_env` (the example server's `JWT_SECRET`) agrees on the kid with
/// `mint --key keys/hs.secret` (it used to be "unknown key id": the CLI took the file name).
#[test]
fn a_keygen_secret_minted_by_the_cli_verifies_in_a_service_reading_it_from_the_env() {
    let dir = TempDir::new().unwrap();
    let (printed, secret_file) = keygen(dir.path(), "HS256", Some("hs"));
    assert_eq!(secret_file.file_name().unwrap(), "hs.secret");
    let token = mint(&secret_file, &["--iss", "svc", "--aud", "api"]);

    // The service side, as the library reads JWT_SECRET (from_secret_env = from_secret of the
    // variable's bytes).
    let text = std::fs::read_to_string(&secret_file).unwrap();
    let key = Key::from_secret(Algorithm::HS256, text.trim_end().as_bytes()).unwrap();
    assert_eq!(key.kid(), printed);
    let ring = KeyRing::new(key).unwrap();
    let verifier = tokengate::Verifier::builder(ring)
        .issuer("svc")
        .audience("api")
        .build()
        .unwrap();
    let claims: tokengate::Claims = verifier
        .dangerous()
        .verify_without_revocation(&token)
        .unwrap();
    assert_eq!(claims.sub, "alice");

    // And the CLI's own --secret-env reading the same text agrees too.
    let r = run(tg()
        .args([
            "verify",
            &token,
            "--secret-env",
            "TG_HS_SECRET",
            "--iss",
            "svc",
            "--aud",
            "api",
        ])
        .env("TG_HS_SECRET", text.trim_end()));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `keygen` makes keys for every algorithm the library has (it offered four); where the key does
/// not tell its algorithm (RSA: RS/PS, secrets: HS256/384/512), `--alg` on mint and verify binds it.
#[test]
fn keygen_offers_every_library_algorithm_and_alg_binds_the_ambiguous_ones() {
    let dir = TempDir::new().unwrap();
    for alg in Algorithm::ALL {
        let name = alg.as_str();
        let (_, key) = keygen(
            dir.path(),
            name,
            Some(&format!("a-{}", name.to_lowercase())),
        );
        let r = run(tg()
            .args(["mint", "--sub", "alice", "--alg", name, "--key"])
            .arg(&key));
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let token = r.stdout.trim().to_owned();
        let v = verify_json(&token, &["--key", key.to_str().unwrap(), "--alg", name]);
        assert_eq!(v.code, 0, "{name}: {}", v.stderr);
        assert_eq!(json(&v.stdout)["header"]["alg"], name);
    }
    // The binding is real: a PS256 token does not verify with the same RSA key read as RS256.
    let (_, rsa) = keygen(dir.path(), "PS256", Some("ps"));
    let r = run(tg()
        .args(["mint", "--sub", "a", "--alg", "PS256", "--key"])
        .arg(&rsa));
    let token = r.stdout.trim().to_owned();
    let human = run(tg().args(["verify", &token, "--key"]).arg(&rsa));
    assert_fails(&human, 1, "invalid token: algorithm does not match the key");
    // `none` is never an algorithm.
    let r = run(tg()
        .args(["keygen", "--alg", "none", "--out"])
        .arg(dir.path()));
    assert_fails(&r, 2, "unknown algorithm `none`");
}

#[test]
fn verify_reads_the_token_from_stdin() {
    let dir = TempDir::new().unwrap();
    let (_, key) = keygen(dir.path(), "EdDSA", None);
    let token = mint(&key, &[]);
    let r = run(tg()
        .args(["verify", "-", "--key"])
        .arg(&key)
        .write_stdin(format!("{token}\n")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(tg()
        .args(["verify", "-", "--key"])
        .arg(&key)
        .write_stdin(""));
    assert_fails(&r, 2, "no token");
}

#[test]
fn verify_fetches_a_jwks_from_a_loopback_url_and_refuses_remote_plain_http() {
    let dir = TempDir::new().unwrap();
    let (_, key) = keygen(dir.path(), "RS256", Some("served"));
    let jwks = run(tg().arg("jwks").arg(&key)).stdout;
    let token = mint(&key, &[]);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request_line = String::new();
        BufReader::new(&stream)
            .read_line(&mut request_line)
            .unwrap();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{jwks}",
            jwks.len()
        )
        .unwrap();
        request_line
    });
    let r = run(tg().args(["verify", &token, "--jwks", &url]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        server
            .join()
            .unwrap()
            .starts_with("GET /.well-known/jwks.json ")
    );

    let r = run(tg().args(["verify", &token, "--jwks", "http://example.com/jwks.json"]));
    assert_fails(&r, 2, "plain http");
}

// ------------------------------------------------------------------------------- inspect

#[test]
fn inspect_shows_an_expired_token_and_says_it_did_not_verify() {
    let dir = TempDir::new().unwrap();
    let (kid, key) = keygen(dir.path(), "ES256", Some("insp"));
    let expired = token_issued_at(
        &key,
        &kid,
        now() - 3 * 3_600 - 900,
        Duration::from_secs(900),
    );

    let r = run(tg().args(["inspect", &expired]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = r.stdout.lines().next().unwrap();
    assert!(first.starts_with("NOT VERIFIED"), "{first}");
    assert!(r.stdout.contains("expired 3 h ago"), "{}", r.stdout);
    assert!(r.stdout.contains("\"kid\": \"insp\""), "{}", r.stdout);
    assert!(r.stdout.contains(" UTC"), "{}", r.stdout);

    let r = run(tg().args(["--json", "inspect", "-"]).write_stdin(expired));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r.stdout);
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["sub"], "alice");
    assert_eq!(v["times"]["exp"]["expired"], true);
    assert_eq!(v["times"]["exp"]["relative"], "expired 3 h ago");

    let fresh = mint(&key, &["--ttl", "12m"]);
    let r = run(tg().args(["inspect", &fresh]));
    assert!(r.stdout.contains("expires in 12 min"), "{}", r.stdout);
}

#[test]
fn inspect_refuses_malformed_tokens_with_exit_code_1() {
    let garbage = [
        (
            "not-a-token",
            Error::Token(TokenError::Malformed).to_string(),
        ),
        ("a.b.c.d", Error::Token(TokenError::Malformed).to_string()),
        (
            "eyJhbGciOiJIUzI1NiJ9.***.sig",
            "token claims is not valid base64url".to_owned(),
        ),
        (
            "bm90IGpzb24.e30.sig",
            "token header is not a valid JSON object".to_owned(),
        ),
    ];
    for (token, reason) in garbage {
        let r = run(tg().args(["inspect", token]));
        assert_fails(&r, 1, &reason);
    }
    let r = run(tg().args(["--json", "inspect", "x.y"]));
    assert_eq!(r.code, 1);
    assert_eq!(json(&r.stderr)["exit_code"], 1);
}

// ------------------------------------------------------------------------------- hash-password

#[test]
fn hash_password_then_verify_via_stdin() {
    let r = run(tg()
        .arg("hash-password")
        .write_stdin("correct horse battery staple\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let phc = r.stdout.trim().to_owned();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!r.stdout.contains("correct horse") && !r.stderr.contains("correct horse"));

    let r = run(tg()
        .args(["hash-password", "--verify", &phc])
        .write_stdin("correct horse battery staple\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "password matches");

    let r = run(tg()
        .args(["hash-password", "--verify", &phc])
        .write_stdin("correct horse battery stable\n"));
    assert_fails(&r, 1, "password does not match");

    let r = run(tg().args(["--json", "hash-password"]).write_stdin("pw"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let phc2 = json(&r.stdout)["hash"].as_str().unwrap().to_owned();
    assert_ne!(phc2, phc, "a fresh salt every time");
    let r = run(tg()
        .args(["--json", "hash-password", "--verify", &phc2])
        .write_stdin("pw"));
    assert_eq!(json(&r.stdout)["match"], true);
}

#[test]
fn hash_password_verify_flags_hashes_made_with_other_parameters() {
    let weak = tokengate::Passwords::builder()
        .memory_kib(64)
        .iterations(1)
        .workers(1)
        .build()
        .unwrap();
    let old = weak.hash_blocking("pw").unwrap();
    let r = run(tg()
        .args(["--json", "hash-password", "--verify", old.as_str()])
        .write_stdin("pw"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json(&r.stdout),
        serde_json::json!({ "match": true, "needs_rehash": true })
    );
    let r = run(tg()
        .args(["hash-password", "--verify", old.as_str()])
        .write_stdin("pw"));
    assert!(
        r.stdout
            .starts_with("password matches (the hash uses other parameters"),
        "{}",
        r.stdout
    );
    let r = run(tg()
        .args(["hash-password", "--verify", old.as_str()])
        .write_stdin("wrong"));
    assert_fails(&r, 1, "password does not match");
}

#[test]
fn hash_password_refuses_bad_input() {
    let r = run(tg()
        .args(["hash-password", "--verify", "not-a-phc-string"])
        .write_stdin("pw"));
    assert_fails(&r, 2, "not a valid argon2 PHC string");
    let r = run(tg().arg("hash-password").write_stdin("\n"));
    assert_fails(&r, 2, "empty");
    let r = run(tg().arg("hash-password").write_stdin("x".repeat(2_000)));
    assert_fails(&r, 2, "password too long (more than 1024 bytes)");
}

// ------------------------------------------------------------------------------- bad input

#[test]
fn bad_flags_unreadable_files_and_garbage_fail_cleanly() {
    let dir = TempDir::new().unwrap();
    let (_, key) = keygen(dir.path(), "ES256", Some("ok"));
    let public = dir.path().join("broken.pem");
    std::fs::write(
        &public,
        "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let not_a_key = dir.path().join("notes.txt");
    std::fs::write(&not_a_key, "hello").unwrap();
    let missing = dir.path().join("missing.pem");
    let token = mint(&key, &[]);

    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "Usage"),
        (vec!["frobnicate".into()], "unrecognized subcommand"),
        (
            vec!["keygen".into(), "--alg".into(), "HS999".into()],
            "invalid value",
        ),
        (
            vec![
                "keygen".into(),
                "--alg".into(),
                "ES256".into(),
                "--bogus".into(),
            ],
            "unexpected argument",
        ),
        (
            vec!["mint".into(), "--key".into(), key.display().to_string()],
            "--sub",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "a".into(),
                "--key".into(),
                missing.display().to_string(),
            ],
            "cannot read key file",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "a".into(),
                "--key".into(),
                not_a_key.display().to_string(),
            ],
            "not a PEM key",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "a".into(),
                "--key".into(),
                public.display().to_string(),
            ],
            "invalid key",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "a".into(),
                "--key".into(),
                key.display().to_string(),
                "--ttl".into(),
                "soon".into(),
            ],
            "--ttl",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "a".into(),
                "--key".into(),
                key.display().to_string(),
                "--claim".into(),
                "roles=[\"admin\"]".into(),
            ],
            "set by tokengate",
        ),
        (
            vec![
                "mint".into(),
                "--sub".into(),
                "".into(),
                "--key".into(),
                key.display().to_string(),
            ],
            "--sub",
        ),
        (vec!["verify".into(), token.clone()], "required"),
        (
            vec![
                "verify".into(),
                token.clone(),
                "--key".into(),
                dir.path().display().to_string(),
            ],
            "cannot read key file",
        ),
        (
            vec![
                "verify".into(),
                token.clone(),
                "--key".into(),
                key.display().to_string(),
                "--jwks".into(),
                "x".into(),
            ],
            "cannot be used with",
        ),
        (
            vec![
                "verify".into(),
                token.clone(),
                "--jwks".into(),
                missing.display().to_string(),
            ],
            "cannot read JWKS file",
        ),
        (
            vec![
                "verify".into(),
                token,
                "--jwks".into(),
                not_a_key.display().to_string(),
            ],
            "not a JWK set",
        ),
        (vec!["jwks".into()], "required"),
        (
            vec!["jwks".into(), missing.display().to_string()],
            "cannot read key file",
        ),
    ];
    for (args, needle) in cases {
        let r = run(tg().args(&args));
        assert_fails(&r, 2, needle);
    }

    // Garbage tokens are invalid tokens (exit 1), not crashes.
    for garbage in [
        "",
        " ",
        "...",
        "a.b.c",
        "\u{1F600}.\u{1F600}.\u{1F600}",
        &"A".repeat(100_000),
    ] {
        let r = run(tg().args(["verify", garbage, "--key"]).arg(&key));
        assert!(r.code == 1 || r.code == 2, "{garbage:?}: {}", r.code);
        assert!(!r.stderr.is_empty());
        let r = run(tg().args(["inspect", garbage]));
        assert!(r.code == 1 || r.code == 2, "{garbage:?}: {}", r.code);
        assert!(!r.stderr.is_empty());
    }
}

#[test]
fn help_and_version_succeed() {
    let r = run(tg().arg("--help"));
    assert_eq!(r.code, 0);
    for cmd in [
        "keygen",
        "jwks",
        "mint",
        "inspect",
        "verify",
        "hash-password",
        "Exit codes",
    ] {
        assert!(r.stdout.contains(cmd), "{cmd} missing from --help");
    }
    let r = run(tg().arg("--version"));
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(env!("CARGO_PKG_VERSION")));
}
