//! lookout-template: Go's `text/template` (and the part of `html/template`
//! Alertmanager's e-mail templates need), with the Prometheus rule/console
//! and Alertmanager notification function sets and data types.
//!
//! Owns: the template language (lexer, parser, executor) with Go's error
//! texts, Go `fmt` printing of template values, the [`Value`] model and the
//! [`Object`] trait for host types with fields and methods, html/template
//! contextual escaping ([`html`]), Go time values ([`gotime`]), and the
//! [`prometheus`] and [`alertmanager`] function sets and data.
//! Must not depend on storage, HTTP, async runtimes or the rule engine:
//! Prometheus' `query` function reaches PromQL through the
//! [`prometheus::QueryFn`] trait the caller implements.
//!
//! Behaviour follows Go 1.19, the toolchain of Debian's Prometheus 2.42 and
//! Alertmanager 0.25 whose outputs the golden tests compare against
//! byte for byte, plus two later additions: `range` over an integer
//! (Go 1.22) and `{{else with}}` (Go 1.23).
//!
//! # Example
//!
//! ```
//! use lookout_template::{FuncMap, MissingKey, Template, Value};
//!
//! let funcs = FuncMap::new().func("shout", |s: String| s.to_uppercase());
//! let tmpl = Template::new("greeting")
//!     .funcs(funcs)
//!     .missing_key(MissingKey::Zero)
//!     .parse(r#"{{ define "who" }}{{ .name | shout }}{{ end -}}
//! Hello {{ template "who" . }}, value={{ .value }} {{ printf "%5.2f" .value }}"#)
//!     .unwrap();
//! let data = Value::map([
//!     ("name", Value::from("world")),
//!     ("value", Value::from(1234567.891)),
//! ]);
//! assert_eq!(
//!     tmpl.execute(&data).unwrap(),
//!     "Hello WORLD, value=1.234567891e+06 1234567.89"
//! );
//! assert_eq!(tmpl.execute_template("who", &data).unwrap(), "WORLD");
//! ```
//!
//! Host types implement [`Object`] (fields, methods with Go signatures,
//! `String()`); Alertmanager's notification data is
//! [`alertmanager::Data::to_value`], Prometheus' alert-rule data is
//! [`prometheus::AlertTemplateData`] expanded through
//! [`prometheus::RuleTemplate`].
//!
//! # Known differences from Go
//!
//! * `{{template}}` calls nest at most 1000 deep (Go: 100000) and
//!   parenthesised pipelines plus control structures at most 250 (Go:
//!   10000 parentheses), so a Rust thread stack cannot overflow.
//! * `unicode.IsPrint` (used by `%q`, `js`) is exact for Latin-1 and
//!   approximated above; `%p` and addresses of nested pointers are not
//!   printed; `float32`/`complex64` are not modelled; maps have string keys.
//! * Regular expressions compile with Rust's `regex` after rewriting Go's
//!   ASCII classes; Go's error texts are reproduced for the common syntax
//!   errors (unbalanced `(`/`)`/`[`, bad repetition, trailing `\`).
//! * html/template: see the limits in [`html`].

#![warn(missing_docs)]

mod builtins;
mod exec;
pub mod fmt;
mod func;
pub mod html;
mod lex;
mod node;
mod number;
mod parse;
mod value;

pub mod alertmanager;
pub mod gotime;
pub mod prometheus;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use builtins::{html_escape, js_escape, query_escape};
pub use func::{FromArg, Func, FuncMap, GoType, IntoFunc, IntoResult, Raw, Variadic};
pub use value::{GoSignature, IntType, Kind, List, Map, Object, SafeKind, UintType, Value};

/// A template that failed to parse; `Display` is Go's message, e.g.
/// `template: name:1: unexpected "}" in operand`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The full Go-formatted message.
    pub message: String,
}

/// A template that failed while executing; `Display` is Go's message, e.g.
/// `template: name:1:3: executing "name" at <.Foo>: can't evaluate field Foo in type string`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExecError {
    /// Name of the template executing when the error happened.
    pub name: String,
    /// The full Go-formatted message.
    pub message: String,
}

/// What a missing map key yields (Go's `missingkey=` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: the invalid value, printed `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the map element type's zero value (`""` for
    /// `map[string]string`). Prometheus and Alertmanager use this.
    Zero,
    /// `missingkey=error`: execution stops with an error.
    Error,
}

/// html/template escaping results per executed template name.
type EscapeCache = HashMap<String, Result<Arc<Common>, ExecError>>;

/// State shared by all templates associated with one another (Go's
/// `common`): the named trees, functions and options.
#[derive(Clone, Default)]
pub(crate) struct Common {
    pub trees: HashMap<String, Arc<parse::Tree>>,
    pub funcs: FuncMap,
    pub missing_key: MissingKey,
    pub left: String,
    pub right: String,
    pub html: bool,
}

