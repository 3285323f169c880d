//! html/template: contextual auto-escaping.
//!
//! Before a template set executes in HTML mode, every reachable template is
//! rewritten like Go's `html/template` does: text is scanned with an HTML
//! context machine ([`context`]), each output action gets the escaper
//! functions for its context appended to its pipeline, `{{if}}`/`{{range}}`
//! branches must end in the same context, and a template called from a
//! non-text context is escaped as a derived copy
//! (`name$htmltemplate_stateURL_...`). HTML comments are removed from
//! template text and stray `<` in text becomes `&lt;`.
//!
//! Limits: CSS escape sequences are not decoded before `cssvaluefilter`
//! checks, recursive templates are assumed to end in the context they start
//! in, and `{{break}}`/`{{continue}}` do not affect context joins.

mod context;
mod escapers;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::node::*;
use crate::parse::Tree;
use crate::{Common, ExecError};
use context::{context_after_text, nudge, Context, Delim, HtmlError, JsCtx, State, UrlPart};

struct Escaper<'a> {
    src: &'a Common,
    output: HashMap<String, Context>,
    bodies: HashMap<String, (Arc<Tree>, ListNode)>,
    in_progress: HashSet<String>,
}

fn describe(n: &Node) -> String {
    let mut s = String::new();
    n.write(&mut s);
    s
}

impl<'a> Escaper<'a> {
    fn escape_tree(&mut self, c: Context, name: &str, loc: Option<String>) -> (Context, String) {
        let dname = c.mangle(name);
        if let Some(out) = self.output.get(&dname) {
            return (out.clone(), dname);
        }
        let Some(tree) = self.src.trees.get(name).cloned() else {
            return (
                Context::error(
                    format!("no such template {}", crate::fmt::quote_go(name)),
                    loc,
                ),
                dname,
            );
        };
        if self.in_progress.contains(&dname) {
            return (c, dname);
        }
        self.in_progress.insert(dname.clone());
        let (body, out) = self.escape_list(c, &tree.root, &tree);
        self.in_progress.remove(&dname);
        self.output.insert(dname.clone(), out.clone());
        self.bodies.insert(dname.clone(), (tree, body));
        (out, dname)
    }

    fn escape_list(&mut self, mut c: Context, list: &ListNode, tree: &Tree) -> (ListNode, Context) {
        let mut out = ListNode {
            pos: list.pos,
            nodes: Vec::with_capacity(list.nodes.len()),
        };
        for n in &list.nodes {
            let (n2, c2) = self.escape_node(c, n, tree);
            c = c2;
            out.nodes.push(n2);
            if c.state == State::Error {
                break;
            }
        }
        (out, c)
    }

    fn escape_node(&mut self, c: Context, n: &Node, tree: &Tree) -> (Node, Context) {
        match n {
            Node::Text { pos, text } => {
                let (t, c) = escape_text(c, text);
                (Node::Text { pos: *pos, text: t }, c)
            }
            Node::Action { pos, pipe } => {
                let loc = tree.location(*pos);
                let (p, c) = escape_action(c, pipe, n, loc);
                (Node::Action { pos: *pos, pipe: p }, c)
            }
            Node::If(b) => {
                let (b2, c) = self.escape_branch(c, b, "if", n, tree);
                (Node::If(Box::new(b2)), c)
            }
            Node::With(b) => {
                let (b2, c) = self.escape_branch(c, b, "with", n, tree);
                (Node::With(Box::new(b2)), c)
            }
            Node::Range(b) => {
                let (b2, c) = self.escape_branch(c, b, "range", n, tree);
                (Node::Range(Box::new(b2)), c)
            }
            Node::Template { pos, name, pipe } => {
                let (c, dname) = self.escape_tree(c, name, Some(tree.location(*pos)));
                (
                    Node::Template {
                        pos: *pos,
                        name: dname,
                        pipe: pipe.clone(),
                    },
                    c,
                )
            }
            Node::Break { .. } | Node::Continue { .. } => (n.clone(), c),
        }
    }

    fn escape_branch(
        &mut self,
        c: Context,
        b: &Branch,
        name: &str,
        n: &Node,
        tree: &Tree,
    ) -> (Branch, Context) {
        let loc = tree.location(n.pos());
        let (list, mut c0) = self.escape_list(c.clone(), &b.list, tree);
        if name == "range" && c0.state != State::Error {
            let (_, c1) = self.escape_list(c0.clone(), &b.list, tree);
            c0 = join(c0, c1, name, &loc);
            if let Some(e) = c0.err.as_mut() {
                e.desc = format!("on range loop re-entry: {}", e.desc);
            }
        }
        let (else_list, c1) = match &b.else_list {
            Some(e) => {
                let (l, c1) = self.escape_list(c, e, tree);
                (Some(l), c1)
            }
            None => (None, c),
        };
        let joined = if c0.state == State::Error {
            c0
        } else {
            join(c0, c1, name, &loc)
        };
        let _ = describe;
        (
            Branch {
                pipe: b.pipe.clone(),
                list,
                else_list,
            },
            joined,
        )
    }
}

