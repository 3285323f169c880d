//! Prometheus rule files: decoding (strict, like Go's `yaml.v3` with known
//! fields), validation with the texts and positions `promtool check rules`
//! prints, and the `duplicate-rules` lint.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use lookout_template::prometheus::{funcs, NoQuery, ALERT_TEMPLATE_DEFS};
use lookout_template::{FuncMap, MissingKey, ParseError, Template};

use crate::yaml::{self, Kind, Node, Pos};

/// A string-valued YAML node kept with its position (Go's `yaml.Node` fields
/// `record`, `alert`, `expr`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spanned {
    /// The scalar text ("" when absent or not a scalar).
    pub value: String,
    /// Where the value is; `None` when the key is absent.
    pub pos: Option<Pos>,
}

/// One rule as written in a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleNode {
    /// `record:` name.
    pub record: Spanned,
    /// `alert:` name.
    pub alert: Spanned,
    /// `expr:` PromQL text.
    pub expr: Spanned,
    /// `for:` in milliseconds.
    pub for_ms: i64,
    /// `keep_firing_for:` in milliseconds.
    pub keep_firing_for_ms: i64,
    /// `labels:`.
    pub labels: BTreeMap<String, String>,
    /// `annotations:`.
    pub annotations: BTreeMap<String, String>,
}

impl RuleNode {
    /// The alert name, or the record name when the rule is not an alert.
    pub fn name(&self) -> &str {
        if self.alert.value.is_empty() {
            &self.record.value
        } else {
            &self.alert.value
        }
    }
}

/// One rule group as written in a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleGroup {
    /// `name:`.
    pub name: String,
    /// `interval:` in milliseconds (0 = the global evaluation interval).
    pub interval_ms: i64,
    /// `query_offset:` in milliseconds (`None` = the global rule query offset).
    pub query_offset_ms: Option<i64>,
    /// `limit:` (0 = no limit).
    pub limit: i64,
    /// `labels:` added to every rule of the group (rule labels win).
    pub labels: BTreeMap<String, String>,
    /// The rules in file order.
    pub rules: Vec<RuleNode>,
    /// Position of the group's mapping.
    pub pos: Pos,
}

/// A decoded rule file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleGroups {
    /// The groups in file order.
    pub groups: Vec<RuleGroup>,
}

impl RuleGroups {
    /// Number of rules over all groups.
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// One problem found in a rule file. `Display` is the text promtool prints
/// after `<file>: `.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleFileError {
    /// YAML syntax or structure problems (the whole text, Go's wording).
    #[error("{0}")]
    Yaml(String),
    /// A group-level problem, already prefixed with `line:col: `.
    #[error("{0}")]
    Group(String),
    /// A rule-level problem.
    #[error("{}", format_rule_error(.pos, .alt_pos, .group, *.rule_index, .rule_name, .message))]
    Rule {
        /// Position of the node at fault.
        pos: Option<Pos>,
        /// A second position (both `record` and `alert` set).
        alt_pos: Option<Pos>,
        /// Group name.
        group: String,
        /// 1-based rule index in the group.
        rule_index: usize,
        /// Rule name (alert or record).
        rule_name: String,
        /// What is wrong.
        message: String,
    },
}

fn format_rule_error(
    pos: &Option<Pos>,
    alt: &Option<Pos>,
    group: &str,
    idx: usize,
    name: &str,
    msg: &str,
) -> String {
    let mut s = String::new();
    if let Some(p) = pos {
        s.push_str(&format!("{}:{}: ", p.line, p.col));
        if let Some(a) = alt {
            s.push_str(&format!("{}:{}: ", a.line, a.col));
        }
    }
    s.push_str(&format!(
        "group {}, rule {}, {}: {}",
        go_quote(group),
        idx,
        go_quote(name),
        msg
    ));
    s
}

fn go_quote(s: &str) -> String {
    lookout_template::fmt::quote_go(s)
}

