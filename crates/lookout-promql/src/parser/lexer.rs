//! The PromQL lexer.
//!
//! It reproduces the observable behaviour of Prometheus' lexer: the same
//! token boundaries, the same contexts (inside braces, inside brackets right
//! after `[` or an operator, inside brackets after a number) and the same
//! error texts and positions. Lexing stops at the first error; the parser
//! reports it when it reaches that token, as upstream does.

use crate::parser::quote::{go_quote_rune, go_rune_u_format};

/// Token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tok {
    /// End of input.
    Eof,
    /// A lexing error; the message is in [`Token::error`].
    Error,
    /// `,`
    Comma,
    /// `(`
    LeftParen,
    /// `)`
    RightParen,
    /// `{`
    LeftBrace,
    /// `}`
    RightBrace,
    /// `[`
    LeftBracket,
    /// `]`
    RightBracket,
    /// `:`
    Colon,
    /// `::` (only lexed inside brackets; never valid)
    DoubleColon,
    /// `=`
    Eql,
    /// A number (including `Inf`/`NaN`).
    Number,
    /// A duration literal such as `5m`.
    Duration,
    /// A quoted string, quotes included.
    String,
    /// An identifier without `:`.
    Identifier,
    /// An identifier containing `:`.
    MetricIdentifier,
    // Operators.
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `==`
    EqlC,
    /// `!=`
    Neq,
    /// `<`
    Lss,
    /// `<=`
    Lte,
    /// `>`
    Gtr,
    /// `>=`
    Gte,
    /// `=~`
    EqlRegex,
    /// `!~`
    NeqRegex,
    /// `@`
    At,
    /// `</`
    TrimUpper,
    /// `>/`
    TrimLower,
    /// `and`
    Land,
    /// `or`
    Lor,
    /// `unless`
    Lunless,
    /// `atan2`
    Atan2,
    // Aggregators.
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `count_values`
    CountValues,
    /// `quantile`
    Quantile,
    /// `limitk`
    Limitk,
    /// `limit_ratio`
    LimitRatio,
    // Keywords.
    /// `offset`
    Offset,
    /// `smoothed`
    Smoothed,
    /// `anchored`
    Anchored,
    /// `by`
    By,
    /// `without`
    Without,
    /// `on`
    On,
    /// `ignoring`
    Ignoring,
    /// `group_left`
    GroupLeft,
    /// `group_right`
    GroupRight,
    /// `fill` (only when followed by `(`)
    Fill,
    /// `fill_left` (only when followed by `(`)
    FillLeft,
    /// `fill_right` (only when followed by `(`)
    FillRight,
    /// `bool`
    Bool,
    // Preprocessors.
    /// `start`
    Start,
    /// `end`
    End,
    /// `step`
    Step,
    /// `range`
    Range,
    /// `min_of` inside brackets
    MinOf,
    /// `max_of` inside brackets
    MaxOf,
}

impl Tok {
    /// Whether upstream classifies the token as an operator.
    pub fn is_operator(self) -> bool {
        matches!(
            self,
            Tok::Add
                | Tok::Sub
                | Tok::Mul
                | Tok::Div
                | Tok::Mod
                | Tok::Pow
                | Tok::EqlC
                | Tok::Neq
                | Tok::Lss
                | Tok::Lte
                | Tok::Gtr
                | Tok::Gte
                | Tok::EqlRegex
                | Tok::NeqRegex
                | Tok::At
                | Tok::TrimUpper
                | Tok::TrimLower
                | Tok::Land
                | Tok::Lor
                | Tok::Lunless
                | Tok::Atan2
        )
    }

    /// Whether the token is an aggregation operator.
    pub fn is_aggregator(self) -> bool {
        matches!(
            self,
            Tok::Sum
                | Tok::Avg
                | Tok::Count
                | Tok::Min
                | Tok::Max
                | Tok::Group
                | Tok::Stddev
                | Tok::Stdvar
                | Tok::Topk
                | Tok::Bottomk
                | Tok::CountValues
                | Tok::Quantile
                | Tok::Limitk
                | Tok::LimitRatio
        )
    }

