//! Go's `fmt` printing (`Sprint`, `Sprintf`, `Sprintln`) and the
//! `strconv` formatting it relies on, over [`Value`]s.
//!
//! Written from Go's documented behaviour: verbs `%v %+v %#v %T %t %d %b %o
//! %O %x %X %c %q %U %e %E %f %F %g %G %s %%`, flags `+ - # space 0`, width,
//! precision, `*` and `[n]` argument indexes, and the `%!verb(type=value)`,
//! `%!(EXTRA ...)`, `%!v(MISSING)`, `%!(BADINDEX)` error forms.

use crate::value::{Kind, Value};

const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

/// Go's `unicode.IsPrint`, exact for Latin-1 and approximated above it
/// (Rust's std has no general-category table).
pub(crate) fn is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xFF {
        return (0x20..=0x7E).contains(&r) || ((0xA1..=0xFF).contains(&r) && r != 0xAD);
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    !matches!(
        r,
        0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0xD800..=0xF8FF
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xFFFE
            | 0xFFFF
            | 0xE0001..=0xE007F
            | 0xF0000..=0x10FFFF
    )
}

fn push_escaped_rune(buf: &mut String, r: char, quote: char, ascii_only: bool) {
    if r == quote || r == '\\' {
        buf.push('\\');
        buf.push(r);
        return;
    }
    if ascii_only {
        if r.is_ascii() && is_print(r) {
            buf.push(r);
            return;
        }
    } else if is_print(r) {
        buf.push(r);
        return;
    }
    match r {
        '\x07' => buf.push_str("\\a"),
        '\x08' => buf.push_str("\\b"),
        '\x0c' => buf.push_str("\\f"),
        '\n' => buf.push_str("\\n"),
        '\r' => buf.push_str("\\r"),
        '\t' => buf.push_str("\\t"),
        '\x0b' => buf.push_str("\\v"),
        _ => {
            let v = r as u32;
            if v < 0x20 || v == 0x7f {
                buf.push_str(&format!("\\x{v:02x}"));
            } else if v < 0x10000 {
                buf.push_str(&format!("\\u{v:04x}"));
            } else {
                buf.push_str(&format!("\\U{v:08x}"));
            }
        }
    }
}

fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut b = String::with_capacity(s.len() + 2);
    b.push(quote);
    for c in s.chars() {
        push_escaped_rune(&mut b, c, quote, ascii_only);
    }
    b.push(quote);
    b
}

/// Go's `strconv.Quote`.
pub fn quote_go(s: &str) -> String {
    quote_with(s, '"', false)
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
}

/// Decimal digits of a float: `0.d1d2d3... × 10^dp`, trailing zeros trimmed.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

fn digits_from_exp(s: &str) -> Digits {
    // s like "1.2345e-7" (Rust's {:e} / {:.Ne} of a non-negative finite value)
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

fn digits_from_fixed(s: &str) -> Digits {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut d: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let mut dp = int.len() as i32;
    let lead = d.iter().take_while(|&&c| c == b'0').count();
    d.drain(..lead);
    dp -= lead as i32;
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        dp = 0;
    }
    Digits { d, dp }
}

