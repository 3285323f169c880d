//! A YAML node tree with source positions, built from `yaml-rust2`'s event
//! parser.
//!
//! Prometheus reports rule-file errors with the line and column of the YAML
//! node at fault (`5:11: group "g", rule 1, ...`) and rejects unknown keys;
//! serde-based YAML crates expose neither node positions nor a way to name
//! the offending key the way Go's decoder does, so rule files are decoded
//! by hand from this tree.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column, like Go's `yaml.Node`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, 1-based (0 = unknown).
    pub line: usize,
    /// Column, 1-based (0 = unknown).
    pub col: usize,
}

impl Pos {
    fn of(m: &Marker) -> Pos {
        Pos {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// A YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// The node's content.
    pub kind: Kind,
}

/// Node content.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar: its text, whether it was plain (unquoted), and an explicit tag.
    Scalar {
        /// The scalar's text.
        value: String,
        /// Unquoted (plain) style: only then do `null`, `~` and `` mean null.
        plain: bool,
        /// Explicit tag, e.g. `!!str`.
        tag: Option<String>,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Whether the node is a null scalar (`~`, `null`, empty, plain).
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar { value, plain, tag } => {
                tag.as_deref() == Some("!!null")
                    || (*plain
                        && tag.is_none()
                        && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
            }
            _ => false,
        }
    }

    /// The YAML 1.1 tag Go's decoder names in type errors (`!!map`, `!!seq`,
    /// `!!str`, `!!int`, ...).
    pub fn short_tag(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
            Kind::Scalar { value, plain, tag } => {
                if let Some(t) = tag {
                    return match t.as_str() {
                        "!!str" => "!!str",
                        "!!int" => "!!int",
                        "!!float" => "!!float",
                        "!!bool" => "!!bool",
                        "!!null" => "!!null",
                        _ => "!!str",
                    };
                }
                if !plain {
                    return "!!str";
                }
                if self.is_null() {
                    "!!null"
                } else if matches!(
                    value.as_str(),
                    "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
                ) {
                    "!!bool"
                } else if value.parse::<i64>().is_ok() {
                    "!!int"
                } else if value.parse::<f64>().is_ok() {
                    "!!float"
                } else {
                    "!!str"
                }
            }
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// A YAML syntax error with Go-like text (`yaml: line N: <problem>`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("yaml: line {line}: {info}")]
pub struct SyntaxError {
    /// 1-based line of the problem.
    pub line: usize,
    /// The scanner's description.
    pub info: String,
}

enum Frame {
    Seq(Pos, Vec<Node>, usize),
    Map(Pos, Vec<(Node, Node)>, Option<Node>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Option<Node>>,
    anchors: HashMap<usize, Node>,
    alias_error: Option<SyntaxError>,
}

fn tag_string(t: &Option<Tag>) -> Option<String> {
    t.as_ref().map(|t| {
        if t.handle == "tag:yaml.org,2002:" || t.handle == "!!" {
            format!("!!{}", t.suffix)
        } else {
            format!("{}{}", t.handle, t.suffix)
        }
    })
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if let Some(last) = self.docs.last_mut() {
                    if last.is_none() {
                        *last = Some(node);
                    }
                }
            }
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, pairs, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::of(&mark);
        match ev {
            Event::DocumentStart => self.docs.push(None),
            Event::Scalar(value, style, anchor, tag) => {
                let plain = matches!(style, TScalarStyle::Plain);
                let node = Node {
                    pos,
                    kind: Kind::Scalar {
                        value,
                        plain,
                        tag: tag_string(&tag),
                    },
                };
                self.push_node(node, anchor);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(n) => {
                    let mut n = n.clone();
                    n.pos = pos;
                    self.push_node(n, 0);
                }
                None => {
                    if self.alias_error.is_none() {
                        self.alias_error = Some(SyntaxError {
                            line: pos.line,
                            info: "unknown anchor referenced".into(),
                        });
                    }
                }
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, Vec::new(), None, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (node, anchor) = match frame {
                        Frame::Seq(p, items, a) => (
                            Node {
                                pos: p,
                                kind: Kind::Seq(items),
                            },
                            a,
                        ),
                        Frame::Map(p, pairs, _, a) => {
                            // Go's node position of a block mapping is its first key.
                            let p = pairs.first().map(|(k, _)| k.pos).unwrap_or(p);
                            (
                                Node {
                                    pos: p,
                                    kind: Kind::Map(pairs),
                                },
                                a,
                            )
                        }
                    };
                    self.push_node(node, anchor);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
}

/// Parses a YAML stream and returns its documents' root nodes (`None` for
/// an empty document). An empty stream has no documents.
pub fn parse_documents(text: &str) -> Result<Vec<Option<Node>>, SyntaxError> {
    let mut b = Builder::default();
    let mut p = Parser::new_from_str(text);
    p.load(&mut b, true).map_err(|e| SyntaxError {
        line: e.marker().line(),
        info: e.info().to_string(),
    })?;
    if let Some(e) = b.alias_error {
        return Err(e);
    }
    Ok(b.docs)
}

/// Describes a node for Go-style type errors: `!!str `abc``.
pub fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar { value, .. } => {
            let mut v: String = value.chars().take(40).collect();
            if value.chars().count() > 40 {
                v.push_str(" ...");
            }
            format!("{} `{}`", node.short_tag(), v)
        }
        _ => node.short_tag().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_go_yaml() {
        let docs = parse_documents("groups:\n- name: g\n  rules:\n  - expr: up\n").unwrap();
        let root = docs[0].as_ref().unwrap();
        assert_eq!(root.pos, Pos { line: 1, col: 1 });
        let Kind::Map(pairs) = &root.kind else {
            panic!()
        };
        let Kind::Seq(groups) = &pairs[0].1.kind else {
            panic!()
        };
        assert_eq!(groups[0].pos, Pos { line: 2, col: 3 });
        let Kind::Map(g) = &groups[0].kind else {
            panic!()
        };
        let Kind::Seq(rules) = &g[1].1.kind else {
            panic!()
        };
        let Kind::Map(r) = &rules[0].kind else {
            panic!()
        };
        assert_eq!(r[0].1.pos, Pos { line: 4, col: 11 });
    }

    #[test]
    fn null_and_tags() {
        let docs = parse_documents("a: ~\nb: 'null'\nc: 1\nd: x\ne:\n").unwrap();
        let Kind::Map(p) = &docs[0].as_ref().unwrap().kind else {
            panic!()
        };
        assert!(p[0].1.is_null());
        assert!(!p[1].1.is_null());
        assert_eq!(p[2].1.short_tag(), "!!int");
        assert_eq!(p[3].1.short_tag(), "!!str");
        assert!(p[4].1.is_null());
    }

    #[test]
    fn anchors_and_multiple_documents() {
        let docs = parse_documents("a: &x {k: v}\nb: *x\n---\nc: 1\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Kind::Map(p) = &docs[0].as_ref().unwrap().kind else {
            panic!()
        };
        assert_eq!(p[0].1.kind, p[1].1.kind);
        assert!(parse_documents("a: [\n").is_err());
        assert!(parse_documents("").unwrap().is_empty());
    }
}
