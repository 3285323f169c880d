//! The `lookout` binary: command-line parsing, logging set-up and dispatch to
//! the subcommands in [`cmd`]. Library crates hold the logic; this crate only
//! wires them together and turns their errors into exit codes (anyhow at the
//! edge).

mod cmd;
mod config;

use clap::Parser;

/// lookout: metrics, logs and alerting in one binary.
#[derive(Parser, Debug)]
#[command(name = "lookout", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOOKOUT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = cmd::rules::intercept_check_rules(&args) {
        return code;
    }
    let cli = Cli::parse();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
