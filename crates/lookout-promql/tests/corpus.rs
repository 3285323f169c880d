//! Runs the upstream PromQL conformance corpus and fails when a tier's pass
//! count drops below the floor recorded in `tests/corpus_floor.txt`.
//!
//! Each `load`/`clear` block is loaded into a fresh real `lookout-tsdb`
//! store in a temporary directory (the read path the server uses).
//! `PROMQL_CORPUS_FILE=<name>` restricts the run to one file and
//! `PROMQL_CORPUS_VERBOSE=1` prints every failure.

use std::collections::BTreeMap;

use lookout_promql::promqltest::tiers::{classify, CorpusIndex, Tier};
use lookout_promql::promqltest::{corpus_engine, run_script, TestStore};

fn floors() -> BTreeMap<String, usize> {
    let text = include_str!("corpus_floor.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
fn promql_corpus() {
    let Some(dir) = lookout_testkit::corpus_path("promql") else {
        return;
    };
    let index = dir
        .parent()
        .map(|p| p.join("../reference/promql-corpus-index.tsv"))
        .and_then(|p| CorpusIndex::load(&p).ok())
        .unwrap_or_default();
    let only = std::env::var("PROMQL_CORPUS_FILE").ok();
    let verbose = std::env::var("PROMQL_CORPUS_VERBOSE").is_ok();
    let engine = corpus_engine();
    // PROMQL_CORPUS_STORE=mem uses the in-memory reference store instead,
    // to tell engine bugs from storage bugs; floors apply to lookout-tsdb.
    let use_mem = std::env::var("PROMQL_CORPUS_STORE").is_ok_and(|v| v == "mem");
    let factory = || -> Result<Box<dyn TestStore>, String> {
        if use_mem {
            Ok(Box::new(
                lookout_promql::promqltest::memstore::MemStore::new(),
            ))
        } else {
            Ok(Box::new(lookout_tsdb::ScratchDb::new()?))
        }
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut passed: BTreeMap<Tier, usize> = BTreeMap::new();
    let mut total: BTreeMap<Tier, usize> = BTreeMap::new();
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read corpus file");
        let out = run_script(&text, &engine, &factory);
        if let Some(e) = &out.error {
            println!("{name}: FILE ERROR: {e}");
        }
        let mut fp = 0;
        for ev in &out.evals {
            let tier = index
                .get(&name, ev.line)
                .unwrap_or_else(|| classify(&name, &ev.expr, ev.nh_output));
            *total.entry(tier).or_default() += 1;
            if ev.failure.is_none() {
                *passed.entry(tier).or_default() += 1;
                fp += 1;
            } else if verbose {
                println!(
                    "  {name}:{} {}\n      {}",
                    ev.line,
                    ev.expr,
                    ev.failure.as_deref().unwrap_or("")
                );
            }
        }
        println!("{name}: {fp}/{}", out.evals.len());
    }
    let floor = floors();
    let mut below = Vec::new();
    for t in Tier::ALL {
        let p = passed.get(&t).copied().unwrap_or(0);
        let n = total.get(&t).copied().unwrap_or(0);
        println!("tier {}: {p}/{n}", t.name());
        if only.is_none() && !use_mem {
            if let Some(&fl) = floor.get(t.name()) {
                if p < fl {
                    below.push(format!("{} passed {p} < floor {fl}", t.name()));
                }
            }
        }
    }
    assert!(below.is_empty(), "corpus regressions: {below:?}");
}
