//! The `tokengate` command-line tool; all of it lives in [`tokengate::cli`].

fn main() -> std::process::ExitCode {
    tokengate::cli::run()
}
