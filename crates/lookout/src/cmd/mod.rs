//! Subcommands. Each lives in its own module and returns an exit code.

use std::process::ExitCode;

pub mod tsdb;

/// Every `lookout` subcommand.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print version and build information.
    Version,
    /// Native metrics store tools (stats, compact, bench).
    #[command(subcommand)]
    Tsdb(tsdb::TsdbCommand),
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Version => {
            println!("lookout {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Tsdb(c) => tsdb::run(c),
    }
}
