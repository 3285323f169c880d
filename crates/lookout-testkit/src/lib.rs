//! lookout-testkit: helpers shared by tests and benches, never linked into the
//! shipped binary.
//!
//! Owns three rules every test follows: where the shared corpus lives
//! (`../shared/corpus` next to the repository, or `$LOOKOUT_CORPUS`), how an
//! optional external tool (promtool, amtool, ...) is found, and that under
//! `CI=true` a missing tool or corpus is a failure, never a silent skip.
//!
//! Must not depend on any other lookout crate.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Whether we run under CI (`CI=true` or `CI=1`), where skips are failures.
pub fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true") | Ok("1") | Ok("TRUE")
    )
}

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    // crates/lookout-testkit -> repo root
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The shared corpus directory, or `None` (after saying so on stderr) when it
/// is absent outside CI. Panics under CI when it is absent.
///
/// Looks at `$LOOKOUT_CORPUS` first, then for `shared/corpus` beside the
/// repository or beside any of its parent folders (so worktrees nested one
/// level deeper find it too).
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LOOKOUT_CORPUS").map(PathBuf::from) {
        if dir.is_dir() {
            return Some(dir);
        }
        missing(&format!(
            "corpus directory {} ($LOOKOUT_CORPUS)",
            dir.display()
        ));
        return None;
    }
    let root = repo_root();
    if let Some(dir) = root
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/corpus"))
        .find(|d| d.is_dir())
    {
        return Some(dir);
    }
    missing(&format!(
        "corpus directory shared/corpus beside {} or its parents",
        root.display()
    ));
    None
}

/// Path to a corpus file or folder (relative to the corpus root), with the
/// same absent-means-skip-or-fail rule as [`corpus_dir`].
pub fn corpus_path(rel: &str) -> Option<PathBuf> {
    let p = corpus_dir()?.join(rel);
    if p.exists() {
        return Some(p);
    }
    missing(&format!("corpus entry {}", p.display()));
    None
}

/// Finds an external tool on `PATH`. Outside CI a missing tool returns
/// `None` after printing a skip notice; under CI it panics.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    if let Some(p) = which(name) {
        return Some(p);
    }
    missing(&format!(
        "external tool `{name}` (install it with .ci/install-deps)"
    ));
    None
}

/// Looks `name` up on `PATH` without any skip logic.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn missing(what: &str) {
    if in_ci() {
        panic!("{what} is missing, and CI=true forbids skipping");
    }
    eprintln!("SKIPPED: {what} is missing (this would fail under CI=true)");
}

/// A free TCP port on 127.0.0.1 (bound then released; racy but fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}
