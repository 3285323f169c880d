//! The executor: walks a parse tree over a [`Value`], following Go's
//! `text/template/exec.go` evaluation order, variable scoping, argument
//! checking and error texts.

use std::sync::Arc;

use crate::builtins::{self, Builtin};
use crate::func::{Func, FuncImpl, GoType};
use crate::node::*;
use crate::parse::Tree;
use crate::value::{GoSignature, IntType, Kind, Object, Value};
use crate::{Common, ExecError, MissingKey};

/// Our recursion limit for `{{template}}` nesting. Go allows 100000; a Rust
/// stack cannot, so we stop earlier with the same message shape.
pub(crate) const MAX_EXEC_DEPTH: usize = 1000;

pub(crate) enum Flow {
    Break,
    Continue,
    Err(ExecError),
}

impl From<ExecError> for Flow {
    fn from(e: ExecError) -> Self {
        Flow::Err(e)
    }
}

type R<T> = Result<T, ExecError>;

#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Arg(&'a Arg),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
}

impl At<'_> {
    fn pos_and_text(&self) -> Option<(usize, String)> {
        let mut s = String::new();
        let pos = match self {
            At::None => return None,
            At::Node(n) => {
                n.write(&mut s);
                n.pos()
            }
            At::Arg(a) => {
                a.write(&mut s);
                a.pos()
            }
            At::Pipe(p) => {
                p.write(&mut s);
                p.pos
            }
            At::Cmd(c) => {
                c.write(&mut s);
                c.pos
            }
        };
        Some((pos, s))
    }
}

enum Callee {
    Func(Func),
    Method(Arc<dyn Object>, GoSignature),
}

pub(crate) struct State<'a> {
    common: &'a Common,
    name: &'a str,
    tree: &'a Tree,
    pub out: String,
    vars: Vec<(&'a str, Value)>,
    depth: usize,
    node: At<'a>,
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && !s.contains(['p', 'P'])
}

impl<'a> State<'a> {
    pub fn new(common: &'a Common, name: &'a str, tree: &'a Tree, dot: Value) -> Self {
        State {
            common,
            name,
            tree,
            out: String::new(),
            vars: vec![("$", dot)],
            depth: 0,
            node: At::None,
        }
    }

    fn at(&mut self, n: At<'a>) {
        self.node = n;
    }

    fn errorf<T>(&self, msg: impl AsRef<str>) -> R<T> {
        Err(self.error(msg.as_ref()))
    }

    fn error(&self, msg: &str) -> ExecError {
        let message = match self.node.pos_and_text() {
            None => format!("template: {}: {}", self.name, msg),
            Some((pos, text)) => {
                let ctx = text;
                format!(
                    "template: {}: executing {} at <{}>: {}",
                    self.tree.location(pos),
                    crate::fmt::quote_go(self.name),
                    ctx,
                    msg
                )
            }
        };
        ExecError {
            name: self.name.to_string(),
            message,
        }
    }

