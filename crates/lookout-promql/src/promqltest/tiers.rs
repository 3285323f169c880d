//! Tier classification of corpus evals (stable classic, stable native
//! histograms, experimental), from `promql-corpus-index.tsv` when present,
//! otherwise from the same textual rules the index was built with.

use std::collections::HashMap;
use std::path::Path;

/// The reporting tier of an eval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Stable feature set, float data only.
    StableClassic,
    /// Stable feature set, touches native histograms.
    StableNative,
    /// Needs an experimental feature, float data only.
    ExperimentalClassic,
    /// Needs an experimental feature, touches native histograms.
    ExperimentalNative,
}

impl Tier {
    /// Every tier in report order.
    pub const ALL: [Tier; 4] = [
        Tier::StableClassic,
        Tier::StableNative,
        Tier::ExperimentalClassic,
        Tier::ExperimentalNative,
    ];

    /// Short name used in reports and the floor file.
    pub fn name(self) -> &'static str {
        match self {
            Tier::StableClassic => "stable_classic",
            Tier::StableNative => "stable_native_histograms",
            Tier::ExperimentalClassic => "experimental_classic",
            Tier::ExperimentalNative => "experimental_native_histograms",
        }
    }

    fn from_parts(experimental: bool, nh: bool) -> Tier {
        match (experimental, nh) {
            (false, false) => Tier::StableClassic,
            (false, true) => Tier::StableNative,
            (true, false) => Tier::ExperimentalClassic,
            (true, true) => Tier::ExperimentalNative,
        }
    }
}

/// Per-eval classification keyed by (file name, line).
#[derive(Clone, Debug, Default)]
pub struct CorpusIndex {
    entries: HashMap<(String, usize), Tier>,
}

impl CorpusIndex {
    /// Loads `promql-corpus-index.tsv`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(fc), Some(lc), Some(nc), Some(tc)) = (
            col("file"),
            col("line"),
            col("native_histograms"),
            col("tier"),
        ) else {
            return Err(format!("{}: unexpected header", path.display()));
        };
        let mut entries = HashMap::new();
        for l in lines {
            let f: Vec<&str> = l.split('\t').collect();
            let (Some(file), Some(line), Some(nh), Some(tier)) =
                (f.get(fc), f.get(lc), f.get(nc), f.get(tc))
            else {
                continue;
            };
            let Ok(line) = line.parse::<usize>() else {
                continue;
            };
            entries.insert(
                (file.to_string(), line),
                Tier::from_parts(*tier == "experimental", *nh == "true"),
            );
        }
        Ok(CorpusIndex { entries })
    }

    /// Looks an eval up.
    pub fn get(&self, file: &str, line: usize) -> Option<Tier> {
        self.entries.get(&(file.to_string(), line)).copied()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

const EXPERIMENTAL_FUNCTIONS: &[&str] = &[
    "info",
    "histogram_quantiles",
    "double_exponential_smoothing",
    "mad_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "limitk",
    "limit_ratio",
    "start_timestamp",
];

/// Classifies an eval without the index: experimental when its text uses an
/// experimental function, aggregation, selector modifier or fill modifier,
/// or the file is about start timestamps.
pub fn classify(file: &str, expr: &str, nh: bool) -> Tier {
    let lower = expr.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let has_call = |name: &str| {
        lower.match_indices(name).any(|(i, _)| {
            let before_ok = i == 0
                || !lower.as_bytes()[i - 1].is_ascii_alphanumeric()
                    && lower.as_bytes()[i - 1] != b'_';
            let rest = lower[i + name.len()..].trim_start();
            before_ok && rest.starts_with('(')
        })
    };
    let experimental = file.starts_with("start_timestamps")
        || EXPERIMENTAL_FUNCTIONS.iter().any(|f| has_call(f))
        || ["start", "end", "range", "step", "min_of", "max_of"]
            .iter()
            .any(|f| has_call(f) && !lower.contains(&format!("@ {f}(")) && !lower.contains('['))
        || words.iter().any(|w| *w == "anchored" || *w == "smoothed")
        || has_call("fill")
        || has_call("fill_left")
        || has_call("fill_right");
    Tier::from_parts(experimental, nh)
}
