//! The template lexer: a state machine that turns template text into items,
//! with the same item boundaries, line numbers and error texts as Go's
//! `text/template/parse` lexer (Go 1.19, the version Debian's Prometheus
//! 2.42 and Alertmanager 0.25 were built with).

use std::borrow::Cow;
use std::collections::VecDeque;

/// Kinds of lexical items. Everything after `Keyword` is a keyword and is
/// printed as `<word>` in error messages, like Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// One lexical item: its kind, byte offset, text and starting line.
#[derive(Clone, Debug)]
pub(crate) struct Item<'a> {
    pub typ: ItemType,
    pub pos: usize,
    pub val: Cow<'a, str>,
    pub line: usize,
}

impl Item<'_> {
    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    pub fn describe(&self) -> String {
        match self.typ {
            ItemType::Eof => "EOF".to_string(),
            ItemType::Error => self.val.to_string(),
            t if t > ItemType::Keyword => format!("<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let short: String = self.val.chars().take(10).collect();
                    format!("{}...", crate::fmt::quote_go(&short))
                } else {
                    crate::fmt::quote_go(&self.val)
                }
            }
        }
    }
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
    Done,
}

const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

pub(crate) fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn right_trim_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

/// Go's `%#U` rendering of a rune: `U+0029 ')'`.
pub(crate) fn sharp_u(c: char) -> String {
    if crate::fmt::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// The lexer; items are produced on demand by [`Lexer::next_item`].
pub(crate) struct Lexer<'a> {
    input: &'a str,
    left_delim: String,
    right_delim: String,
    pos: usize,
    start: usize,
    width: usize,
    paren_depth: i32,
    line: usize,
    start_line: usize,
    break_ok: bool,
    continue_ok: bool,
    items: VecDeque<Item<'a>>,
    state: State,
    finished: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str, left: &str, right: &str, break_ok: bool, continue_ok: bool) -> Self {
        Lexer {
            input,
            left_delim: if left.is_empty() {
                "{{".into()
            } else {
                left.into()
            },
            right_delim: if right.is_empty() {
                "}}".into()
            } else {
                right.into()
            },
            pos: 0,
            start: 0,
            width: 0,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            break_ok,
            continue_ok,
            items: VecDeque::new(),
            state: State::Text,
            finished: false,
        }
    }

    /// The next item. After an error or EOF, Go's closed channel yields zero
    /// items, which are error items with empty text; we mirror that.
    pub fn next_item(&mut self) -> Item<'a> {
        loop {
            if let Some(it) = self.items.pop_front() {
                return it;
            }
            if self.finished {
                return Item {
                    typ: ItemType::Error,
                    pos: 0,
                    val: Cow::Borrowed(""),
                    line: 0,
                };
            }
            self.step();
        }
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn next(&mut self) -> Option<char> {
        let c = self.rest().chars().next();
        match c {
            None => {
                self.width = 0;
                None
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                if c == '\n' {
                    self.line += 1;
                }
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self) {
        self.pos -= self.width;
        if self.width == 1 && self.input.as_bytes().get(self.pos) == Some(&b'\n') {
            self.line -= 1;
        }
    }

    fn emit(&mut self, typ: ItemType) {
        self.items.push_back(Item {
            typ,
            pos: self.start,
            val: Cow::Borrowed(&self.input[self.start..self.pos]),
            line: self.start_line,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.next() {
            if valid.contains(c) {
                return true;
            }
        }
        self.backup();
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, msg: String) -> State {
        self.items.push_back(Item {
            typ: ItemType::Error,
            pos: self.start,
            val: Cow::Owned(msg),
            line: self.start_line,
        });
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[2..].starts_with(self.right_delim.as_str()) {
            return (true, true);
        }
        if rest.starts_with(self.right_delim.as_str()) {
            return (true, false);
        }
        (false, false)
    }

    fn at_terminator(&mut self) -> bool {
        let Some(r) = self.peek() else {
            return true;
        };
        if is_space(r) {
            return true;
        }
        if matches!(r, '.' | ',' | '|' | ':' | ')' | '(') {
            return true;
        }
        self.right_delim.starts_with(r)
    }

    fn step(&mut self) {
        self.state = match self.state {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(ItemType::Field),
            State::Variable => {
                if self.at_terminator() {
                    self.emit(ItemType::Variable);
                    State::InsideAction
                } else {
                    self.lex_field_or_variable(ItemType::Variable)
                }
            }
            State::Char => self.lex_char(),
            State::Number => self.lex_number(),
            State::Quote => self.lex_quote(),
            State::RawQuote => self.lex_raw_quote(),
            State::Done => {
                self.finished = true;
                State::Done
            }
        };
    }

    fn lex_text(&mut self) -> State {
        self.width = 0;
        if let Some(x) = self.rest().find(self.left_delim.as_str()) {
            let ldn = self.left_delim.len();
            self.pos += x;
            let mut trim = 0;
            if has_left_trim_marker(&self.input[self.pos + ldn..]) {
                trim = right_trim_len(&self.input[self.start..self.pos]);
            }
            self.pos -= trim;
            if self.pos > self.start {
                self.line += self.input[self.start..self.pos].matches('\n').count();
                self.emit(ItemType::Text);
            }
            self.pos += trim;
            self.ignore();
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos].matches('\n').count();
            self.emit(ItemType::Text);
        }
        self.emit(ItemType::Eof);
        State::Done
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += self.left_delim.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return State::Comment;
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += 2;
        }
        self.pos += self.right_delim.len();
        if trim {
            self.pos += left_trim_len(self.rest());
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let trim = has_right_trim_marker(self.rest());
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right_delim.len();
        self.emit(ItemType::RightDelim);
        if trim {
            self.pos += left_trim_len(self.rest());
            self.ignore();
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(r) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match r {
            _ if is_space(r) => {
                self.backup();
                return State::Space;
            }
            '=' => self.emit(ItemType::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemType::Declare);
            }
            '|' => self.emit(ItemType::Pipe),
            '"' => return State::Quote,
            '`' => return State::RawQuote,
            '$' => return State::Variable,
            '\'' => return State::Char,
            '.' => {
                if let Some(&b) = self.input.as_bytes().get(self.pos) {
                    if !b.is_ascii_digit() {
                        return State::Field;
                    }
                }
                self.backup();
                return State::Number;
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                return State::Number;
            }
            _ if is_alnum(r) => {
                self.backup();
                return State::Identifier;
            }
            '(' => {
                self.emit(ItemType::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(ItemType::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf(format!("unexpected right paren {}", sharp_u(r)));
                }
            }
            _ if r.is_ascii() && !r.is_ascii_control() => self.emit(ItemType::Char),
            _ => return self.errorf(format!("unrecognized character in action: {}", sharp_u(r))),
        }
        State::InsideAction
    }

    fn lex_space(&mut self) -> State {
        let mut n = 0;
        while let Some(r) = self.peek() {
            if !is_space(r) {
                break;
            }
            self.next();
            n += 1;
        }
        let from = &self.input[self.pos - 1..];
        if has_right_trim_marker(from) && from[2..].starts_with(self.right_delim.as_str()) {
            self.backup();
            if n == 1 {
                return State::RightDelim;
            }
        }
        self.emit(ItemType::Space);
        State::InsideAction
    }

    fn lex_identifier(&mut self) -> State {
        loop {
            match self.next() {
                Some(r) if is_alnum(r) => {}
                r => {
                    if r.is_some() {
                        self.backup();
                    }
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        let bad = self.peek().unwrap_or('\u{FFFD}');
                        return self.errorf(format!("bad character {}", sharp_u(bad)));
                    }
                    match keyword(word) {
                        Some(ItemType::Break) if !self.break_ok => self.emit(ItemType::Identifier),
                        Some(ItemType::Continue) if !self.continue_ok => {
                            self.emit(ItemType::Identifier)
                        }
                        Some(k) => self.emit(k),
                        None if word == "true" || word == "false" => self.emit(ItemType::Bool),
                        None => self.emit(ItemType::Identifier),
                    }
                    return State::InsideAction;
                }
            }
        }
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> State {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                self.emit(ItemType::Variable);
            } else {
                self.emit(ItemType::Dot);
            }
            return State::InsideAction;
        }
        loop {
            match self.next() {
                Some(r) if is_alnum(r) => {}
                r => {
                    if r.is_some() {
                        self.backup();
                    }
                    break;
                }
            }
        }
        if !self.at_terminator() {
            let bad = self.peek().unwrap_or('\u{FFFD}');
            return self.errorf(format!("bad character {}", sharp_u(bad)));
        }
        self.emit(typ);
        State::InsideAction
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(r) if r != '\n' => continue,
                    _ => return self.errorf("unterminated character constant".into()),
                },
                None | Some('\n') => return self.errorf("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(ItemType::CharConstant);
        State::InsideAction
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(r) if r != '\n' => continue,
                    _ => return self.errorf("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(ItemType::String);
        State::InsideAction
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString);
        State::InsideAction
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let t = self.input[self.start..self.pos].to_string();
            return self.errorf(format!("bad number syntax: {}", crate::fmt::quote_go(&t)));
        }
        if let Some(sign @ ('+' | '-')) = self.peek() {
            let _ = sign;
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let t = self.input[self.start..self.pos].to_string();
                return self.errorf(format!("bad number syntax: {}", crate::fmt::quote_go(&t)));
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        State::InsideAction
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(r) = self.peek() {
            if is_alnum(r) {
                self.next();
                return false;
            }
        }
        true
    }
}
