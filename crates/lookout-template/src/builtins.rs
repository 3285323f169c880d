//! Go's predefined template functions (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print*`, `html`, `js`, `urlquery`, `call`, comparisons).

use crate::func::{Func, FuncImpl, GoType};
use crate::value::{GoSignature, Kind, Value};
use crate::Common;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Whether `name` is a builtin function.
pub(crate) fn is_builtin(name: &str) -> bool {
    lookup(name).is_some()
}

/// The builtin function table, built once.
pub(crate) fn lookup(name: &str) -> Option<Func> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<&'static str, Func>> =
        std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            [
                "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html",
                "js", "urlquery", "call", "eq", "ne", "lt", "le", "gt", "ge",
            ]
            .into_iter()
            .filter_map(|n| make(n).map(|f| (n, f)))
            .collect()
        })
        .get(name)
        .cloned()
}

fn make(name: &str) -> Option<Func> {
    use Builtin::*;
    let r = || GoType::Reflect;
    let (b, sig) = match name {
        "and" => (And, var_sig(vec![r()], r())),
        "or" => (Or, var_sig(vec![r()], r())),
        "not" => (Not, GoSignature::new(vec![r()])),
        "len" => (Len, GoSignature::new(vec![r()])),
        "index" => (Index, var_sig(vec![r()], r())),
        "slice" => (Slice, var_sig(vec![r()], r())),
        "print" => (Print, var_sig(vec![], GoType::Any)),
        "printf" => (Printf, var_sig(vec![GoType::String], GoType::Any)),
        "println" => (Println, var_sig(vec![], GoType::Any)),
        "html" => (Html, var_sig(vec![], GoType::Any)),
        "js" => (Js, var_sig(vec![], GoType::Any)),
        "urlquery" => (UrlQuery, var_sig(vec![], GoType::Any)),
        "call" => (Call, var_sig(vec![r()], r())),
        "eq" => (Eq, var_sig(vec![r()], r())),
        "ne" => (Ne, GoSignature::new(vec![r(), r()])),
        "lt" => (Lt, GoSignature::new(vec![r(), r()])),
        "le" => (Le, GoSignature::new(vec![r(), r()])),
        "gt" => (Gt, GoSignature::new(vec![r(), r()])),
        "ge" => (Ge, GoSignature::new(vec![r(), r()])),
        _ => return None,
    };
    Some(Func::builtin(sig, b))
}

fn var_sig(params: Vec<GoType>, v: GoType) -> GoSignature {
    GoSignature {
        params,
        variadic: Some(v),
    }
}

pub(crate) fn call(b: Builtin, mut args: Vec<Value>, _common: &Common) -> Result<Value, String> {
    use Builtin::*;
    let first = |args: &mut Vec<Value>| {
        if args.is_empty() {
            Value::Invalid
        } else {
            args.remove(0)
        }
    };
    match b {
        And | Or => Ok(args.pop().unwrap_or_default()),
        Not => Ok(Value::Bool(!first(&mut args).truth().unwrap_or(false))),
        Len => {
            let v = first(&mut args);
            if matches!(v, Value::Invalid | Value::Nil) {
                return Err("len of nil pointer".into());
            }
            match v.len() {
                Some(n) => Ok(Value::int(n as i64)),
                None => Err(format!("len of type {}", v.type_name())),
            }
        }
        Index => {
            let item = first(&mut args);
            index(item, args)
        }
        Slice => {
            let item = first(&mut args);
            slice(item, args)
        }
        Print => Ok(Value::from(crate::fmt::sprint(&args))),
        Println => Ok(Value::from(crate::fmt::sprintln(&args))),
        Printf => {
            let f = first(&mut args);
            Ok(Value::from(crate::fmt::sprintf(
                f.as_str().unwrap_or(""),
                &args,
            )))
        }
        Html => Ok(Value::from(html_escape(&eval_args(&args)))),
        Js => Ok(Value::from(js_escape(&eval_args(&args)))),
        UrlQuery => Ok(Value::from(query_escape(&eval_args(&args)))),
        Call => {
            let f = first(&mut args);
            call_func(f, args)
        }
        Eq => {
            let a = first(&mut args);
            eq(&a, &args).map(Value::Bool)
        }
        Ne => {
            let (a, b) = two(args);
            eq(&a, std::slice::from_ref(&b)).map(|t| Value::Bool(!t))
        }
        Lt => {
            let (a, b) = two(args);
            lt(&a, &b).map(Value::Bool)
        }
        Le => {
            let (a, b) = two(args);
            le(&a, &b).map(Value::Bool)
        }
        Gt => {
            let (a, b) = two(args);
            le(&a, &b).map(|t| Value::Bool(!t))
        }
        Ge => {
            let (a, b) = two(args);
            lt(&a, &b).map(|t| Value::Bool(!t))
        }
    }
}

