//! Template functions: Go-typed signatures, typed Rust closures and the
//! function map.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::value::{GoSignature, IntType, Kind, UintType, Value};

/// A Go parameter type, as far as argument checking needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum GoType {
    /// `interface{}`: any value; a missing value arrives as [`Value::Nil`].
    Any,
    /// `reflect.Value`: the raw value, [`Value::Invalid`] included.
    Reflect,
    /// `bool`
    Bool,
    /// Signed integer types.
    Int(IntType),
    /// Unsigned integer types.
    Uint(UintType),
    /// `float64`
    Float,
    /// `string`
    String,
    /// Any other type, by Go name and kind (`[]string`, `time.Time`...).
    Named {
        /// Go type name.
        name: Cow<'static, str>,
        /// Its reflect kind.
        kind: Kind,
    },
}

impl GoType {
    /// A named type.
    pub fn named(name: &'static str, kind: Kind) -> GoType {
        GoType::Named {
            name: Cow::Borrowed(name),
            kind,
        }
    }

    /// Go's type name.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            GoType::Any => "interface {}".into(),
            GoType::Reflect => "reflect.Value".into(),
            GoType::Bool => "bool".into(),
            GoType::Int(t) => Value::Int(0, *t).type_name().into_owned().into(),
            GoType::Uint(t) => Value::Uint(0, *t).type_name().into_owned().into(),
            GoType::Float => "float64".into(),
            GoType::String => "string".into(),
            GoType::Named { name, .. } => Cow::Borrowed(name),
        }
    }

    /// The reflect kind.
    pub fn kind(&self) -> Kind {
        match self {
            GoType::Any => Kind::Interface,
            GoType::Reflect => Kind::Struct,
            GoType::Bool => Kind::Bool,
            GoType::Int(_) => Kind::Int,
            GoType::Uint(_) => Kind::Uint,
            GoType::Float => Kind::Float,
            GoType::String => Kind::String,
            GoType::Named { kind, .. } => *kind,
        }
    }

    /// Go's `canBeNil` (reflect.Value counts, as in text/template).
    pub fn can_be_nil(&self) -> bool {
        matches!(self, GoType::Reflect)
            || matches!(
                self.kind(),
                Kind::Func | Kind::Interface | Kind::Map | Kind::Pointer | Kind::Slice
            )
    }

    /// The zero value used when a nil/missing value is passed.
    pub(crate) fn zero(&self) -> Value {
        match self {
            GoType::Reflect => Value::Invalid,
            _ => Value::Nil,
        }
    }

    /// Go's `AssignableTo` between a value's type and this parameter type.
    pub fn accepts(&self, v: &Value) -> bool {
        match self {
            GoType::Any | GoType::Reflect => true,
            GoType::Bool => matches!(v, Value::Bool(_)),
            GoType::Int(t) => matches!(v, Value::Int(_, u) if u == t),
            GoType::Uint(t) => matches!(v, Value::Uint(_, u) if u == t),
            GoType::Float => matches!(v, Value::Float(_)),
            GoType::String => matches!(v, Value::String(_)),
            GoType::Named { name, .. } => {
                if v.type_name() == *name {
                    return true;
                }
                // An unnamed composite type is assignable to/from a named
                // type with the same underlying type.
                let unnamed = name.starts_with('[') || name.starts_with("map[");
                match v {
                    Value::Object(o) if unnamed => o
                        .underlying()
                        .map(|u| u.type_name() == *name)
                        .unwrap_or(false),
                    _ => false,
                }
            }
        }
    }
}

/// A callable: signature plus implementation.
#[derive(Clone)]
pub struct Func(pub(crate) Arc<FuncInner>);

pub(crate) struct FuncInner {
    pub sig: GoSignature,
    pub imp: FuncImpl,
}

type NativeFn = dyn Fn(Vec<Value>) -> Result<Value, String> + Send + Sync;

pub(crate) enum FuncImpl {
    Builtin(crate::builtins::Builtin),
    Native(Box<NativeFn>),
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Func({})", self.type_name())
    }
}

impl Func {
    /// A function from an explicit signature and an untyped implementation.
    /// Arguments arrive checked and converted against `sig`; an `Err` becomes
    /// Go's `error calling NAME: MSG`.
    pub fn new<F>(sig: GoSignature, f: F) -> Func
    where
        F: Fn(Vec<Value>) -> Result<Value, String> + Send + Sync + 'static,
    {
        Func(Arc::new(FuncInner {
            sig,
            imp: FuncImpl::Native(Box::new(f)),
        }))
    }

    pub(crate) fn builtin(sig: GoSignature, b: crate::builtins::Builtin) -> Func {
        Func(Arc::new(FuncInner {
            sig,
            imp: FuncImpl::Builtin(b),
        }))
    }

    /// The signature.
    pub fn signature(&self) -> &GoSignature {
        &self.0.sig
    }

    /// A Go-ish type name, `func(string, ...interface {})`.
    pub fn type_name(&self) -> String {
        let mut parts: Vec<String> = self.0.sig.params.iter().map(|p| p.name().into()).collect();
        if let Some(v) = &self.0.sig.variadic {
            parts.push(format!("...{}", v.name()));
        }
        format!("func({})", parts.join(", "))
    }
}

/// Converts a checked template argument into a Rust parameter.
pub trait FromArg: Sized {
    /// The Go parameter type this Rust type stands for.
    fn go_type() -> GoType;
    /// Converts the (already type-checked) value.
    fn from_arg(v: Value) -> Result<Self, String>;
}

