//! `lookout tsdb ...`: offline operations on a metrics store.

use std::process::ExitCode;

/// The `lookout tsdb` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TsdbCommand {
    /// Import samples into a lookout store: from a Prometheus data dir
    /// (migration, `--from`) or an OpenMetrics text file (backfill, `--openmetrics`).
    Import(super::tsdb_import::ImportArgs),
    /// Export a lookout store as Prometheus TSDB blocks (2 h aligned) that
    /// Prometheus, promtool and Thanos/Mimir tooling read.
    Export(super::tsdb_export::ExportArgs),
}

/// Runs one `lookout tsdb` subcommand.
pub fn run(cmd: TsdbCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TsdbCommand::Import(a) => super::tsdb_import::run(a),
        TsdbCommand::Export(a) => super::tsdb_export::run(a),
    }
}
