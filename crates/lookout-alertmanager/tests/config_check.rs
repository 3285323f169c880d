//! Config validation verdicts against the real `amtool check-config` 0.25.
//!
//! Every file under `tests/configs/{good,bad}` is checked by lookout and by
//! amtool; the verdicts must agree. lookout runs in classic matcher mode
//! here, which is Alertmanager 0.25's only mode; the fallback mode (lookout's
//! default) must agree too except for the documented 0.25-versus-current
//! differences listed in `FALLBACK_DIFFERS`.

use std::path::{Path, PathBuf};
use std::process::Command;

use lookout_alertmanager::config::load_file;
use lookout_alertmanager::matchers::ParseMode;

/// Files whose verdict differs between Alertmanager 0.25 and current
/// releases (UTF-8 label names are valid in `group_by` since 0.27).
const FALLBACK_DIFFERS: &[&str] = &["bad_group_by.yml"];

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs")
        .join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    v.sort();
    v
}

#[test]
fn fixtures_have_expected_verdicts() {
    for f in files("good") {
        for mode in [ParseMode::Classic, ParseMode::Fallback] {
            if let Err(e) = load_file(&f, mode) {
                panic!("{} should load in {mode:?}: {e}", f.display());
            }
        }
    }
    for f in files("bad") {
        assert!(
            load_file(&f, ParseMode::Classic).is_err(),
            "{} should fail",
            f.display()
        );
        let name = f.file_name().unwrap().to_str().unwrap();
        let fallback = load_file(&f, ParseMode::Fallback);
        assert_eq!(
            fallback.is_ok(),
            FALLBACK_DIFFERS.contains(&name),
            "{name} in fallback mode: {fallback:?}"
        );
    }
}

#[test]
fn verdicts_and_messages_match_amtool() {
    let Some(amtool) = lookout_testkit::require_tool("amtool") else {
        return;
    };
    let mut same_message = 0;
    let mut total_bad = 0;
    let mut differing_messages = Vec::new();
    for f in files("good").into_iter().chain(files("bad")) {
        let out = Command::new(&amtool)
            .arg("check-config")
            .arg(&f)
            .output()
            .unwrap();
        let am_ok = out.status.success();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let ours = load_file(&f, ParseMode::Classic);
        assert_eq!(
            ours.is_ok(),
            am_ok,
            "verdict differs for {}: amtool said {stdout:?}, lookout {:?}",
            f.display(),
            ours.as_ref().err()
        );
        if let Err(e) = ours {
            total_bad += 1;
            // amtool: "Checking '<f>'  FAILED: <message>"
            let am_msg = stdout
                .split_once("FAILED: ")
                .map(|(_, m)| m.trim().to_string())
                .unwrap_or_default();
            // Where amtool names a line, lookout must report the same one.
            if let Some(rest) = am_msg.split("line ").nth(1) {
                let am_line: usize = rest
                    .split(':')
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap();
                // libyaml names the offending line of a syntax error where
                // yaml.v2 names the line before it; schema errors agree.
                let ours = e.location.map(|l| l.0).unwrap_or(0);
                assert!(
                    ours == am_line || (am_msg.starts_with("yaml: line") && ours == am_line + 1),
                    "{}: amtool line {am_line}, lookout {e}",
                    f.display()
                );
            }
            if am_msg == e.message {
                same_message += 1;
            } else {
                differing_messages.push(format!(
                    "{}: amtool {am_msg:?} / lookout {:?}",
                    f.display(),
                    e.message
                ));
            }
        }
    }
    eprintln!("identical error messages: {same_message}/{total_bad}");
    for d in &differing_messages {
        eprintln!("  message differs: {d}");
    }
    // YAML decoder messages are worded differently by design (serde vs
    // yaml.v2); every semantic check must use Alertmanager's text.
    for d in &differing_messages {
        assert!(
            d.contains("unknown_")
                || d.contains("bad_yaml")
                || d.contains("bad_duration")
                || d.contains("bad_resolve_timeout")
                || d.contains("pushover_bad_retry"),
            "unexpected message difference: {d}"
        );
    }
}