fn two(args: Vec<Value>) -> (Value, Value) {
    let mut it = args.into_iter();
    (it.next().unwrap_or_default(), it.next().unwrap_or_default())
}

/// Go's `evalArgs`: one string argument as is, otherwise `fmt.Sprint` with
/// nil printed as `<no value>`.
pub(crate) fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let mapped: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil | Value::Invalid => Value::from("<no value>"),
            other => other.clone(),
        })
        .collect();
    crate::fmt::sprint(&mapped)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || crate::fmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn index_arg(v: &Value, cap: usize) -> Result<usize, String> {
    let x: i64 = match v.basic().as_ref() {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: Value, indexes: Vec<Value>) -> Result<Value, String> {
    if matches!(item, Value::Invalid | Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut item = item;
    for idx in indexes {
        let basic = item.basic().into_owned();
        item = match &basic {
            Value::List(l) => {
                let x = index_arg(&idx, l.items.len())?;
                if x == l.items.len() {
                    return Err(format!("index out of range: {x}"));
                }
                l.items[x].clone()
            }
            Value::String(s) | Value::Safe(_, s) => {
                let x = index_arg(&idx, s.len())?;
                if x == s.len() {
                    return Err(format!("index out of range: {x}"));
                }
                Value::Uint(s.as_bytes()[x] as u64, crate::value::UintType::Uint8)
            }
            Value::Map(m) => {
                let key = match &idx {
                    Value::String(k) => k.to_string(),
                    Value::Invalid | Value::Nil => {
                        return Err("value is nil; should be of type string".into())
                    }
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ))
                    }
                };
                m.entries
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| m.zero.clone())
            }
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: Value, indexes: Vec<Value>) -> Result<Value, String> {
    if matches!(item, Value::Invalid | Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let basic = item.basic().into_owned();
    let len = match &basic {
        Value::String(s) | Value::Safe(_, s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0usize, len, len];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    match &basic {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Ok(Value::from(sub)),
            // Go slices bytes; a cut inside a UTF-8 sequence yields invalid
            // bytes, which a Rust string cannot hold.
            None => Ok(Value::from(
                String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned(),
            )),
        },
        Value::Safe(k, s) => Ok(Value::Safe(
            *k,
            String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into(),
        )),
        Value::List(l) => Ok(Value::typed_list(
            l.type_name.clone(),
            l.items[idx[0]..idx[1]].iter().cloned(),
        )),
        _ => Err("unreachable".into()),
    }
}

fn call_func(f: Value, args: Vec<Value>) -> Result<Value, String> {
    let f = match f {
        Value::Func(f) => f,
        Value::Invalid | Value::Nil => return Err("call of nil".into()),
        other => return Err(format!("non-function of type {}", other.type_name())),
    };
    let sig = f.signature().clone();
    let n = sig.params.len();
    if sig.variadic.is_some() {
        if args.len() < n {
            return Err(format!(
                "wrong number of args: got {} want at least {}",
                args.len(),
                n
            ));
        }
    } else if args.len() != n {
        return Err(format!(
            "wrong number of args: got {} want {}",
            args.len(),
            n
        ));
    }
    let mut argv = Vec::with_capacity(args.len());
    for (i, a) in args.into_iter().enumerate() {
        let t = sig
            .params
            .get(i)
            .or(sig.variadic.as_ref())
            .cloned()
            .unwrap_or(GoType::Any);
        let a = if a.is_invalid() || matches!(a, Value::Nil) {
            if !t.can_be_nil() {
                return Err(format!(
                    "arg {i}: value is nil; should be of type {}",
                    t.name()
                ));
            }
            t.zero()
        } else if t.accepts(&a) {
            a
        } else {
            return Err(format!(
                "arg {i}: value has type {}; should be {}",
                a.type_name(),
                t.name()
            ));
        };
        argv.push(a);
    }
    match &f.0.imp {
        FuncImpl::Native(n) => n(argv),
        FuncImpl::Builtin(_) => Err("cannot call a builtin through call".into()),
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum BasicKind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    String,
    Uint,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v.kind() {
        Kind::Bool => BasicKind::Bool,
        Kind::Int => BasicKind::Int,
        Kind::Uint => BasicKind::Uint,
        Kind::Float => BasicKind::Float,
        Kind::Complex => BasicKind::Complex,
        Kind::String => BasicKind::String,
        _ => BasicKind::Invalid,
    }
}

const ERR_BAD_TYPE: &str = "invalid type for comparison";
const ERR_BAD_CMP: &str = "incompatible types for comparison";
const ERR_NO_CMP: &str = "missing argument for comparison";

fn int_of(v: &Value) -> i64 {
    match v.basic().as_ref() {
        Value::Int(i, _) => *i,
        _ => 0,
    }
}
fn uint_of(v: &Value) -> u64 {
    match v.basic().as_ref() {
        Value::Uint(u, _) => *u,
        _ => 0,
    }
}
fn float_of(v: &Value) -> f64 {
    match v.basic().as_ref() {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}
fn str_of(v: &Value) -> String {
    v.basic().as_str().unwrap_or("").to_string()
}

fn comparable(v: &Value) -> bool {
    !matches!(v.kind(), Kind::Slice | Kind::Map | Kind::Func)
}

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    let a_valid = !matches!(a, Value::Invalid | Value::Nil);
    if a_valid && !comparable(a) {
        return Err(format!(
            "non-comparable type {}: {}",
            crate::fmt::sprint(std::slice::from_ref(a)),
            a.type_name()
        ));
    }
    if rest.is_empty() {
        return Err(ERR_NO_CMP.into());
    }
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let b_valid = !matches!(b, Value::Invalid | Value::Nil);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (BasicKind::Int, BasicKind::Uint) => {
                    int_of(a) >= 0 && int_of(a) as u64 == uint_of(b)
                }
                (BasicKind::Uint, BasicKind::Int) => {
                    int_of(b) >= 0 && uint_of(a) == int_of(b) as u64
                }
                _ => {
                    if a_valid && b_valid {
                        return Err(ERR_BAD_CMP.into());
                    }
                    false
                }
            }
        } else {
            match k1 {
                BasicKind::Bool => a.basic().truth() == b.basic().truth(),
                BasicKind::Complex => match (a.basic().as_ref(), b.basic().as_ref()) {
                    (Value::Complex(r1, i1), Value::Complex(r2, i2)) => r1 == r2 && i1 == i2,
                    _ => false,
                },
                BasicKind::Float => float_of(a) == float_of(b),
                BasicKind::Int => int_of(a) == int_of(b),
                BasicKind::String => str_of(a) == str_of(b),
                BasicKind::Uint => uint_of(a) == uint_of(b),
                BasicKind::Invalid => {
                    if !a_valid || !b_valid {
                        a_valid == b_valid
                    } else {
                        if !comparable(b) {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                crate::fmt::sprint(std::slice::from_ref(b)),
                                b.type_name()
                            ));
                        }
                        a.type_name() == b.type_name()
                            && crate::fmt::sprint(std::slice::from_ref(a))
                                == crate::fmt::sprint(std::slice::from_ref(b))
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a);
    if k1 == BasicKind::Invalid {
        return Err(ERR_BAD_TYPE.into());
    }
    let k2 = basic_kind(b);
    if k2 == BasicKind::Invalid {
        return Err(ERR_BAD_TYPE.into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (BasicKind::Int, BasicKind::Uint) => {
                Ok(int_of(a) < 0 || (int_of(a) as u64) < uint_of(b))
            }
            (BasicKind::Uint, BasicKind::Int) => {
                Ok(int_of(b) >= 0 && uint_of(a) < int_of(b) as u64)
            }
            _ => Err(ERR_BAD_CMP.into()),
        };
    }
    match k1 {
        BasicKind::Bool | BasicKind::Complex => Err(ERR_BAD_TYPE.into()),
        BasicKind::Float => Ok(float_of(a) < float_of(b)),
        BasicKind::Int => Ok(int_of(a) < int_of(b)),
        BasicKind::String => Ok(str_of(a) < str_of(b)),
        BasicKind::Uint => Ok(uint_of(a) < uint_of(b)),
        BasicKind::Invalid => Err(ERR_BAD_TYPE.into()),
    }
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    let l = lt(a, b)?;
    if l {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}
