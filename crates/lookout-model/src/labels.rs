//! Label sets: sorted, unique-by-name lists of name/value pairs.

use std::cmp::Ordering;
use std::fmt;

/// The reserved label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label: a name and its value.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Label {
    /// Label name, e.g. `job`.
    pub name: String,
    /// Label value; never empty inside a [`Labels`] (an empty value means "absent").
    pub value: String,
}

/// A label set, sorted by name, names unique, no empty values.
///
/// The representation is private so it can change (packed strings, interning)
/// without touching callers.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    labels: Vec<Label>,
}

impl Labels {
    /// The empty label set.
    pub const fn empty() -> Self {
        Labels { labels: Vec::new() }
    }

    /// Builds a label set from pairs in any order. Pairs with an empty value are
    /// dropped; when a name repeats, the last pair wins.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n, v);
        }
        b.build()
    }

    /// Builds from labels already sorted by name with unique names and
    /// non-empty values. Debug builds check the invariant.
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        debug_assert!(labels.iter().all(|l| !l.value.is_empty()));
        Labels { labels }
    }

    /// Value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].value.as_str())
    }

    /// Value of label `name`, or `""` when absent (Prometheus' matcher semantics).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Whether label `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Iterates labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.labels.iter()
    }

    /// The labels as a sorted slice.
    pub fn as_slice(&self) -> &[Label] {
        &self.labels
    }

    /// Consumes the set into its sorted vector.
    pub fn into_vec(self) -> Vec<Label> {
        self.labels
    }

    /// A copy without the given label names.
    pub fn without(&self, names: &[&str]) -> Labels {
        Labels {
            labels: self
                .labels
                .iter()
                .filter(|l| !names.contains(&l.name.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// A copy keeping only the given label names.
    pub fn keep_only(&self, names: &[&str]) -> Labels {
        Labels {
            labels: self
                .labels
                .iter()
                .filter(|l| names.contains(&l.name.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// A copy without the metric name.
    pub fn without_metric_name(&self) -> Labels {
        self.without(&[METRIC_NAME])
    }

    /// A builder primed with this set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.labels.clone(),
        }
    }

    /// A stable 64-bit hash of the set (xxh3 over name/value bytes with
    /// separators). Equal sets hash equally across processes and versions.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in &self.labels {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }
}

impl Ord for Labels {
    /// Prometheus' label-set order: compare pair by pair (name, then value); a
    /// prefix sorts first.
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.labels.iter().zip(other.labels.iter()) {
            match a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        self.labels.len().cmp(&other.labels.len())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// Prometheus' `{a="b", c="d"}` form with Go-style quoting.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"{}\"", l.name, escape_label_value(&l.value))?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.labels.iter()
    }
}

/// Escapes a label value the way Go's `%q` does for the printable ASCII
/// values Prometheus prints (backslash, double quote, newline, tab, CR).
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Builds a [`Labels`] by setting and deleting names.
#[derive(Clone, Default, Debug)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        match self.labels.binary_search_by(|l| l.name.cmp(&name)) {
            Ok(i) => {
                if value.is_empty() {
                    self.labels.remove(i);
                } else {
                    self.labels[i].value = value;
                }
            }
            Err(i) => {
                if !value.is_empty() {
                    self.labels.insert(i, Label { name, value });
                }
            }
        }
        self
    }

    /// Removes `name` if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        if let Ok(i) = self.labels.binary_search_by(|l| l.name.as_str().cmp(name)) {
            self.labels.remove(i);
        }
        self
    }

    /// Current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].value.as_str())
    }

    /// Keeps only labels for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| keep(l));
        self
    }

    /// Finishes the set.
    pub fn build(&self) -> Labels {
        Labels {
            labels: self.labels.clone(),
        }
    }

    /// Finishes the set, consuming the builder.
    pub fn into_labels(self) -> Labels {
        Labels {
            labels: self.labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_empty_values_dropped() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]);
        assert_eq!(l.to_string(), r#"{a="3", b="2"}"#);
        assert_eq!(l.get("a"), Some("3"));
        assert_eq!(l.get_or_empty("c"), "");
    }

    #[test]
    fn ordering_is_pairwise_then_length() {
        let a = Labels::from_pairs([("a", "1")]);
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs([("a", "2")]);
        assert!(a < ab);
        assert!(ab < a2);
    }

    #[test]
    fn hash_is_stable_and_distinguishes_boundaries() {
        let x = Labels::from_pairs([("a", "bc")]);
        let y = Labels::from_pairs([("ab", "c")]);
        assert_ne!(x.stable_hash(), y.stable_hash());
        assert_eq!(
            x.stable_hash(),
            Labels::from_pairs([("a", "bc")]).stable_hash()
        );
    }

    #[test]
    fn escaping_in_display() {
        let l = Labels::from_pairs([("a", "x\"y\\z\n")]);
        assert_eq!(l.to_string(), r#"{a="x\"y\\z\n"}"#);
    }
}
