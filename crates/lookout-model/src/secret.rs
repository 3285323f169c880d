//! Secret config values (passwords, tokens, keys): read like any string,
//! printed as `<secret>` by `Debug` and by serialisation, so a config shown
//! by an API (`/api/v1/status/config`, Alertmanager's `config.original`) or
//! in a log never leaks one.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A secret string. An empty one means "not set".
#[derive(Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The plain value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_serialize() {
        let s = Secret("hunter2".into());
        assert_eq!(serde_yaml_ng::to_string(&s).unwrap().trim(), "<secret>");
        assert_eq!(format!("{s:?}"), "<secret>");
        let back: Secret = serde_yaml_ng::from_str("hunter2").unwrap();
        assert_eq!(back.expose(), "hunter2");
    }
}
