//! `label_replace`, `label_join` and the sort functions.

use lookout_model::{LabelsBuilder, METRIC_NAME};

use super::*;
use crate::engine::annotations::go_quote;

fn is_valid_label_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('\u{FFFD}')
}

fn string_arg(e: &Expr) -> Result<(String, bool)> {
    let mut e = e;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    match e {
        Expr::StringLiteral(s) => Ok((s.value.clone(), s.invalid_utf8.is_some())),
        _ => Err(QueryError::exec("expected a string literal")),
    }
}

/// Expands `$1`, `${1}`, `$name` in a replacement like Go's
/// `regexp.Expand`.
fn expand_template(template: &str, caps: &regex::Captures, re: &regex::Regex) -> String {
    let mut out = String::new();
    let b = template.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let ch = template[i..].chars().next().unwrap_or('\0');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        if b.get(i + 1) == Some(&b'$') {
            out.push('$');
            i += 2;
            continue;
        }
        let (name, next) = if b.get(i + 1) == Some(&b'{') {
            match template[i + 2..].find('}') {
                Some(end) => (&template[i + 2..i + 2 + end], i + 3 + end),
                None => {
                    out.push('$');
                    i += 1;
                    continue;
                }
            }
        } else {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            (&template[start..j], j)
        };
        if name.is_empty() {
            out.push('$');
            i += 1;
            continue;
        }
        let val = if let Ok(idx) = name.parse::<usize>() {
            caps.get(idx).map(|m| m.as_str()).unwrap_or("")
        } else if re.capture_names().any(|n| n == Some(name)) {
            caps.name(name).map(|m| m.as_str()).unwrap_or("")
        } else {
            ""
        };
        out.push_str(val);
        i = next;
    }
    out
}

impl Evaluator<'_> {
    pub(crate) fn label_replace(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let (dst, dst_bad) = string_arg(&c.args[1])?;
        let (repl, _) = string_arg(&c.args[2])?;
        let (src, _) = string_arg(&c.args[3])?;
        let (pat, _) = string_arg(&c.args[4])?;
        let translated = lookout_model::matcher::go_compatible_pattern(&pat);
        let re = regex::Regex::new(&format!("^(?s:{translated})$")).map_err(|e| {
            QueryError::exec(format!(
                "invalid regular expression in label_replace(): {pat}: {e}"
            ))
        })?;
        if dst_bad || !is_valid_label_name(&dst) {
            return Err(QueryError::exec(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        let mut v = self.eval_vector(&c.args[0], grid)?;
        for s in v.iter_mut() {
            let srcv = s.labels.get(&src).unwrap_or("").to_string();
            if let Some(caps) = re.captures(&srcv) {
                let res = expand_template(&repl, &caps, &re);
                s.labels = with_label(&s.labels, &dst, &res);
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
        }
        merge_same_labels(&mut v)?;
        Ok(Val::Vector(v))
    }

    pub(crate) fn label_join(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let (dst, dst_bad) = string_arg(&c.args[1])?;
        let (sep, _) = string_arg(&c.args[2])?;
        let mut srcs = Vec::new();
        for a in &c.args[3..] {
            let (s, bad) = string_arg(a)?;
            if bad || !is_valid_label_name(&s) {
                return Err(QueryError::exec(format!(
                    "invalid source label name in label_join(): {s}"
                )));
            }
            srcs.push(s);
        }
        if dst_bad || !is_valid_label_name(&dst) {
            return Err(QueryError::exec(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        let mut v = self.eval_vector(&c.args[0], grid)?;
        for s in v.iter_mut() {
            let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
            let val = joined.join(&sep);
            s.labels = with_label(&s.labels, &dst, &val);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
        merge_same_labels(&mut v)?;
        Ok(Val::Vector(v))
    }

    pub(crate) fn sort_fn(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let name = c.func.name;
        let mut v = self.eval_vector(&c.args[0], grid)?;
        if grid.len() > 1 {
            self.annos.warn(
                "sort is ineffective for range queries since results are always ordered by labels",
                c.pos,
            );
            return Ok(Val::Vector(v));
        }
        match name {
            "sort" | "sort_desc" => {
                let desc = name == "sort_desc";
                v.retain(|s| s.pts.iter().any(|p| matches!(p.v, V::F(_))));
                v.sort_by(|a, b| {
                    let fa = first_float(a);
                    let fb = first_float(b);
                    // NaN sorts last in both directions.
                    match (fa.is_nan(), fb.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ => {
                            let o = fa.partial_cmp(&fb).unwrap_or(std::cmp::Ordering::Equal);
                            if desc {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    }
                });
            }
            _ => {
                let desc = name == "sort_by_label_desc";
                let mut names = Vec::new();
                for a in &c.args[1..] {
                    names.push(string_arg(a)?.0);
                }
                v.sort_by(|a, b| {
                    for n in &names {
                        let o = natural_cmp(
                            a.labels.get(n).unwrap_or(""),
                            b.labels.get(n).unwrap_or(""),
                        );
                        if o != std::cmp::Ordering::Equal {
                            return if desc { o.reverse() } else { o };
                        }
                    }
                    let o = a.labels.cmp(&b.labels);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
            }
        }
        Ok(Val::Vector(v))
    }
}

fn first_float(s: &SeriesV) -> f64 {
    s.pts
        .iter()
        .find_map(|p| match p.v {
            V::F(f) => Some(f),
            _ => None,
        })
        .unwrap_or(f64::NAN)
}

/// Natural ("version") ordering: digit runs compare numerically.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Equal {
                return o;
            }
        } else {
            let o = ab[i].cmp(&bb[j]);
            if o != Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

#[allow(dead_code)]
fn unused(_: LabelsBuilder) -> String {
    go_quote("")
}
