//! Parse-tree nodes and their canonical `String()` forms (used verbatim in
//! Go's execution error contexts, e.g. `at <.Labels.foo>`).

use std::fmt::Write as _;

/// A list of nodes (template body or branch body).
#[derive(Debug, Clone, Default)]
pub(crate) struct ListNode {
    pub pos: usize,
    pub nodes: Vec<Node>,
}

/// Statement-level nodes.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text {
        pos: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// `if`, `range` and `with` share this shape.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Var>,
    pub cmds: Vec<Command>,
}

/// A declared variable (`$x` in `$x := ...`).
#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub name: String,
}

/// One command of a pipeline: an operand followed by arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// Parsed numeric constant, with Go's int/uint/float interpretations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    pub complex: (f64, f64),
}

/// Operands.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Box<Number>,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    pub fn write(&self, s: &mut String) {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    s.push('.');
                    s.push_str(i);
                }
            }
            Arg::Variable { idents, .. } => s.push_str(&idents.join(".")),
            Arg::Identifier { name, .. } => s.push_str(name),
            Arg::Dot { .. } => s.push('.'),
            Arg::Nil { .. } => s.push_str("nil"),
            Arg::Bool { val, .. } => s.push_str(if *val { "true" } else { "false" }),
            Arg::Number { num, .. } => s.push_str(&num.text),
            Arg::String { quoted, .. } => s.push_str(quoted),
            Arg::Pipe(p) => p.write(s),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    s.push('(');
                    p.write(s);
                    s.push(')');
                } else {
                    node.write(s);
                }
                for f in fields {
                    s.push('.');
                    s.push_str(f);
                }
            }
        }
    }

    pub fn string(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

impl Command {
    pub fn write(&self, s: &mut String) {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            if let Arg::Pipe(p) = a {
                s.push('(');
                p.write(s);
                s.push(')');
            } else {
                a.write(s);
            }
        }
    }
}

impl Pipe {
    pub fn write(&self, s: &mut String) {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&v.name);
            }
            s.push_str(" := ");
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            c.write(s);
        }
    }
}

impl ListNode {
    pub fn write(&self, s: &mut String) {
        for n in &self.nodes {
            n.write(s);
        }
    }
}

impl Node {
    pub fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
        }
    }

    pub fn write(&self, s: &mut String) {
        match self {
            Node::Text { text, .. } => s.push_str(text),
            Node::Action { pipe, .. } => {
                s.push_str("{{");
                pipe.write(s);
                s.push_str("}}");
            }
            Node::If(b) => b.write("if", s),
            Node::Range(b) => b.write("range", s),
            Node::With(b) => b.write("with", s),
            Node::Template { name, pipe, .. } => {
                let _ = write!(s, "{{{{template {}", crate::fmt::quote_go(name));
                if let Some(p) = pipe {
                    s.push(' ');
                    p.write(s);
                }
                s.push_str("}}");
            }
            Node::Break { .. } => s.push_str("{{break}}"),
            Node::Continue { .. } => s.push_str("{{continue}}"),
        }
    }
}

impl Branch {
    fn write(&self, name: &str, s: &mut String) {
        s.push_str("{{");
        s.push_str(name);
        s.push(' ');
        self.pipe.write(s);
        s.push_str("}}");
        self.list.write(s);
        if let Some(e) = &self.else_list {
            s.push_str("{{else}}");
            e.write(s);
        }
        s.push_str("{{end}}");
    }
}

/// Go's `parse.IsEmptyTree`: only whitespace text and comments.
pub(crate) fn is_empty_tree(list: &ListNode) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text { text, .. } => text.trim_matches(|c: char| c.is_whitespace()).is_empty(),
        _ => false,
    })
}