    /// Whether upstream classifies the token as a keyword.
    pub fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Offset
                | Tok::Smoothed
                | Tok::Anchored
                | Tok::By
                | Tok::Without
                | Tok::On
                | Tok::Ignoring
                | Tok::GroupLeft
                | Tok::GroupRight
                | Tok::Fill
                | Tok::FillLeft
                | Tok::FillRight
                | Tok::Bool
        )
    }
}

/// One token: kind, byte span and, for errors, the message.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// The kind.
    pub tok: Tok,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// For [`Tok::Error`]: the message.
    pub error: Option<String>,
}

/// Keywords, matched case-insensitively like upstream (which lower-cases
/// the word before looking it up).
const KEYWORDS: &[(&str, Tok)] = &[
    ("and", Tok::Land),
    ("or", Tok::Lor),
    ("unless", Tok::Lunless),
    ("atan2", Tok::Atan2),
    ("sum", Tok::Sum),
    ("avg", Tok::Avg),
    ("count", Tok::Count),
    ("min", Tok::Min),
    ("max", Tok::Max),
    ("group", Tok::Group),
    ("stddev", Tok::Stddev),
    ("stdvar", Tok::Stdvar),
    ("topk", Tok::Topk),
    ("bottomk", Tok::Bottomk),
    ("count_values", Tok::CountValues),
    ("quantile", Tok::Quantile),
    ("limitk", Tok::Limitk),
    ("limit_ratio", Tok::LimitRatio),
    ("offset", Tok::Offset),
    ("smoothed", Tok::Smoothed),
    ("anchored", Tok::Anchored),
    ("by", Tok::By),
    ("without", Tok::Without),
    ("on", Tok::On),
    ("ignoring", Tok::Ignoring),
    ("group_left", Tok::GroupLeft),
    ("group_right", Tok::GroupRight),
    ("fill", Tok::Fill),
    ("fill_left", Tok::FillLeft),
    ("fill_right", Tok::FillRight),
    ("bool", Tok::Bool),
    ("start", Tok::Start),
    ("end", Tok::End),
    ("step", Tok::Step),
    ("range", Tok::Range),
    ("inf", Tok::Number),
    ("nan", Tok::Number),
];

fn keyword(word: &str) -> Option<Tok> {
    KEYWORDS
        .iter()
        .find(|(k, _)| k.len() == word.len() && k.eq_ignore_ascii_case(word))
        .map(|(_, t)| *t)
}

/// Which scanning function is active, mirroring upstream's states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Top level (also inside brackets after a number).
    Statements,
    /// Inside brackets right after `[`, an operator, a parenthesis, a comma
    /// or a colon.
    DurationExpr,
    /// Finished (EOF emitted or error reported).
    Done,
}

const EOF: i32 = -1;

/// The lexer. Call [`Lexer::next_token`] until it yields `Eof` or `Error`.
pub struct Lexer<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    start: usize,
    width: usize,
    mode: Mode,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
    string_open: char,
}

fn is_space(c: i32) -> bool {
    c == ' ' as i32 || c == '\t' as i32 || c == '\n' as i32 || c == '\r' as i32
}

fn is_alpha(c: i32) -> bool {
    c == '_' as i32 || (c >= 'a' as i32 && c <= 'z' as i32) || (c >= 'A' as i32 && c <= 'Z' as i32)
}

fn is_digit(c: i32) -> bool {
    c >= '0' as i32 && c <= '9' as i32
}

fn is_alnum(c: i32) -> bool {
    is_alpha(c) || is_digit(c)
}

fn in_set(set: &str, c: i32) -> bool {
    c >= 0 && set.bytes().any(|b| b as i32 == c)
}

impl<'a> Lexer<'a> {
    /// A lexer over `input`.
    #[cfg(test)]
    pub fn new(input: &'a str) -> Self {
        Self::with_bytes(input, input.as_bytes())
    }