fn join(a: Context, b: Context, node_name: &str, loc: &str) -> Context {
    if a.state == State::Error {
        return a;
    }
    if b.state == State::Error {
        return b;
    }
    if a == b {
        return a;
    }
    let mut c = a.clone();
    c.url_part = b.url_part;
    if c == b {
        c.url_part = UrlPart::Unknown;
        return c;
    }
    let mut c = a.clone();
    c.js_ctx = b.js_ctx;
    if c == b {
        c.js_ctx = JsCtx::Unknown;
        return c;
    }
    let (na, nb) = (nudge(a.clone()), nudge(b.clone()));
    if !(na == a && nb == b) {
        let e = join(na, nb, node_name, loc);
        if e.state != State::Error {
            return e;
        }
    }
    Context::error(
        format!("{{{{{node_name}}}}} branches end in different contexts: {a}, {b}"),
        Some(loc.to_string()),
    )
}

fn escape_text(mut c: Context, text: &str) -> (String, Context) {
    let s = text.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut written = 0;
    let mut i = 0;
    while i != s.len() {
        let (c1, nread) = context_after_text(c.clone(), &s[i..]);
        let i1 = i + nread;
        if c.state == State::Text || c.state == State::Rcdata {
            let mut end = i1;
            if c1.state != c.state {
                if let Some(k) = s[i..i1].iter().rposition(|&x| x == b'<') {
                    end = i + k;
                }
            }
            for j in i..end {
                if s[j] == b'<' && !s[j..].to_ascii_uppercase().starts_with(b"<!DOCTYPE") {
                    out.extend_from_slice(&s[written..j]);
                    out.extend_from_slice(b"&lt;");
                    written = j + 1;
                }
            }
        } else if c.state.is_comment() && c.delim == Delim::None {
            match c.state {
                State::JsBlockCmt => {
                    let seg = &s[written..i1];
                    let nl = seg.iter().any(|&b| b == b'\n' || b == b'\r')
                        || String::from_utf8_lossy(seg).contains(['\u{2028}', '\u{2029}']);
                    out.push(if nl { b'\n' } else { b' ' });
                }
                State::CssBlockCmt => out.push(b' '),
                _ => {}
            }
            written = i1;
        }
        if c.state != c1.state && c1.state.is_comment() && c1.delim == Delim::None {
            let mut cs = i1 - 2;
            if c1.state == State::HtmlCmt {
                cs -= 2;
            }
            out.extend_from_slice(&s[written..cs]);
            written = i1;
        }
        if i == i1 && c.state == c1.state {
            // No progress: give up on this text (cannot happen with Go's
            // transition table, kept as a guard against looping).
            break;
        }
        c = c1;
        i = i1;
    }
    if written != 0 && c.state != State::Error {
        if !c.state.is_comment() || c.delim != Delim::None {
            out.extend_from_slice(&s[written..]);
        }
        return (String::from_utf8_lossy(&out).into_owned(), c);
    }
    (text.to_string(), c)
}

fn escape_action(c: Context, pipe: &Pipe, n: &Node, loc: String) -> (Pipe, Context) {
    if !pipe.decl.is_empty() {
        return (pipe.clone(), c);
    }
    let mut c = nudge(c);
    for (pos, cmd) in pipe.cmds.iter().enumerate() {
        if let Some(Arg::Identifier { name, .. }) = cmd.args.first() {
            if (name == "html" || name == "urlquery")
                && (pos < pipe.cmds.len() - 1
                    || (c.state == State::Attr
                        && c.delim == Delim::SpaceOrTagEnd
                        && name == "html"))
            {
                return (
                    pipe.clone(),
                    Context::error(
                        format!(
                            "predefined escaper {} disallowed in template",
                            crate::fmt::quote_go(name)
                        ),
                        Some(loc),
                    ),
                );
            }
        }
    }
    let mut s: Vec<&'static str> = Vec::with_capacity(3);
    match c.state {
        State::Error => return (pipe.clone(), c),
        State::Url
        | State::CssDqStr
        | State::CssSqStr
        | State::CssDqUrl
        | State::CssSqUrl
        | State::CssUrl => match c.url_part {
            UrlPart::None | UrlPart::PreQuery => {
                if c.url_part == UrlPart::None {
                    s.push("_html_template_urlfilter");
                }
                if matches!(c.state, State::CssDqStr | State::CssSqStr) {
                    s.push("_html_template_cssescaper");
                } else {
                    s.push("_html_template_urlnormalizer");
                }
            }
            UrlPart::QueryOrFrag => s.push("_html_template_urlescaper"),
            UrlPart::Unknown => {
                return (
                    pipe.clone(),
                    Context::error(
                        format!(
                            "{} appears in an ambiguous context within a URL",
                            describe(n)
                        ),
                        Some(loc),
                    ),
                )
            }
        },
        State::Js => {
            s.push("_html_template_jsvalescaper");
            c.js_ctx = JsCtx::DivOp;
        }
        State::JsDqStr | State::JsSqStr => s.push("_html_template_jsstrescaper"),
        State::JsBqStr => {
            return (
                pipe.clone(),
                Context::error(
                    format!("{} appears in a JS template literal", describe(n)),
                    Some(loc),
                ),
            )
        }
        State::JsRegexp => s.push("_html_template_jsregexpescaper"),
        State::Css => s.push("_html_template_cssvaluefilter"),
        State::Text => s.push("_html_template_htmlescaper"),
        State::Rcdata => s.push("_html_template_rcdataescaper"),
        State::Attr => {}
        State::AttrName | State::Tag => {
            c.state = State::AttrName;
            s.push("_html_template_htmlnamefilter");
        }
        State::Srcset => s.push("_html_template_srcsetescaper"),
        st if st.is_comment() => s.push("_html_template_commentescaper"),
        _ => {
            return (
                pipe.clone(),
                Context::error(format!("unexpected state {}", c.state.name()), Some(loc)),
            )
        }
    }
    match c.delim {
        Delim::None => {}
        Delim::SpaceOrTagEnd => s.push("_html_template_nospaceescaper"),
        _ => s.push("_html_template_attrescaper"),
    }
    (ensure_pipeline_contains(pipe, s), c)
}

