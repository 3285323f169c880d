//! A small process-wide cache of compiled regex matchers.
//!
//! Dashboards send the same queries again and again, and compiling a regex
//! costs far more than parsing the rest of a query (about 100 µs for
//! `=~".*"`, measured with `benches/parse.rs`). `Matcher` clones share the
//! compiled program, so a hit costs a lock and a clone. Only short patterns
//! without counted repetition are cached, so the cache cannot pin large
//! automata in memory.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use lookout_model::{MatchOp, Matcher, MatcherError};

const MAX_ENTRIES: usize = 256;
const MAX_PATTERN_LEN: usize = 256;

type Cache = Mutex<HashMap<(bool, String), Matcher>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Builds a matcher like [`Matcher::new`], reusing compiled regexes.
pub(crate) fn new_matcher(
    op: MatchOp,
    name: String,
    value: String,
) -> Result<Matcher, MatcherError> {
    let negated = match op {
        MatchOp::Regex => false,
        MatchOp::NotRegex => true,
        _ => return Matcher::new(op, name, value),
    };
    let cacheable = value.len() <= MAX_PATTERN_LEN && !value.contains('{');
    if !cacheable {
        return Matcher::new(op, name, value);
    }
    let key = (negated, value);
    if let Ok(map) = cache().lock() {
        if let Some(m) = map.get(&key) {
            let mut m = m.clone();
            m.name = name;
            return Ok(m);
        }
    }
    let m = Matcher::new(op, name, key.1.clone())?;
    if let Ok(mut map) = cache().lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, m.clone());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_matchers_behave_like_fresh_ones() {
        for _ in 0..2 {
            let m = new_matcher(MatchOp::Regex, "a".into(), "fo+".into()).unwrap();
            assert_eq!(m.name, "a");
            assert!(m.matches("foo") && !m.matches("bar"));
            let n = new_matcher(MatchOp::NotRegex, "b".into(), "fo+".into()).unwrap();
            assert_eq!(n.name, "b");
            assert!(!n.matches("foo") && n.matches("bar"));
        }
        assert!(new_matcher(MatchOp::Regex, "a".into(), "(".into()).is_err());
        let long = "x".repeat(MAX_PATTERN_LEN + 1);
        assert!(new_matcher(MatchOp::Regex, "a".into(), long.clone())
            .unwrap()
            .matches(&long));
    }
}
