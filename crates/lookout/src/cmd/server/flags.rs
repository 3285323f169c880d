//! `lookout server` flags, named like Prometheus' where one exists.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

/// Flags of `lookout server` (also accepted by `lookout` without a subcommand).
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// lookout.yaml or prometheus.yml to load; without it lookout runs its
    /// embedded default (scrape itself and the host).
    #[arg(long = "config.file", visible_alias = "config")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on for the UI, API and telemetry.
    #[arg(long = "web.listen-address", default_value = "127.0.0.1:9090")]
    pub listen_address: String,
    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "./data")]
    pub tsdb_path: PathBuf,
    /// How long to retain samples in storage (Prometheus duration).
    #[arg(long = "storage.tsdb.retention.time", default_value = "15d")]
    pub retention_time: String,
    /// Maximum bytes of storage blocks to retain (`512MB`, `10GB`; 0 = off).
    #[arg(long = "storage.tsdb.retention.size", default_value = "0")]
    pub retention_size: String,
    /// The URL under which lookout is reached from outside (for links).
    #[arg(long = "web.external-url")]
    pub external_url: Option<String>,
    /// Maximum time a query may take before it is aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,
    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub query_max_samples: usize,
    /// How far back to look for the latest sample of a series.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub query_lookback_delta: String,
    /// Enable shutdown and reload via HTTP. On by default in lookout (unlike
    /// Prometheus); `--web.enable-lifecycle=false` turns it off.
    #[arg(
        long = "web.enable-lifecycle",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub enable_lifecycle: bool,
    /// Accepted for compatibility: lookout's remote-write receiver is always on.
    #[arg(long = "web.enable-remote-write-receiver", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_remote_write_receiver: bool,
    /// Largest compressed remote-write request body accepted.
    #[arg(long = "web.remote-write.max-body-size", default_value = "32MB")]
    pub remote_write_max_body: String,
    /// Prometheus feature flags, comma-separated or repeated:
    /// promql-experimental-functions, promql-duration-expr,
    /// promql-extended-range-selectors, promql-binop-fill-modifiers,
    /// promql-delayed-name-removal.
    #[arg(long = "enable-feature", value_delimiter = ',')]
    pub enable_feature: Vec<String>,
    /// Rule evaluation and notifier flags.
    #[command(flatten)]
    pub rules: super::rules::RuleFlags,
}

impl Default for ServerArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            a: ServerArgs,
        }
        Wrap::parse_from(["lookout"]).a
    }
}

/// A Prometheus duration flag.
pub fn duration_flag(name: &str, v: &str) -> anyhow::Result<Duration> {
    let ms = lookout_model::parse_duration(v)
        .with_context(|| format!("--{name}: not a valid duration: {v:?}"))?;
    if ms < 0 {
        bail!("--{name}: must not be negative");
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Parses a byte size like Prometheus' `--storage.tsdb.retention.size`
/// (`B`, `KB`, `MB`, `GB`, `TB`, `PB`, `EB`, powers of 1024).
pub fn parse_bytes(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .with_context(|| format!("not a valid size: {s:?}"))?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        "PB" => 1 << 50,
        "EB" => 1 << 60,
        _ => bail!("not a valid size unit in {s:?} (use B, KB, MB, GB, TB, PB or EB)"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("size out of range: {s:?}"))
}

/// Applies `--enable-feature` names to the engine options. Unknown names
/// are an error (Prometheus only logs them; a typo that silently leaves a
/// feature off is worse for a single binary that is easy to restart).
pub fn apply_features(
    features: &[String],
    opts: &mut lookout_promql::engine::EngineOptions,
) -> anyhow::Result<()> {
    for f in features.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
        match f {
            "promql-experimental-functions" => opts.parse_options.experimental_functions = true,
            "promql-duration-expr" => opts.parse_options.duration_expr = true,
            "promql-extended-range-selectors" => opts.parse_options.extended_range_selectors = true,
            "promql-binop-fill-modifiers" => opts.parse_options.binop_fill_modifiers = true,
            "promql-delayed-name-removal" => opts.delayed_name_removal = true,
            other => bail!(
                "unknown --enable-feature {other:?} (known: promql-experimental-functions, \
                 promql-duration-expr, promql-extended-range-selectors, \
                 promql-binop-fill-modifiers, promql-delayed-name-removal)"
            ),
        }
    }
    Ok(())
}

impl ServerArgs {
    /// The flags as `/api/v1/status/flags` shows them.
    pub fn as_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put(
            "config.file",
            self.config_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        put("web.listen-address", self.listen_address.clone());
        put("storage.tsdb.path", self.tsdb_path.display().to_string());
        put("storage.tsdb.retention.time", self.retention_time.clone());
        put("storage.tsdb.retention.size", self.retention_size.clone());
        put(
            "web.external-url",
            self.external_url.clone().unwrap_or_default(),
        );
        put("query.timeout", self.query_timeout.clone());
        put("query.max-samples", self.query_max_samples.to_string());
        put("query.lookback-delta", self.query_lookback_delta.clone());
        put("enable-feature", self.enable_feature.join(","));
        put("web.enable-lifecycle", self.enable_lifecycle.to_string());
        put(
            "web.enable-remote-write-receiver",
            self.enable_remote_write_receiver.to_string(),
        );
        put(
            "web.remote-write.max-body-size",
            self.remote_write_max_body.clone(),
        );
        self.rules.put_into(&mut m);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let a = ServerArgs::default();
        assert_eq!(a.listen_address, "127.0.0.1:9090");
        assert_eq!(a.tsdb_path, PathBuf::from("./data"));
        assert!(a.enable_lifecycle);
        assert_eq!(
            duration_flag("x", &a.query_timeout).unwrap(),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("0").unwrap(), 0);
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("10GB").unwrap(), 10 << 30);
        assert!(parse_bytes("10XB").is_err());
        assert!(parse_bytes("GB").is_err());
    }
}