    /// A lexer over `bytes`, which may contain invalid UTF-8 after the
    /// valid prefix `input`. Invalid bytes decode as U+FFFD of width 1, as
    /// Go does, and so end in a lexing error.
    pub fn with_bytes(input: &'a str, bytes: &'a [u8]) -> Self {
        Lexer {
            input,
            bytes,
            pos: 0,
            start: 0,
            width: 0,
            mode: Mode::Statements,
            paren_depth: 0,
            brace_open: false,
            bracket_open: false,
            got_colon: false,
            got_duration: false,
            string_open: '"',
        }
    }

    /// The next character as a code point, or `EOF`.
    fn next(&mut self) -> i32 {
        let (c, width) = self.decode();
        self.width = width;
        self.pos += width;
        c
    }

    /// The character at the current position and its width in bytes.
    fn decode(&self) -> (i32, usize) {
        let Some(rest) = self.bytes.get(self.pos..).filter(|r| !r.is_empty()) else {
            return (EOF, 0);
        };
        if let Some(&b) = rest.first().filter(|b| b.is_ascii()) {
            return (i32::from(b), 1);
        }
        let head = rest.get(..rest.len().min(4)).unwrap_or(rest);
        match head.utf8_chunks().next() {
            Some(chunk) => match chunk.valid().chars().next() {
                Some(c) => (c as i32, c.len_utf8()),
                None => (0xFFFD, 1),
            },
            None => (EOF, 0),
        }
    }

    fn backup(&mut self) {
        self.pos -= self.width;
        self.width = 0;
    }

    fn peek(&self) -> i32 {
        self.decode().0
    }

    fn accept(&mut self, set: &str) -> bool {
        let c = self.next();
        if in_set(set, c) {
            return true;
        }
        self.backup();
        false
    }

    fn accept_run(&mut self, set: &str) {
        while in_set(set, self.peek()) {
            self.next();
        }
    }

    fn emit(&mut self, tok: Tok) -> Token {
        let t = Token {
            tok,
            start: self.start,
            end: self.pos,
            error: None,
        };
        self.start = self.pos;
        t
    }

    fn error(&mut self, msg: String) -> Token {
        self.mode = Mode::Done;
        Token {
            tok: Tok::Error,
            start: self.start,
            end: self.bytes.len(),
            error: Some(msg),
        }
    }

    fn skip_spaces(&mut self) {
        while is_space(self.peek()) {
            self.next();
        }
        self.start = self.pos;
    }

