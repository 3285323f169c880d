//! Bad input never panics: arbitrary matcher strings, alert bodies and
//! config texts only produce errors.

use lookout_alertmanager::config::load_str;
use lookout_alertmanager::matchers::{parse_matcher, parse_matchers, ParseMode};
use proptest::prelude::*;

const MODES: [ParseMode; 3] = [
    ParseMode::Fallback,
    ParseMode::Classic,
    ParseMode::Utf8Strict,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_parsers_never_panic(s in "\\PC{0,40}") {
        for m in MODES {
            let _ = parse_matcher(&s, m);
            let _ = parse_matchers(&s, m);
        }
    }

    #[test]
    fn matcher_like_inputs_never_panic(
        name in "[a-z\"{}!=~,\\\\ 🙂]{0,8}",
        op in "(=|!=|=~|!~|~|!)",
        value in "[a-z\"{}!=~,\\\\ .*()\\[\\]🙂]{0,10}",
    ) {
        let s = format!("{name}{op}{value}");
        for m in MODES {
            if let Ok(parsed) = parse_matcher(&s, m) {
                // A parsed matcher prints as text that parses back to itself.
                let again = parse_matcher(&parsed.to_string(), ParseMode::Utf8Strict);
                prop_assert_eq!(again.ok(), Some(parsed));
            }
            let _ = parse_matchers(&format!("{{{s},{s}}}"), m);
        }
    }

    #[test]
    fn config_loader_never_panics(s in "(route:|receivers:|  receiver: a|  - name: a|  group_by: \\[x\\]|  routes:|    - matchers: \\[a=b\\]|inhibit_rules:|  - equal: \\[a\\]|time_intervals:|global:|  resolve_timeout: 1m|\\PC{0,12}|\n){0,14}") {
        for m in MODES {
            let _ = load_str(&s, m);
        }
    }
}
