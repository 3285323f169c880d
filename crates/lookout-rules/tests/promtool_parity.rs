//! lookout's `check rules` and `test rules` against the real promtool 2.42:
//! same verdicts, exit codes and (where Go's output is deterministic) the
//! same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use lookout_rules::check::{self, LintOptions};
use lookout_rules::unittest;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn promtool(dir: &Path, args: &[&str]) -> Option<Run> {
    let tool = lookout_testkit::require_tool("promtool")?;
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    Some(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs a lookout library entry point with `dir` as the working directory
/// for relative file names (tests in one binary share the process cwd, so
/// paths are passed relative and resolved by joining).
fn lookout_check(dir: &Path, files: &[&str], lint: LintOptions) -> Run {
    let _guard = CWD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir).unwrap();
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check::run(&refs, lint, &mut out, &mut err);
    std::env::set_current_dir(old).unwrap();
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn lookout_test(dir: &Path, files: &[&str]) -> Run {
    let _guard = CWD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir).unwrap();
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = unittest::run(&refs, &mut out, &mut err);
    std::env::set_current_dir(old).unwrap();
    Run {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

static CWD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    v.sort();
    v
}

#[test]
fn kube_prometheus_corpus_check_rules_matches_promtool_byte_for_byte() {
    let Some(dir) = lookout_testkit::corpus_path("kube-prometheus/rules") else {
        return;
    };
    let files = yaml_files(&dir);
    assert!(files.len() >= 10, "corpus has {} rule files", files.len());
    let mut compared = 0;
    let mut lint_flagged = Vec::new();
    for f in &files {
        for (args, lint) in [
            (vec!["check", "rules", f.as_str()], LintOptions::default()),
            (
                vec!["check", "rules", "--lint-fatal", f.as_str()],
                LintOptions {
                    duplicate_rules: true,
                    fatal: true,
                },
            ),
            (
                vec!["check", "rules", "--lint=none", f.as_str()],
                LintOptions {
                    duplicate_rules: false,
                    fatal: false,
                },
            ),
        ] {
            let Some(p) = promtool(&dir, &args) else {
                return;
            };
            let l = lookout_check(&dir, &[f], lint);
            assert_eq!(l.code, p.code, "{args:?} exit code");
            assert_eq!(l.stdout, p.stdout, "{args:?} stdout");
            assert_eq!(l.stderr, p.stderr, "{args:?} stderr");
            if lint.fatal && l.code == check::EXIT_LINT {
                lint_flagged.push(f.clone());
            }
            compared += 1;
        }
    }
    // The known duplicate recording rule of the corpus is flagged by both.
    assert_eq!(
        lint_flagged,
        vec!["kubernetesControlPlane.yaml".to_string()]
    );
    eprintln!(
        "compared {compared} promtool runs over {} corpus files",
        files.len()
    );

    // All files in one invocation.
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(|s| s.as_str()));
    let p = promtool(&dir, &args).unwrap();
    let refs: Vec<&str> = files.iter().map(|s| s.as_str()).collect();
    let l = lookout_check(&dir, &refs, LintOptions::default());
    assert_eq!(
        (l.code, &l.stdout, &l.stderr),
        (p.code, &p.stdout, &p.stderr)
    );
}

#[test]
fn corpus_rule_files_load_into_groups() {
    let Some(dir) = lookout_testkit::corpus_path("kube-prometheus/rules") else {
        return;
    };
    let mut rules = 0;
    for f in yaml_files(&dir) {
        let rgs = lookout_rules::load::read_rule_file(&dir.join(&f))
            .unwrap_or_else(|e| panic!("{f}: {e:?}"));
        let env = support_env();
        let gopts = lookout_rules::group::GroupOptions::with_sender(std::sync::Arc::new(
            lookout_rules::notifier::DiscardSender,
        ));
        let groups = lookout_rules::load::build_groups(
            &f,
            &rgs,
            &env,
            &gopts,
            &lookout_rules::load::LoadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{f}: {e:?}"));
        rules += groups.iter().map(|g| g.rules.len()).sum::<usize>();
    }
    assert_eq!(rules, 251, "rules loaded (promtool counts 251)");
}

fn support_env() -> lookout_rules::rule::RuleEnv {
    let store = lookout_promql::promqltest::memstore::MemStore::new();
    lookout_rules::rule::RuleEnv {
        querier: std::sync::Arc::new(store.clone()),
        appendable: std::sync::Arc::new(store),
        engine: Default::default(),
        external_labels: Default::default(),
        external_url: String::new(),
    }
}

/// Files whose YAML syntax errors are worded by libyaml in Go and by
/// yaml-rust2 here: the verdict and exit code must agree, the text may not.
const SYNTAX_ERROR_FILES: &[&str] = &["syntax-error.yaml"];

#[test]
fn bad_rule_files_get_promtools_verdicts_and_messages() {
    let dir = testdata("tests/testdata/bad");
    let files = yaml_files(&dir);
    assert!(files.len() >= 12);
    for f in &files {
        let Some(p) = promtool(&dir, &["check", "rules", f]) else {
            return;
        };
        let l = lookout_check(&dir, &[f], LintOptions::default());
        assert_eq!(l.code, p.code, "{f}: exit code\n{}", l.stderr);
        assert_eq!(l.stdout, p.stdout, "{f}: stdout");
        if SYNTAX_ERROR_FILES.contains(&f.as_str()) {
            assert!(l.stderr.starts_with("  FAILED:\n"), "{f}: {}", l.stderr);
            assert!(
                l.stderr.contains(&format!("{f}: yaml: line ")),
                "{f}: {}",
                l.stderr
            );
        } else {
            assert_eq!(l.stderr, p.stderr, "{f}: stderr");
        }
    }
}

#[test]
fn bad_input_is_rejected_with_file_group_and_rule() {
    let dir = testdata("tests/testdata/bad");
    let l = lookout_check(&dir, &["many-errors.yaml"], LintOptions::default());
    assert_eq!(l.code, 1);
    // Invalid expression, with its position.
    assert!(l.stderr.contains(
        "many-errors.yaml: 5:11: group \"g1\", rule 1, \"job:up:sum\": could not parse expression: 1:16: parse error: unclosed left parenthesis"
    ));
    // Undefined template function.
    assert!(l.stderr.contains(
        "many-errors.yaml: group \"g1\", rule 2, \"Foo\": label \"severity\": template: __alert_Foo:1: function \"nosuchfunc\" not defined"
    ));
    // Syntax error.
    let l = lookout_check(&dir, &["syntax-error.yaml"], LintOptions::default());
    assert_eq!(l.code, 1);
    assert!(
        l.stderr.contains("syntax-error.yaml: yaml: line 6:"),
        "{}",
        l.stderr
    );
}

#[test]
fn default_rules_check_and_unit_tests_pass_under_both_tools() {
    let dir = testdata("default-rules");
    for f in ["lookout.yaml", "host.yaml"] {
        let Some(p) = promtool(&dir, &["check", "rules", f]) else {
            return;
        };
        let l = lookout_check(&dir, &[f], LintOptions::default());
        assert_eq!(p.code, 0, "{f}: {}", p.stderr);
        assert_eq!(
            (l.code, &l.stdout, &l.stderr),
            (p.code, &p.stdout, &p.stderr)
        );
    }
    let tests = ["tests/lookout_test.yaml", "tests/host_test.yaml"];
    let mut args = vec!["test", "rules"];
    args.extend(tests);
    let p = promtool(&dir, &args).unwrap();
    assert_eq!(p.code, 0, "promtool: {}{}", p.stdout, p.stderr);
    let l = lookout_test(&dir, &tests);
    assert_eq!(l.code, 0, "lookout: {}{}", l.stdout, l.stderr);
    assert_eq!(l.stdout, p.stdout);
    assert_eq!(l.stdout.matches("  SUCCESS").count(), 2);
}

#[test]
fn conformance_unit_tests_pass_under_both_tools() {
    let dir = testdata("tests/testdata/conformance");
    let Some(p) = promtool(&dir, &["test", "rules", "rules_test.yaml"]) else {
        return;
    };
    assert_eq!(p.code, 0, "promtool: {}{}", p.stdout, p.stderr);
    let l = lookout_test(&dir, &["rules_test.yaml"]);
    assert_eq!(
        (l.code, &l.stdout, &l.stderr),
        (p.code, &p.stdout, &p.stderr)
    );
}

/// Alert label and annotation templates (humanize*, printf, query,
/// sortByLabel, first/value/label, reReplaceAll, match, links, strip*,
/// title, range over $labels, execution errors with their positions): the
/// expectations are promtool's own output, and lookout must render the same
/// bytes.
#[test]
fn rule_templates_render_like_promtool() {
    let dir = testdata("tests/testdata/conformance");
    let Some(p) = promtool(&dir, &["test", "rules", "templates_test.yaml"]) else {
        return;
    };
    assert_eq!(p.code, 0, "promtool: {}{}", p.stdout, p.stderr);
    let l = lookout_test(&dir, &["templates_test.yaml"]);
    assert_eq!(
        (l.code, &l.stdout, &l.stderr),
        (p.code, &p.stdout, &p.stderr)
    );
    // The comparison is not vacuous: a changed expectation fails both, with
    // the same report.
    let text = std::fs::read_to_string(dir.join("templates_test.yaml")).unwrap();
    let broken = text.replace("human: \"123.5M", "human: \"123.4M");
    assert_ne!(broken, text);
    let tmp = dir.join("broken_templates_test.yaml");
    std::fs::write(&tmp, broken).unwrap();
    let l = lookout_test(&dir, &["broken_templates_test.yaml"]);
    let p = promtool(&dir, &["test", "rules", "broken_templates_test.yaml"]).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    assert_eq!(l.code, 1);
    assert_eq!(
        (l.code, &l.stdout, &l.stderr),
        (p.code, &p.stdout, &p.stderr)
    );
}

/// Failing unit tests: same exit code and stdout everywhere; same stderr
/// where Go's output is deterministic (not for errors listed in Go map order
/// or worded by another parser).
#[test]
fn failing_unit_tests_report_like_promtool() {
    let dir = testdata("tests/testdata/failing");
    for (f, exact_stderr) in [
        ("failing_test.yaml", true),
        ("default_interval_test.yaml", true),
        ("bad_rules_test.yaml", false),
        ("unknown_field_test.yaml", false),
    ] {
        let Some(p) = promtool(&dir, &["test", "rules", f]) else {
            return;
        };
        let l = lookout_test(&dir, &[f]);
        assert_eq!(l.code, p.code, "{f}");
        assert_eq!(l.code, 1, "{f}");
        assert_eq!(l.stdout, p.stdout, "{f}: stdout");
        if exact_stderr {
            assert_eq!(l.stderr, p.stderr, "{f}: stderr");
        } else {
            assert!(l.stderr.starts_with("  FAILED:\n"), "{f}: {}", l.stderr);
        }
    }
}

/// Native histogram input series (newer promtool notation, which 2.42
/// cannot read): lookout only.
#[test]
fn native_histogram_input_series() {
    let dir = testdata("tests/testdata/native");
    let l = lookout_test(&dir, &["histograms_test.yaml"]);
    assert_eq!(l.code, 0, "{}{}", l.stdout, l.stderr);
    assert!(l.stdout.contains("  SUCCESS"));
}