/// A `reflect.Value` parameter: receives missing values as [`Value::Invalid`].
pub struct Raw(pub Value);

/// A trailing variadic parameter `...T`.
pub struct Variadic<T>(pub Vec<T>);

impl FromArg for Value {
    fn go_type() -> GoType {
        GoType::Any
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        Ok(v)
    }
}
impl FromArg for Raw {
    fn go_type() -> GoType {
        GoType::Reflect
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        Ok(Raw(v))
    }
}
impl FromArg for String {
    fn go_type() -> GoType {
        GoType::String
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("expected string; got {}", v.type_name()))
    }
}
impl FromArg for f64 {
    fn go_type() -> GoType {
        GoType::Float
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        match v {
            Value::Float(f) => Ok(f),
            other => Err(format!("expected float64; got {}", other.type_name())),
        }
    }
}
impl FromArg for i64 {
    fn go_type() -> GoType {
        GoType::Int(IntType::Int)
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        match v {
            Value::Int(i, _) => Ok(i),
            other => Err(format!("expected int; got {}", other.type_name())),
        }
    }
}
impl FromArg for bool {
    fn go_type() -> GoType {
        GoType::Bool
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(format!("expected bool; got {}", other.type_name())),
        }
    }
}
impl FromArg for Vec<String> {
    fn go_type() -> GoType {
        GoType::named("[]string", Kind::Slice)
    }
    fn from_arg(v: Value) -> Result<Self, String> {
        match v.basic().as_ref() {
            Value::List(l) => Ok(l
                .items
                .iter()
                .map(|i| i.as_str().unwrap_or("").to_string())
                .collect()),
            Value::Nil | Value::Invalid => Ok(vec![]),
            other => Err(format!("expected []string; got {}", other.type_name())),
        }
    }
}

/// Converts a Rust return value into a template result.
pub trait IntoResult {
    /// Value or Go-style error message.
    fn into_result(self) -> Result<Value, String>;
}

macro_rules! into_result {
    ($($t:ty),*) => {$(
        impl IntoResult for $t {
            fn into_result(self) -> Result<Value, String> { Ok(Value::from(self)) }
        }
        impl<E: fmt::Display> IntoResult for Result<$t, E> {
            fn into_result(self) -> Result<Value, String> {
                self.map(Value::from).map_err(|e| e.to_string())
            }
        }
    )*};
}
into_result!(String, bool, i64, f64, Vec<String>);

impl IntoResult for Value {
    fn into_result(self) -> Result<Value, String> {
        Ok(self)
    }
}
impl<E: fmt::Display> IntoResult for Result<Value, E> {
    fn into_result(self) -> Result<Value, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Closures usable as template functions. Implemented for `Fn(A, B, ...) -> R`
/// (up to 6 parameters, the last may be [`Variadic`]) where every parameter
/// is [`FromArg`] and `R` is [`IntoResult`].
pub trait IntoFunc<Marker> {
    /// Builds the function.
    fn into_func(self) -> Func;
}

macro_rules! impl_into_func {
    ($($a:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, R, $($a,)*> IntoFunc<(R, ($($a,)*))> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: IntoResult,
            $($a: FromArg,)*
        {
            fn into_func(self) -> Func {
                let params = vec![$($a::go_type()),*];
                Func::new(GoSignature::new(params), move |args: Vec<Value>| {
                    let mut it = args.into_iter();
                    $(let $a = $a::from_arg(it.next().unwrap_or_default())?;)*
                    self($($a),*).into_result()
                })
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, R, V, $($a,)*> IntoFunc<(R, ($($a,)*), Variadic<V>)> for F
        where
            F: Fn($($a,)* Variadic<V>) -> R + Send + Sync + 'static,
            R: IntoResult,
            V: FromArg,
            $($a: FromArg,)*
        {
            fn into_func(self) -> Func {
                let params = vec![$($a::go_type()),*];
                let sig = GoSignature { params, variadic: Some(V::go_type()) };
                Func::new(sig, move |args: Vec<Value>| {
                    let mut it = args.into_iter();
                    $(let $a = $a::from_arg(it.next().unwrap_or_default())?;)*
                    let rest = it.map(V::from_arg).collect::<Result<Vec<V>, String>>()?;
                    self($($a,)* Variadic(rest)).into_result()
                })
            }
        }
    };
}
impl_into_func!();
impl_into_func!(A1);
impl_into_func!(A1, A2);
impl_into_func!(A1, A2, A3);
impl_into_func!(A1, A2, A3, A4);
impl_into_func!(A1, A2, A3, A4, A5);

/// Named functions available to a template (Go's `FuncMap`).
#[derive(Clone, Default, Debug)]
pub struct FuncMap {
    pub(crate) map: HashMap<String, Func>,
}

impl FuncMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a typed closure under `name` (builder style).
    pub fn func<M, F: IntoFunc<M>>(mut self, name: &str, f: F) -> Self {
        self.map.insert(name.to_string(), f.into_func());
        self
    }

    /// Adds an already built [`Func`].
    pub fn insert(&mut self, name: &str, f: Func) {
        self.map.insert(name.to_string(), f);
    }

    /// Adds every function of `other`, replacing same-named ones.
    pub fn merge(mut self, other: FuncMap) -> Self {
        self.map.extend(other.map);
        self
    }

    /// Looks a function up.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }
}
