//! Parser for the `.test` script language: `load`, `load_with_nhcb`,
//! `clear` and `eval` commands with their body lines.

use lookout_model::{parse_duration, Labels};
use regex::Regex;
use std::sync::OnceLock;

use super::series::{parse_quoted, parse_series_line, parse_values, SeqValue, SeriesError};

/// One command of a script.
#[derive(Debug, Clone)]
pub enum Command {
    /// Load series.
    Load(LoadCmd),
    /// Drop all data.
    Clear,
    /// Evaluate and check.
    Eval(Box<EvalCmd>),
}

/// A `load` block.
#[derive(Debug, Clone)]
pub struct LoadCmd {
    /// Interval between positions, ms.
    pub step: i64,
    /// Whether classic histograms are also converted to NHCB.
    pub with_nhcb: bool,
    /// Series and their positions.
    pub series: Vec<(Labels, Vec<SeqValue>)>,
}

/// How an expectation about an annotation or error text is matched.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// Anything.
    Any,
    /// Exact text.
    Exact(String),
    /// Unanchored regex.
    Regex(Regex),
}

impl TextMatch {
    /// Whether `s` satisfies the expectation.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            TextMatch::Any => true,
            TextMatch::Exact(t) => t == s,
            TextMatch::Regex(r) => r.is_match(s),
        }
    }
}

/// Instant or range evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at T`.
    Instant {
        /// Evaluation time, ms.
        at: i64,
    },
    /// `eval range from S to E step D`.
    Range {
        /// Start, ms.
        start: i64,
        /// End, ms.
        end: i64,
        /// Step, ms.
        step: i64,
    },
}

/// The expected result of an eval.
#[derive(Debug, Clone)]
pub enum Expected {
    /// Series lines (possibly none: an empty vector/matrix).
    Series(Vec<(Labels, Vec<SeqValue>)>),
    /// A scalar.
    Scalar(f64),
    /// A string.
    String(String),
}

/// An `eval` block.
#[derive(Debug, Clone)]
pub struct EvalCmd {
    /// 1-based line of the eval command.
    pub line: usize,
    /// The PromQL expression text.
    pub expr: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// Failure expectation, if any.
    pub fail: Option<TextMatch>,
    /// `expect warn` lines.
    pub warn: Vec<TextMatch>,
    /// `expect info` lines.
    pub info: Vec<TextMatch>,
    /// `expect no_warn`.
    pub no_warn: bool,
    /// `expect no_info`.
    pub no_info: bool,
    /// `eval_warn` (legacy).
    pub legacy_warn: bool,
    /// `eval_info` (legacy).
    pub legacy_info: bool,
    /// Results must come in the listed order.
    pub ordered: bool,
    /// `expect range vector from a to b step s`.
    pub range_vector: Option<(i64, i64, i64)>,
    /// What the result must be.
    pub expected: Expected,
}

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Commands in order.
    pub commands: Vec<Command>,
}

fn instant_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
            .expect("static regex")
    })
}

fn range_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
        )
        .expect("static regex")
    })
}

fn load_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^load(_with_nhcb)?\s+(.+?)$").expect("static regex"))
}

fn dur(s: &str, line: usize) -> Result<i64, String> {
    parse_duration(s.trim()).map_err(|e| format!("line {line}: invalid duration {s:?}: {e}"))
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, String> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    let is_end = |l: &str| l.is_empty() || l.starts_with('#');
    while i < lines.len() {
        let l = lines[i];
        if is_end(l) {
            i += 1;
            continue;
        }
        let word = l.split_whitespace().next().unwrap_or("").to_lowercase();
        if word == "clear" {
            commands.push(Command::Clear);
            i += 1;
        } else if word.starts_with("load") {
            let caps = load_re()
                .captures(l)
                .ok_or_else(|| format!("line {}: invalid load command", i + 1))?;
            let step = dur(caps.get(2).map_or("", |m| m.as_str()), i + 1)?;
            let with_nhcb = caps.get(1).is_some();
            let mut series: Vec<(Labels, Vec<SeqValue>)> = Vec::new();
            i += 1;
            while i < lines.len() && !is_end(lines[i]) {
                let sl = lines[i];
                // `metric@st ...` start-timestamp lines: parsed for syntax,
                // not stored (the store has no start-timestamp support).
                if let Some(pos) = sl.find("@st") {
                    let head = &sl[..pos];
                    if !head.contains(char::is_whitespace) || head.trim_end().ends_with('}') {
                        i += 1;
                        continue;
                    }
                }
                let (labels, vals) = parse_series_line(sl)
                    .map_err(|e: SeriesError| format!("line {}: {e}", i + 1))?;
                if let Some(pos) = series.iter().position(|(l, _)| *l == labels) {
                    series[pos].1 = vals;
                } else {
                    series.push((labels, vals));
                }
                i += 1;
            }
            commands.push(Command::Load(LoadCmd {
                step,
                with_nhcb,
                series,
            }));
        } else if word.starts_with("eval") {
            let (cmd, next) = parse_eval(&lines, i)?;
            commands.push(Command::Eval(Box::new(cmd)));
            i = next;
        } else {
            return Err(format!("line {}: unknown command {l:?}", i + 1));
        }
    }
    Ok(Script { commands })
}

