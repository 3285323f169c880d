//! Upstream's parser test table (accept/reject and error texts), read from
//! the shared corpus `promql-parse/cases.json` (Prometheus v3.14.0).
//!
//! Upstream runs the table with every experimental feature enabled. A case
//! that expects errors passes when our first error has the first expected
//! text and every expected text appears, in order, among ours.

use lookout_promql::parser::{parse_bytes, parse_with_options, ParseOptions};

/// The two upstream inputs holding invalid UTF-8 (a raw 0xFF byte), rebuilt
/// as bytes from the source line the extraction kept.
fn invalid_utf8_input(src: &str) -> Option<Vec<u8>> {
    if src.contains(r#"some_metric{a=\"\xff\"}"#) {
        return Some(b"some_metric{a=\"\xff\"}".to_vec());
    }
    if src.contains("label_replace(a, `b`, `c\\xff`, `d`, `.*`)") {
        return Some(b"label_replace(a, `b`, `c\xff`, `d`, `.*`)".to_vec());
    }
    None
}

/// Inputs the extraction could not carry as literal strings, rebuilt from
/// the upstream source line they came from (`None`: cannot be a `&str`).
fn computed_input(src: &str) -> Option<String> {
    if src.contains("math.MaxInt64)+1") {
        // fmt.Sprintf(`foo @ %f`, float64(math.MaxInt64)+1)
        return Some(format!("foo @ {:.6}", i64::MAX as f64 + 1.0));
    }
    if src.contains("math.MinInt64)-1") {
        return Some(format!("foo @ {:.6}", i64::MIN as f64 - 1.0));
    }
    None
}

fn expected_errors_for_computed(src: &str) -> Vec<String> {
    if src.contains("math.MaxInt64)+1") {
        vec![format!(
            "timestamp out of bounds for @ modifier: {:.6}",
            i64::MAX as f64 + 1.0
        )]
    } else if src.contains("math.MinInt64)-1") {
        vec![format!(
            "timestamp out of bounds for @ modifier: {:.6}",
            i64::MIN as f64 - 1.0
        )]
    } else {
        Vec::new()
    }
}

#[test]
fn upstream_parser_cases() {
    let Some(path) = lookout_testkit::corpus_path("promql-parse/cases.json") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 351);
    let mut passed = 0;
    let mut not_representable = 0;
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (input, fail, errs) = match case.get("input").and_then(|v| v.as_str()) {
            Some(input) => {
                let mut input = input.to_string();
                // Upstream's long-input case is built with strings.Repeat; the
                // extraction kept only its first literal.
                if input == "(" && case["errs"].as_array().map(|a| a.len()) == Some(2) {
                    input = format!("({}){}", "-{}-1".repeat(10000), "[1m:]".repeat(1000));
                }
                let errs: Vec<String> = case["errs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_string())
                    .collect();
                (input, case["fail"].as_bool().unwrap(), errs)
            }
            None => {
                let src = case["src"].as_str().unwrap();
                match computed_input(src) {
                    Some(input) => (input, true, expected_errors_for_computed(src)),
                    None => {
                        // Invalid UTF-8: goes through the byte entry point.
                        let Some(bytes) = invalid_utf8_input(src) else {
                            not_representable += 1;
                            continue;
                        };
                        if parse_bytes(&bytes, ParseOptions::all()).is_err() {
                            passed += 1;
                        } else {
                            failures.push(format!("#{i} {bytes:?}: accepted invalid UTF-8"));
                        }
                        continue;
                    }
                }
            }
        };
        let result = parse_with_options(&input, ParseOptions::all());
        let ok = match (&result, fail) {
            (Ok(_), false) => true,
            (Err(_), false) | (Ok(_), true) => false,
            (Err(e), true) => {
                let got = e.messages();
                if errs.is_empty() {
                    true
                } else {
                    let mut it = got.iter();
                    got.first() == Some(&errs[0].as_str())
                        && errs.iter().all(|want| it.any(|g| g == want))
                }
            }
        };
        if ok {
            passed += 1;
        } else {
            let shown: String = input.chars().take(120).collect();
            failures.push(format!(
                "#{i} {shown:?}: expected fail={fail} errs={errs:?}, got {:?}",
                result.as_ref().map(|_| ()).map_err(|e| e.messages())
            ));
        }
    }
    let total = cases.len() - not_representable;
    println!("cases.json: {passed}/{total} pass ({not_representable} not reconstructable)");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
