//! The line parser shared by both text formats.

use crate::number::{parse_go_float, parse_om_timestamp_ms};
use crate::{Entry, Exemplar, Format, Label, Labels, MetricType, ParseError, Sample};
use std::borrow::Cow;

/// Longest exemplar label set OpenMetrics allows, in characters of names and values.
pub const MAX_EXEMPLAR_LABEL_RUNES: usize = 128;

/// A pull parser over one exposition body. Borrows from the input; label
/// values are copied only when they contain escapes.
///
/// After the first error the parser is finished: further calls return `None`.
pub struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    line_no: usize,
    format: Format,
    done: bool,
    seen_eof: bool,
    family: &'a str,
    family_type: MetricType,
}

/// A cursor over one line (no trailing newline).
struct Line<'a> {
    text: &'a [u8],
    pos: usize,
    line_no: usize,
}

fn quote(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

impl<'a> Line<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.text.get(self.pos..).unwrap_or(&[])
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line_no,
            message: msg.into(),
        }
    }

    /// "expected X, got "tok" while parsing: "line up to here"" like upstream.
    fn expected(&self, what: &str) -> ParseError {
        let got_end = (self.pos + 1).min(self.text.len());
        let got = match self.text.get(self.pos..got_end) {
            Some(g) if !g.is_empty() => quote(g),
            _ => "\"\\n\"".to_string(),
        };
        let parsed = self.text.get(..got_end).unwrap_or(self.text);
        self.err(format!(
            "expected {what}, got {got} while parsing: {}",
            quote(parsed)
        ))
    }

    fn skip_blanks(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Exactly one space (OpenMetrics) or one or more blanks (0.0.4).
    fn separator(&mut self, format: Format, what: &str) -> Result<(), ParseError> {
        match format {
            Format::OpenMetrics => {
                if self.peek() == Some(b' ') {
                    self.pos += 1;
                    if matches!(self.peek(), Some(b' ' | b'\t')) {
                        return Err(self.expected(what));
                    }
                    Ok(())
                } else {
                    Err(self.expected(what))
                }
            }
            Format::Text004 => {
                if self.skip_blanks() == 0 {
                    Err(self.expected(what))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    fn metric_name(&mut self) -> Option<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':' => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        {
            self.pos += 1;
        }
        // ASCII only, so always valid UTF-8.
        std::str::from_utf8(self.text.get(start..self.pos)?).ok()
    }

    /// A label name `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn label_name(&mut self) -> Option<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        std::str::from_utf8(self.text.get(start..self.pos)?).ok()
    }

    /// A double-quoted label value starting at `"`; unescapes `\\`, `\"`, `\n`.
    fn quoted(&mut self) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("label value"));
        }
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let rest = self.rest();
        // Fast path: find the closing quote; no backslash before it means no copy.
        let mut i = 0;
        let mut has_escape = false;
        loop {
            match memchr::memchr2(b'"', b'\\', rest.get(i..).unwrap_or(&[])) {
                None => {
                    self.pos = self.text.len();
                    return Err(self.err(format!(
                        "expected label value, got {} while parsing: {}",
                        quote(self.text.get(open..).unwrap_or(&[])),
                        quote(self.text)
                    )));
                }
                Some(off) => {
                    let at = i + off;
                    if rest.get(at) == Some(&b'\\') {
                        has_escape = true;
                        i = at + 2;
                    } else {
                        i = at;
                        break;
                    }
                }
            }
        }
        let raw = rest.get(..i).unwrap_or(&[]);
        self.pos = start + i + 1;
        let s = std::str::from_utf8(raw)
            .map_err(|_| self.err(format!("invalid UTF-8 label value: {}", quote(raw))))?;
        if !has_escape {
            return Ok(Cow::Borrowed(s));
        }
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                // Upstream keeps unknown escapes verbatim.
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        Ok(Cow::Owned(out))
    }

    /// `{name="value",...}` starting at `{`.
    fn label_set(&mut self, format: Format, out: &mut Labels<'a>) -> Result<(), ParseError> {
        self.pos += 1; // '{'
        let lenient = format == Format::Text004;
        loop {
            if lenient {
                self.skip_blanks();
            }
            if self.peek() == Some(b'}') {
                if format == Format::OpenMetrics && !out.is_empty() {
                    // OpenMetrics forbids a trailing comma.
                    return Err(self.expected("label name"));
                }
                self.pos += 1;
                return Ok(());
            }
            let name = self
                .label_name()
                .ok_or_else(|| self.expected("label name"))?;
            if lenient {
                self.skip_blanks();
            }
            if self.peek() != Some(b'=') {
                return Err(self.expected("equal"));
            }
            self.pos += 1;
            if lenient {
                self.skip_blanks();
            }
            let value = self.quoted()?;
            if out.iter().any(|l| l.name == name) {
                return Err(self.err(format!("duplicate label name {name:?}")));
            }
            out.push(Label { name, value });
            if lenient {
                self.skip_blanks();
            }
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    if format == Format::OpenMetrics && self.peek() == Some(b'}') {
                        return Err(self.expected("label name"));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.expected("comma or end of label set")),
            }
        }
    }

    /// The next blank-delimited token.
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c != b' ' && c != b'\t') {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or(&[])
    }
}

