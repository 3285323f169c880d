//! lookout's default rule set, compiled into the binary (see
//! `docs/default-rules.md`; unit tests in `default-rules/tests/`).

use crate::manager::RuleSource;

/// `default-rules/lookout.yaml`: Watchdog and self-monitoring.
pub const LOOKOUT_RULES: &str = include_str!("../default-rules/lookout.yaml");
/// `default-rules/host.yaml`: host resources.
pub const HOST_RULES: &str = include_str!("../default-rules/host.yaml");

/// The default rules as rule sources, named `<builtin>/lookout.yaml` and
/// `<builtin>/host.yaml` in the rules API.
pub fn default_rule_sources() -> Vec<RuleSource> {
    vec![
        RuleSource::Embedded {
            name: "<builtin>/lookout.yaml".into(),
            text: LOOKOUT_RULES.into(),
        },
        RuleSource::Embedded {
            name: "<builtin>/host.yaml".into(),
            text: HOST_RULES.into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_rules_are_valid() {
        for (name, text) in [
            ("lookout", super::LOOKOUT_RULES),
            ("host", super::HOST_RULES),
        ] {
            let g = crate::rulefmt::parse(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(crate::rulefmt::find_duplicates(&g).is_empty());
            assert!(g.rule_count() >= 8);
        }
    }
}