    fn skip_comment(&mut self) {
        // From '#' to (excluding) the end of the line.
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b'\n' || b == b'\r' {
                break;
            }
            self.pos += 1;
        }
        self.start = self.pos;
    }

    /// The next token. After `Eof` or `Error` it keeps returning `Eof`.
    pub fn next_token(&mut self) -> Token {
        loop {
            let t = match self.mode {
                Mode::Done => {
                    self.start = self.pos;
                    return Token {
                        tok: Tok::Eof,
                        start: self.pos,
                        end: self.pos,
                        error: None,
                    };
                }
                Mode::DurationExpr => self.lex_duration_expr(),
                Mode::Statements if self.brace_open => self.lex_inside_braces(),
                Mode::Statements => self.lex_statements(),
            };
            if let Some(t) = t {
                return t;
            }
        }
    }

    fn lex_statements(&mut self) -> Option<Token> {
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.skip_comment();
            return None;
        }
        let r = self.next();
        if r == EOF {
            if self.paren_depth != 0 {
                return Some(self.error("unclosed left parenthesis".into()));
            }
            if self.bracket_open {
                return Some(self.error("unclosed left bracket".into()));
            }
            self.mode = Mode::Done;
            return Some(self.emit(Tok::Eof));
        }
        if is_space(r) {
            self.skip_spaces();
            return None;
        }
        let c = char::from_u32(r as u32).unwrap_or('\u{fffd}');
        let tok = match c {
            ',' => Tok::Comma,
            '*' => Tok::Mul,
            '/' => Tok::Div,
            '%' => Tok::Mod,
            '+' => Tok::Add,
            '-' => Tok::Sub,
            '^' => Tok::Pow,
            '@' => Tok::At,
            '=' => match self.peek() {
                p if p == '=' as i32 => {
                    self.next();
                    Tok::EqlC
                }
                p if p == '~' as i32 => {
                    return Some(self.error(format!(
                        "unexpected character after '=': {}",
                        go_quote_rune(p)
                    )));
                }
                _ => Tok::Eql,
            },
            '!' => {
                let t = self.next();
                if t != '=' as i32 {
                    return Some(self.error(format!(
                        "unexpected character after '!': {}",
                        go_quote_rune(t)
                    )));
                }
                Tok::Neq
            }
            '<' => {
                if self.accept("=") {
                    Tok::Lte
                } else if self.accept("/") {
                    Tok::TrimUpper
                } else {
                    Tok::Lss
                }
            }
            '>' => {
                if self.accept("=") {
                    Tok::Gte
                } else if self.accept("/") {
                    Tok::TrimLower
                } else {
                    Tok::Gtr
                }
            }
            '"' | '\'' => {
                self.string_open = c;
                return Some(self.lex_string());
            }
            '`' => {
                self.string_open = c;
                return Some(self.lex_raw_string());
            }
            '(' => {
                self.paren_depth += 1;
                Tok::LeftParen
            }
            ')' => {
                let t = self.emit(Tok::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return Some(self.error("unexpected right parenthesis ')'".into()));
                }
                return Some(t);
            }
            '{' => {
                self.brace_open = true;
                Tok::LeftBrace
            }
            '[' => {
                if self.bracket_open {
                    return Some(self.error("unexpected left bracket '['".into()));
                }
                self.got_colon = false;
                let t = self.emit(Tok::LeftBracket);
                self.skip_spaces();
                self.bracket_open = true;
                self.mode = Mode::DurationExpr;
                return Some(t);
            }
            ']' => {
                if !self.bracket_open {
                    return Some(self.error("unexpected right bracket ']'".into()));
                }
                self.bracket_open = false;
                Tok::RightBracket
            }
            _ if is_digit(r) || (c == '.' && is_digit(self.peek())) => {
                self.backup();
                return Some(self.lex_number_or_duration());
            }
            _ if is_alpha(r) || c == ':' => {
                if !self.bracket_open {
                    self.backup();
                    return Some(self.lex_keyword_or_identifier());
                }
                if c == ':' {
                    if self.got_colon {
                        return Some(self.error("unexpected colon ':'".into()));
                    }
                    self.got_colon = true;
                    if self.accept(":") {
                        return Some(self.emit(Tok::DoubleColon));
                    }
                    return Some(self.emit(Tok::Colon));
                }
                if matches!(c, 's' | 'S' | 'm' | 'M' | 'r' | 'R') {
                    if let Some(t) = self.scan_duration_keyword() {
                        return Some(t);
                    }
                }
                return Some(self.error(format!(
                    "unexpected character: {}, expected ':'",
                    go_quote_rune(r)
                )));
            }
            _ => {
                return Some(self.error(format!("unexpected character: {}", go_quote_rune(r))));
            }
        };
        Some(self.emit(tok))
    }

    fn lex_inside_braces(&mut self) -> Option<Token> {
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.skip_comment();
            return None;
        }
        let r = self.next();
        if r == EOF {
            return Some(self.error("unexpected end of input inside braces".into()));
        }
        if is_space(r) {
            self.skip_spaces();
            return None;
        }
        if is_alpha(r) {
            while is_alnum(self.peek()) {
                self.next();
            }
            return Some(self.emit(Tok::Identifier));
        }
        let c = char::from_u32(r as u32).unwrap_or('\u{fffd}');
        let tok = match c {
            ',' => Tok::Comma,
            '"' | '\'' => {
                self.string_open = c;
                return Some(self.lex_string());
            }
            '`' => {
                self.string_open = c;
                return Some(self.lex_raw_string());
            }
            '=' => {
                if self.accept("~") {
                    Tok::EqlRegex
                } else {
                    Tok::Eql
                }
            }
            '!' => {
                let nr = self.next();
                if nr == '~' as i32 {
                    Tok::NeqRegex
                } else if nr == '=' as i32 {
                    Tok::Neq
                } else {
                    return Some(self.error(format!(
                        "unexpected character after '!' inside braces: {}",
                        go_quote_rune(nr)
                    )));
                }
            }
            '{' => return Some(self.error("unexpected left brace '{'".into())),
            '}' => {
                self.brace_open = false;
                Tok::RightBrace
            }
            _ => {
                return Some(self.error(format!(
                    "unexpected character inside braces: {}",
                    go_quote_rune(r)
                )))
            }
        };
        Some(self.emit(tok))
    }

    fn lex_duration_expr(&mut self) -> Option<Token> {
        let r = self.next();
        if r == EOF {
            return Some(self.error("unexpected end of input in duration expression".into()));
        }
        if is_space(r) {
            self.skip_spaces();
            return None;
        }
        let c = char::from_u32(r as u32).unwrap_or('\u{fffd}');
        let tok =
            match c {
                ']' => {
                    self.bracket_open = false;
                    self.got_colon = false;
                    self.mode = Mode::Statements;
                    Tok::RightBracket
                }
                ':' => {
                    let t = self.emit(Tok::Colon);
                    if !self.got_duration {
                        return Some(self.error(
                            "unexpected colon before duration in duration expression".into(),
                        ));
                    }
                    if self.got_colon {
                        return Some(
                            self.error("unexpected repeated colon in duration expression".into()),
                        );
                    }
                    self.got_colon = true;
                    return Some(t);
                }
                '(' => {
                    self.paren_depth += 1;
                    Tok::LeftParen
                }
                ')' => {
                    let t = self.emit(Tok::RightParen);
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return Some(self.error("unexpected right parenthesis ')'".into()));
                    }
                    return Some(t);
                }
                '+' => Tok::Add,
                '-' => Tok::Sub,
                '*' => Tok::Mul,
                '/' => Tok::Div,
                '%' => Tok::Mod,
                '^' => Tok::Pow,
                ',' => Tok::Comma,
                's' | 'S' | 'm' | 'M' | 'r' | 'R' => {
                    if let Some(t) = self.scan_duration_keyword() {
                        return Some(t);
                    }
                    return Some(self.error(format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(r)
                    )));
                }
                _ if is_digit(r) || (c == '.' && is_digit(self.peek())) => {
                    self.backup();
                    self.got_duration = true;
                    self.mode = Mode::Statements;
                    return Some(self.lex_number_or_duration());
                }
                _ => {
                    return Some(self.error(format!(
                        "unexpected character in duration expression: {}",
                        go_quote_rune(r)
                    )))
                }
            };
        Some(self.emit(tok))
    }

    /// Inside brackets: `step`, `range`, `min_of`, `max_of` (any case).
    /// The first letter has been consumed. On failure the position is left
    /// after the word, as upstream's error position does not depend on it.
    fn scan_duration_keyword(&mut self) -> Option<Token> {
        while is_alpha(self.peek()) {
            self.next();
        }
        let word = self.input.get(self.start..self.pos).unwrap_or("");
        let tok = match word.to_ascii_lowercase().as_str() {
            "step" => Tok::Step,
            "range" => Tok::Range,
            "min_of" => Tok::MinOf,
            "max_of" => Tok::MaxOf,
            _ => return None,
        };
        Some(self.emit(tok))
    }

    fn lex_keyword_or_identifier(&mut self) -> Token {
        loop {
            let r = self.next();
            if !(is_alnum(r) || r == ':' as i32) {
                self.backup();
                break;
            }
        }
        let word = self.input.get(self.start..self.pos).unwrap_or("");
        match keyword(word) {
            Some(kw @ (Tok::Fill | Tok::FillLeft | Tok::FillRight)) => {
                if self.followed_by_left_paren() {
                    self.emit(kw)
                } else {
                    self.emit(Tok::Identifier)
                }
            }
            Some(kw) => self.emit(kw),
            None if word.contains(':') => self.emit(Tok::MetricIdentifier),
            None => self.emit(Tok::Identifier),
        }
    }

    fn followed_by_left_paren(&self) -> bool {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        for &b in rest {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return b == b'(';
            }
        }
        false
    }

    fn lex_number_or_duration(&mut self) -> Token {
        if self.scan_number() {
            return self.emit(Tok::Number);
        }
        if self.accept_remaining_duration() {
            self.backup();
            return self.emit(Tok::Duration);
        }
        let text = self.input.get(self.start..self.pos).unwrap_or("");
        let msg = format!(
            "bad number or duration syntax: {}",
            crate::parser::quote::go_quote(text.as_bytes())
        );
        self.error(msg)
    }

    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            while self.accept("0123456789") {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        let r = self.next();
        !is_alnum(r)
    }

    /// Scans a number the way upstream does; the text is validated later.
    fn scan_number(&mut self) -> bool {
        let initial = self.pos;
        let mut digits = "0123456789";
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = "0123456789abcdefABCDEF";
        }
        self.accept(".");
        self.accept(digits);
        let mut dot_consumed = false;
        let mut exp_consumed = false;
        loop {
            let p = self.peek();
            if !(in_set(digits, p) || in_set("._eE", p)) {
                break;
            }
            if in_set(".", p) && dot_consumed {
                self.accept(".");
                return false;
            }
            if in_set("eE", p) && exp_consumed {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot_consumed = true;
                if self.accept("_.") {
                    return false;
                }
                if digits.len() > 10 {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exp_consumed = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek() == EOF {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek() == EOF {
                    return false;
                }
                continue;
            }
            self.accept_run(digits);
        }
        if self.pos == initial {
            return false;
        }
        !is_alnum(self.peek())
    }

    fn lex_string(&mut self) -> Token {
        let open = self.string_open as i32;
        loop {
            let r = self.next();
            if r == '\\' as i32 {
                if let Some(msg) = self.lex_escape() {
                    return self.error(msg);
                }
                continue;
            }
            if r == 0xFFFD {
                return self.error("invalid UTF-8 rune".into());
            }
            if r == EOF || r == '\n' as i32 {
                return self.error("unterminated quoted string".into());
            }
            if r == open {
                break;
            }
        }
        self.emit(Tok::String)
    }

    fn lex_raw_string(&mut self) -> Token {
        let open = self.string_open as i32;
        loop {
            let r = self.next();
            if r == 0xFFFD {
                return self.error("invalid UTF-8 rune".into());
            }
            if r == EOF {
                return self.error("unterminated raw string".into());
            }
            if r == open {
                break;
            }
        }
        self.emit(Tok::String)
    }

    /// Validates one escape sequence (the backslash is consumed); returns
    /// the error message if it is invalid.
    fn lex_escape(&mut self) -> Option<String> {
        let mut ch = self.next();
        let (mut n, base, max): (u32, u32, u32) = match ch {
            EOF => return Some("escape sequence not terminated".into()),
            c if in_set("abfnrtv\\", c) || c == self.string_open as i32 => return None,
            c if in_set("01234567", c) => (3, 8, 255),
            c if c == 'x' as i32 => {
                ch = self.next();
                (2, 16, 255)
            }
            c if c == 'u' as i32 => {
                ch = self.next();
                (4, 16, 0x10FFFF)
            }
            c if c == 'U' as i32 => {
                ch = self.next();
                (8, 16, 0x10FFFF)
            }
            c => return Some(format!("unknown escape sequence {}", go_rune_u_format(c))),
        };
        let mut x: u32 = 0;
        while n > 0 {
            let d = digit_val(ch);
            if d >= base {
                if ch == EOF {
                    return Some("escape sequence not terminated".into());
                }
                return Some(format!(
                    "illegal character {} in escape sequence",
                    go_rune_u_format(ch)
                ));
            }
            x = x.wrapping_mul(base).wrapping_add(d);
            n -= 1;
            if n > 0 {
                ch = self.next();
            }
        }
        if x > max || (0xD800..0xE000).contains(&x) {
            return Some("escape sequence is an invalid Unicode code point".into());
        }
        None
    }
}

