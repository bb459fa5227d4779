//! The server's settings, read from the environment. Every refusal is one line that names the
//! setting and says what is wrong.

use std::fmt;
use std::net::SocketAddr;

use tokengate::{Algorithm, Key};

/// The development key committed under `keys/`, used when neither `JWT_SECRET` nor `JWT_KEY_FILE`
/// is set and `BIND` is a loopback address (refused otherwise: its private half is public).
const DEV_KEY_PEM: &str = include_str!("../../../keys/dev-es256.pem");
/// Its key id.
const DEV_KEY_KID: &str = "dev-es256";

/// Default `BIND`.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:3000";
/// Default `JWT_ISSUER`.
pub(crate) const DEFAULT_ISSUER: &str = "tokengate-example";
/// Default `JWT_AUDIENCE`.
pub(crate) const DEFAULT_AUDIENCE: &str = "tokengate-example-api";
/// Default `DATABASE_URL`: a SQLite file in the working directory (git ignores `*.db`).
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://tokengate-demo.db?mode=rwc";

/// A setting that cannot be used: displays as `NAME: what is wrong`.
#[derive(Debug)]
pub(crate) struct SettingError(pub String);

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingError {}

/// Where the signing key came from (logged at start, never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `JWT_SECRET` (HS256).
    Secret,
    /// `JWT_KEY_FILE` at this path.
    File(String),
    /// The committed development key.
    Development,
}

/// Everything the server is configured with.
#[derive(Debug)]
pub(crate) struct Settings {
    /// `BIND`.
    pub(crate) bind: SocketAddr,
    /// The signing key (from `JWT_SECRET`, `JWT_KEY_FILE` or the development key).
    pub(crate) key: Key,
    /// Where `key` came from.
    pub(crate) key_source: KeySource,
    /// `JWT_ISSUER`.
    pub(crate) issuer: String,
    /// `JWT_AUDIENCE`.
    pub(crate) audience: String,
    /// `DATABASE_URL`.
    pub(crate) database_url: String,
    /// `REDIS_URL`, when set.
    pub(crate) redis_url: Option<String>,
    /// `COOKIE_SECURE` (default `true`): whether the cookie-mode cookies are `Secure`. `false` only
    /// for the demo page over plain `http://localhost` (logged as a warning at start).
    pub(crate) cookie_secure: bool,
    /// `CSRF_SECRET` (at least 32 bytes), the key of the cookie-mode CSRF values. Unset: a random
    /// key per process (fine for one instance; several instances must share one).
    pub(crate) csrf_secret: Option<String>,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// A [`SettingError`] naming the first unusable setting.
    pub(crate) fn from_env() -> Result<Self, SettingError> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests). An empty value
    /// counts as unset.
    ///
    /// # Errors
    /// A [`SettingError`] naming the first unusable setting.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());

        let bind_text = get("BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse::<SocketAddr>().map_err(|_| {
            SettingError(format!(
                "BIND: `{bind_text}` is not an address:port such as 127.0.0.1:3000"
            ))
        })?;

        // An empty JWT_SECRET or JWT_KEY_FILE is refused, not treated as unset: falling back to
        // the development key because of a typo in a deployment would be a silent downgrade.
        let (key, key_source) = match (lookup("JWT_SECRET"), lookup("JWT_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err(SettingError(
                    "JWT_SECRET and JWT_KEY_FILE: both are set; set only one (HS256 secret or key file)"
                        .into(),
                ));
            }
            (Some(secret), None) => {
                let key = Key::from_secret(Algorithm::HS256, secret.as_bytes())
                    .map_err(|e| SettingError(format!("JWT_SECRET: {e}")))?;
                (key, KeySource::Secret)
            }
            (None, Some(path)) => {
                if path.is_empty() {
                    return Err(SettingError("JWT_KEY_FILE: is set but empty".into()));
                }
                let key = Key::from_pem_file(&path)
                    .map_err(|e| SettingError(format!("JWT_KEY_FILE: {}", describe(&e))))?;
                if !key.can_sign() {
                    return Err(SettingError(format!(
                        "JWT_KEY_FILE: {path} holds a public key; the server needs the private key to sign"
                    )));
                }
                // The kid is the file's name without its extension, as with `tokengate keygen`
                // and `tokengate mint --key`, so tokens minted by the CLI from the same file verify.
                let kid = std::path::Path::new(&path)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .filter(|s| !s.is_empty());
                let key = match kid {
                    Some(kid) => key.with_kid(kid),
                    None => key,
                };
                (key, KeySource::File(path))
            }
            (None, None) => {
                // Its private half is public (in the repository): anyone could mint admin tokens
                // for a server reachable from elsewhere. Only a loopback listener may use it.
                if !bind.ip().to_canonical().is_loopback() {
                    return Err(SettingError(format!(
                        "JWT_SECRET or JWT_KEY_FILE: one is required when BIND ({bind}) is not a \
                         loopback address; without them the server would sign with the \
                         development key committed under keys/, with which anyone can mint tokens \
                         (set JWT_SECRET or JWT_KEY_FILE, or BIND=127.0.0.1:3000 for development)"
                    )));
                }
                let key = Key::from_pem(DEV_KEY_PEM.as_bytes())
                    .map_err(|e| SettingError(format!("development key: {e}")))?
                    .with_kid(DEV_KEY_KID);
                (key, KeySource::Development)
            }
        };

        let issuer = get("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.to_owned());
        let audience = get("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !database_url.starts_with("sqlite:") {
            return Err(SettingError(format!(
                "DATABASE_URL: only SQLite URLs are supported (sqlite://file.db?mode=rwc or sqlite::memory:), got a `{}` URL",
                database_url.split(':').next().unwrap_or_default()
            )));
        }
        let redis_url = get("REDIS_URL");
        let cookie_secure = match get("COOKIE_SECURE").as_deref() {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(SettingError(format!(
                    "COOKIE_SECURE: `{other}` is not true or false"
                )));
            }
        };
        let csrf_secret = get("CSRF_SECRET");
        if csrf_secret
            .as_ref()
            .is_some_and(|s| s.len() < tokengate::MIN_CSRF_SECRET_LEN)
        {
            return Err(SettingError(format!(
                "CSRF_SECRET: must be at least {} bytes",
                tokengate::MIN_CSRF_SECRET_LEN
            )));
        }
        Ok(Self {
            bind,
            key,
            key_source,
            issuer,
            audience,
            database_url,
            redis_url,
            cookie_secure,
            csrf_secret,
        })
    }
}

