//! `lookout promql test FILE...`: runs Prometheus `.test` conformance
//! scripts against lookout's engine, loading each script's data into the
//! real lookout-tsdb store (a fresh temporary directory per file and per
//! `clear`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use lookout_promql::promqltest::tiers::{classify, CorpusIndex, Tier};
use lookout_promql::promqltest::{corpus_engine, run_script, TestStore};

/// `lookout promql ...` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PromqlCommand {
    /// Run `.test` scripts and report per file and per tier.
    Test {
        /// Script files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Corpus index (`promql-corpus-index.tsv`) for tier classification;
        /// looked up next to the corpus when omitted.
        #[arg(long)]
        index: Option<PathBuf>,
        /// Print every failing eval with the reason.
        #[arg(long, short)]
        verbose: bool,
    },
}

fn find_index(explicit: Option<&Path>, first_file: Option<&Path>) -> Option<CorpusIndex> {
    if let Some(p) = explicit {
        return CorpusIndex::load(p).ok();
    }
    let dir = first_file?.canonicalize().ok()?.parent()?.to_path_buf();
    CorpusIndex::load(&dir.join("../../reference/promql-corpus-index.tsv")).ok()
}

/// Runs a `promql` subcommand.
pub fn run(cmd: PromqlCommand) -> anyhow::Result<ExitCode> {
    let PromqlCommand::Test {
        files,
        index,
        verbose,
    } = cmd;
    let index =
        find_index(index.as_deref(), files.first().map(PathBuf::as_path)).unwrap_or_default();
    let engine = corpus_engine();
    let factory =
        || -> Result<Box<dyn TestStore>, String> { Ok(Box::new(lookout_tsdb::ScratchDb::new()?)) };
    let mut tier_pass: BTreeMap<Tier, (usize, usize)> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let out = run_script(&text, &engine, &factory);
        if let Some(e) = &out.error {
            println!("{name}: FAILED to run: {e}");
            failed += out.evals.len().max(1);
            continue;
        }
        let mut fp = 0;
        for ev in &out.evals {
            let tier = index
                .get(&name, ev.line)
                .unwrap_or_else(|| classify(&name, &ev.expr, ev.nh_output));
            let e = tier_pass.entry(tier).or_default();
            e.1 += 1;
            match &ev.failure {
                None => {
                    e.0 += 1;
                    fp += 1;
                }
                Some(msg) => {
                    if verbose {
                        println!("  {name}:{}: {}\n      {msg}", ev.line, ev.expr);
                    }
                }
            }
        }
        let ff = out.evals.len() - fp;
        println!(
            "{name}: {} ({fp}/{} evals passed)",
            if ff == 0 { "ok" } else { "FAIL" },
            out.evals.len()
        );
        passed += fp;
        failed += ff;
    }
    println!("by tier:");
    for t in Tier::ALL {
        let (p, n) = tier_pass.get(&t).copied().unwrap_or((0, 0));
        println!("  {:<32} {p}/{n}", t.name());
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
