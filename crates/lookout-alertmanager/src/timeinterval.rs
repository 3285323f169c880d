//! Named time intervals (`time_intervals`, `mute_time_intervals`) and the
//! test "is this instant inside the interval".
//!
//! A spec matches when every field it sets matches; a named interval matches
//! when any of its specs does. Ranges are inclusive except `times`, whose end
//! is exclusive. Weeks start on Sunday.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// `{name, time_intervals: [spec]}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// Unique name.
    pub name: String,
    /// Specs; any matching spec makes the interval match.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpecConfig>,
}

/// `{start_time, end_time}` as written (`HH:MM`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    /// Inclusive start.
    pub start_time: String,
    /// Exclusive end (`24:00` allowed).
    pub end_time: String,
}

/// One spec as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpecConfig {
    /// Times of day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<TimeRangeConfig>>,
    /// Weekday names or ranges (`monday:friday`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<Vec<String>>,
    /// Days of month, negative counts from the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_month: Option<Vec<String>>,
    /// Month names or numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<Vec<String>>,
    /// Years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<Vec<String>>,
    /// IANA zone name, `Local` or `UTC` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Clone, Debug)]
enum Location {
    Utc,
    Local,
    Zone(chrono_tz::Tz),
}

/// A compiled spec.
#[derive(Clone, Debug)]
pub struct TimeIntervalSpec {
    times: Option<Vec<(u32, u32)>>,
    weekdays: Option<Vec<(u32, u32)>>,
    days_of_month: Option<Vec<(i32, i32)>>,
    months: Option<Vec<(u32, u32)>>,
    years: Option<Vec<(i32, i32)>>,
    location: Location,
}

/// A compiled named interval.
#[derive(Clone, Debug)]
pub struct TimeInterval {
    /// Name.
    pub name: String,
    /// Specs.
    pub specs: Vec<TimeIntervalSpec>,
}

impl TimeInterval {
    /// Compiles a config entry.
    pub fn compile(cfg: &TimeIntervalConfig) -> Result<Self, String> {
        let specs = cfg
            .time_intervals
            .iter()
            .map(TimeIntervalSpec::compile)
            .collect::<Result<_, _>>()?;
        Ok(TimeInterval {
            name: cfg.name.clone(),
            specs,
        })
    }