/// An error's text with its source (for I/O errors, e.g. "No such file or directory").
pub(super) fn describe(e: &tokengate::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_use_the_development_key() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.key_source, KeySource::Development);
        assert_eq!(s.key.kid(), DEV_KEY_KID);
        assert_eq!(s.bind.to_string(), DEFAULT_BIND);
        assert!(s.cookie_secure);
        assert!(
            !settings(&[("COOKIE_SECURE", "false")])
                .unwrap()
                .cookie_secure
        );
    }

    #[test]
    fn development_key_is_refused_off_loopback() {
        for bind in [
            "0.0.0.0:3000",
            "[::]:3000",
            "192.0.2.10:3000",
            "[2001:db8::1]:3000",
        ] {
            let err = settings(&[("BIND", bind)]).unwrap_err().to_string();
            for named in ["JWT_SECRET", "JWT_KEY_FILE", "BIND", bind] {
                assert!(err.contains(named), "{bind}: {named} not in {err}");
            }
            assert!(err.contains("development key"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            // With a key of its own, any address is fine.
            let own = settings(&[("BIND", bind), ("JWT_SECRET", &"s".repeat(32))]).unwrap();
            assert_eq!(own.key_source, KeySource::Secret);
        }
        for bind in [
            "127.0.0.1:3000",
            "127.0.0.2:0",
            "[::1]:3000",
            "[::ffff:127.0.0.1]:3000",
        ] {
            let s = settings(&[("BIND", bind)]).unwrap();
            assert_eq!(s.key_source, KeySource::Development, "{bind}");
        }
    }

    #[test]
    fn refusals_name_the_setting() {
        for (vars, starts) in [
            (vec![("BIND", "nonsense")], "BIND:"),
            (vec![("JWT_SECRET", "short")], "JWT_SECRET:"),
            (
                vec![
                    ("JWT_SECRET", "x".repeat(40).leak() as &str),
                    ("JWT_KEY_FILE", "/k.pem"),
                ],
                "JWT_SECRET and JWT_KEY_FILE",
            ),
            (
                vec![("JWT_KEY_FILE", "/definitely/missing.pem")],
                "JWT_KEY_FILE:",
            ),
            (vec![("DATABASE_URL", "postgres://x")], "DATABASE_URL:"),
            (vec![("COOKIE_SECURE", "maybe")], "COOKIE_SECURE:"),
            (vec![("CSRF_SECRET", "too-short")], "CSRF_SECRET:"),
        ] {
            let err = settings(&vars).unwrap_err().to_string();
            assert!(err.starts_with(starts), "{err}");
            assert!(!err.contains('\n'));
        }
        let missing = settings(&[("JWT_KEY_FILE", "/definitely/missing.pem")])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/definitely/missing.pem"), "{missing}");
    }
}
