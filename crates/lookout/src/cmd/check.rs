//! `lookout check <file>...`: validates lookout.yaml / prometheus.yml files
//! and prints every error with its file and line. Exit code 1 on any error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;

/// Arguments of `lookout check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Configuration files to check (lookout.yaml or prometheus.yml).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Checks every file; prints a line per error on stderr.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in &args.files {
        match config::load_file(file) {
            Ok(cfg) if !super::rules::check_config_rules(&cfg).is_empty() => {
                failed = true;
                let errors = super::rules::check_config_rules(&cfg);
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!(
                    "FAILED: {} has {} error{} in its rule files or alerting section",
                    file.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
            }
            Ok(cfg) => {
                println!(
                    "SUCCESS: {} is valid lookout configuration ({} scrape jobs)",
                    file.display(),
                    cfg.prometheus.scrape_configs.len()
                );
            }
            Err(errors) => {
                failed = true;
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                eprintln!(
                    "FAILED: {} has {} error{}",
                    file.display(),
                    errors.0.len(),
                    if errors.0.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
