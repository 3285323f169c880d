//! Query result values as the API layer sees them: scalar, string, instant
//! vector and matrix, with float or native-histogram samples.

use std::fmt;
use std::sync::Arc;

use lookout_model::{FloatHistogram, Labels};

/// One sample value: a float or a native histogram.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleValue {
    /// A float value.
    Float(f64),
    /// A native histogram (shared: selectors hand out the stored histogram
    /// to every step that looks it up).
    Histogram(Arc<FloatHistogram>),
}

impl SampleValue {
    /// The float value, or `None` for a histogram.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            SampleValue::Float(f) => Some(*f),
            SampleValue::Histogram(_) => None,
        }
    }

    /// The histogram, or `None` for a float.
    pub fn as_histogram(&self) -> Option<&FloatHistogram> {
        match self {
            SampleValue::Float(_) => None,
            SampleValue::Histogram(h) => Some(h),
        }
    }
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub metric: Labels,
    /// Evaluation timestamp in milliseconds.
    pub t: i64,
    /// The value.
    pub value: SampleValue,
}

/// A float point of a matrix series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FPoint {
    /// Milliseconds since the epoch.
    pub t: i64,
    /// Value.
    pub f: f64,
}

/// A histogram point of a matrix series.
#[derive(Clone, Debug, PartialEq)]
pub struct HPoint {
    /// Milliseconds since the epoch.
    pub t: i64,
    /// Value.
    pub h: Arc<FloatHistogram>,
}

/// One series of a matrix: float and histogram points, each in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub metric: Labels,
    /// Float points in time order.
    pub floats: Vec<FPoint>,
    /// Histogram points in time order.
    pub histograms: Vec<HPoint>,
}

/// A query result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a timestamp.
    Scalar {
        /// Milliseconds since the epoch.
        t: i64,
        /// Value.
        v: f64,
    },
    /// A string at a timestamp.
    String {
        /// Milliseconds since the epoch.
        t: i64,
        /// Value.
        s: String,
    },
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector (matrix).
    Matrix(Vec<Series>),
}

impl Value {
    /// Prometheus' name for the value type (`resultType` in the HTTP API).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar { t, v } => write!(f, "scalar: {v} @[{t}]"),
            Value::String { t, s } => write!(f, "string: {s:?} @[{t}]"),
            Value::Vector(v) => {
                for s in v {
                    match &s.value {
                        SampleValue::Float(x) => writeln!(f, "{} => {x} @[{}]", s.metric, s.t)?,
                        SampleValue::Histogram(h) => {
                            writeln!(f, "{} => {h:?} @[{}]", s.metric, s.t)?
                        }
                    }
                }
                Ok(())
            }
            Value::Matrix(m) => {
                for s in m {
                    write!(f, "{} =>", s.metric)?;
                    for p in &s.floats {
                        write!(f, " {} @[{}]", p.f, p.t)?;
                    }
                    for p in &s.histograms {
                        write!(f, " {:?} @[{}]", p.h, p.t)?;
                    }
                    writeln!(f)?;
                }
                Ok(())
            }
        }
    }
}