    pub fn run(&mut self, dot: &Value) -> R<()> {
        let root = &self.tree.root;
        match self.walk_list(dot, root) {
            Ok(()) => Ok(()),
            Err(Flow::Err(e)) => Err(e),
            Err(_) => self.errorf("break or continue outside range"),
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'a ListNode) -> Result<(), Flow> {
        for n in &list.nodes {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> Result<(), Flow> {
        self.at(At::Node(node));
        match node {
            Node::Text { text, .. } => {
                self.out.push_str(text);
                Ok(())
            }
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &v)?;
                }
                Ok(())
            }
            Node::Break { .. } => Err(Flow::Break),
            Node::Continue { .. } => Err(Flow::Continue),
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe.as_ref()),
        }
    }

    fn print_value(&mut self, node: &'a Node, v: &Value) -> R<()> {
        self.at(At::Node(node));
        match v {
            Value::Invalid => self.out.push_str("<no value>"),
            Value::Func(f) => {
                let mut s = String::new();
                node.write(&mut s);
                return self.errorf(format!("can't print {} of type {}", s, f.type_name()));
            }
            Value::String(s) => self.out.push_str(s),
            _ => self.out.push_str(&crate::fmt::sprint_action(v)),
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> Result<(), Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            let truth = match val.truth() {
                Some(t) => t,
                None => {
                    return Err(Flow::Err(self.error(&format!(
                        "if/with can't use {}",
                        crate::fmt::sprint(&[val])
                    ))))
                }
            };
            if truth {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn one_iteration(
        &mut self,
        b: &'a Branch,
        mark: usize,
        index: Value,
        elem: Value,
    ) -> Result<bool, Flow> {
        if !b.pipe.decl.is_empty() {
            let n = self.vars.len();
            self.vars[n - 1].1 = elem.clone();
        }
        if b.pipe.decl.len() > 1 {
            let n = self.vars.len();
            self.vars[n - 2].1 = index;
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        match r {
            Ok(()) | Err(Flow::Continue) => Ok(true),
            Err(Flow::Break) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn walk_range(&mut self, dot: &Value, node: &'a Node, b: &'a Branch) -> Result<(), Flow> {
        self.at(At::Node(node));
        let outer = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            let mark = self.vars.len();
            let basic = val.basic().into_owned();
            match &basic {
                Value::List(l) if !l.items.is_empty() => {
                    for (i, e) in l.items.iter().enumerate() {
                        if !self.one_iteration(b, mark, Value::int(i as i64), e.clone())? {
                            break;
                        }
                    }
                    return Ok(());
                }
                Value::Map(m) if !m.entries.is_empty() => {
                    for (k, v) in &m.entries {
                        if !self.one_iteration(b, mark, Value::from(k.as_str()), v.clone())? {
                            break;
                        }
                    }
                    return Ok(());
                }
                Value::Int(..) | Value::Uint(..) => {
                    // Go 1.22: range over an integer n yields 0..n-1.
                    if b.pipe.decl.len() > 1 {
                        return Err(Flow::Err(self.error(&format!(
                            "can't use {} to iterate over more than one variable",
                            crate::fmt::sprint(std::slice::from_ref(&val))
                        ))));
                    }
                    let n: i64 = match basic {
                        Value::Int(i, _) => i,
                        Value::Uint(u, _) => u.min(i64::MAX as u64) as i64,
                        _ => 0,
                    };
                    if n > 0 {
                        for i in 0..n {
                            let iv = match basic {
                                Value::Int(_, t) => Value::Int(i, t),
                                Value::Uint(_, t) => Value::Uint(i as u64, t),
                                _ => Value::int(i),
                            };
                            if !self.one_iteration(b, mark, iv.clone(), iv)? {
                                break;
                            }
                        }
                        return Ok(());
                    }
                }
                Value::List(_) | Value::Map(_) | Value::Invalid | Value::Nil => {}
                _ => {
                    return Err(Flow::Err(self.error(&format!(
                        "range can't iterate over {}",
                        crate::fmt::sprint(std::slice::from_ref(&val))
                    ))))
                }
            }
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
            Ok(())
        })();
        self.vars.truncate(outer);
        r
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        node: &'a Node,
        name: &'a str,
        pipe: Option<&'a Pipe>,
    ) -> Result<(), Flow> {
        self.at(At::Node(node));
        let Some(tree) = self.common.trees.get(name) else {
            return Err(Flow::Err(self.error(&format!(
                "template {} not defined",
                crate::fmt::quote_go(name)
            ))));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(Flow::Err(self.error(&format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            ))));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Invalid,
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_tree = std::mem::replace(&mut self.tree, tree);
        let saved_name = std::mem::replace(&mut self.name, tree.name.as_str());
        self.depth += 1;
        let r = self.walk_list(&new_dot, &tree.root);
        self.depth -= 1;
        self.vars = saved_vars;
        self.tree = saved_tree;
        self.name = saved_name;
        r
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> R<Value> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let mut v = self.eval_command(dot, cmd, value.take())?;
            if matches!(v, Value::Nil) {
                v = Value::Invalid;
            }
            value = Some(v);
        }
        let value = value.unwrap_or_default();
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.name, value.clone())?;
            } else {
                self.vars.push((var.name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn set_var(&mut self, name: &str, v: Value) -> R<()> {
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn var_value(&self, name: &str) -> R<Value> {
        for slot in self.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Value>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!(
                "can't give argument to non-function {}",
                args.first().map(Arg::string).unwrap_or_default()
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, fin: Option<Value>) -> R<Value> {
        let Some(first) = cmd.args.first() else {
            return self.errorf("empty command");
        };
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command"),
            Arg::Number { num, .. } => self.ideal_constant(first, num),
            Arg::String { text, .. } => Ok(Value::from(text.as_str())),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                crate::fmt::quote_go(&first.string())
            )),
        }
    }

    fn ideal_constant(&mut self, arg: &'a Arg, n: &Number) -> R<Value> {
        self.at(At::Arg(arg));
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float
            && !is_hex_int(&n.text)
            && !n.text.starts_with('\'')
            && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::int(n.int));
        }
        if n.is_uint {
            return self.errorf(format!("{} overflows int", n.text));
        }
        Ok(Value::Invalid)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(var));
        let Arg::Variable { idents, .. } = var else {
            return self.errorf("internal error: not a variable");
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &idents[1..], args, fin)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(chain));
        let Arg::Chain { node, fields, .. } = chain else {
            return self.errorf("internal error: not a chain");
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return self.errorf(format!(
                "indirection through explicit nil in {}",
                chain.string()
            ));
        }
        let base = self.eval_arg(dot, &GoType::Reflect, node)?;
        self.eval_field_chain(dot, base, chain, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        node: &'a Arg,
        idents: &[String],
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let n = idents.len();
        for id in &idents[..n - 1] {
            receiver = self.eval_field(dot, id, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Value>,
        receiver: Value,
    ) -> R<Value> {
        if receiver.is_invalid() {
            if self.common.missing_key == MissingKey::Error {
                return self.errorf(format!(
                    "nil data; no entry for key {}",
                    crate::fmt::quote_go(name)
                ));
            }
            return Ok(Value::Invalid);
        }
        if let Value::Nil = receiver {
            return self.errorf(format!("nil pointer evaluating interface {{}}.{name}"));
        }
        if let Value::Object(o) = &receiver {
            if let Some(sig) = o.method(name) {
                return self.eval_call(
                    dot,
                    Callee::Method(o.clone(), sig),
                    false,
                    At::Arg(node),
                    name,
                    args,
                    fin,
                );
            }
        }
        let has_args = args.len() > 1 || fin.is_some();
        if let Value::Object(o) = &receiver {
            if o.underlying().is_none() {
                if let Some(v) = o.field(name) {
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(v);
                }
            }
        }
        if let Value::Map(m) = receiver.basic().as_ref() {
            if has_args {
                return self.errorf(format!("{name} is not a method but has arguments"));
            }
            return match m.entries.get(name) {
                Some(v) => Ok(v.clone()),
                None => match self.common.missing_key {
                    MissingKey::Default => Ok(Value::Invalid),
                    MissingKey::Zero => Ok(m.zero.clone()),
                    MissingKey::Error => self.errorf(format!(
                        "map has no entry for key {}",
                        crate::fmt::quote_go(name)
                    )),
                },
            };
        }
        self.errorf(format!(
            "can't evaluate field {} in type {}",
            name,
            receiver.type_name()
        ))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'a Arg,
        name: &str,
        node: At<'a>,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        self.at(At::Arg(ident));
        let (f, is_builtin) = match self.common.funcs.get(name) {
            Some(f) => (f.clone(), false),
            None => match builtins::lookup(name) {
                Some(f) => (f, true),
                None => {
                    return self.errorf(format!(
                        "{} is not a defined function",
                        crate::fmt::quote_go(name)
                    ))
                }
            },
        };
        self.eval_call(dot, Callee::Func(f), is_builtin, node, name, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Value,
        callee: Callee,
        is_builtin: bool,
        node: At<'a>,
        name: &str,
        args: &'a [Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let args: &'a [Arg] = if args.is_empty() { args } else { &args[1..] };
        let sig: &GoSignature = match &callee {
            Callee::Func(f) => &f.0.sig,
            Callee::Method(_, s) => s,
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed;
        if sig.variadic.is_some() {
            num_fixed = sig.params.len();
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {}: want at least {} got {}",
                    name,
                    sig.params.len(),
                    args.len()
                ));
            }
        } else {
            num_fixed = args.len();
            if num_in != sig.params.len() {
                return self.errorf(format!(
                    "wrong number of args for {}: want {} got {}",
                    name,
                    sig.params.len(),
                    num_in
                ));
            }
        }
        let builtin = match &callee {
            Callee::Func(f) if is_builtin => match &f.0.imp {
                FuncImpl::Builtin(b) => Some(*b),
                _ => None,
            },
            _ => None,
        };
        if let Some(b @ (Builtin::And | Builtin::Or)) = builtin {
            let want = b == Builtin::Or;
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, &GoType::Reflect, a)?;
                if v.truth().unwrap_or(false) == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let t = sig.params.get(i).cloned().unwrap_or(GoType::Any);
            argv.push(self.eval_arg(dot, &t, &args[i])?);
            i += 1;
        }
        if let Some(vt) = &sig.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vt, &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = match &sig.variadic {
                Some(vt) if num_in > num_fixed => vt.clone(),
                _ => sig.params.get(num_in - 1).cloned().unwrap_or(GoType::Any),
            };
            argv.push(self.validate_type(f, &t)?);
        }
        let result = match callee {
            Callee::Func(f) => match &f.0.imp {
                FuncImpl::Builtin(b) => builtins::call(*b, argv, self.common),
                FuncImpl::Native(n) => n(argv),
            },
            Callee::Method(o, _) => o.call_method(name, argv),
        };
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at(node);
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    fn validate_type(&self, v: Value, t: &GoType) -> R<Value> {
        if v.is_invalid() {
            if t.can_be_nil() {
                return Ok(t.zero());
            }
            return self.errorf(format!("invalid value; expected {}", t.name()));
        }
        if t.accepts(&v) {
            return Ok(v);
        }
        self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            t.name(),
            v.type_name()
        ))
    }

    fn eval_arg(&mut self, dot: &Value, t: &GoType, arg: &'a Arg) -> R<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), t),
            Arg::Nil { .. } => {
                if t.can_be_nil() {
                    return Ok(t.zero());
                }
                return self.errorf(format!("cannot assign nil to {}", t.name()));
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    arg,
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate_type(v, t);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, arg, &[], None)?;
                return self.validate_type(v, t);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, t);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, arg, name, At::Arg(arg), &[], None)?;
                return self.validate_type(v, t);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, arg, &[], None)?;
                return self.validate_type(v, t);
            }
            _ => {}
        }
        let found = || arg.string();
        match (t, t.kind()) {
            (_, Kind::Bool) => match arg {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                _ => self.errorf(format!("expected bool; found {}", found())),
            },
            (_, Kind::Complex) => match arg {
                Arg::Number { num, .. } if num.is_complex || num.is_float => {
                    if num.is_complex {
                        Ok(Value::Complex(num.complex.0, num.complex.1))
                    } else {
                        Ok(Value::Complex(num.float, 0.0))
                    }
                }
                _ => self.errorf(format!("expected complex; found {}", found())),
            },
            (_, Kind::Float) => match arg {
                Arg::Number { num, .. } if num.is_float => Ok(Value::Float(num.float)),
                _ => self.errorf(format!("expected float; found {}", found())),
            },
            (_, Kind::Int) => match arg {
                Arg::Number { num, .. } if num.is_int => {
                    let it = match t {
                        GoType::Int(it) => *it,
                        _ => IntType::Int64,
                    };
                    Ok(Value::Int(num.int, it))
                }
                _ => self.errorf(format!("expected integer; found {}", found())),
            },
            (_, Kind::Uint) => match arg {
                Arg::Number { num, .. } if num.is_uint => {
                    let ut = match t {
                        GoType::Uint(u) => *u,
                        _ => crate::value::UintType::Uint64,
                    };
                    Ok(Value::Uint(num.uint, ut))
                }
                _ => self.errorf(format!("expected unsigned integer; found {}", found())),
            },
            (GoType::Any, _) | (GoType::Reflect, _) => self.eval_empty_interface(dot, arg),
            (_, Kind::String) => match arg {
                Arg::String { text, .. } => Ok(Value::from(text.as_str())),
                _ => self.errorf(format!("expected string; found {}", found())),
            },
            _ => self.errorf(format!(
                "can't handle {} for arg of type {}",
                found(),
                t.name()
            )),
        }
    }

    fn eval_empty_interface(&mut self, dot: &Value, arg: &'a Arg) -> R<Value> {
        self.at(At::Arg(arg));
        match arg {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Number { num, .. } => self.ideal_constant(arg, num),
            Arg::String { text, .. } => Ok(Value::from(text.as_str())),
            _ => self.errorf(format!(
                "can't handle assignment of {} to empty interface argument",
                arg.string()
            )),
        }
    }
}