impl<'a> Parser<'a> {
    /// A parser over `input` in `format`.
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Parser {
            input,
            pos: 0,
            line_no: 0,
            format,
            done: false,
            seen_eof: false,
            family: "",
            family_type: MetricType::Unknown,
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Byte offset of the next unread line (for progress reporting).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Line number (1-based) of the entry returned last.
    pub fn line(&self) -> usize {
        self.line_no
    }

    fn fail(&mut self, e: ParseError) -> Result<Option<Entry<'a>>, ParseError> {
        self.done = true;
        Err(e)
    }

    /// The next entry, `Ok(None)` at the end of the input.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.pos >= self.input.len() {
                self.done = true;
                if self.format == Format::OpenMetrics && !self.seen_eof {
                    return Err(ParseError {
                        line: self.line_no + 1,
                        message: "data does not end with # EOF".into(),
                    });
                }
                return Ok(None);
            }
            let rest = self.input.get(self.pos..).unwrap_or(&[]);
            let (text, advance) = match memchr::memchr(b'\n', rest) {
                Some(n) => (rest.get(..n).unwrap_or(&[]), n + 1),
                None => (rest, rest.len()),
            };
            self.pos += advance;
            self.line_no += 1;
            let line = Line {
                text,
                pos: 0,
                line_no: self.line_no,
            };
            if self.seen_eof {
                return self.fail(line.err("unexpected data after # EOF"));
            }
            let r = match self.format {
                Format::Text004 => self.parse_text_line(line),
                Format::OpenMetrics => self.parse_om_line(line),
            };
            match r {
                Ok(Some(e)) => return Ok(Some(e)),
                Ok(None) => continue,
                Err(e) => return self.fail(e),
            }
        }
    }

    fn parse_text_line(&mut self, mut l: Line<'a>) -> Result<Option<Entry<'a>>, ParseError> {
        l.skip_blanks();
        match l.peek() {
            None => Ok(None),
            Some(b'#') => {
                l.pos += 1;
                l.skip_blanks();
                let save = l.pos;
                let kw = l.token();
                match kw {
                    b"HELP" | b"TYPE" => self.parse_meta(l, kw),
                    _ => {
                        l.pos = save;
                        Ok(Some(Entry::Comment(utf8_lossy_borrow(l.rest()))))
                    }
                }
            }
            Some(_) => self.parse_sample(l).map(|s| Some(Entry::Sample(s))),
        }
    }

    fn parse_om_line(&mut self, mut l: Line<'a>) -> Result<Option<Entry<'a>>, ParseError> {
        match l.peek() {
            None => Err(l.err("unexpected empty line")),
            Some(b'#') => {
                if l.text == b"# EOF" {
                    self.seen_eof = true;
                    return Ok(None);
                }
                if l.text.get(1) != Some(&b' ') {
                    l.pos = 1;
                    return Err(l.expected("a valid start token"));
                }
                l.pos = 2;
                let kw = l.token();
                match kw {
                    b"HELP" | b"TYPE" | b"UNIT" => self.parse_meta(l, kw),
                    _ => Err(l.err(format!(
                        "expected HELP, TYPE, UNIT or EOF after #, got {}",
                        quote(kw)
                    ))),
                }
            }
            Some(_) => self.parse_sample(l).map(|s| Some(Entry::Sample(s))),
        }
    }

    fn parse_meta(&mut self, mut l: Line<'a>, kw: &[u8]) -> Result<Option<Entry<'a>>, ParseError> {
        let kw_str = String::from_utf8_lossy(kw).into_owned();
        l.separator(self.format, &format!("metric name after {kw_str}"))?;
        let name = l
            .metric_name()
            .ok_or_else(|| l.expected(&format!("metric name after {kw_str}")))?;
        let has_sep = match self.format {
            Format::OpenMetrics => {
                if l.peek() == Some(b' ') {
                    l.pos += 1;
                    true
                } else {
                    false
                }
            }
            Format::Text004 => l.skip_blanks() > 0,
        };
        if !has_sep && !l.at_end() {
            return Err(l.expected(&format!("text after metric name in {kw_str}")));
        }
        match kw {
            b"HELP" => {
                let raw = std::str::from_utf8(l.rest()).map_err(|_| {
                    l.err(format!("invalid UTF-8 in HELP text: {}", quote(l.rest())))
                })?;
                Ok(Some(Entry::Help {
                    name,
                    help: unescape_help(raw, self.format),
                }))
            }
            b"UNIT" => {
                let unit =
                    std::str::from_utf8(l.rest()).map_err(|_| l.err("invalid UTF-8 in UNIT"))?;
                if !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
                    return Err(l.err(format!("unit {unit:?} not a suffix of metric {name:?}")));
                }
                Ok(Some(Entry::Unit { name, unit }))
            }
            _ => {
                let word = l.token();
                let t = MetricType::parse(word, self.format)
                    .ok_or_else(|| l.err(format!("invalid metric type {}", quote(word))))?;
                if self.format == Format::Text004 {
                    l.skip_blanks();
                }
                if !l.at_end() {
                    return Err(l.expected("end of line after metric type"));
                }
                self.family = name;
                self.family_type = t;
                Ok(Some(Entry::Type { name, kind: t }))
            }
        }
    }

    fn parse_sample(&mut self, mut l: Line<'a>) -> Result<Sample<'a>, ParseError> {
        let line_no = l.line_no;
        let name = l
            .metric_name()
            .ok_or_else(|| l.expected("a valid start token"))?;
        let blanks = if self.format == Format::Text004 {
            l.skip_blanks()
        } else {
            0
        };
        let mut labels = Labels::new();
        if l.peek() == Some(b'{') {
            l.label_set(self.format, &mut labels)?;
            l.separator(self.format, "value after metric")?;
        } else if blanks == 0 {
            l.separator(self.format, "value after metric")?;
        }
        let vtok = l.token();
        if vtok.is_empty() {
            return Err(l.expected("value after metric"));
        }
        let value = parse_go_float(vtok).map_err(|m| {
            l.err(format!(
                "{m} while parsing: {}",
                quote(l.text.get(..l.pos).unwrap_or(l.text))
            ))
        })?;
        let mut timestamp_ms = None;
        let mut exemplar = None;
        match self.format {
            Format::Text004 => {
                l.skip_blanks();
                if !l.at_end() {
                    let tok = l.token();
                    let ts = parse_int_ms(tok).ok_or_else(|| {
                        // Point at the first byte that is not part of an integer.
                        let bad = tok
                            .iter()
                            .enumerate()
                            .position(|(i, c)| {
                                !(c.is_ascii_digit() || (i == 0 && (*c == b'-' || *c == b'+')))
                            })
                            .unwrap_or(0);
                        l.err(format!(
                            "expected next entry after timestamp, got {} while parsing: {}",
                            quote(tok.get(bad..bad + 1).unwrap_or(b"\n")),
                            quote(l.text)
                        ))
                    })?;
                    timestamp_ms = Some(ts);
                    l.skip_blanks();
                    if !l.at_end() {
                        return Err(l.expected("next entry after timestamp"));
                    }
                }
            }
            Format::OpenMetrics => {
                if !l.at_end() {
                    l.separator(self.format, "timestamp or # symbol")?;
                    if l.peek() != Some(b'#') {
                        let tok = l.token();
                        let ts = parse_om_timestamp_ms(tok)
                            .ok_or_else(|| l.err(format!("invalid timestamp {}", quote(tok))))?;
                        timestamp_ms = Some(ts);
                        if !l.at_end() {
                            l.separator(self.format, "# symbol")?;
                        }
                    }
                    if !l.at_end() {
                        exemplar = Some(self.parse_exemplar(&mut l)?);
                    }
                }
            }
        }
        let kind = self.type_of(name);
        Ok(Sample {
            name,
            labels,
            value,
            timestamp_ms,
            exemplar,
            kind,
            line: line_no,
        })
    }

    fn parse_exemplar(&self, l: &mut Line<'a>) -> Result<Exemplar<'a>, ParseError> {
        if l.rest().get(..2) != Some(b"# ") {
            return Err(l.expected("# symbol"));
        }
        l.pos += 2;
        if l.peek() != Some(b'{') {
            return Err(l.expected("label set"));
        }
        let mut labels = Labels::new();
        l.label_set(self.format, &mut labels)?;
        let runes: usize = labels
            .iter()
            .map(|x| x.name.chars().count() + x.value.chars().count())
            .sum();
        if runes > MAX_EXEMPLAR_LABEL_RUNES {
            return Err(l.err(format!(
                "exemplar labels have {runes} runes, exceeding the limit of {MAX_EXEMPLAR_LABEL_RUNES}"
            )));
        }
        l.separator(self.format, "exemplar value")?;
        let vtok = l.token();
        let value = parse_go_float(vtok).map_err(|m| l.err(format!("exemplar value: {m}")))?;
        let mut timestamp_ms = None;
        if !l.at_end() {
            l.separator(self.format, "exemplar timestamp")?;
            let tok = l.token();
            timestamp_ms = Some(
                parse_om_timestamp_ms(tok)
                    .ok_or_else(|| l.err(format!("invalid exemplar timestamp {}", quote(tok))))?,
            );
            if !l.at_end() {
                return Err(l.expected("end of line after exemplar"));
            }
        }
        Ok(Exemplar {
            labels: labels.into_vec(),
            value,
            timestamp_ms,
        })
    }

    /// Type of a sample name from the last `# TYPE` (family name plus the
    /// suffixes that type allows), `Unknown` otherwise.
    fn type_of(&self, name: &str) -> MetricType {
        if self.family.is_empty() {
            return MetricType::Unknown;
        }
        let Some(suffix) = name.strip_prefix(self.family) else {
            return MetricType::Unknown;
        };
        let ok = match self.family_type {
            MetricType::Counter => matches!(suffix, "" | "_total" | "_created"),
            MetricType::Histogram => {
                matches!(suffix, "_bucket" | "_count" | "_sum" | "_created")
            }
            MetricType::GaugeHistogram => {
                matches!(suffix, "_bucket" | "_gcount" | "_gsum")
            }
            MetricType::Summary => matches!(suffix, "" | "_count" | "_sum" | "_created"),
            MetricType::Info => suffix == "_info",
            _ => suffix.is_empty(),
        };
        if ok {
            self.family_type
        } else {
            MetricType::Unknown
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

fn utf8_lossy_borrow(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn unescape_help(raw: &str, format: Format) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if format == Format::OpenMetrics => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn parse_int_ms(tok: &[u8]) -> Option<i64> {
    std::str::from_utf8(tok).ok()?.parse::<i64>().ok()
}
