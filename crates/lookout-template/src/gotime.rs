//! Go `time.Time`, `time.Duration`, `time.Month` and `time.Weekday` as
//! template objects: Go's `String()` forms, layout-based `Format`, and the
//! methods templates commonly call (`Unix`, `Add`, `Sub`, `UTC`...).
//!
//! Times carry a fixed UTC offset and an optional zone name; there is no
//! time-zone database, so `Local` is UTC (tests and regen run with `TZ=UTC`).

use std::borrow::Cow;
use std::sync::Arc;

use crate::func::GoType;
use crate::value::{GoSignature, IntType, Kind, Object, Value};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Unix seconds of Go's zero time, January 1, year 1, 00:00:00 UTC.
pub const ZERO_UNIX: i64 = -62_135_596_800;

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m as u32, d as u32)
}

/// A civil date to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A Go `time.Time` with a fixed zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Zone offset east of UTC in seconds.
    pub offset: i32,
    /// Zone abbreviation (`UTC`); empty for unnamed fixed zones.
    pub zone: Arc<str>,
}

impl Time {
    /// Go's zero `time.Time`.
    pub fn zero() -> Time {
        Time::utc(ZERO_UNIX, 0)
    }

    /// A UTC time.
    pub fn utc(unix: i64, nanos: u32) -> Time {
        Time {
            unix,
            nanos,
            offset: 0,
            zone: Arc::from("UTC"),
        }
    }

    /// From Unix milliseconds, in UTC.
    pub fn from_unix_millis(ms: i64) -> Time {
        Time::utc(
            ms.div_euclid(1000),
            (ms.rem_euclid(1000) * 1_000_000) as u32,
        )
    }

    /// Parses RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`) the way Go's
    /// JSON decoding of `time.Time` does; offset 0 is named `UTC`.
    pub fn parse_rfc3339(s: &str) -> Option<Time> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
        let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || d == 0 || d > 31 {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &s[start..i];
            if frac.is_empty() {
                return None;
            }
            let mut digits: String = frac.chars().take(9).collect();
            while digits.len() < 9 {
                digits.push('0');
            }
            nanos = digits.parse().ok()?;
        }
        let offset: i32 = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&c @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh: i32 = s.get(i + 1..i + 3)?.parse().ok()?;
                let om: i32 = s.get(i + 4..i + 6)?.parse().ok()?;
                let o = oh * 3600 + om * 60;
                if c == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        let unix = days * 86400 + h * 3600 + mi * 60 + se - offset as i64;
        Some(Time {
            unix,
            nanos,
            offset,
            zone: Arc::from(if offset == 0 { "UTC" } else { "" }),
        })
    }

    fn local_secs(&self) -> i64 {
        self.unix + self.offset as i64
    }

    /// Year, month, day in the time's zone.
    pub fn date(&self) -> (i64, u32, u32) {
        civil_from_days(self.local_secs().div_euclid(86400))
    }

    /// Hour, minute, second in the time's zone.
    pub fn clock(&self) -> (u32, u32, u32) {
        let s = self.local_secs().rem_euclid(86400);
        ((s / 3600) as u32, ((s / 60) % 60) as u32, (s % 60) as u32)
    }

    /// Day of week, 0 = Sunday.
    pub fn weekday(&self) -> u32 {
        (self.local_secs().div_euclid(86400) + 4).rem_euclid(7) as u32
    }

    /// Day of year, 1-based.
    pub fn year_day(&self) -> u32 {
        let (y, _, _) = self.date();
        (self.local_secs().div_euclid(86400) - days_from_civil(y, 1, 1) + 1) as u32
    }

    /// Nanoseconds since the epoch (saturating like Go's overflow is not).
    pub fn unix_nanos(&self) -> i128 {
        self.unix as i128 * 1_000_000_000 + self.nanos as i128
    }

    fn from_nanos(n: i128, offset: i32, zone: Arc<str>) -> Time {
        Time {
            unix: n.div_euclid(1_000_000_000) as i64,
            nanos: n.rem_euclid(1_000_000_000) as u32,
            offset,
            zone,
        }
    }

    /// Go's `Time.Format` with a reference layout.
    pub fn format(&self, layout: &str) -> String {
        format_time(self, layout)
    }

    /// Go's `Time.String()`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// The same instant in UTC.
    pub fn to_utc(&self) -> Time {
        Time::utc(self.unix, self.nanos)
    }
}

