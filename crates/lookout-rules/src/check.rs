//! `check rules`: promtool's verdicts, output and exit codes for rule files.

use std::io::Write;
use std::path::Path;

use crate::rulefmt::{self, DuplicateReport};

/// Exit code for files with errors.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for lint findings under `--lint-fatal`.
pub const EXIT_LINT: i32 = 3;

/// Which lints run and whether they fail the check.
#[derive(Clone, Copy, Debug)]
pub struct LintOptions {
    /// The `duplicate-rules` lint (promtool's default `--lint`).
    pub duplicate_rules: bool,
    /// `--lint-fatal`: lint findings exit with 3.
    pub fatal: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            duplicate_rules: true,
            fatal: false,
        }
    }
}

impl LintOptions {
    /// From promtool's `--lint` value (`all`, `duplicate-rules`, `none`,
    /// comma-separated).
    pub fn from_flag(lint: &str, fatal: bool) -> Result<LintOptions, String> {
        let mut o = LintOptions {
            duplicate_rules: false,
            fatal,
        };
        for part in lint.split(',') {
            match part {
                "all" | "duplicate-rules" => o.duplicate_rules = true,
                "none" => {}
                other => return Err(format!("unknown lint option: {other}")),
            }
        }
        Ok(o)
    }
}

/// The outcome of checking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileVerdict {
    /// Valid, with this many rules.
    Success(usize),
    /// Only lint findings.
    Lint(Vec<String>),
    /// Real errors (each line already prefixed with the file name).
    Failed(Vec<String>),
}

/// Checks one rule file's text; `name` is how the file is named in errors.
pub fn check_text(name: &str, text: &str, lint: LintOptions) -> FileVerdict {
    match rulefmt::parse(text) {
        Err(errs) => FileVerdict::Failed(errs.iter().map(|e| format!("{name}: {e}")).collect()),
        Ok(groups) => {
            if lint.duplicate_rules {
                let d = rulefmt::find_duplicates(&groups);
                if !d.is_empty() {
                    return FileVerdict::Lint(vec![DuplicateReport(&d).to_string()]);
                }
            }
            FileVerdict::Success(groups.rule_count())
        }
    }
}

/// Checks one file on disk.
pub fn check_file(path: &Path, lint: LintOptions) -> FileVerdict {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Err(e) => FileVerdict::Failed(vec![format!("{name}: {e}")]),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => check_text(&name, &text, lint),
            Err(_) => {
                FileVerdict::Failed(vec![format!("{name}: yaml: invalid leading UTF-8 octet")])
            }
        },
    }
}

/// Runs `check rules` over files, writing what promtool writes to `out`
/// (stdout) and `err` (stderr); returns the exit code.
pub fn run(files: &[&Path], lint: LintOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut failed = false;
    let mut has_errors = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        match check_file(f, lint) {
            FileVerdict::Success(n) => {
                let _ = writeln!(out, "  SUCCESS: {n} rules found");
            }
            FileVerdict::Lint(lines) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for l in lines {
                    let _ = writeln!(err, "{l}");
                }
            }
            FileVerdict::Failed(lines) => {
                failed = true;
                has_errors = true;
                let _ = writeln!(err, "  FAILED:");
                for l in lines {
                    let _ = writeln!(err, "{l}");
                }
            }
        }
        let _ = writeln!(out);
    }
    if failed && has_errors {
        EXIT_FAILURE
    } else if failed && lint.fatal {
        EXIT_LINT
    } else {
        0
    }
}