fn ident_cmd(name: &str, pos: usize) -> Command {
    Command {
        pos,
        args: vec![Arg::Identifier {
            pos,
            name: name.to_string(),
        }],
    }
}

/// Go's `ensurePipelineContains`: appends the escapers, merging with a
/// trailing predefined `html`/`urlquery`.
fn ensure_pipeline_contains(p: &Pipe, s: Vec<&'static str>) -> Pipe {
    let mut p = p.clone();
    if s.is_empty() {
        return p;
    }
    let mut s: Vec<String> = s.into_iter().map(str::to_string).collect();
    let mut pipeline_len = p.cmds.len();
    let ncmds = p.cmds.len();
    let pp = p.pos;
    let mut extra: Option<Command> = None;
    if let Some(last) = p.cmds.last_mut() {
        if let Some(Arg::Identifier { name: esc, pos }) = last.args.first().cloned().as_ref() {
            if esc == "html" || esc == "urlquery" {
                if ncmds == 1 && last.args.len() > 1 {
                    last.args[0] = Arg::Identifier {
                        pos: *pos,
                        name: "_eval_args_".into(),
                    };
                    extra = Some(ident_cmd(esc, pp));
                    pipeline_len += 1;
                }
                let mut dup = false;
                for e in s.iter_mut() {
                    if escapers::normalize_esc_fn(esc) == escapers::normalize_esc_fn(e) {
                        *e = esc.clone();
                        dup = true;
                    }
                }
                if dup {
                    pipeline_len -= 1;
                }
            }
        }
    }
    if let Some(x) = extra {
        p.cmds.push(x);
    }
    let mut new_cmds: Vec<Command> = p.cmds[..pipeline_len].to_vec();
    let mut inserted: HashSet<String> = HashSet::new();
    for c in &new_cmds {
        if let Some(Arg::Identifier { name, .. }) = c.args.first() {
            inserted.insert(escapers::normalize_esc_fn(name).to_string());
        }
    }
    for name in s {
        if !inserted.contains(escapers::normalize_esc_fn(&name)) {
            new_cmds.push(ident_cmd(&name, p.pos));
        }
    }
    p.cmds = new_cmds;
    p
}

fn html_error(e: &HtmlError, name: &str) -> ExecError {
    let message = match (&e.loc, name.is_empty()) {
        (Some(loc), _) => format!("html/template:{loc}: {}", e.desc),
        (None, false) => format!("html/template:{name}: {}", e.desc),
        (None, true) => format!("html/template: {}", e.desc),
    };
    ExecError {
        name: name.to_string(),
        message,
    }
}

/// Escapes the template `name` and everything it calls; returns the set to
/// execute.
pub(crate) fn escape_set(src: &Common, name: &str) -> Result<Common, ExecError> {
    let mut e = Escaper {
        src,
        output: HashMap::new(),
        bodies: HashMap::new(),
        in_progress: HashSet::new(),
    };
    let (c, _) = e.escape_tree(Context::default(), name, None);
    if let Some(err) = &c.err {
        return Err(html_error(err, name));
    }
    if c.state != State::Text {
        return Err(html_error(
            &HtmlError {
                loc: None,
                desc: format!("ends in a non-text context: {c}"),
            },
            name,
        ));
    }
    let mut out = src.clone();
    for (dname, (tree, body)) in e.bodies {
        out.trees.insert(
            dname.clone(),
            Arc::new(Tree {
                name: dname,
                parse_name: tree.parse_name.clone(),
                text: tree.text.clone(),
                root: body,
            }),
        );
    }
    out.funcs = out.funcs.merge(escapers::escaper_funcs());
    Ok(out)
}
