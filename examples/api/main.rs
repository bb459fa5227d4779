//! The example server: a complete auth service built from tokengate.
//!
//! `cargo run --example api`, then see the README's curl session. Settings come from the
//! environment (`BIND`, `JWT_SECRET` / `JWT_KEY_FILE`, `JWT_ISSUER`, `JWT_AUDIENCE`,
//! `DATABASE_URL`, `REDIS_URL`, `COOKIE_SECURE`, `CSRF_SECRET`); a bad one stops the server at start with one line naming it.

// Some of the server module's items (test hooks, defaults) are used only by the integration tests
// that include it (tests/it/example_api.rs).
#[allow(dead_code, unused_imports)]
mod server;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    server::init_tracing();
    let settings = match server::Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server::run(settings, server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
