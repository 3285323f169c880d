//! The parser: Go's recursive-descent `text/template/parse`, with the same
//! three-token look-ahead, variable scoping checks and error texts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::lex::{Item, ItemType, Lexer};
use crate::node::*;
use crate::ParseError;

/// One parsed template body and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub name: String,
    /// Name of the top-level template whose text contained this tree.
    pub parse_name: String,
    pub text: Arc<str>,
    pub root: ListNode,
}

impl Tree {
    /// Go's `ErrorContext`: `name:line:col` and the node's text (cut at 20 bytes).
    pub fn location(&self, pos: usize) -> String {
        let text = self.text.get(..pos).unwrap_or(&self.text);
        let col = match text.rfind('\n') {
            None => pos,
            Some(i) => pos - (i + 1),
        };
        let line = 1 + text.matches('\n').count();
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a, 'f> {
    name: String,
    parse_name: String,
    text: Arc<str>,
    lex: Lexer<'a>,
    token: [Item<'a>; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    /// Nesting of parenthesised pipelines and control structures.
    depth: usize,
    has_func: &'f dyn Fn(&str) -> bool,
}

/// Deepest nesting the parser accepts. Go stops parenthesised expressions
/// at 10000 ("max expression depth exceeded"); a Rust thread stack needs a
/// lower bound, which also covers nested if/range/with.
const MAX_DEPTH: usize = 250;

fn eof_item() -> Item<'static> {
    Item {
        typ: ItemType::Eof,
        pos: 0,
        val: std::borrow::Cow::Borrowed(""),
        line: 0,
    }
}

/// Parses `text` as the template `name`, returning all trees it defines
/// (the main one under `name`, plus every `define`/`block`).
pub(crate) fn parse(
    name: &str,
    text: &str,
    left: &str,
    right: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> PResult<BTreeMap<String, Tree>> {
    let text_arc: Arc<str> = Arc::from(text);
    let lex = Lexer::new(text, left, right, !has_func("break"), !has_func("continue"));
    let mut p = Parser {
        name: name.to_string(),
        parse_name: name.to_string(),
        text: text_arc,
        lex,
        token: [eof_item(), eof_item(), eof_item()],
        peek_count: 0,
        vars: vec!["$".into()],
        action_line: 0,
        range_depth: 0,
        depth: 0,
        has_func,
    };
    let mut set = BTreeMap::new();
    let root = p.parse_top(&mut set)?;
    p.add(&mut set, root)?;
    Ok(set)
}

impl<'a, 'f> Parser<'a, 'f> {
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            message: format!(
                "template: {}:{}: {}",
                self.parse_name,
                self.token[0].line,
                msg.into()
            ),
        })
    }

    fn next(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'a>) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'a>, t1: Item<'a>) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != expected {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn unexpected<T>(&self, token: &Item<'_>, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.err(format!("{}{}", token.val, extra));
        }
        self.err(format!("unexpected {} in {}", token.describe(), context))
    }

    fn add(&self, set: &mut BTreeMap<String, Tree>, root: ListNode) -> PResult<()> {
        let tree = Tree {
            name: self.name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        };
        match set.get(&self.name) {
            Some(existing) if !is_empty_tree(&existing.root) => {
                if !is_empty_tree(&tree.root) {
                    return self.err(format!(
                        "template: multiple definition of template {}",
                        crate::fmt::quote_go(&self.name)
                    ));
                }
            }
            _ => {
                set.insert(self.name.clone(), tree);
            }
        }
        Ok(())
    }

    fn parse_top(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<ListNode> {
        let mut root = ListNode {
            pos: self.peek().pos,
            nodes: vec![],
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition(set)?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action(set)? {
                Parsed::End => return self.err("unexpected {{end}}"),
                Parsed::Else(_) => return self.err("unexpected {{else}}"),
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        Ok(root)
    }

    /// Runs `f` as if it were a fresh Go `Tree` sharing our lexer (define,
    /// block): own name and variable scope.
    fn sub_tree<T>(&mut self, name: String, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let saved_name = std::mem::replace(&mut self.name, name);
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.name = saved_name;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        r
    }

    fn parse_definition(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<()> {
        let context = "define clause";
        self.sub_tree("definition".into(), |p| {
            let t = p.next_non_space();
            if t.typ != ItemType::String && t.typ != ItemType::RawString {
                return p.unexpected(&t, context);
            }
            p.name = match unquote(&t.val) {
                Some(s) => s,
                None => return p.err("invalid syntax"),
            };
            p.expect(ItemType::RightDelim, context)?;
            let (list, end) = p.item_list(set)?;
            if !matches!(end, Parsed::End) {
                return p.err(format!("unexpected {} in {}", end.describe(), context));
            }
            p.add(set, list)
        })
    }

    fn item_list(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<(ListNode, Parsed)> {
        let mut list = ListNode {
            pos: self.peek_non_space().pos,
            nodes: vec![],
        };
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action(set)? {
                Parsed::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        self.err("unexpected EOF")
    }

    fn text_or_action(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: token.val.into_owned(),
            })),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action(set);
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control(set).map(Parsed::Node),
            ItemType::Break => return self.break_control(token.pos, "{{break}}", true),
            ItemType::Continue => return self.break_control(token.pos, "{{continue}}", false),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                let t = self.expect(ItemType::RightDelim, "end")?;
                let _ = t;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.branch(set, "if").map(Parsed::Node),
            ItemType::Range => return self.branch(set, "range").map(Parsed::Node),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.branch(set, "with").map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action {
            pos: token.pos,
            pipe,
        }))
    }

    fn break_control(&mut self, pos: usize, what: &str, is_break: bool) -> PResult<Parsed> {
        let t = self.next_non_space();
        if t.typ != ItemType::RightDelim {
            return self.unexpected(&t, what);
        }
        if self.range_depth == 0 {
            return self.err(format!("{what} outside {{{{range}}}}"));
        }
        Ok(Parsed::Node(if is_break {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            // "{{else if ...": the if/with token stays pending.
            return Ok(Parsed::Else(peek.pos));
        }
        let t = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else(t.pos))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return self.err("max expression depth exceeded");
        }
        Ok(())
    }

    fn branch(&mut self, set: &mut BTreeMap<String, Tree>, context: &str) -> PResult<Node> {
        self.enter()?;
        let mark = self.vars.len();
        let r = self.branch_inner(set, context);
        self.vars.truncate(mark);
        self.depth -= 1;
        let b = Box::new(r?);
        Ok(match context {
            "if" => Node::If(b),
            "range" => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn branch_inner(&mut self, set: &mut BTreeMap<String, Tree>, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list(set);
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else(pos) => {
                // "else if" chains for if; "else with" for with (Go 1.23).
                let chained = match context {
                    "if" => Some(ItemType::If),
                    "with" => Some(ItemType::With),
                    _ => None,
                };
                if let Some(kw) = chained {
                    if self.peek().typ == kw {
                        self.next();
                        let inner = self.branch(set, context)?;
                        else_list = Some(ListNode {
                            pos,
                            nodes: vec![inner],
                        });
                        return Ok(Branch {
                            pipe,
                            list,
                            else_list,
                        });
                    }
                }
                let (el, next) = self.item_list(set)?;
                if !matches!(next, Parsed::End) {
                    return self.err(format!("expected end; found {}", next.describe()));
                }
                else_list = Some(el);
            }
            Parsed::Node(_) => {}
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self, set: &mut BTreeMap<String, Tree>) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        self.sub_tree(name.clone(), |p| {
            let (list, end) = p.item_list(set)?;
            if !matches!(end, Parsed::End) {
                return p.err(format!("unexpected {} in {}", end.describe(), context));
            }
            p.add(set, list)
        })?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn template_name(&self, token: &Item<'_>, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Some(s) => Ok(s),
                None => self.err("invalid syntax"),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: vec![],
            cmds: vec![],
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            self.next();
            let token_after = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(Var {
                        name: v.val.to_string(),
                    });
                    self.vars.push(v.val.to_string());
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Var {
                        name: v.val.to_string(),
                    });
                    self.vars.push(v.val.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => return self.err("range can only initialize variables"),
                        }
                    }
                    return self.err(format!("too many declarations in {context}"));
                }
                _ if token_after.typ == ItemType::Space => self.backup3(v, token_after),
                _ => self.backup2(v),
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool { .. }
                | Arg::Dot { .. }
                | Arg::Nil { .. }
                | Arg::Number { .. }
                | Arg::String { .. },
            ) = c.args.first()
            {
                return self.err(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: vec![],
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let chain_pos = self.peek().pos;
            let mut fields = vec![];
            while self.peek().typ == ItemType::Field {
                let f = self.next();
                fields.push(f.val[1..].to_string());
            }
            return Ok(Some(match node {
                Arg::Field { mut idents, .. } => {
                    idents.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Variable { mut idents, .. } => {
                    idents.extend(fields);
                    Arg::Variable {
                        pos: chain_pos,
                        idents,
                    }
                }
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number { .. }
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return self.err(format!(
                        "unexpected . after term {}",
                        crate::fmt::quote_go(&node.string())
                    ))
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                if !(self.has_func)(&token.val) {
                    return self.err(format!(
                        "function {} not defined",
                        crate::fmt::quote_go(&token.val)
                    ));
                }
                Arg::Identifier {
                    pos: token.pos,
                    name: token.val.into_owned(),
                }
            }
            ItemType::Dot => Arg::Dot { pos: token.pos },
            ItemType::Nil => Arg::Nil { pos: token.pos },
            ItemType::Variable => {
                let idents: Vec<String> = token.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return self.err(format!(
                        "undefined variable {}",
                        crate::fmt::quote_go(&idents[0])
                    ));
                }
                Arg::Variable {
                    pos: token.pos,
                    idents,
                }
            }
            ItemType::Field => Arg::Field {
                pos: token.pos,
                idents: vec![token.val[1..].to_string()],
            },
            ItemType::Bool => Arg::Bool {
                pos: token.pos,
                val: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match crate::number::parse_number(&token.val, token.typ) {
                    Ok(num) => Arg::Number {
                        pos: token.pos,
                        num: Box::new(num),
                    },
                    Err(e) => return self.err(e),
                }
            }
            ItemType::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(p))
            }
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Some(s) => Arg::String {
                    pos: token.pos,
                    quoted: token.val.into_owned(),
                    text: s,
                },
                None => return self.err("invalid syntax"),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Result of parsing one item at list level.
enum Parsed {
    Node(Node),
    End,
    Else(usize),
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::Node(n) => {
                let mut s = String::new();
                n.write(&mut s);
                s
            }
            Parsed::End => "{{end}}".into(),
            Parsed::Else(_) => "{{else}}".into(),
        }
    }
}

/// Go's `strconv.Unquote` for double-quoted and raw strings.
pub(crate) fn unquote(s: &str) -> Option<String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        let inner = &s[1..s.len() - 1];
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', ""));
    }
    if s.len() < 2 || !s.starts_with('"') || !s.ends_with('"') {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        let (bytes, tail) = crate::number::unquote_char(rest, b'"')?;
        out.extend_from_slice(&bytes);
        rest = tail;
    }
    // Templates are Rust strings; a \x escape producing invalid UTF-8 is
    // replaced (Go keeps raw bytes).
    Some(String::from_utf8_lossy(&out).into_owned())
}
