//! `lookout check` support: validates `alertmanager.yml` files and reports
//! like `amtool check-config`.

use std::fmt::Write;
use std::path::Path;

use crate::config::load_file;
use crate::matchers::ParseMode;

/// The outcome of checking one file.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Whether the file is valid.
    pub ok: bool,
    /// Human-readable report (amtool's layout).
    pub text: String,
}

/// Checks one file: loads and validates it, then checks that its template
/// globs parse.
pub fn check_config_file(path: &Path, mode: ParseMode) -> CheckReport {
    let mut text = String::new();
    let _ = write!(text, "Checking '{}'", path.display());
    match load_file(path, mode) {
        Err(e) => {
            let loc = match e.location {
                Some((l, c)) => format!(" (line {l}, column {c})"),
                None => String::new(),
            };
            let _ = writeln!(text, "  FAILED: {}{loc}", e.message);
            CheckReport { ok: false, text }
        }
        Ok(cfg) => {
            if let Err(e) = crate::templates::load(&cfg.template_globs) {
                let _ = writeln!(text, "  FAILED: {e}");
                return CheckReport { ok: false, text };
            }
            let _ = writeln!(text, "  SUCCESS");
            let _ = writeln!(text, "Found:");
            let _ = writeln!(text, " - global config");
            let _ = writeln!(text, " - route");
            let _ = writeln!(text, " - {} inhibit rules", cfg.config.inhibit_rules.len());
            let _ = writeln!(text, " - {} receivers", cfg.config.receivers.len());
            let _ = writeln!(text, " - {} templates", cfg.template_globs.len());
            for w in &cfg.warnings {
                let _ = writeln!(text, "WARNING: {w}");
            }
            CheckReport { ok: true, text }
        }
    }
}