/// Parses and validates rule-file text. Errors are in promtool's order.
pub fn parse(text: &str) -> Result<RuleGroups, Vec<RuleFileError>> {
    let groups = decode(text)?;
    let errs = validate(&groups);
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

/// Decodes without semantic validation (syntax, structure, unknown fields).
pub fn decode(text: &str) -> Result<RuleGroups, Vec<RuleFileError>> {
    let docs = match yaml::parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            // Prometheus decodes the text twice (strict into the rule types,
            // then into nodes for positions) and reports a syntax error from both.
            let msg = RuleFileError::Yaml(e.to_string());
            return Err(vec![msg.clone(), msg]);
        }
    };
    let root = match docs.into_iter().next().flatten() {
        None => return Ok(RuleGroups::default()),
        Some(r) => r,
    };
    let mut d = Decoder::default();
    let groups = d.root(&root);
    let mut errs = Vec::new();
    if let Some(fatal) = d.fatal {
        errs.push(RuleFileError::Yaml(fatal));
    } else if !d.type_errors.is_empty() {
        errs.push(RuleFileError::Yaml(unmarshal_errors(&d.type_errors)));
    }
    // The second, positions-only decode complains about the outer shape only.
    match &root.kind {
        Kind::Map(pairs) => {
            if let Some((_, g)) = pairs.iter().find(|(k, _)| k.scalar() == Some("groups")) {
                if !matches!(g.kind, Kind::Seq(_)) && !g.is_null() {
                    errs.push(RuleFileError::Yaml(unmarshal_errors(&[format!(
                        "line {}: cannot unmarshal {} into []yaml.Node",
                        g.pos.line,
                        yaml::describe(g)
                    )])));
                }
            }
        }
        _ if root.is_null() => {}
        _ => errs.push(RuleFileError::Yaml(unmarshal_errors(&[format!(
            "line {}: cannot unmarshal {} into rulefmt.ruleGroups",
            root.pos.line,
            yaml::describe(&root)
        )]))),
    }
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

fn unmarshal_errors(lines: &[String]) -> String {
    let mut s = String::from("yaml: unmarshal errors:");
    for l in lines {
        s.push_str("\n  ");
        s.push_str(l);
    }
    s
}

#[derive(Default)]
struct Decoder {
    type_errors: Vec<String>,
    fatal: Option<String>,
}

impl Decoder {
    fn type_error(&mut self, node: &Node, target: &str) {
        self.type_errors.push(format!(
            "line {}: cannot unmarshal {} into {}",
            node.pos.line,
            yaml::describe(node),
            target
        ));
    }