    /// Whether `t` is inside any spec.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.specs.iter().any(|s| s.contains(t))
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn split_range(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

fn parse_minutes(s: &str) -> Result<u32, String> {
    let bad = || format!("couldn't parse timestamp {s}, invalid format");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return Err(format!(
            "timestamps must be in the range 00:00 to 24:00: {s}"
        ));
    }
    Ok(h * 60 + m)
}

impl TimeIntervalSpec {
    fn compile(c: &TimeIntervalSpecConfig) -> Result<Self, String> {
        let times = c
            .times
            .as_ref()
            .map(|ts| {
                ts.iter()
                    .map(|t| {
                        let a = parse_minutes(&t.start_time)?;
                        let b = parse_minutes(&t.end_time)?;
                        if a >= b {
                            return Err(
                                "start time cannot be equal or greater than end time".into()
                            );
                        }
                        Ok((a, b))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let weekdays = c
            .weekdays
            .as_ref()
            .map(|ws| {
                ws.iter()
                    .map(|w| {
                        let day = |d: &str| -> Result<u32, String> {
                            let l = d.trim().to_lowercase();
                            WEEKDAYS
                                .iter()
                                .position(|n| *n == l)
                                .map(|i| i as u32)
                                .ok_or_else(|| format!("{d} is not a valid weekday"))
                        };
                        let (a, b) = split_range(w);
                        let start = day(a)?;
                        let end = match b {
                            Some(b) => day(b)?,
                            None => start,
                        };
                        if start > end {
                            return Err("start day cannot be before end day".into());
                        }
                        Ok((start, end))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let days_of_month = c
            .days_of_month
            .as_ref()
            .map(|ds| {
                ds.iter()
                    .map(|d| {
                        let num = |s: &str| -> Result<i32, String> {
                            let v: i32 = s
                                .trim()
                                .parse()
                                .map_err(|_| format!("{s} is not a valid day of the month"))?;
                            if v == 0 || !(-31..=31).contains(&v) {
                                return Err(format!(
                                    "{v} is not a valid day of the month: out of range"
                                ));
                            }
                            Ok(v)
                        };
                        let (a, b) = split_range(d);
                        let start = num(a)?;
                        let end = match b {
                            Some(b) => num(b)?,
                            None => start,
                        };
                        if start < 0 && end > 0 {
                            return Err("end day must be negative if start day is negative".into());
                        }
                        if (start > 0 && end > 0 || start < 0 && end < 0) && start > end {
                            return Err("end day must not be before start day".into());
                        }
                        Ok((start, end))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let months = c
            .months
            .as_ref()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        let month = |s: &str| -> Result<u32, String> {
                            let l = s.trim().to_lowercase();
                            if let Some(i) = MONTHS.iter().position(|n| *n == l) {
                                return Ok(i as u32 + 1);
                            }
                            match l.parse::<u32>() {
                                Ok(v) if (1..=12).contains(&v) => Ok(v),
                                _ => Err(format!("{s} is not a valid month")),
                            }
                        };
                        let (a, b) = split_range(m);
                        let start = month(a)?;
                        let end = match b {
                            Some(b) => month(b)?,
                            None => start,
                        };
                        if start > end {
                            return Err("end month must not be before start month".into());
                        }
                        Ok((start, end))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let years = c
            .years
            .as_ref()
            .map(|ys| {
                ys.iter()
                    .map(|y| {
                        let year = |s: &str| -> Result<i32, String> {
                            s.trim()
                                .parse()
                                .map_err(|_| format!("{s} is not a valid year"))
                        };
                        let (a, b) = split_range(y);
                        let start = year(a)?;
                        let end = match b {
                            Some(b) => year(b)?,
                            None => start,
                        };
                        if start > end {
                            return Err("end year must not be before start year".into());
                        }
                        Ok((start, end))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let location = match c.location.as_deref() {
            None | Some("UTC") | Some("") => Location::Utc,
            Some("Local") => Location::Local,
            Some(name) => Location::Zone(
                name.parse::<chrono_tz::Tz>()
                    .map_err(|_| format!("unknown time zone {name}"))?,
            ),
        };
        Ok(TimeIntervalSpec {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        match &self.location {
            Location::Utc => self.contains_local(&t),
            Location::Local => self.contains_local(&t.with_timezone(&chrono::Local)),
            Location::Zone(z) => self.contains_local(&t.with_timezone(z)),
        }
    }

    fn contains_local<Tz: TimeZone>(&self, t: &DateTime<Tz>) -> bool {
        if let Some(times) = &self.times {
            let m = t.hour() * 60 + t.minute();
            if !times.iter().any(|(a, b)| m >= *a && m < *b) {
                return false;
            }
        }
        if let Some(days) = &self.days_of_month {
            let dim = days_in_month(t.year(), t.month()) as i32;
            let day = t.day() as i32;
            let hit = days.iter().any(|(b, e)| {
                let begin = if *b < 0 { dim + b + 1 } else { *b };
                let end = if *e < 0 { dim + e + 1 } else { *e };
                if begin > dim {
                    return false;
                }
                let begin = begin.clamp(-dim, dim);
                let end = end.clamp(-dim, dim);
                day >= begin && day <= end
            });
            if !hit {
                return false;
            }
        }
        if let Some(months) = &self.months {
            let m = t.month();
            if !months.iter().any(|(a, b)| m >= *a && m <= *b) {
                return false;
            }
        }
        if let Some(wd) = &self.weekdays {
            let d = t.weekday().num_days_from_sunday();
            if !wd.iter().any(|(a, b)| d >= *a && d <= *b) {
                return false;
            }
        }
        if let Some(ys) = &self.years {
            let y = t.year();
            if !ys.iter().any(|(a, b)| y >= *a && y <= *b) {
                return false;
            }
        }
        true
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let first_next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1);
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1);
    match (first, first_next) {
        (Some(a), Some(b)) => (b - a).num_days() as u32,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> TimeInterval {
        let cfg: TimeIntervalConfig = serde_yaml_ng::from_str(yaml).unwrap();
        TimeInterval::compile(&cfg).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn office_hours_in_a_zone() {
        let ti = spec(
            "name: office\ntime_intervals:\n- weekdays: ['monday:friday']\n  times: [{start_time: '09:00', end_time: '17:00'}]\n  location: Europe/Berlin\n",
        );
        // 2024-05-06 is a Monday; 08:30 UTC = 10:30 CEST.
        assert!(ti.contains(at("2024-05-06T08:30:00Z")));
        assert!(!ti.contains(at("2024-05-06T15:00:00Z"))); // 17:00 local, end exclusive
        assert!(!ti.contains(at("2024-05-05T08:30:00Z"))); // Sunday
    }

    #[test]
    fn negative_days_of_month() {
        let ti = spec("name: eom\ntime_intervals:\n- days_of_month: ['-3:-1']\n");
        assert!(ti.contains(at("2024-02-29T12:00:00Z")));
        assert!(ti.contains(at("2024-02-27T12:00:00Z")));
        assert!(!ti.contains(at("2024-02-26T12:00:00Z")));
    }

    #[test]
    fn errors() {
        let bad = |y: &str| {
            let cfg: TimeIntervalConfig = serde_yaml_ng::from_str(y).unwrap();
            TimeInterval::compile(&cfg).unwrap_err()
        };
        assert_eq!(
            bad("name: t\ntime_intervals:\n- weekdays: [funday]\n"),
            "funday is not a valid weekday"
        );
        assert_eq!(
            bad("name: t\ntime_intervals:\n- times: [{start_time: '10:00', end_time: '09:00'}]\n"),
            "start time cannot be equal or greater than end time"
        );
        assert_eq!(
            bad("name: t\ntime_intervals:\n- location: Mars/Olympus\n"),
            "unknown time zone Mars/Olympus"
        );
    }
}
