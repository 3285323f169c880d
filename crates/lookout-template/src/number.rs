//! Numeric and character constants as Go's template parser reads them
//! (`strconv.ParseInt/ParseUint/ParseFloat` with base prefixes and
//! underscores, `strconv.UnquoteChar`).

use crate::lex::ItemType;
use crate::node::Number;

fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let b = if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        &b[1..]
    } else {
        b
    };
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits, prefixed) = if s.len() >= 2 && s.as_bytes()[0] == b'0' {
        match s.as_bytes()[1] | 0x20 {
            b'x' => (16, &s[2..], true),
            b'o' => (8, &s[2..], true),
            b'b' => (2, &s[2..], true),
            _ => (8, &s[1..], true),
        }
    } else {
        (10, s, false)
    };
    let _ = prefixed;
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let cleaned: String = digits.chars().filter(|&c| c != '_').collect();
    if cleaned.is_empty() {
        // "0x" alone is a syntax error; a bare "0" is handled by base 8 path.
        return if s == "0" { Some(0) } else { None };
    }
    u64::from_str_radix(&cleaned, base).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint0(body)?;
    if neg {
        if u > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the syntax the lexer can produce.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let cleaned: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, &cleaned[..]),
    };
    let v = if body.len() > 2 && body.as_bytes()[0] == b'0' && body.as_bytes()[1] | 0x20 == b'x' {
        parse_hex_float(&body[2..])?
    } else {
        if body.is_empty()
            || !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None; // ErrRange
    }
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    // Go requires the binary exponent on hexadecimal floats.
    let i = s.find(['p', 'P'])?;
    let (mant, exp) = (&s[..i], s[i + 1..].parse::<i32>().ok()?);
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let e = exp - 4 * frac_part.len() as i32;
    Some(v * 2f64.powi(e))
}

/// Go's `strconv.UnquoteChar`: decodes one (possibly escaped) character from
/// the start of `s`; returns its UTF-8 or raw byte encoding and the tail.
pub(crate) fn unquote_char(s: &str, quote: u8) -> Option<(Vec<u8>, &str)> {
    let c = s.chars().next()?;
    if c as u32 == quote as u32 && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c != '\\' {
        let mut buf = [0u8; 4];
        return Some((
            c.encode_utf8(&mut buf).as_bytes().to_vec(),
            &s[c.len_utf8()..],
        ));
    }
    let rest = &s[1..];
    let e = rest.chars().next()?;
    let tail = &rest[e.len_utf8()..];
    let simple = |b: u8| Some((vec![b], tail));
    match e {
        'a' => simple(7),
        'b' => simple(8),
        'f' => simple(12),
        'n' => simple(b'\n'),
        'r' => simple(b'\r'),
        't' => simple(b'\t'),
        'v' => simple(11),
        '\\' => simple(b'\\'),
        '\'' | '"' => {
            if e as u32 != quote as u32 {
                return None;
            }
            simple(e as u8)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = tail.get(..n)?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let tail = &tail[n..];
            if e == 'x' {
                return Some((vec![v as u8], tail));
            }
            let ch = char::from_u32(v)?;
            let mut buf = [0u8; 4];
            Some((ch.encode_utf8(&mut buf).as_bytes().to_vec(), tail))
        }
        '0'..='7' => {
            let oct = rest.get(..3)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(oct, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((vec![v as u8], &rest[3..]))
        }
        _ => None,
    }
}

/// Go's `parse.newNumber`.
pub(crate) fn parse_number(text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        ..Default::default()
    };
    match typ {
        ItemType::CharConstant => {
            let inner = &text[1..];
            let Some((bytes, tail)) = unquote_char(inner, b'\'') else {
                return Err("invalid syntax".into());
            };
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            let r = match std::str::from_utf8(&bytes) {
                Ok(s) if bytes.len() > 1 => s.chars().next().map(|c| c as i64).unwrap_or(0),
                _ => bytes.first().copied().unwrap_or(0) as i64,
            };
            n.is_int = true;
            n.int = r;
            n.is_uint = true;
            n.uint = r as u64;
            n.is_float = true;
            n.float = r as f64;
            return Ok(n);
        }
        ItemType::Complex => {
            let c = parse_complex(text).ok_or_else(|| "expected integer".to_string())?;
            n.is_complex = true;
            n.complex = c;
            simplify_complex(&mut n);
            return Ok(n);
        }
        _ => {}
    }
    if let Some(body) = text.strip_suffix('i') {
        if let Some(f) = parse_float(body) {
            n.is_complex = true;
            n.complex = (0.0, f);
            simplify_complex(&mut n);
            return Ok(n);
        }
    }
    let u = parse_uint0(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int0(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
            n.uint = 0;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::fmt::quote_go(text)));
        }
        n.is_float = true;
        n.float = f;
        if f == (f as i64) as f64 && f.abs() < 9.3e18 {
            n.is_int = true;
            n.int = f as i64;
        }
        if f >= 0.0 && f == (f as u64) as f64 && f < 1.85e19 {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::fmt::quote_go(text)
        ));
    }
    Ok(n)
}

fn simplify_complex(n: &mut Number) {
    n.is_float = n.complex.1 == 0.0;
    if n.is_float {
        let f = n.complex.0;
        n.float = f;
        n.is_int = f == (f as i64) as f64;
        if n.is_int {
            n.int = f as i64;
        }
        n.is_uint = f >= 0.0 && f == (f as u64) as f64;
        if n.is_uint {
            n.uint = f as u64;
        }
    }
}

fn parse_complex(text: &str) -> Option<(f64, f64)> {
    let body = text.strip_suffix('i')?;
    let b = body.as_bytes();
    let mut split = None;
    for i in (1..b.len()).rev() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1] | 0x20, b'e' | b'p') {
            split = Some(i);
            break;
        }
    }
    let i = split?;
    Some((parse_float(&body[..i])?, parse_float(&body[i..])?))
}