fn time_type() -> GoType {
    GoType::named("time.Time", Kind::Struct)
}
fn duration_type() -> GoType {
    GoType::named("time.Duration", Kind::Int)
}

fn int_arg(v: &Value) -> i64 {
    match v.basic().as_ref() {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        _ => 0,
    }
}

fn time_arg(v: &Value) -> Result<Time, String> {
    as_time(v).ok_or_else(|| format!("expected time.Time; got {}", v.type_name()))
}

/// Extracts a [`Time`] from a value made by [`Value::from`]`(Time)`.
pub fn as_time(v: &Value) -> Option<Time> {
    match v {
        Value::Object(o) => o
            .as_any()?
            .downcast_ref::<TimeObject>()
            .map(|t| t.t.clone()),
        _ => None,
    }
}

/// A `time.Time` template object (`*time.Time` when `pointer` is set, as
/// Prometheus' `toTime` returns).
#[derive(Debug, Clone)]
struct TimeObject {
    t: Time,
    pointer: bool,
}

impl From<Time> for Value {
    fn from(t: Time) -> Value {
        Value::object(TimeObject { t, pointer: false })
    }
}

/// A `*time.Time` value.
pub fn time_pointer(t: Time) -> Value {
    Value::object(TimeObject { t, pointer: true })
}

impl Object for TimeObject {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(if self.pointer {
            "*time.Time"
        } else {
            "time.Time"
        })
    }
    fn is_pointer(&self) -> bool {
        self.pointer
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn go_string(&self) -> Option<String> {
        Some(self.t.go_string())
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        let none = || Some(GoSignature::new(vec![]));
        match name {
            "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "Year" | "Month" | "Day" | "Hour"
            | "Minute" | "Second" | "Nanosecond" | "YearDay" | "Weekday" | "UTC" | "Local"
            | "IsZero" | "String" => none(),
            "Format" => Some(GoSignature::new(vec![GoType::String])),
            "Add" | "Truncate" | "Round" => Some(GoSignature::new(vec![duration_type()])),
            "Sub" | "Before" | "After" | "Equal" => Some(GoSignature::new(vec![time_type()])),
            "AddDate" => Some(GoSignature::new(vec![
                GoType::Int(IntType::Int),
                GoType::Int(IntType::Int),
                GoType::Int(IntType::Int),
            ])),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let t = &self.t;
        let i64v = |v: i64| Value::Int(v, IntType::Int64);
        let a0 = args.first().cloned().unwrap_or_default();
        Ok(match name {
            "Unix" => i64v(t.unix),
            "UnixMilli" => i64v((t.unix_nanos() / 1_000_000) as i64),
            "UnixMicro" => i64v((t.unix_nanos() / 1_000) as i64),
            "UnixNano" => i64v(t.unix_nanos() as i64),
            "Year" => Value::int(t.date().0),
            "Month" => Value::object(Month(t.date().1)),
            "Day" => Value::int(t.date().2 as i64),
            "Hour" => Value::int(t.clock().0 as i64),
            "Minute" => Value::int(t.clock().1 as i64),
            "Second" => Value::int(t.clock().2 as i64),
            "Nanosecond" => Value::int(t.nanos as i64),
            "YearDay" => Value::int(t.year_day() as i64),
            "Weekday" => Value::object(Weekday(t.weekday())),
            "UTC" | "Local" => Value::from(t.to_utc()),
            "IsZero" => Value::Bool(t.unix == ZERO_UNIX && t.nanos == 0),
            "String" => Value::from(t.go_string()),
            "Format" => Value::from(t.format(a0.as_str().unwrap_or(""))),
            "Add" => Value::from(Time::from_nanos(
                t.unix_nanos() + int_arg(&a0) as i128,
                t.offset,
                t.zone.clone(),
            )),
            "Truncate" | "Round" => {
                let d = int_arg(&a0) as i128;
                if d <= 0 {
                    return Ok(Value::from(t.clone()));
                }
                // Go rounds relative to the zero time.
                let since_zero = t.unix_nanos() - ZERO_UNIX as i128 * 1_000_000_000;
                let r = since_zero.rem_euclid(d);
                let mut n = t.unix_nanos() - r;
                if name == "Round" && r + r >= d {
                    n += d;
                }
                Value::from(Time::from_nanos(n, t.offset, t.zone.clone()))
            }
            "Sub" => {
                let o = time_arg(&a0)?;
                let d = (t.unix_nanos() - o.unix_nanos()).clamp(i64::MIN as i128, i64::MAX as i128);
                duration(d as i64)
            }
            "Before" => Value::Bool(t.unix_nanos() < time_arg(&a0)?.unix_nanos()),
            "After" => Value::Bool(t.unix_nanos() > time_arg(&a0)?.unix_nanos()),
            "Equal" => Value::Bool(t.unix_nanos() == time_arg(&a0)?.unix_nanos()),
            "AddDate" => {
                let (y, m, d) = t.date();
                let ny = y + int_arg(&a0);
                let nm = m as i64 - 1 + int_arg(args.get(1).unwrap_or(&Value::Invalid));
                let ny = ny + nm.div_euclid(12);
                let nm = nm.rem_euclid(12) as u32 + 1;
                let days = days_from_civil(ny, nm, 1) + d as i64 - 1
                    + int_arg(args.get(2).unwrap_or(&Value::Invalid));
                let secs = t.local_secs().rem_euclid(86400);
                let unix = days * 86400 + secs - t.offset as i64;
                Value::from(Time {
                    unix,
                    nanos: t.nanos,
                    offset: t.offset,
                    zone: t.zone.clone(),
                })
            }
            _ => return Err(format!("no method {name}")),
        })
    }
}

/// A `time.Month`.
#[derive(Debug, Clone, Copy)]
pub struct Month(pub u32);
impl Object for Month {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("time.Month")
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::int(self.0 as i64))
    }
    fn go_string(&self) -> Option<String> {
        Some(match MONTHS.get((self.0 as usize).wrapping_sub(1)) {
            Some(m) => m.to_string(),
            None => format!("%!Month({})", self.0),
        })
    }
}

