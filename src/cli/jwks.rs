//! `tokengate jwks`: the public JWKS of key files.

use std::path::PathBuf;

use super::{Failure, Output, keyfile};
use crate::keys::KeyRing;

#[derive(clap::Args)]
pub(super) struct Args {
    /// PEM key files (private or public); each key's kid is its file name without the
    /// extension. HMAC secrets are refused: they must never be published.
    #[arg(required = true, value_name = "KEYFILE")]
    files: Vec<PathBuf>,
}

pub(super) fn run(args: &Args, json: bool) -> Result<Output, Failure> {
    let mut keys = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let key = keyfile::load(path, None, None)?;
        if key.is_symmetric() {
            return Err(Failure::usage(format!(
                "{} is an HMAC secret: symmetric keys have no public form and must never be \
                 published in a JWKS",
                path.display()
            )));
        }
        keys.push(key);
    }
    let ring = KeyRing::verify_only(keys).map_err(|e| Failure::usage(e.to_string()))?;
    let value = serde_json::to_value(ring.jwks())
        .map_err(|e| Failure::usage(format!("cannot serialize the JWKS: {e}")))?;
    Ok(Output::json(&value, !json))
}
