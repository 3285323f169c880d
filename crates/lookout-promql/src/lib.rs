//! lookout-promql: the PromQL language of Prometheus v3.14.
//!
//! Owns the lexer and parser (hand-written: the available crates parse only
//! 86% of the upstream corpus, see `reference/promql-parser-evaluation.md`),
//! the AST with source positions, the evaluator for instant and range
//! queries over the `lookout_model::storage::Querier` trait, and the runner
//! for upstream's `.test` conformance scripts.
//!
//! Must not depend on a storage engine, HTTP, or async runtime: the server
//! passes a `Querier` in and serialises results itself.

pub mod engine;
pub mod parser;
pub mod promqltest;
