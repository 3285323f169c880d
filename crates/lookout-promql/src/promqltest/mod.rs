//! Runner for Prometheus' `.test` conformance scripts (the format is
//! described in `reference/promql-test-format.md`).
//!
//! The runner is storage-agnostic: callers pass a factory that creates an
//! empty store per file and per `clear` (the corpus test and the `lookout
//! promql test` command use the real `lookout-tsdb` store; unit tests may
//! use [`memstore::MemStore`]).

pub mod compare;
pub mod memstore;
pub mod runner;
pub mod script;
pub mod series;
pub mod tiers;

pub use runner::{run_script, EvalOutcome, FileOutcome, StoreFactory, TestStore};

use crate::engine::{Engine, EngineOptions};
use crate::parser::ParseOptions;

/// The engine configuration upstream's harness uses for the corpus: 5m
/// lookback, 10000 max samples, 100s timeout, 1m default subquery step,
/// delayed name removal, every parser feature on.
pub fn corpus_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: 5 * 60 * 1000,
        max_samples: 10_000,
        timeout: Some(std::time::Duration::from_secs(100)),
        default_subquery_step: 60 * 1000,
        delayed_name_removal: true,
        parse_options: ParseOptions::all(),
        max_threads: 0,
    })
}