fn parse_eval(lines: &[&str], start: usize) -> Result<(EvalCmd, usize), String> {
    let l = lines[start];
    let lineno = start + 1;
    let (modifier, kind, expr) = if let Some(c) = instant_re().captures(l) {
        let at = c.get(2).map_or("", |m| m.as_str());
        if at.is_empty() {
            return Err(format!("line {lineno}: missing evaluation time"));
        }
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalKind::Instant {
                at: dur(at, lineno)?,
            },
            c.get(3).map_or("", |m| m.as_str()).to_string(),
        )
    } else if let Some(c) = range_re().captures(l) {
        let start_t = dur(c.get(2).map_or("", |m| m.as_str()), lineno)?;
        let end_t = dur(c.get(3).map_or("", |m| m.as_str()), lineno)?;
        let step = dur(c.get(4).map_or("", |m| m.as_str()), lineno)?;
        if end_t < start_t {
            return Err(format!("line {lineno}: end before start"));
        }
        (
            c.get(1).map(|m| m.as_str().to_string()),
            EvalKind::Range {
                start: start_t,
                end: end_t,
                step,
            },
            c.get(5).map_or("", |m| m.as_str()).to_string(),
        )
    } else {
        return Err(format!("line {lineno}: invalid eval command {l:?}"));
    };
    let mut cmd = EvalCmd {
        line: lineno,
        expr,
        kind,
        fail: None,
        warn: Vec::new(),
        info: Vec::new(),
        no_warn: false,
        no_info: false,
        legacy_warn: false,
        legacy_info: false,
        ordered: false,
        range_vector: None,
        expected: Expected::Series(Vec::new()),
    };
    let mut legacy_fail = false;
    match modifier.as_deref() {
        Some("fail") => {
            legacy_fail = true;
            cmd.fail = Some(TextMatch::Any);
        }
        Some("warn") => cmd.legacy_warn = true,
        Some("info") => cmd.legacy_info = true,
        Some("ordered") => cmd.ordered = true,
        _ => {}
    }
    let mut series: Vec<(Labels, Vec<SeqValue>)> = Vec::new();
    let mut i = start + 1;
    while i < lines.len() {
        let b = lines[i];
        if b.is_empty() || b.starts_with('#') {
            break;
        }
        let bl = i + 1;
        i += 1;
        let first = b.split_whitespace().next().unwrap_or("");
        if first == "expect" {
            parse_expect(b, bl, &mut cmd)?;
            continue;
        }
        if legacy_fail {
            if let Some(m) = b.strip_prefix("expected_fail_message") {
                cmd.fail = Some(TextMatch::Exact(m.trim().to_string()));
                break;
            }
            if let Some(m) = b.strip_prefix("expected_fail_regexp") {
                let re = Regex::new(m.trim()).map_err(|e| format!("line {bl}: {e}"))?;
                cmd.fail = Some(TextMatch::Regex(re));
                break;
            }
        }
        if let Some(v) = parse_scalar_line(b) {
            cmd.expected = Expected::Scalar(v);
            break;
        }
        let (labels, vals) = parse_series_line(b).map_err(|e| format!("line {bl}: {e}"))?;
        if let EvalKind::Instant { .. } = cmd.kind {
            if cmd.range_vector.is_none() && vals.len() > 1 {
                return Err(format!(
                    "line {bl}: expecting multiple values in instant evaluation not allowed"
                ));
            }
        }
        series.push((labels, vals));
    }
    if !series.is_empty() {
        cmd.expected = Expected::Series(series);
    }
    if (cmd.no_warn && !cmd.warn.is_empty()) || (cmd.no_info && !cmd.info.is_empty()) {
        return Err(format!(
            "line {lineno}: conflicting annotation expectations"
        ));
    }
    Ok((cmd, i))
}

