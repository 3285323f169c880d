//! Runner for Prometheus' `.test` conformance scripts (the format is
//! described in `reference/promql-test-format.md`).

pub mod script;
pub mod series;