    /// Iterates a mapping's pairs, reporting duplicate and unknown keys.
    fn fields<'a>(
        &mut self,
        node: &'a Node,
        type_name: &str,
        known: &[&str],
    ) -> Vec<(&'a str, &'a Node)> {
        let Kind::Map(pairs) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, type_name);
            }
            return Vec::new();
        };
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut out = Vec::new();
        for (k, v) in pairs {
            let key = k.scalar().unwrap_or("");
            if let Some((_, line)) = seen.iter().find(|(n, _)| *n == key) {
                self.type_errors.push(format!(
                    "line {}: mapping key {} already defined at line {}",
                    k.pos.line,
                    go_quote(key),
                    line
                ));
                continue;
            }
            seen.push((key, k.pos.line));
            if !known.contains(&key) {
                self.type_errors.push(format!(
                    "line {}: field {} not found in type {}",
                    k.pos.line, key, type_name
                ));
                continue;
            }
            out.push((key, v));
        }
        out
    }

    fn string(&mut self, node: &Node) -> String {
        match &node.kind {
            Kind::Scalar { value, .. } => {
                if node.is_null() {
                    String::new()
                } else {
                    value.clone()
                }
            }
            _ => {
                self.type_error(node, "string");
                String::new()
            }
        }
    }

    fn spanned(&mut self, node: &Node) -> Spanned {
        // Go keeps these as raw nodes: any scalar's text, "" for collections.
        Spanned {
            value: match &node.kind {
                Kind::Scalar { value, .. } if !node.is_null() || !value.is_empty() => {
                    if node.is_null() {
                        String::new()
                    } else {
                        value.clone()
                    }
                }
                _ => String::new(),
            },
            pos: Some(node.pos),
        }
    }

    fn duration(&mut self, node: &Node) -> i64 {
        if node.is_null() {
            return 0;
        }
        let s = self.string(node);
        match lookout_model::parse_duration(&s) {
            Ok(ms) => ms,
            Err(e) => {
                if self.fatal.is_none() {
                    self.fatal = Some(e.to_string());
                }
                0
            }
        }
    }

    fn int(&mut self, node: &Node) -> i64 {
        if node.is_null() {
            return 0;
        }
        match node.scalar().and_then(|s| s.parse::<i64>().ok()) {
            Some(v) if node.short_tag() == "!!int" => v,
            _ => {
                self.type_error(node, "int");
                0
            }
        }
    }

    fn string_map(&mut self, node: &Node) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Kind::Map(pairs) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, "map[string]string");
            }
            return out;
        };
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (k, v) in pairs {
            let key = self.string(k);
            if let Some((_, line)) = seen.iter().find(|(n, _)| *n == k.scalar().unwrap_or("")) {
                self.type_errors.push(format!(
                    "line {}: mapping key {} already defined at line {}",
                    k.pos.line,
                    go_quote(&key),
                    line
                ));
                continue;
            }
            seen.push((k.scalar().unwrap_or(""), k.pos.line));
            let val = self.string(v);
            out.insert(key, val);
        }
        out
    }

    fn root(&mut self, node: &Node) -> RuleGroups {
        let mut out = RuleGroups::default();
        for (key, v) in self.fields(node, "rulefmt.RuleGroups", &["groups"]) {
            if key == "groups" {
                match &v.kind {
                    Kind::Seq(items) => {
                        for g in items {
                            if let Some(g) = self.group(g) {
                                out.groups.push(g);
                            }
                        }
                    }
                    _ if v.is_null() => {}
                    _ => self.type_error(v, "[]rulefmt.RuleGroup"),
                }
            }
        }
        out
    }

    fn group(&mut self, node: &Node) -> Option<RuleGroup> {
        if !matches!(node.kind, Kind::Map(_)) && !node.is_null() {
            self.type_error(node, "rulefmt.RuleGroup");
            return None;
        }
        let mut g = RuleGroup {
            pos: node.pos,
            ..Default::default()
        };
        let known = [
            "name",
            "interval",
            "query_offset",
            "limit",
            "labels",
            "rules",
        ];
        for (key, v) in self.fields(node, "rulefmt.RuleGroup", &known) {
            match key {
                "name" => g.name = self.string(v),
                "interval" => g.interval_ms = self.duration(v),
                "query_offset" => {
                    g.query_offset_ms = if v.is_null() {
                        None
                    } else {
                        Some(self.duration(v))
                    }
                }
                "limit" => g.limit = self.int(v),
                "labels" => g.labels = self.string_map(v),
                "rules" => match &v.kind {
                    Kind::Seq(items) => {
                        for r in items {
                            if let Some(r) = self.rule(r) {
                                g.rules.push(r);
                            }
                        }
                    }
                    _ if v.is_null() => {}
                    _ => self.type_error(v, "[]rulefmt.RuleNode"),
                },
                _ => {}
            }
        }
        Some(g)
    }

    fn rule(&mut self, node: &Node) -> Option<RuleNode> {
        if !matches!(node.kind, Kind::Map(_)) && !node.is_null() {
            self.type_error(node, "rulefmt.RuleNode");
            return None;
        }
        let mut r = RuleNode::default();
        let known = [
            "record",
            "alert",
            "expr",
            "for",
            "keep_firing_for",
            "labels",
            "annotations",
        ];
        for (key, v) in self.fields(node, "rulefmt.RuleNode", &known) {
            match key {
                "record" => r.record = self.spanned(v),
                "alert" => r.alert = self.spanned(v),
                "expr" => r.expr = self.spanned(v),
                "for" => r.for_ms = self.duration(v),
                "keep_firing_for" => r.keep_firing_for_ms = self.duration(v),
                "labels" => r.labels = self.string_map(v),
                "annotations" => r.annotations = self.string_map(v),
                _ => {}
            }
        }
        Some(r)
    }
}

/// Whether `s` is a valid (legacy) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `s` is a valid (legacy) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Semantic checks of decoded groups, in promtool's order.
pub fn validate(groups: &RuleGroups) -> Vec<RuleFileError> {
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for g in &groups.groups {
        if g.name.is_empty() {
            errs.push(RuleFileError::Group(format!(
                "{}:{}: Groupname must not be empty",
                g.pos.line, g.pos.col
            )));
        }
        if !names.insert(g.name.as_str()) {
            errs.push(RuleFileError::Group(format!(
                "{}:{}: groupname: \"{}\" is repeated in the same file",
                g.pos.line, g.pos.col, g.name
            )));
        }
        for (k, v) in &g.labels {
            if !is_valid_label_name(k) || k == "__name__" {
                errs.push(RuleFileError::Group(format!(
                    "{}:{}: group {}: invalid label name: {}",
                    g.pos.line,
                    g.pos.col,
                    go_quote(&g.name),
                    k
                )));
            }
            let _ = v;
        }
        for (i, r) in g.rules.iter().enumerate() {
            for (pos, alt_pos, message) in validate_rule(r) {
                errs.push(RuleFileError::Rule {
                    pos,
                    alt_pos,
                    group: g.name.clone(),
                    rule_index: i + 1,
                    rule_name: r.name().to_string(),
                    message,
                });
            }
        }
    }
    errs
}

type RuleProblem = (Option<Pos>, Option<Pos>, String);

