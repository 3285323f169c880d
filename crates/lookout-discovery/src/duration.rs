//! A Prometheus duration as it appears in config files (`30s`, `1m30s`).

use std::fmt;
use std::time::Duration;

use lookout_model::{format_duration, parse_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A config duration in milliseconds, read and written in Prometheus'
/// duration syntax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigDuration(pub i64);

impl ConfigDuration {
    /// From seconds.
    pub const fn from_secs(s: i64) -> Self {
        ConfigDuration(s * 1000)
    }

    /// Milliseconds.
    pub fn as_millis(&self) -> i64 {
        self.0
    }

    /// As a std duration (negative values clamp to zero).
    pub fn to_std(&self) -> Duration {
        Duration::from_millis(self.0.max(0) as u64)
    }

    /// Whether the duration is zero (often: "unset, use the default").
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(ConfigDuration)
            .map_err(serde::de::Error::custom)
    }
}
