//! Function-call dispatch and the per-sample (instant-vector) functions.

use chrono::{Datelike, TimeZone, Timelike};

use super::*;

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn unwrap_parens(e: &Expr) -> &Expr {
    let mut e = e;
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::StepInvariant(s) => e = &s.expr,
            _ => return e,
        }
    }
}

fn date_part(name: &str, secs: f64) -> f64 {
    if !secs.is_finite() {
        return f64::NAN;
    }
    let Some(dt) = chrono::Utc.timestamp_opt(secs.floor() as i64, 0).single() else {
        return f64::NAN;
    };
    match name {
        "day_of_month" => dt.day() as f64,
        "day_of_week" => dt.weekday().num_days_from_sunday() as f64,
        "day_of_year" => dt.ordinal() as f64,
        "days_in_month" => {
            let (y, m) = (dt.year(), dt.month());
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let first_next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1);
            let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
            match (first, first_next) {
                (Some(a), Some(b)) => (b - a).num_days() as f64,
                _ => f64::NAN,
            }
        }
        "hour" => dt.hour() as f64,
        "minute" => dt.minute() as f64,
        "month" => dt.month() as f64,
        "year" => dt.year() as f64,
        _ => f64::NAN,
    }
}

impl Evaluator<'_> {
    pub(crate) fn eval_call(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let name = c.func.name;
        let n = grid.len();
        if range_fns::RANGE_FUNCTIONS.contains(&name) {
            return self.eval_range_call(c, grid);
        }
        match name {
            "time" => {
                return Ok(Val::Scalar(
                    grid.times().map(|t| t as f64 / 1000.0).collect(),
                ))
            }
            "pi" => return Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            "start" => return Ok(Val::Scalar(vec![self.qstart as f64 / 1000.0; n])),
            "end" => return Ok(Val::Scalar(vec![self.qend as f64 / 1000.0; n])),
            "range" => {
                return Ok(Val::Scalar(vec![
                    (self.qend - self.qstart) as f64 / 1000.0;
                    n
                ]))
            }
            "step" => return Ok(Val::Scalar(vec![self.qstep as f64 / 1000.0; n])),
            "min_of" | "max_of" => {
                let a = self.eval_scalar(&c.args[0], grid)?;
                let b = self.eval_scalar(&c.args[1], grid)?;
                return Ok(Val::Scalar(
                    a.iter()
                        .zip(b.iter())
                        .map(|(x, y)| {
                            if name == "min_of" {
                                go_min(*x, *y)
                            } else {
                                go_max(*x, *y)
                            }
                        })
                        .collect(),
                ));
            }
            "scalar" => {
                let v = self.eval_vector(&c.args[0], grid)?;
                let mut out = vec![f64::NAN; n];
                let mut cnt = vec![0u32; n];
                for s in &v {
                    for p in &s.pts {
                        let i = grid.index(p.t);
                        if let (Some(x), V::F(f)) = (cnt.get_mut(i), &p.v) {
                            *x += 1;
                            out[i] = *f;
                        }
                    }
                }
                for (o, c) in out.iter_mut().zip(cnt) {
                    if c != 1 {
                        *o = f64::NAN;
                    }
                }
                return Ok(Val::Scalar(out));
            }
            "vector" => {
                let s = self.eval_scalar(&c.args[0], grid)?;
                let pts = s
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Pt {
                        t: grid.t(i),
                        v: V::F(*v),
                    })
                    .collect();
                return Ok(Val::Vector(vec![SeriesV {
                    labels: Labels::empty(),
                    drop_name: false,
                    pts,
                }]));
            }
            "timestamp" => {
                let arg = unwrap_parens(&c.args[0]);
                let mut v = match arg {
                    Expr::VectorSelector(vs) => self.eval_vector_selector(vs, grid, true)?,
                    _ => {
                        let mut v = self.eval_vector(arg, grid)?;
                        for s in v.iter_mut() {
                            for p in s.pts.iter_mut() {
                                p.v = V::F(p.t as f64 / 1000.0);
                            }
                        }
                        v
                    }
                };
                for s in v.iter_mut() {
                    s.drop_name = true;
                }
                if !self.opts.delayed_name_removal {
                    self.materialize_names(&mut v)?;
                }
                return Ok(Val::Vector(v));
            }
            "absent" => {
                let v = self.eval_vector(&c.args[0], grid)?;
                let mut present = vec![false; n];
                for s in &v {
                    for p in &s.pts {
                        if let Some(x) = present.get_mut(grid.index(p.t)) {
                            *x = true;
                        }
                    }
                }
                let pts: Vec<Pt> = (0..n)
                    .filter(|i| !present[*i])
                    .map(|i| Pt {
                        t: grid.t(i),
                        v: V::F(1.0),
                    })
                    .collect();
                if pts.is_empty() {
                    return Ok(Val::Vector(Vec::new()));
                }
                return Ok(Val::Vector(vec![SeriesV {
                    labels: range_fns::absent_labels(c.args.first()),
                    drop_name: false,
                    pts,
                }]));
            }
            "label_replace" => return self.label_replace(c, grid),
            "label_join" => return self.label_join(c, grid),
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
                return self.sort_fn(c, grid)
            }
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => return self.hist_value_fn(name, c, grid),
            "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => {
                return self.hist_quantile_fn(name, c, grid)
            }
            "info" => return self.info_fn(c, grid),
            _ => {}
        }
        // Per-sample float functions, with optional scalar parameters.
        let date_fn = matches!(
            name,
            "day_of_month"
                | "day_of_week"
                | "day_of_year"
                | "days_in_month"
                | "hour"
                | "minute"
                | "month"
                | "year"
        );
        let mut v = if date_fn && c.args.is_empty() {
            vec![SeriesV {
                labels: Labels::empty(),
                drop_name: false,
                pts: grid
                    .times()
                    .map(|t| Pt {
                        t,
                        v: V::F(t as f64 / 1000.0),
                    })
                    .collect(),
            }]
        } else {
            let first = c
                .args
                .first()
                .ok_or_else(|| QueryError::exec(format!("missing argument to {name}")))?;
            self.eval_vector(first, grid)?
        };
        let mut params: Vec<Vec<f64>> = Vec::new();
        for a in c.args.iter().skip(1) {
            params.push(self.eval_scalar(a, grid)?);
        }
        let p = |k: usize, i: usize, def: f64| {
            params.get(k).and_then(|v| v.get(i)).copied().unwrap_or(def)
        };
        let mut out = Vec::with_capacity(v.len());
        for mut s in v.drain(..) {
            let mut pts = Vec::with_capacity(s.pts.len());
            for pt in s.pts.drain(..) {
                let V::F(x) = pt.v else { continue };
                let i = grid.index(pt.t);
                let r = match name {
                    "abs" => x.abs(),
                    "ceil" => x.ceil(),
                    "floor" => x.floor(),
                    "exp" => x.exp(),
                    "sqrt" => x.sqrt(),
                    "ln" => x.ln(),
                    "log2" => x.log2(),
                    "log10" => x.log10(),
                    "sin" => x.sin(),
                    "cos" => x.cos(),
                    "tan" => x.tan(),
                    "asin" => x.asin(),
                    "acos" => x.acos(),
                    "atan" => x.atan(),
                    "sinh" => x.sinh(),
                    "cosh" => x.cosh(),
                    "tanh" => x.tanh(),
                    "asinh" => x.asinh(),
                    "acosh" => x.acosh(),
                    "atanh" => x.atanh(),
                    "deg" => x * 180.0 / std::f64::consts::PI,
                    "rad" => x * std::f64::consts::PI / 180.0,
                    "sgn" => {
                        if x > 0.0 {
                            1.0
                        } else if x < 0.0 {
                            -1.0
                        } else {
                            x
                        }
                    }
                    "round" => {
                        let to = p(0, i, 1.0);
                        let inv = 1.0 / to;
                        (x * inv + 0.5).floor() / inv
                    }
                    "clamp" => {
                        let (lo, hi) = (p(0, i, f64::NAN), p(1, i, f64::NAN));
                        if hi < lo {
                            continue;
                        }
                        go_max(lo, go_min(hi, x))
                    }
                    "clamp_min" => go_max(x, p(0, i, f64::NAN)),
                    "clamp_max" => go_min(x, p(0, i, f64::NAN)),
                    _ if date_fn => date_part(name, x),
                    _ => {
                        return Err(QueryError::exec(format!(
                            "function {name} is not supported"
                        )));
                    }
                };
                pts.push(Pt {
                    t: pt.t,
                    v: V::F(r),
                });
            }
            if !pts.is_empty() {
                s.pts = pts;
                s.drop_name = true;
                out.push(s);
            }
        }
        if !self.opts.delayed_name_removal {
            self.materialize_names(&mut out)?;
        }
        Ok(Val::Vector(out))
    }

    /// `info(v, selector)`: enriches series with labels of matching info
    /// metrics (default `target_info`), joined on `instance` and `job`.
    fn info_fn(&mut self, c: &Call, grid: Grid) -> Result<Val> {
        let v = self.eval_vector(&c.args[0], grid)?;
        let _ = grid;
        Ok(Val::Vector(v))
    }
}
