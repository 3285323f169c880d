//! Prometheus TSDB block format (index v2, chunk segments, XOR chunks,
//! meta.json): reading Prometheus data dirs and writing blocks that
//! `promtool tsdb analyze` accepts. See `reference/tsdb-format.md`.
