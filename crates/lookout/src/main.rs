//! The `lookout` binary: command-line parsing, logging set-up and dispatch to
//! the subcommands in [`cmd`]. Library crates hold the logic; this crate only
//! wires them together and turns their errors into exit codes (anyhow at the
//! edge).

mod cmd;
mod config;

use clap::Parser;

// Allocator: mimalloc. Queries allocate and free many small objects
// (label sets, per-series sample vectors) from several threads, where glibc's
// malloc spent about half of the CPU time (consolidating fastbins, cross-arena
// frees). Measured on the bench/ingest.sh data, same machine, same run:
// (with the two-thread select of lookout-tsdb)
// count({__name__=~"synth_metric_.*"}) 266 -> 130 ms, topk(5, ...) 19 -> 6 ms,
// range count over 10k series 173 -> 119 ms; remote-write ingest of 1M
// series 22.8 -> 20.8 CPU-s with the same settled RSS (0.45 KB/series);
// `lookout tsdb bench write` 6.2 -> 7.2 M samples/CPU-s. The cost: the
// in-process 1M-series store holds 227 instead of 139 B/series (peak 282
// instead of 183 MB), well inside the 512 B target.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// lookout: metrics, logs and alerting in one binary.
///
/// Without a subcommand lookout runs the server (`lookout server`), and the
/// server's flags may be given directly: `lookout --config.file=x.yml`.
#[derive(Parser, Debug)]
#[command(name = "lookout", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<cmd::Command>,
    #[command(flatten)]
    server: cmd::server::ServerArgs,
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
    let command = cli
        .command
        .unwrap_or(cmd::Command::Server(Box::new(cli.server)));
    match cmd::run(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