/// A `time.Weekday`.
#[derive(Debug, Clone, Copy)]
pub struct Weekday(pub u32);
impl Object for Weekday {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("time.Weekday")
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::int(self.0 as i64))
    }
    fn go_string(&self) -> Option<String> {
        Some(match DAYS.get(self.0 as usize) {
            Some(d) => d.to_string(),
            None => format!("%!Weekday({})", self.0),
        })
    }
}

/// A `time.Duration` value (nanoseconds).
pub fn duration(ns: i64) -> Value {
    Value::object(Duration(ns))
}

#[derive(Debug, Clone, Copy)]
struct Duration(i64);

impl Object for Duration {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("time.Duration")
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::Int(self.0, IntType::Int64))
    }
    fn go_string(&self) -> Option<String> {
        Some(lookout_model::format_go_duration(self.0))
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        match name {
            "String" | "Hours" | "Minutes" | "Seconds" | "Milliseconds" | "Microseconds"
            | "Nanoseconds" | "Abs" => Some(GoSignature::new(vec![])),
            "Round" | "Truncate" => Some(GoSignature::new(vec![duration_type()])),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let d = self.0;
        let i64v = |v: i64| Value::Int(v, IntType::Int64);
        Ok(match name {
            "String" => Value::from(lookout_model::format_go_duration(d)),
            "Hours" => {
                let h = d / 3_600_000_000_000;
                let ns = d % 3_600_000_000_000;
                Value::Float(h as f64 + ns as f64 / 3.6e12)
            }
            "Minutes" => {
                let m = d / 60_000_000_000;
                let ns = d % 60_000_000_000;
                Value::Float(m as f64 + ns as f64 / 6e10)
            }
            "Seconds" => {
                let s = d / 1_000_000_000;
                let ns = d % 1_000_000_000;
                Value::Float(s as f64 + ns as f64 / 1e9)
            }
            "Milliseconds" => i64v(d / 1_000_000),
            "Microseconds" => i64v(d / 1_000),
            "Nanoseconds" => i64v(d),
            "Abs" => duration(if d == i64::MIN { i64::MAX } else { d.abs() }),
            "Truncate" | "Round" => {
                let m = int_arg(args.first().unwrap_or(&Value::Invalid));
                if m <= 0 {
                    return Ok(duration(d));
                }
                let mut r = d - d % m;
                if name == "Round" {
                    let rem = (d % m).abs();
                    if rem + rem >= m {
                        r += if d < 0 { -m } else { m };
                    }
                }
                duration(r)
            }
            _ => return Err(format!("no method {name}")),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Iso(&'static str),
    Num(&'static str),
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

fn next_std_chunk(layout: &str) -> (usize, Option<(Std, usize)>) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    let lower_after = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_lowercase());
    for i in 0..b.len() {
        match b[i] {
            b'J' if starts(i, "Jan") => {
                if starts(i, "January") {
                    return (i, Some((Std::LongMonth, 7)));
                }
                if !lower_after(i + 3) {
                    return (i, Some((Std::Month, 3)));
                }
            }
            b'M' => {
                if starts(i, "Mon") {
                    if starts(i, "Monday") {
                        return (i, Some((Std::LongWeekDay, 6)));
                    }
                    if !lower_after(i + 3) {
                        return (i, Some((Std::WeekDay, 3)));
                    }
                }
                if starts(i, "MST") {
                    return (i, Some((Std::Tz, 3)));
                }
            }
            b'0' => {
                if let Some(&c) = b.get(i + 1) {
                    if (b'1'..=b'6').contains(&c) {
                        let s = [
                            Std::ZeroMonth,
                            Std::ZeroDay,
                            Std::ZeroHour12,
                            Std::ZeroMinute,
                            Std::ZeroSecond,
                            Std::Year,
                        ][(c - b'1') as usize];
                        return (i, Some((s, 2)));
                    }
                }
                if starts(i, "002") {
                    return (i, Some((Std::ZeroYearDay, 3)));
                }
            }
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    return (i, Some((Std::Hour, 2)));
                }
                return (i, Some((Std::NumMonth, 1)));
            }
            b'2' => {
                if starts(i, "2006") {
                    return (i, Some((Std::LongYear, 4)));
                }
                return (i, Some((Std::Day, 1)));
            }
            b'_' => {
                if b.get(i + 1) == Some(&b'2') {
                    if starts(i + 1, "2006") {
                        return (i + 1, Some((Std::LongYear, 4)));
                    }
                    return (i, Some((Std::UnderDay, 2)));
                }
                if starts(i, "__2") {
                    return (i, Some((Std::UnderYearDay, 3)));
                }
            }
            b'3' => return (i, Some((Std::Hour12, 1))),
            b'4' => return (i, Some((Std::Minute, 1))),
            b'5' => return (i, Some((Std::Second, 1))),
            b'P' if b.get(i + 1) == Some(&b'M') => return (i, Some((Std::PM, 2))),
            b'p' if b.get(i + 1) == Some(&b'm') => return (i, Some((Std::Pm, 2))),
            b'-' => {
                for p in ["-070000", "-07:00:00", "-0700", "-07:00", "-07"] {
                    if starts(i, p) {
                        return (i, Some((Std::Num(p), p.len())));
                    }
                }
            }
            b'Z' => {
                for p in ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"] {
                    if starts(i, p) {
                        return (i, Some((Std::Iso(p), p.len())));
                    }
                }
            }
            c @ (b'.' | b',') => {
                if let Some(&d) = b.get(i + 1) {
                    if d == b'0' || d == b'9' {
                        let mut j = i + 1;
                        while j < b.len() && b[j] == d {
                            j += 1;
                        }
                        if !b.get(j).is_some_and(|c| c.is_ascii_digit()) {
                            return (
                                i,
                                Some((
                                    Std::Frac {
                                        sep: c as char,
                                        digits: j - (i + 1),
                                        trim: d == b'9',
                                    },
                                    j - i,
                                )),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (b.len(), None)
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0w$}", -n, w = width)
    } else {
        format!("{:0w$}", n, w = width)
    }
}

fn format_time(t: &Time, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    let (year, month, day) = t.date();
    let (hour, min, sec) = t.clock();
    while !rest.is_empty() {
        let (i, std) = next_std_chunk(rest);
        out.push_str(&rest[..i]);
        let Some((std, len)) = std else {
            break;
        };
        rest = &rest[i + len..];
        match std {
            Std::Year => out.push_str(&pad(year.rem_euclid(100), 2)),
            Std::LongYear => out.push_str(&pad(year, 4)),
            Std::Month => out.push_str(&MONTHS[month as usize - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[month as usize - 1]),
            Std::NumMonth => out.push_str(&month.to_string()),
            Std::ZeroMonth => out.push_str(&pad(month as i64, 2)),
            Std::WeekDay => out.push_str(&DAYS[t.weekday() as usize][..3]),
            Std::LongWeekDay => out.push_str(DAYS[t.weekday() as usize]),
            Std::Day => out.push_str(&day.to_string()),
            Std::UnderDay => out.push_str(&format!("{day:>2}")),
            Std::ZeroDay => out.push_str(&pad(day as i64, 2)),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", t.year_day())),
            Std::ZeroYearDay => out.push_str(&pad(t.year_day() as i64, 3)),
            Std::Hour => out.push_str(&pad(hour as i64, 2)),
            Std::Hour12 => {
                let h = if hour % 12 == 0 { 12 } else { hour % 12 };
                out.push_str(&h.to_string());
            }
            Std::ZeroHour12 => {
                let h = if hour % 12 == 0 { 12 } else { hour % 12 };
                out.push_str(&pad(h as i64, 2));
            }
            Std::Minute => out.push_str(&min.to_string()),
            Std::ZeroMinute => out.push_str(&pad(min as i64, 2)),
            Std::Second => out.push_str(&sec.to_string()),
            Std::ZeroSecond => out.push_str(&pad(sec as i64, 2)),
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::Iso(p) | Std::Num(p) => {
                let iso = matches!(std, Std::Iso(_));
                if iso && t.offset == 0 {
                    out.push('Z');
                    continue;
                }
                let mut zone = t.offset / 60;
                let mut abs = t.offset;
                if zone < 0 {
                    out.push('-');
                    zone = -zone;
                    abs = -abs;
                } else {
                    out.push('+');
                }
                out.push_str(&pad((zone / 60) as i64, 2));
                let body = &p[1..];
                if body.contains(':') {
                    out.push(':');
                }
                if body != "07" {
                    out.push_str(&pad((zone % 60) as i64, 2));
                }
                if body == "070000" || body == "07:00:00" {
                    if body.contains(':') {
                        out.push(':');
                    }
                    out.push_str(&pad((abs % 60) as i64, 2));
                }
            }
            Std::Tz => {
                if !t.zone.is_empty() {
                    out.push_str(&t.zone);
                } else {
                    let mut zone = t.offset / 60;
                    if zone < 0 {
                        out.push('-');
                        zone = -zone;
                    } else {
                        out.push('+');
                    }
                    out.push_str(&pad((zone / 60) as i64, 2));
                    out.push_str(&pad((zone % 60) as i64, 2));
                }
            }
            Std::Frac { sep, digits, trim } => {
                if trim && (digits == 0 || t.nanos == 0) {
                    continue;
                }
                let mut f = format!("{:09}", t.nanos);
                f.truncate(digits.min(9));
                if trim {
                    while f.ends_with('0') {
                        f.pop();
                    }
                    if f.is_empty() {
                        continue;
                    }
                }
                out.push(sep);
                out.push_str(&f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_strings() {
        let t = Time::parse_rfc3339("2015-06-23T13:19:44.128Z").unwrap();
        assert_eq!(t.go_string(), "2015-06-23 13:19:44.128 +0000 UTC");
        assert_eq!(Time::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
        let t = Time::parse_rfc3339("2024-05-01T10:00:00+02:00").unwrap();
        assert_eq!(t.go_string(), "2024-05-01 10:00:00 +0200 +0200");
        assert_eq!(
            t.format("Mon Jan _2 3:04PM 2006 Z07:00"),
            "Wed May  1 10:00AM 2024 +02:00"
        );
    }
}
