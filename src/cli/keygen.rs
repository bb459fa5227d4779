//! `tokengate keygen`: a new key written to `<kid>.pem` or `<kid>.secret` with mode 0600.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::keyfile::{self, PEM_EXT, SECRET_EXT};
use super::{Failure, Output};
use crate::keys::{Algorithm, Key};

/// Whether the key itself tells its algorithm when read back: EC curves and Ed25519 do; an RSA
/// key is RS256 and a secret HS256 unless `--alg` says otherwise.
fn key_decides(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::HS256
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    )
}

#[derive(clap::Args)]
pub(super) struct Args {
    /// The algorithm (case-insensitive): HS256, HS384, HS512 (a random secret of the hash's
    /// length), RS256, RS384, RS512, PS256, PS384, PS512 (RSA 2048), ES256, ES384, EdDSA.
    #[arg(long, value_parser = keyfile::parse_alg)]
    alg: Algorithm,
    /// The key id, which is also the file name. Default: the key's RFC 7638 thumbprint. For HS256
    /// it names the file only: a secret's kid is always the id derived from it.
    #[arg(long)]
    kid: Option<String>,
    /// The directory to write to (created with mode 0700 if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    if let Some(kid) = &args.kid {
        keyfile::check_kid(kid)?;
    }
    let alg = args.alg;
    let (key, text) =
        Key::generate(alg).map_err(|e| Failure::usage(format!("cannot generate a key: {e}")))?;
    let (derived_kid, ext, contents) = if key.is_symmetric() {
        // The file's text is the secret (raw bytes), so its kid is derived from the text.
        let file_key = Key::from_secret(alg, text.as_bytes())
            .map_err(|e| keyfile::key_failure("generated secret", &e))?;
        let mut contents = Zeroizing::new(text.to_string());
        contents.push('\n');
        (file_key.kid().to_owned(), SECRET_EXT, contents)
    } else {
        (key.kid().to_owned(), PEM_EXT, text)
    };
    // The file is named after --kid or the derived kid. A secret's kid is always the derived one
    // (what `mint --key`, `verify --key` and `Key::from_secret_env` in a service all compute), so
    // --kid only names its file.
    let name = args.kid.clone().unwrap_or_else(|| derived_kid.clone());
    let kid = if key.is_symmetric() {
        derived_kid
    } else {
        name.clone()
    };
    let path = args.out.join(format!("{name}.{ext}"));
    make_dir(&args.out)?;
    write_new(&path, contents.as_bytes())?;

    let shown = path.display();
    if json {
        return Ok(Output::json(
            &serde_json::json!({ "kid": kid, "alg": alg, "path": shown.to_string() }),
            false,
        ));
    }
    let what = if key.is_symmetric() {
        "HMAC secret"
    } else {
        "private key"
    };
    let mut out = Output::stdout(kid);
    let mut note = format!("wrote {alg} {what} to {shown} (mode 0600)");
    if !key_decides(alg) {
        note.push_str(&format!("; use it with `--alg {alg}` (mint, verify)"));
    }
    out.note = Some(note);
    Ok(out)
}

fn make_dir(dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Failure::usage(format!("cannot create directory {}: {e}", dir.display())))
}

/// Creates `path` with mode 0600 from the start (never wider, not even for a moment) and
/// refuses to replace an existing file.
fn write_new(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            ))
        } else {
            Failure::usage(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    if let Err(e) = file.write_all(contents).and_then(|()| file.sync_all()) {
        drop(file);
        // Do not leave a truncated key behind.
        let _ = std::fs::remove_file(path);
        return Err(Failure::usage(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    Ok(())
}
