//! Subcommands. Each lives in its own module and returns an exit code.

pub mod tsdb;
pub mod tsdb_export;
pub mod tsdb_import;
pub mod check;
pub mod rules;

use std::process::ExitCode;

/// Every `lookout` subcommand.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print version and build information.
    Version,
    /// Operate on a metrics store offline (import, export, ...).
    #[command(subcommand)]
    Tsdb(tsdb::TsdbCommand),
    /// Validate lookout.yaml / prometheus.yml files; every error is printed
    /// with its file and line, exit code 1 on errors.
    Check(check::CheckArgs),
    /// Unit tests (`lookout test rules FILE...`, promtool's format).
    #[command(subcommand)]
    Test(rules::TestCommand),
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Version => {
            println!("lookout {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Tsdb(c) => tsdb::run(c),
        Command::Check(args) => check::run(args),
        Command::Test(c) => rules::run_test(c),
    }
}
