//! PromQL evaluation over the storage `Querier` trait.

pub mod annotations;
pub mod error;
pub mod histogram;
pub mod value;

pub use annotations::{Annotation, AnnotationKind, Annotations, PosRange};
pub use error::QueryError;
pub use value::{FPoint, HPoint, Sample, SampleValue, Series, Value};
