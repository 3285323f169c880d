//! Subcommands. Each lives in its own module and returns an exit code.

pub mod tsdb;
pub mod tsdb_export;
pub mod tsdb_import;

use std::process::ExitCode;

mod promql;

/// Every `lookout` subcommand.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print version and build information.
    Version,
    /// PromQL tools.
    #[command(subcommand)]
    Promql(promql::PromqlCommand),
    /// Native metrics store tools (stats, compact, bench, import, export).
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
        Command::Promql(c) => promql::run(c),
        Command::Tsdb(c) => tsdb::run(c),
    }
}
