//! Subcommands. Each lives in its own module and returns an exit code.

pub mod alertmanager;
pub mod check;
pub mod server;
pub mod tsdb;
pub mod tsdb_export;
pub mod tsdb_import;

use std::process::ExitCode;

mod promql;

/// Every `lookout` subcommand.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Run the server: scrape, store, serve every API (the default).
    Server(Box<server::ServerArgs>),
    /// Print version and build information.
    Version,
    /// Native metrics store tools (stats, compact, bench, import, export).
    #[command(subcommand)]
    Tsdb(tsdb::TsdbCommand),
    /// Validate lookout.yaml / prometheus.yml files; every error is printed
    /// with its file and line, exit code 1 on errors.
    Check(check::CheckArgs),
    /// PromQL tools.
    #[command(subcommand)]
    Promql(promql::PromqlCommand),
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
        Command::Tsdb(c) => tsdb::run(c),
        Command::Check(args) => check::run(args),
        Command::Promql(c) => promql::run(c),
        Command::Server(args) => server::run(*args),
        Command::Alertmanager(c) => alertmanager::run(c),
    }
}