fn parse_scalar_line(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.contains(char::is_whitespace) {
        return None;
    }
    if let Some(v) = parse_go_int(t) {
        return Some(v as f64);
    }
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body == "inf" || body == "nan" || body == "infinity" {
        return super::series::parse_float(t).ok();
    }
    if t.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
    {
        return t.replace('_', "").parse::<f64>().ok();
    }
    None
}

/// Go's `strconv.ParseInt(s, 0, 64)`: base prefixes and octal leading 0.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = body.replace('_', "");
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        if lower.is_empty() || !lower.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        lower.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_expect(b: &str, bl: usize, cmd: &mut EvalCmd) -> Result<(), String> {
    let rest = b["expect".len()..].trim_start();
    let (kind, tail) = match rest.find(char::is_whitespace) {
        Some(p) => (&rest[..p], rest[p..].trim_start()),
        None => (rest, ""),
    };
    let matcher = if tail.is_empty() {
        TextMatch::Any
    } else if let Some(m) = tail.strip_prefix("msg:") {
        TextMatch::Exact(m.trim().to_string())
    } else if let Some(r) = tail.strip_prefix("regex:") {
        TextMatch::Regex(Regex::new(r.trim()).map_err(|e| format!("line {bl}: {e}"))?)
    } else {
        TextMatch::Any
    };
    match kind {
        "fail" => {
            if cmd.fail.is_some() {
                return Err(format!("line {bl}: multiple expect fail lines"));
            }
            cmd.fail = Some(matcher);
        }
        "warn" => cmd.warn.push(matcher),
        "info" => cmd.info.push(matcher),
        "no_warn" => cmd.no_warn = true,
        "no_info" => cmd.no_info = true,
        "ordered" => cmd.ordered = true,
        "string" => {
            let (s, _) = parse_quoted(tail).map_err(|e| format!("line {bl}: {e}"))?;
            cmd.expected = Expected::String(s);
        }
        "range" => {
            // range vector from A to B step S
            let t = tail
                .strip_prefix("vector")
                .map(str::trim_start)
                .and_then(|t| t.strip_prefix("from"))
                .ok_or_else(|| format!("line {bl}: invalid expect range vector"))?;
            let (a, t) = t
                .split_once(" to ")
                .ok_or_else(|| format!("line {bl}: invalid expect range vector"))?;
            let (bb, s) = t
                .split_once(" step ")
                .ok_or_else(|| format!("line {bl}: invalid expect range vector"))?;
            cmd.range_vector = Some((dur(a, bl)?, dur(bb, bl)?, dur(s, bl)?));
        }
        other => return Err(format!("line {bl}: unknown expect type {other:?}")),
    }
    Ok(())
}

/// Expands expected values of a range result into `(timestamp, value)`.
pub fn expected_points(vals: &[SeqValue], start: i64, step: i64) -> Vec<(i64, SeqValue)> {
    vals.iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v, SeqValue::Gap))
        .map(|(i, v)| (start + i as i64 * step, v.clone()))
        .collect()
}

/// Re-exported for the runner: parse a bare value list.
pub fn values(s: &str) -> Result<Vec<SeqValue>, SeriesError> {
    parse_values(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        let s = parse_script(
            "load 5m\n  m{a=\"1\"} 1 2\n\n# c\neval instant at 10m m\n  expect no_warn\n  m{a=\"1\"} 2\n\neval range from 0 to 10m step 5m m\n  m{a=\"1\"} 1 2 2\n\nclear\neval instant at 0 1\n  0x10\n",
        )
        .unwrap();
        assert_eq!(s.commands.len(), 4 + 1);
        let Command::Eval(e) = &s.commands[1] else {
            panic!()
        };
        assert_eq!(e.kind, EvalKind::Instant { at: 600_000 });
        assert!(e.no_warn);
        let Command::Eval(e) = &s.commands[4] else {
            panic!()
        };
        assert!(matches!(e.expected, Expected::Scalar(v) if v == 16.0));
    }

    #[test]
    fn range_split_is_greedy() {
        let s = parse_script("eval range from 0 to 1m step 30s foo\n").unwrap();
        let Command::Eval(e) = &s.commands[0] else {
            panic!()
        };
        assert_eq!(
            e.kind,
            EvalKind::Range {
                start: 0,
                end: 60_000,
                step: 30_000
            }
        );
        assert_eq!(e.expr, "foo");
    }

    #[test]
    fn go_int_octal() {
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("0"), Some(0));
        assert_eq!(parse_scalar_line("1.5"), Some(1.5));
        assert!(parse_scalar_line("NaN").unwrap().is_nan());
    }
}
