//! Scalar config types: the two duration grammars Alertmanager uses (the
//! parsing itself is `lookout-model`'s).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Prometheus-style duration (`30s`, `1d12h`), kept in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ModelDuration(pub i64);

impl ModelDuration {
    /// As a std duration (negative values clamp to zero; the grammar has none).
    pub fn std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }

    /// Builds from whole seconds.
    pub const fn secs(s: i64) -> Self {
        ModelDuration(s * 1000)
    }
}

impl fmt::Display for ModelDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lookout_model::format_duration(self.0))
    }
}

impl Serialize for ModelDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ModelDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookout_model::parse_duration(&s)
            .map(ModelDuration)
            .map_err(|_| serde::de::Error::custom(format!("not a valid duration string: {s:?}")))
    }
}

/// A Go `time.Duration` as written for `time.ParseDuration` (`90s`, `1m30s`,
/// `1.5h`), kept in nanoseconds. Pushover's `retry`/`expire`/`ttl` use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// Whole seconds, truncated like Go's `int64(d.Seconds())`.
    pub fn whole_seconds(self) -> i64 {
        self.0 / 1_000_000_000
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lookout_model::format_go_duration(self.0))
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        lookout_model::parse_go_duration(&s)
            .map(GoDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Skips `false` when serialising.
pub fn is_false(b: &bool) -> bool {
    !*b
}