fn fmt_e(out: &mut String, neg: bool, d: &Digits, prec: i32, ch: char) {
    if neg {
        out.push('-');
    }
    out.push(d.d.first().map(|&c| c as char).unwrap_or('0'));
    if prec > 0 {
        out.push('.');
        let mut i = 1usize;
        let m = d.d.len().min(prec as usize + 1);
        if i < m {
            out.extend(d.d[i..m].iter().map(|&c| c as char));
            i = m;
        }
        while i <= prec as usize {
            out.push('0');
            i += 1;
        }
    }
    out.push(ch);
    let mut exp = d.dp - 1;
    if d.d.is_empty() {
        exp = 0;
    }
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, neg: bool, d: &Digits, prec: i32) {
    if neg {
        out.push('-');
    }
    if d.dp > 0 {
        let m = d.d.len().min(d.dp as usize);
        out.extend(d.d[..m].iter().map(|&c| c as char));
        for _ in m..d.dp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.d.len() {
                d.d[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)`.
pub fn format_float(v: f64, fmt: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = v.is_sign_negative();
    let a = v.abs();
    let mut out = String::new();
    match fmt {
        'b' => {
            let bits = v.to_bits();
            let mut exp = ((bits >> 52) & 0x7ff) as i32;
            let mut mant = bits & ((1u64 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1 << 52;
            }
            exp -= 1023 + 52;
            if neg {
                out.push('-');
            }
            out.push_str(&mant.to_string());
            out.push('p');
            if exp >= 0 {
                out.push('+');
            }
            out.push_str(&exp.to_string());
            return out;
        }
        'x' | 'X' => return fmt_x(v, prec, fmt),
        _ => {}
    }
    let shortest = prec < 0;
    let lower = fmt.to_ascii_lowercase();
    let digits = if shortest {
        if a == 0.0 {
            Digits { d: vec![], dp: 0 }
        } else {
            digits_from_exp(&format!("{a:e}"))
        }
    } else {
        match lower {
            'e' => digits_from_exp(&format!("{:.*e}", prec as usize, a)),
            'f' => digits_from_fixed(&format!("{:.*}", prec as usize, a)),
            _ => {
                let p = if prec == 0 { 1 } else { prec };
                digits_from_exp(&format!("{:.*e}", (p - 1) as usize, a))
            }
        }
    };
    let nd = digits.d.len() as i32;
    let mut prec = prec;
    if shortest {
        prec = match lower {
            'e' => (nd - 1).max(0),
            'f' => (nd - digits.dp).max(0),
            _ => nd,
        };
    }
    match lower {
        'e' => fmt_e(&mut out, neg, &digits, prec, fmt),
        'f' => fmt_f(&mut out, neg, &digits, prec),
        _ => {
            let mut eprec = prec;
            if !shortest && prec == 0 {
                eprec = 1;
                prec = 1;
            }
            if eprec > nd && nd >= digits.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = digits.dp - 1;
            let e = if fmt == 'G' { 'E' } else { 'e' };
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&mut out, neg, &digits, prec - 1, e);
            } else {
                if prec > digits.dp {
                    prec = nd;
                }
                fmt_f(&mut out, neg, &digits, (prec - digits.dp).max(0));
            }
        }
    }
    out
}

fn fmt_x(v: f64, prec: i32, fmt: char) -> String {
    let bits = v.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex = if fmt == 'X' { UDIGITS } else { LDIGITS };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(fmt);
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
    out
}

#[derive(Default, Clone, Copy)]
struct Flags {
    wid: usize,
    prec: usize,
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

struct Printer {
    buf: String,
    f: Flags,
    erroring: bool,
}

fn rune_count(s: &str) -> usize {
    s.chars().count()
}

impl Printer {
    fn new() -> Self {
        Printer {
            buf: String::new(),
            f: Flags::default(),
            erroring: false,
        }
    }

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        for _ in 0..n {
            self.buf.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.push_str(s);
            return;
        }
        let n = rune_count(s);
        let width = self.f.wid.saturating_sub(n);
        if !self.f.minus {
            self.write_padding(width);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            self.write_padding(width);
        }
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present {
            if let Some((i, _)) = s.char_indices().nth(self.f.prec) {
                return &s[..i];
            }
        }
        s
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
            return;
        }
        let q = quote_with(&s, '"', self.f.plus);
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &[u8], digits: &[u8; 17]) {
        let mut length = s.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(digits[16] as char);
        }
        for (i, &c) in s.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(digits[16] as char);
                }
            }
            self.buf.push(digits[(c >> 4) as usize] as char);
            self.buf.push(digits[(c & 0xF) as usize] as char);
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }

    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, digits: &[u8; 17]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::new();
        if u == 0 {
            buf.push(b'0');
        }
        while u > 0 {
            buf.push(digits[(u % base as u64) as usize]);
            u /= base as u64;
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8_lossy(&buf).into_owned();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut s = format!("U+{:0w$X}", u, w = self.f.prec.max(4));
        if self.f.sharp && u <= 0x10FFFF {
            if let Some(c) = char::from_u32(u as u32) {
                if is_print(c) {
                    s.push_str(&format!(" '{c}'"));
                }
            }
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = old;
    }

    fn int_verb(&mut self, v: u64, signed: bool, verb: char, val: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let old = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(v, 16, false, 'v', LDIGITS);
                    self.f.sharp = old;
                } else {
                    self.fmt_integer(v, 10, signed, verb, LDIGITS)
                }
            }
            'd' => self.fmt_integer(v, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(v, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(v, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(v, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(v, 16, signed, verb, UDIGITS),
            'c' => {
                let c = char::from_u32(v as u32)
                    .filter(|_| v <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(v as u32)
                    .filter(|_| v <= 0x10FFFF)
                    .unwrap_or('\u{FFFD}');
                let q = quote_with(&c.to_string(), '\'', self.f.plus);
                self.pad(&q);
            }
            'U' => self.fmt_unicode(v),
            _ => self.bad_verb(verb, val),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char, val: &Value) {
        match verb {
            'v' => self.fmt_float_inner(v, 'g', -1, verb),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_inner(v, verb, -1, verb),
            'f' | 'e' | 'E' | 'F' => self.fmt_float_inner(v, verb, 6, verb),
            _ => self.bad_verb(verb, val),
        }
    }

    fn fmt_float_inner(&mut self, v: f64, fmtc: char, prec: i32, verb: char) {
        let mut prec = prec;
        if self.f.prec_present {
            prec = self.f.prec as i32;
        }
        let conv = if fmtc == 'F' { 'f' } else { fmtc };
        let s = format_float(v, conv, prec);
        let mut num: Vec<char> = Vec::with_capacity(s.len() + 1);
        if s.starts_with('-') || s.starts_with('+') {
            num.extend(s.chars());
        } else {
            num.push('+');
            num.extend(s.chars());
        }
        if self.f.space && num[0] == '+' && !self.f.plus {
            num[0] = ' ';
        }
        if num.get(1) == Some(&'I') || num.get(1) == Some(&'N') {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1] == 'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let s: String = num.iter().collect();
            self.pad(&s);
            self.f.zero = old;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = 0;
            if matches!(verb, 'v' | 'g' | 'G' | 'x') {
                digits = prec;
                if digits == -1 {
                    digits = 6;
                }
            }
            let mut tail: Vec<char> = vec![];
            let mut has_dp = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    '.' => has_dp = true,
                    'p' | 'P' => {
                        tail.extend(num.drain(i..));
                        break;
                    }
                    'e' | 'E' if verb != 'x' && verb != 'X' => {
                        tail.extend(num.drain(i..));
                        break;
                    }
                    c => {
                        if c != '0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_dp {
                if num.len() == 2 && num[1] == '0' {
                    digits -= 1;
                }
                num.push('.');
            }
            while digits > 0 {
                num.push('0');
                digits -= 1;
            }
            num.extend(tail);
        }
        if self.f.plus || num[0] != '+' {
            if self.f.zero && self.f.wid_present && self.f.wid > num.len() {
                self.buf.push(num[0]);
                self.write_padding(self.f.wid - num.len());
                self.buf.extend(num[1..].iter());
                return;
            }
            let s: String = num.iter().collect();
            self.pad(&s);
            return;
        }
        let s: String = num[1..].iter().collect();
        self.pad(&s);
    }

    fn fmt_complex(&mut self, re: f64, im: f64, verb: char, val: &Value) {
        match verb {
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                let old_plus = self.f.plus;
                self.buf.push('(');
                self.fmt_float(re, verb, val);
                self.f.plus = true;
                self.fmt_float(im, verb, val);
                self.buf.push_str("i)");
                self.f.plus = old_plus;
            }
            _ => self.bad_verb(verb, val),
        }
    }

    fn fmt_bool(&mut self, b: bool, verb: char, val: &Value) {
        match verb {
            't' | 'v' => self.pad(if b { "true" } else { "false" }),
            _ => self.bad_verb(verb, val),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, val: &Value) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(s)
                } else {
                    self.fmt_s(s)
                }
            }
            's' => self.fmt_s(s),
            'x' => self.fmt_sx(s.as_bytes(), LDIGITS),
            'X' => self.fmt_sx(s.as_bytes(), UDIGITS),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, val),
        }
    }

    fn bad_verb(&mut self, verb: char, val: &Value) {
        self.erroring = true;
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match val {
            Value::Nil | Value::Invalid => self.buf.push_str("<nil>"),
            v => {
                self.buf.push_str(&v.type_name());
                self.buf.push('=');
                self.print_arg(v, 'v');
            }
        }
        self.buf.push(')');
        self.erroring = false;
    }

    fn handle_methods(&mut self, v: &Value, verb: char) -> bool {
        if self.erroring || self.f.sharp_v {
            return false;
        }
        if let Value::Object(o) = v {
            if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
                if let Some(s) = o.go_string() {
                    self.fmt_string(&s, verb, v);
                    return true;
                }
            }
        }
        false
    }

    fn print_arg(&mut self, arg: &Value, verb: char) {
        match arg {
            Value::Nil | Value::Invalid => {
                match verb {
                    'T' | 'v' => self.pad("<nil>"),
                    _ => self.bad_verb(verb, arg),
                }
                return;
            }
            _ => {}
        }
        if verb == 'T' {
            let t = arg.type_name().into_owned();
            self.fmt_s(&t);
            return;
        }
        if verb == 'p' {
            self.bad_verb(verb, arg);
            return;
        }
        match arg {
            Value::Bool(b) => self.fmt_bool(*b, verb, arg),
            Value::Float(f) => self.fmt_float(*f, verb, arg),
            Value::Complex(r, i) => self.fmt_complex(*r, *i, verb, arg),
            Value::Int(i, _) => self.int_verb(*i as u64, true, verb, arg),
            Value::Uint(u, _) => self.int_verb(*u, false, verb, arg),
            Value::String(s) => self.fmt_string(s, verb, arg),
            _ => {
                if !self.handle_methods(arg, verb) {
                    self.print_value(arg, verb, 0);
                }
            }
        }
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if depth > 0 && self.handle_methods(v, verb) {
            return;
        }
        match v {
            Value::Invalid => {
                if depth == 0 {
                    self.buf.push_str("<invalid reflect.Value>");
                } else if verb == 'v' {
                    self.buf.push_str("<nil>");
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::Nil => {
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => self.fmt_bool(*b, verb, v),
            Value::Int(i, _) => self.int_verb(*i as u64, true, verb, v),
            Value::Uint(u, _) => self.int_verb(*u, false, verb, v),
            Value::Float(f) => self.fmt_float(*f, verb, v),
            Value::Complex(r, i) => self.fmt_complex(*r, *i, verb, v),
            Value::String(s) | Value::Safe(_, s) => self.fmt_string(s, verb, v),
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.buf.push_str(&m.type_name);
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, val)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    self.print_value(&Value::from(k.as_str()), verb, depth + 1);
                    self.buf.push(':');
                    self.print_value(val, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str(&l.type_name);
                    self.buf.push('{');
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_value(item, verb, depth + 1);
                    }
                    self.buf.push('}');
                    return;
                }
                self.buf.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(' ');
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.buf.push(']');
            }
            Value::Object(o) => {
                if let Some(u) = o.underlying() {
                    if self.f.sharp_v && matches!(u.kind(), Kind::Map | Kind::Slice) {
                        // Go syntax shows the named type.
                        let tn = o.type_name().into_owned();
                        let mut inner = Printer::new();
                        inner.f = self.f;
                        inner.print_value(&u, verb, depth);
                        let s = inner.buf;
                        let pos = s.find('{').unwrap_or(0);
                        self.buf.push_str(&tn);
                        self.buf.push_str(&s[pos..]);
                        return;
                    }
                    self.print_value(&u, verb, depth);
                    return;
                }
                if o.is_pointer() {
                    self.buf.push('&');
                }
                if self.f.sharp_v {
                    self.buf.push_str(o.type_name().trim_start_matches('*'));
                }
                self.buf.push('{');
                for (i, name) in o.field_names().iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    if self.f.plus_v || self.f.sharp_v {
                        self.buf.push_str(name);
                        self.buf.push(':');
                    }
                    let fv = o.field(name).unwrap_or(Value::Nil);
                    self.print_value(&fv, verb, depth + 1);
                }
                self.buf.push('}');
            }
            Value::Func(_) => {
                if verb == 'v' {
                    self.buf.push_str("0x1");
                } else {
                    self.bad_verb(verb, v);
                }
            }
        }
    }
}

fn is_string_kind(v: &Value) -> bool {
    !matches!(v, Value::Nil | Value::Invalid) && v.kind() == Kind::String
}

/// Go's `fmt.Sprint`.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = is_string_kind(a);
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

fn parse_num(s: &[u8], mut i: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut isnum = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > 1_000_000 {
            return (0, false, s.len());
        }
        num = num * 10 + (s[i] - b'0') as usize;
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

fn parse_arg_number(s: &[u8]) -> (usize, usize, bool) {
    if s.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..s.len() {
        if s[i] == b']' {
            let (w, ok, newi) = parse_num(s, 1);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (w.wrapping_sub(1), i + 1, true);
        }
    }
    (0, 1, false)
}

fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    if arg_num < a.len() {
        let (n, ok) = match a[arg_num].basic().as_ref() {
            Value::Int(i, _) => (*i, true),
            Value::Uint(u, _) if *u <= i64::MAX as u64 => (*u as i64, true),
            _ => (0, false),
        };
        let (n, ok) = if !(-1_000_000..=1_000_000).contains(&n) {
            (0, false)
        } else {
            (n, ok)
        };
        return (n, ok, arg_num + 1);
    }
    (0, false, arg_num)
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, a: &[Value]) -> String {
    let mut p = Printer::new();
    let fb = format.as_bytes();
    let end = fb.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    'outer: while i < end {
        let mut good_arg_num = true;
        let lasti = i;
        while i < end && fb[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.buf.push_str(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            let c = fb[i];
            match c {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => {
                    if c.is_ascii_lowercase() && arg_num < a.len() {
                        if c == b'v' {
                            p.f.sharp_v = p.f.sharp;
                            p.f.sharp = false;
                            p.f.plus_v = p.f.plus;
                            p.f.plus = false;
                        }
                        p.print_arg(&a[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'outer;
                    }
                    break;
                }
            }
            i += 1;
        }
        // argument index
        let mut after_index;
        let arg_number = |arg_num: usize, i: usize, good: &mut bool, reord: &mut bool| {
            if i >= end || fb[i] != b'[' {
                return (arg_num, i, false);
            }
            *reord = true;
            let (index, wid, ok) = parse_arg_number(&fb[i..]);
            if ok && index < a.len() {
                return (index, i + wid, true);
            }
            *good = false;
            (arg_num, i + wid, ok)
        };
        (arg_num, i, after_index) = arg_number(arg_num, i, &mut good_arg_num, &mut reordered);
        if i < end && fb[i] == b'*' {
            i += 1;
            let (w, ok, n) = int_from_arg(a, arg_num);
            arg_num = n;
            p.f.wid_present = ok;
            if !ok {
                p.buf.push_str("%!(BADWIDTH)");
            }
            if w < 0 {
                p.f.wid = (-w) as usize;
                p.f.minus = true;
                p.f.zero = false;
            } else {
                p.f.wid = w as usize;
            }
            after_index = false;
        } else {
            let (w, ok, ni) = parse_num(fb, i);
            p.f.wid = w;
            p.f.wid_present = ok;
            i = ni;
            if after_index && p.f.wid_present {
                good_arg_num = false;
            }
        }
        if i + 1 < end && fb[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(arg_num, i, &mut good_arg_num, &mut reordered);
            if i < end && fb[i] == b'*' {
                i += 1;
                let (pr, ok, n) = int_from_arg(a, arg_num);
                arg_num = n;
                p.f.prec_present = ok;
                p.f.prec = pr.max(0) as usize;
                if pr < 0 {
                    p.f.prec = 0;
                    p.f.prec_present = false;
                }
                if !p.f.prec_present {
                    p.buf.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, ok, ni) = parse_num(fb, i);
                p.f.prec = pr;
                p.f.prec_present = ok;
                i = ni;
                if !p.f.prec_present {
                    p.f.prec = 0;
                    p.f.prec_present = true;
                }
            }
        }
        if !after_index {
            (arg_num, i, _) = arg_number(arg_num, i, &mut good_arg_num, &mut reordered);
        }
        if i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        match verb {
            '%' => p.buf.push('%'),
            _ if !good_arg_num => {
                p.buf.push_str("%!");
                p.buf.push(verb);
                p.buf.push_str("(BADINDEX)");
            }
            _ if arg_num >= a.len() => {
                p.buf.push_str("%!");
                p.buf.push(verb);
                p.buf.push_str("(MISSING)");
            }
            _ => {
                if verb == 'v' {
                    p.f.sharp_v = p.f.sharp;
                    p.f.sharp = false;
                    p.f.plus_v = p.f.plus;
                    p.f.plus = false;
                }
                p.print_arg(&a[arg_num], verb);
                arg_num += 1;
            }
        }
    }
    if !reordered && arg_num < a.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (i, arg) in a[arg_num..].iter().enumerate() {
            if i > 0 {
                p.buf.push_str(", ");
            }
            match arg {
                Value::Nil | Value::Invalid => p.buf.push_str("<nil>"),
                _ => {
                    p.buf.push_str(&arg.type_name());
                    p.buf.push('=');
                    p.print_arg(arg, 'v');
                }
            }
        }
        p.buf.push(')');
    }
    p.buf
}

/// How an action `{{x}}` prints its value: `fmt.Fprint` after Go's
/// `printableValue`, which dereferences pointers (so `*T` prints `{...}`).
pub(crate) fn sprint_action(v: &Value) -> String {
    if let Value::Object(o) = v {
        if o.is_pointer() && o.go_string().is_none() {
            let mut p = Printer::new();
            p.buf.push('{');
            for (i, name) in o.field_names().iter().enumerate() {
                if i > 0 {
                    p.buf.push(' ');
                }
                let fv = o.field(name).unwrap_or(Value::Nil);
                p.print_value(&fv, 'v', 1);
            }
            p.buf.push('}');
            return p.buf;
        }
    }
    sprint(std::slice::from_ref(v))
}
