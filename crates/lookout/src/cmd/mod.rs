//! Subcommands. Each lives in its own module and returns an exit code.

pub mod alertmanager;

use std::process::ExitCode;

/// Every `lookout` subcommand.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print version and build information.
    Version,
    /// Alertmanager-compatible alert routing: standalone server and tools.
    #[command(subcommand)]
    Alertmanager(alertmanager::AlertmanagerCommand),
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Version => {
            println!("lookout {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Alertmanager(c) => alertmanager::run(c),
    }
}
