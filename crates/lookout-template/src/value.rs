//! The dynamic value model templates run on.
//!
//! Go templates work on arbitrary Go values through reflection; here a
//! [`Value`] models the kinds that matter (basic types, slices, string-keyed
//! maps, nil) and [`Object`] lets callers expose named Go types with fields,
//! methods and a `String()` form (Alertmanager's `Data`/`Alert`/`KV`,
//! `time.Time`, Prometheus samples...). Type names are kept because Go prints
//! them in error messages and `%T`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::func::{Func, GoType};

/// Go's signed integer types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntType {
    /// `int`
    Int,
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32` (also `rune`)
    Int32,
    /// `int64`
    Int64,
}

/// Go's unsigned integer types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UintType {
    /// `uint`
    Uint,
    /// `uint8` (also `byte`)
    Uint8,
    /// `uint16`
    Uint16,
    /// `uint32`
    Uint32,
    /// `uint64`
    Uint64,
    /// `uintptr`
    Uintptr,
}

/// html/template's typed strings that mark content as safe for a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SafeKind {
    /// `template.HTML`
    Html,
    /// `template.HTMLAttr`
    HtmlAttr,
    /// `template.JS`
    Js,
    /// `template.JSStr`
    JsStr,
    /// `template.CSS`
    Css,
    /// `template.URL`
    Url,
    /// `template.Srcset`
    Srcset,
}

impl SafeKind {
    /// The Go type name.
    pub fn type_name(self) -> &'static str {
        match self {
            SafeKind::Html => "template.HTML",
            SafeKind::HtmlAttr => "template.HTMLAttr",
            SafeKind::Js => "template.JS",
            SafeKind::JsStr => "template.JSStr",
            SafeKind::Css => "template.CSS",
            SafeKind::Url => "template.URL",
            SafeKind::Srcset => "template.Srcset",
        }
    }
}

/// A slice value with its Go type name (`[]string`, `[]interface {}`...).
#[derive(Clone, Debug)]
pub struct List {
    /// Go type name, e.g. `[]string`.
    pub type_name: Cow<'static, str>,
    /// Elements.
    pub items: Vec<Value>,
}

/// A string-keyed map with its Go type name and the zero value of its
/// element type (what `missingkey=zero` yields for an absent key).
#[derive(Clone, Debug)]
pub struct Map {
    /// Go type name, e.g. `map[string]string`.
    pub type_name: Cow<'static, str>,
    /// Zero value of the element type.
    pub zero: Value,
    /// Entries; a `BTreeMap` iterates in Go's sorted key order.
    pub entries: BTreeMap<String, Value>,
}

/// A named Go type exposed to templates.
///
/// Field and method lookup follow Go: methods are looked up first, then
/// struct fields, then (for map-based types) map keys of [`Object::underlying`].
pub trait Object: Send + Sync + fmt::Debug {
    /// Go type name for error messages and `%T`, e.g. `template.Alert`.
    fn type_name(&self) -> Cow<'_, str>;
    /// For named non-struct types (`type KV map[string]string`,
    /// `type Alerts []Alert`, `time.Duration`): the value it is made of.
    fn underlying(&self) -> Option<Value> {
        None
    }
    /// Struct field names in declaration order (used by `%v` printing).
    fn field_names(&self) -> &[&'static str] {
        &[]
    }
    /// An exported struct field.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// The signature of a method, if the type has one with this name.
    fn method(&self, _name: &str) -> Option<GoSignature> {
        None
    }
    /// Calls a method previously found with [`Object::method`]; arguments are
    /// already checked and converted against its signature.
    fn call_method(&self, name: &str, _args: Vec<Value>) -> Result<Value, String> {
        Err(format!("no method {name}"))
    }
    /// The result of the type's `String()` (or `Error()`) method, if any.
    fn go_string(&self) -> Option<String> {
        None
    }
    /// Whether the value is a pointer to a struct (printed `&{...}`).
    fn is_pointer(&self) -> bool {
        false
    }
    /// The `json:"..."` tag of a struct field, if it has one (used when
    /// html/template encodes the value for a JS context).
    fn json_name(&self, _field: &str) -> Option<&'static str> {
        None
    }
    /// Access to the concrete type, for functions that take this object
    /// back as an argument.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// A method signature: parameter types and an optional variadic element type.
#[derive(Clone, Debug)]
pub struct GoSignature {
    /// Fixed parameters.
    pub params: Vec<GoType>,
    /// Element type of a trailing `...T` parameter.
    pub variadic: Option<GoType>,
}

impl GoSignature {
    /// A signature with fixed parameters only.
    pub fn new(params: Vec<GoType>) -> Self {
        GoSignature {
            params,
            variadic: None,
        }
    }
}

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's invalid `reflect.Value`: missing data. Prints `<no value>`.
    #[default]
    Invalid,
    /// A nil interface value. Prints `<nil>`.
    Nil,
    /// `bool`
    Bool(bool),
    /// Signed integers.
    Int(i64, IntType),
    /// Unsigned integers.
    Uint(u64, UintType),
    /// `float64`
    Float(f64),
    /// `complex128`
    Complex(f64, f64),
    /// `string`
    String(Arc<str>),
    /// html/template typed strings (`template.HTML`...).
    Safe(SafeKind, Arc<str>),
    /// Slices.
    List(Arc<List>),
    /// String-keyed maps.
    Map(Arc<Map>),
    /// Named Go types with fields and methods.
    Object(Arc<dyn Object>),
    /// Function values (for the `call` builtin).
    Func(Func),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Invalid => write!(f, "Invalid"),
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i, _) => write!(f, "Int({i})"),
            Value::Uint(u, _) => write!(f, "Uint({u})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Complex(r, i) => write!(f, "Complex({r}, {i})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Safe(k, s) => write!(f, "{}({s:?})", k.type_name()),
            Value::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.entries.iter()).finish(),
            Value::Object(o) => write!(f, "{o:?}"),
            Value::Func(_) => write!(f, "Func"),
        }
    }
}

/// Go's reflect kinds, as far as templates care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// No value.
    Invalid,
    /// bool
    Bool,
    /// signed ints
    Int,
    /// unsigned ints
    Uint,
    /// floats
    Float,
    /// complex
    Complex,
    /// strings
    String,
    /// slices and arrays
    Slice,
    /// maps
    Map,
    /// structs
    Struct,
    /// pointers
    Pointer,
    /// interfaces (nil)
    Interface,
    /// funcs
    Func,
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Arc::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i, IntType::Int)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i as i64, IntType::Int)
    }
}
impl From<usize> for Value {
    fn from(i: usize) -> Self {
        Value::Int(i as i64, IntType::Int)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Value::string_list(v)
    }
}
impl<T: Object + 'static> From<Arc<T>> for Value {
    fn from(o: Arc<T>) -> Self {
        Value::Object(o)
    }
}

impl Value {
    /// A Go `int`.
    pub fn int(i: i64) -> Value {
        Value::Int(i, IntType::Int)
    }

    /// A `[]string`.
    pub fn string_list<I: IntoIterator<Item = S>, S: Into<Arc<str>>>(items: I) -> Value {
        Value::List(Arc::new(List {
            type_name: Cow::Borrowed("[]string"),
            items: items.into_iter().map(|s| Value::String(s.into())).collect(),
        }))
    }

    /// A `[]interface {}`.
    pub fn list<I: IntoIterator<Item = Value>>(items: I) -> Value {
        Value::typed_list("[]interface {}", items)
    }

    /// A slice with an explicit Go type name.
    pub fn typed_list<I: IntoIterator<Item = Value>>(
        type_name: impl Into<Cow<'static, str>>,
        items: I,
    ) -> Value {
        Value::List(Arc::new(List {
            type_name: type_name.into(),
            items: items.into_iter().collect(),
        }))
    }

    /// A `map[string]string`.
    pub fn string_map<I, K, V>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Arc<str>>,
    {
        Value::Map(Arc::new(Map {
            type_name: Cow::Borrowed("map[string]string"),
            zero: Value::String(Arc::from("")),
            entries: entries
                .into_iter()
                .map(|(k, v)| (k.into(), Value::String(v.into())))
                .collect(),
        }))
    }

    /// A `map[string]interface {}`.
    pub fn map<I, K>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Map(Arc::new(Map {
            type_name: Cow::Borrowed("map[string]interface {}"),
            zero: Value::Nil,
            entries: entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }))
    }

    /// Wraps an [`Object`].
    pub fn object<T: Object + 'static>(o: T) -> Value {
        Value::Object(Arc::new(o))
    }

    /// Whether this is the invalid (missing) value.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Value::Invalid)
    }

    /// The string content if this is a string (or a typed string).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Safe(_, s) => Some(s),
            _ => None,
        }
    }

    /// Go type name (`string`, `float64`, `map[string]string`...).
    pub fn type_name(&self) -> Cow<'_, str> {
        match self {
            Value::Invalid => Cow::Borrowed("<invalid reflect.Value>"),
            Value::Nil => Cow::Borrowed("interface {}"),
            Value::Bool(_) => Cow::Borrowed("bool"),
            Value::Int(_, t) => Cow::Borrowed(match t {
                IntType::Int => "int",
                IntType::Int8 => "int8",
                IntType::Int16 => "int16",
                IntType::Int32 => "int32",
                IntType::Int64 => "int64",
            }),
            Value::Uint(_, t) => Cow::Borrowed(match t {
                UintType::Uint => "uint",
                UintType::Uint8 => "uint8",
                UintType::Uint16 => "uint16",
                UintType::Uint32 => "uint32",
                UintType::Uint64 => "uint64",
                UintType::Uintptr => "uintptr",
            }),
            Value::Float(_) => Cow::Borrowed("float64"),
            Value::Complex(..) => Cow::Borrowed("complex128"),
            Value::String(_) => Cow::Borrowed("string"),
            Value::Safe(k, _) => Cow::Borrowed(k.type_name()),
            Value::List(l) => Cow::Borrowed(&l.type_name),
            Value::Map(m) => Cow::Borrowed(&m.type_name),
            Value::Object(o) => o.type_name(),
            Value::Func(f) => Cow::Owned(f.type_name()),
        }
    }

    /// The reflect kind; objects report the kind of their underlying value,
    /// or struct/pointer.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Invalid => Kind::Invalid,
            Value::Nil => Kind::Interface,
            Value::Bool(_) => Kind::Bool,
            Value::Int(..) => Kind::Int,
            Value::Uint(..) => Kind::Uint,
            Value::Float(_) => Kind::Float,
            Value::Complex(..) => Kind::Complex,
            Value::String(_) | Value::Safe(..) => Kind::String,
            Value::List(_) => Kind::Slice,
            Value::Map(_) => Kind::Map,
            Value::Func(_) => Kind::Func,
            Value::Object(o) => match o.underlying() {
                Some(u) => u.kind(),
                None if o.is_pointer() => Kind::Pointer,
                None => Kind::Struct,
            },
        }
    }

    /// For objects with an underlying value, that value; otherwise self.
    pub fn basic(&self) -> Cow<'_, Value> {
        if let Value::Object(o) = self {
            if let Some(u) = o.underlying() {
                return Cow::Owned(u);
            }
        }
        Cow::Borrowed(self)
    }

    /// Go's truth (`isTrue`): `None` when the value has no truth (funcs are
    /// handled as non-nil = true).
    pub fn truth(&self) -> Option<bool> {
        Some(match self.basic().as_ref() {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u, _) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::String(s) | Value::Safe(_, s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.is_empty(),
            Value::Object(_) | Value::Func(_) => true,
        })
    }

    /// Length for `len`, if the kind has one.
    pub fn len(&self) -> Option<usize> {
        match self.basic().as_ref() {
            Value::String(s) | Value::Safe(_, s) => Some(s.len()),
            Value::List(l) => Some(l.items.len()),
            Value::Map(m) => Some(m.entries.len()),
            _ => None,
        }
    }

    /// Whether [`Value::len`] is zero or absent.
    pub fn is_empty(&self) -> bool {
        self.len().unwrap_or(0) == 0
    }
}