/// A parsed template set: one main template plus every template it defines
/// or that was added with [`Template::parse_named`].
///
/// Parse once, execute many times: execution never re-parses, and values
/// such as compiled regular expressions live in the function closures.
#[derive(Clone)]
pub struct Template {
    name: String,
    common: Arc<Common>,
    escaped: Arc<Mutex<EscapeCache>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.common.trees.keys().collect();
        names.sort();
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("templates", &names)
            .finish()
    }
}

impl Template {
    /// A new, empty template named `name` (Go's `template.New`).
    pub fn new(name: &str) -> Template {
        Template {
            name: name.to_string(),
            common: Arc::new(Common::default()),
            escaped: Arc::default(),
        }
    }

    /// A new html/template-style template: output of actions is escaped for
    /// the HTML context it appears in.
    pub fn new_html(name: &str) -> Template {
        let mut t = Template::new(name);
        Arc::make_mut(&mut t.common).html = true;
        t
    }

    fn common_mut(&mut self) -> &mut Common {
        self.escaped = Arc::default();
        Arc::make_mut(&mut self.common)
    }

    /// Adds functions (Go's `Funcs`); must come before parsing text that uses them.
    pub fn funcs(mut self, funcs: FuncMap) -> Template {
        let c = self.common_mut();
        c.funcs.map.extend(funcs.map);
        self
    }

    /// Sets the missing-key behaviour (Go's `Option("missingkey=...")`).
    pub fn missing_key(mut self, mk: MissingKey) -> Template {
        self.common_mut().missing_key = mk;
        self
    }

    /// Go's `Option` strings: `missingkey=default|invalid|zero|error`.
    pub fn option(self, opt: &str) -> Result<Template, ParseError> {
        let mk = match opt {
            "missingkey=default" | "missingkey=invalid" => MissingKey::Default,
            "missingkey=zero" => MissingKey::Zero,
            "missingkey=error" => MissingKey::Error,
            _ => {
                return Err(ParseError {
                    message: format!("unrecognized option: {opt}"),
                })
            }
        };
        Ok(self.missing_key(mk))
    }

    /// Sets the action delimiters (empty means the default `{{`/`}}`).
    pub fn delims(mut self, left: &str, right: &str) -> Template {
        let c = self.common_mut();
        c.left = left.to_string();
        c.right = right.to_string();
        self
    }

    /// The name of the main template.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a template with this name is defined.
    pub fn lookup(&self, name: &str) -> bool {
        self.common.trees.contains_key(name)
    }

    /// Names of all defined templates, sorted.
    pub fn defined_templates(&self) -> Vec<String> {
        let mut v: Vec<String> = self.common.trees.keys().cloned().collect();
        v.sort();
        v
    }

    /// Parses `text` as the body of this template (Go's `Parse`); `define`d
    /// templates are added to the set, replacing same-named ones.
    pub fn parse(self, text: &str) -> Result<Template, ParseError> {
        let name = self.name.clone();
        self.parse_named(&name, text)
    }

    /// Parses `text` as the body of the associated template `name` (Go's
    /// `t.New(name).Parse(text)`); the main template stays the same.
    pub fn parse_named(mut self, name: &str, text: &str) -> Result<Template, ParseError> {
        let funcs = &self.common.funcs;
        let has_func = |f: &str| funcs.map.contains_key(f) || builtins::is_builtin(f);
        let trees = parse::parse(name, text, &self.common.left, &self.common.right, &has_func)?;
        let c = self.common_mut();
        for (n, tree) in trees {
            // Go's associate: an empty body does not replace an existing one.
            if let Some(old) = c.trees.get(&n) {
                if node::is_empty_tree(&tree.root) && !node::is_empty_tree(&old.root) {
                    continue;
                }
            }
            c.trees.insert(n, Arc::new(tree));
        }
        Ok(self)
    }

    /// Executes the main template with `data` as dot.
    pub fn execute(&self, data: &Value) -> Result<String, ExecError> {
        self.execute_template(&self.name, data)
    }

    /// Executes the named associated template.
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, ExecError> {
        let common: Arc<Common> = if self.common.html && self.common.trees.contains_key(name) {
            let mut cache = self.escaped.lock().unwrap_or_else(|e| e.into_inner());
            let entry = cache
                .entry(name.to_string())
                .or_insert_with(|| html::escape_set(&self.common, name).map(Arc::new));
            match entry {
                Ok(c) => c.clone(),
                Err(e) => return Err(e.clone()),
            }
        } else {
            self.common.clone()
        };
        let Some(tree) = common.trees.get(name) else {
            if name == self.name {
                return Err(ExecError {
                    name: name.to_string(),
                    message: format!(
                        "template: {}: {} is an incomplete or empty template",
                        name,
                        fmt::quote_go(name)
                    ),
                });
            }
            return Err(ExecError {
                name: name.to_string(),
                message: format!(
                    "template: no template {} associated with template {}",
                    fmt::quote_go(name),
                    fmt::quote_go(&self.name)
                ),
            });
        };
        let mut st = exec::State::new(&common, name, tree, data.clone());
        st.run(data)?;
        Ok(st.out)
    }
}
