//! `lookout check rules FILE...` and `lookout test rules FILE...`: promtool's
//! rule-file checks and rule unit tests, same output and exit codes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use lookout_rules::check::{self, LintOptions};

/// Arguments of `lookout check rules`.
#[derive(clap::Parser, Debug)]
#[command(
    name = "lookout check rules",
    about = "Check if the rule files are valid or not."
)]
pub struct CheckRulesArgs {
    /// Linting checks to apply: all, duplicate-rules, none.
    #[arg(long, default_value = "duplicate-rules")]
    pub lint: String,
    /// Make lint errors exit with exit code 3.
    #[arg(long)]
    pub lint_fatal: bool,
    /// The rule files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `lookout test ...` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TestCommand {
    /// Unit tests for rules (promtool's `test rules` format).
    Rules(TestRulesArgs),
}

/// Arguments of `lookout test rules`.
#[derive(clap::Args, Debug)]
pub struct TestRulesArgs {
    /// The unit test files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `lookout check rules ...` is parsed here before the main command line,
/// because `lookout check FILE...` (configuration files) owns the `check`
/// word. Returns `None` when the arguments are not a rules check.
pub fn intercept_check_rules(args: &[OsString]) -> Option<ExitCode> {
    if args.get(1).map(|a| a == "check") != Some(true)
        || args.get(2).map(|a| a == "rules") != Some(true)
    {
        return None;
    }
    let rest =
        std::iter::once(OsString::from("lookout check rules")).chain(args.iter().skip(3).cloned());
    let parsed = match <CheckRulesArgs as clap::Parser>::try_parse_from(rest) {
        Ok(p) => p,
        Err(e) => {
            let _ = e.print();
            return Some(ExitCode::from(if e.use_stderr() { 2 } else { 0 }));
        }
    };
    Some(run_check(parsed))
}

/// Runs `check rules`.
pub fn run_check(args: CheckRulesArgs) -> ExitCode {
    let lint = match LintOptions::from_flag(&args.lint, args.lint_fatal) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let files: Vec<&std::path::Path> = args.files.iter().map(|p| p.as_path()).collect();
    let code = check::run(&files, lint, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code as u8)
}

/// Runs a `lookout test` subcommand.
pub fn run_test(cmd: TestCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TestCommand::Rules(args) => {
            let files: Vec<&std::path::Path> = args.files.iter().map(|p| p.as_path()).collect();
            let code = lookout_rules::unittest::run(
                &files,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            );
            Ok(ExitCode::from(code as u8))
        }
    }
}

/// Problems in the rule-related parts of a loaded configuration: every
/// `rule_files` match is checked like `lookout check rules` does, and the
/// `alerting` section is decoded. Each entry is one printable error.
pub fn check_config_rules(cfg: &crate::config::LoadedConfig) -> Vec<String> {
    let mut errs = Vec::new();
    let sections = &cfg.prometheus.other_sections;
    let patterns: Vec<String> = match sections.get("rule_files") {
        None => Vec::new(),
        Some(v) if v.is_null() => Vec::new(),
        Some(v) => match serde_yaml_ng::from_value(v.clone()) {
            Ok(p) => p,
            Err(e) => return vec![format!("rule_files: {e}")],
        },
    };
    let base = cfg.path.as_deref().and_then(std::path::Path::parent);
    match lookout_rules::load::expand_globs(base, &patterns) {
        Err(e) => errs.push(e.to_string()),
        Ok(files) => {
            let lint = LintOptions {
                duplicate_rules: false,
                fatal: false,
            };
            for f in files {
                if let check::FileVerdict::Failed(lines) = check::check_file(&f, lint) {
                    errs.extend(lines);
                }
            }
        }
    }
    if let Some(v) = sections.get("alerting").filter(|v| !v.is_null()) {
        if let Err(e) = lookout_rules::alerting::AlertingConfig::from_yaml(v) {
            errs.push(e.to_string());
        }
    }
    errs
}