fn validate_rule(r: &RuleNode) -> Vec<RuleProblem> {
    let mut out: Vec<RuleProblem> = Vec::new();
    let record_pos = Some(r.record.pos.unwrap_or_default());
    if !r.record.value.is_empty() && !r.alert.value.is_empty() {
        out.push((
            record_pos,
            Some(r.alert.pos.unwrap_or_default()),
            "only one of 'record' and 'alert' must be set".into(),
        ));
    }
    if r.record.value.is_empty() && r.alert.value.is_empty() {
        out.push((
            record_pos,
            None,
            "one of 'record' or 'alert' must be set".into(),
        ));
    }
    let expr_pos = Some(r.expr.pos.unwrap_or_default());
    if r.expr.value.is_empty() {
        out.push((expr_pos, None, "field 'expr' must be set in rule".into()));
    } else if let Err(e) = lookout_promql::parser::parse(&r.expr.value) {
        out.push((expr_pos, None, format!("could not parse expression: {e}")));
    }
    if !r.record.value.is_empty() {
        if !r.annotations.is_empty() {
            out.push((
                record_pos,
                None,
                "invalid field 'annotations' in recording rule".into(),
            ));
        }
        if r.for_ms != 0 {
            out.push((
                record_pos,
                None,
                "invalid field 'for' in recording rule".into(),
            ));
        }
        if r.keep_firing_for_ms != 0 {
            out.push((
                record_pos,
                None,
                "invalid field 'keep_firing_for' in recording rule".into(),
            ));
        }
        if !is_valid_metric_name(&r.record.value) {
            out.push((
                record_pos,
                None,
                format!("invalid recording rule name: {}", r.record.value),
            ));
        }
    }
    for k in r.labels.keys() {
        if !is_valid_label_name(k) || k == "__name__" {
            out.push((None, None, format!("invalid label name: {k}")));
        }
    }
    for k in r.annotations.keys() {
        if !is_valid_label_name(k) {
            out.push((None, None, format!("invalid annotation name: {k}")));
        }
    }
    if !r.alert.value.is_empty() {
        let f = funcs(std::sync::Arc::new(NoQuery), "");
        for (kind, map) in [("label", &r.labels), ("annotation", &r.annotations)] {
            for (k, v) in map {
                if let Err(e) = parse_rule_template(&r.alert.value, v, f.clone()) {
                    out.push((None, None, format!("{kind} {}: {e}", go_quote(k))));
                }
            }
        }
    }
    out
}

/// Parses an alert label/annotation template the way Prometheus checks it
/// (name `__alert_<rule>`, variable definitions prepended).
pub fn parse_rule_template(rule: &str, text: &str, f: FuncMap) -> Result<Template, ParseError> {
    Template::new(&format!("__alert_{rule}"))
        .funcs(f)
        .missing_key(MissingKey::Zero)
        .parse(&format!("{ALERT_TEMPLATE_DEFS}{text}"))
}

/// A rule found more than once (same name and labels) by the
/// `duplicate-rules` lint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateRule {
    /// Alert or record name.
    pub metric: String,
    /// The rule's labels (group labels merged under them).
    pub labels: BTreeMap<String, String>,
}

/// Rules with the same name and labels (promtool's `duplicate-rules` lint).
/// Each duplicated name+labels combination is reported once.
pub fn find_duplicates(groups: &RuleGroups) -> Vec<DuplicateRule> {
    let mut all: Vec<DuplicateRule> = Vec::new();
    for g in &groups.groups {
        for r in &g.rules {
            let mut labels = g.labels.clone();
            labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            all.push(DuplicateRule {
                metric: r.name().to_string(),
                labels,
            });
        }
    }
    all.sort_by(|a, b| {
        a.metric
            .cmp(&b.metric)
            .then_with(|| a.labels.iter().cmp(b.labels.iter()))
    });
    let mut out: Vec<DuplicateRule> = Vec::new();
    for w in all.windows(2) {
        if w[0] == w[1] && out.last() != Some(&w[1]) {
            out.push(w[1].clone());
        }
    }
    out
}

/// The lint error text promtool prints for duplicates.
pub struct DuplicateReport<'a>(pub &'a [DuplicateRule]);

impl fmt::Display for DuplicateReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "lint error {} duplicate rule(s) found.", self.0.len())?;
        for d in self.0 {
            writeln!(f, "Metric: {}\nLabel(s):", d.metric)?;
            for (k, v) in &d.labels {
                writeln!(f, "\t{k}: {v}")?;
            }
        }
        f.write_str("Might cause inconsistency while recording expressions")
    }
}
