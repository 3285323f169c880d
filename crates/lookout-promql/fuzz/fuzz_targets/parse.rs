//! Fuzzes the PromQL parser: parsing must never panic or overflow the
//! stack, and whatever parses must print to text that parses back to the
//! same tree (positions aside) and prints identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_promql::parser::{parse_bytes, parse_with_options, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        // Non-UTF-8 queries must fail cleanly (or parse, when the bad bytes
        // sit in a comment).
        let _ = parse_bytes(data, ParseOptions::all());
        return;
    };
    for opts in [ParseOptions::all(), ParseOptions::default()] {
        let Ok(expr) = parse_with_options(input, opts) else {
            continue;
        };
        let printed = expr.to_string();
        let reparsed = match parse_with_options(&printed, opts) {
            Ok(e) => e,
            Err(e) => panic!("printed form does not parse: {input:?} -> {printed:?}: {e}"),
        };
        let again = reparsed.to_string();
        assert_eq!(printed, again, "printing is not stable for {input:?}");
        let (mut a, mut b) = (expr, reparsed);
        a.canonicalize();
        b.canonicalize();
        // Debug output, so NaN literals compare equal.
        assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "tree changed for {input:?} printed as {printed:?}"
        );
    }
});