fn digit_val(c: i32) -> u32 {
    match u8::try_from(c) {
        Ok(b @ b'0'..=b'9') => u32::from(b - b'0'),
        Ok(b @ b'a'..=b'f') => u32::from(b - b'a' + 10),
        Ok(b @ b'A'..=b'F') => u32::from(b - b'A' + 10),
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(input: &str) -> Vec<(Tok, String)> {
        let mut l = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let t = l.next_token();
            let text = match &t.error {
                Some(e) => e.clone(),
                None => input[t.start..t.end].to_string(),
            };
            out.push((t.tok, text));
            if matches!(t.tok, Tok::Eof | Tok::Error) {
                return out;
            }
        }
    }

    #[test]
    fn basic_tokens() {
        use Tok::*;
        let toks: Vec<Tok> = lex("sum by (a) (rate(x{b=~\"c\"}[5m])) > bool 1")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(
            toks,
            vec![
                Sum,
                By,
                LeftParen,
                Identifier,
                RightParen,
                LeftParen,
                Identifier,
                LeftParen,
                Identifier,
                LeftBrace,
                Identifier,
                EqlRegex,
                String,
                RightBrace,
                LeftBracket,
                Duration,
                RightBracket,
                RightParen,
                RightParen,
                Gtr,
                Bool,
                Number,
                Eof
            ]
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(lex("0x1f")[0], (Tok::Number, "0x1f".into()));
        assert_eq!(lex("1_000")[0], (Tok::Number, "1_000".into()));
        assert_eq!(lex("5m30s")[0], (Tok::Duration, "5m30s".into()));
        assert_eq!(lex(".5e-3")[0], (Tok::Number, ".5e-3".into()));
        assert_eq!(lex("NaN")[0], (Tok::Number, "NaN".into()));
        assert_eq!(
            lex("0deadbeef")[0],
            (Tok::Error, "bad number or duration syntax: \"0de\"".into())
        );
        assert_eq!(
            lex("foo[5mm]")[2],
            (Tok::Error, "bad number or duration syntax: \"5mm\"".into())
        );
    }

    #[test]
    fn bracket_contexts() {
        let t = lex("foo[5s x 5s]");
        assert_eq!(
            t.last().unwrap().1,
            "unexpected character: 'x', expected ':'"
        );
        let t = lex("foo[x]");
        assert_eq!(
            t.last().unwrap().1,
            "unexpected character in duration expression: 'x'"
        );
        let t = lex("foo[STep()+1m:max_of(1m,2m)]");
        assert!(t.iter().any(|x| x.0 == Tok::Step));
        assert!(t.iter().any(|x| x.0 == Tok::MaxOf));
        assert_eq!(t.last().unwrap().0, Tok::Eof);
    }

    #[test]
    fn string_errors() {
        assert_eq!(lex("\"\\c\"")[0].1, "unknown escape sequence U+0063 'c'");
        assert_eq!(
            lex("\"\\x.\"")[0].1,
            "illegal character U+002E '.' in escape sequence"
        );
        assert_eq!(lex("\"\\")[0].1, "escape sequence not terminated");
        assert_eq!(lex("`a")[0].1, "unterminated raw string");
        assert_eq!(lex("'a\n'")[0].1, "unterminated quoted string");
    }

    #[test]
    fn fill_is_contextual() {
        assert_eq!(lex("fill + x")[0].0, Tok::Identifier);
        assert_eq!(lex("fill (0)")[0].0, Tok::Fill);
    }

    #[test]
    fn paren_errors() {
        assert_eq!(
            lex("(1))").last().unwrap().1,
            "unexpected right parenthesis ')'"
        );
        assert_eq!(lex("((1)").last().unwrap().1, "unclosed left parenthesis");
    }
}
