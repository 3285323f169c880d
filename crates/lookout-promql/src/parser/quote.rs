//! Go-compatible quoting and unquoting.
//!
//! Upstream error messages and the printer render strings with Go's `%q`
//! (`strconv.Quote`), and string literals follow Go's escape rules where
//! `\xNN` and octal escapes produce raw bytes. Hand-written because no crate
//! reproduces Go's exact rules (printable set, `\x` for invalid bytes).

/// Whether Go's `unicode.IsPrint` would accept the character. Exact for
/// ASCII and common ranges; approximates the Unicode tables for the rest by
/// excluding controls, non-ASCII spaces, format characters, private use and
/// noncharacters.
pub fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0xFFFE..=0xFFFF
        | 0xE000..=0xF8FF
        | 0x110BD
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F
        | 0xF0000..=0x10FFFF
    )
}

fn push_escaped_rune(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_printable(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote` of a byte string (invalid UTF-8 bytes become `\xNN`).
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_rune(&mut out, c, '"');
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a string.
pub fn go_quote_str(s: &str) -> String {
    go_quote(s.as_bytes())
}

/// Go's `%q` of a rune (`'x'`); a negative value (end of input) is the
/// replacement character, as in Go.
pub fn go_quote_rune(r: i32) -> String {
    let c = u32::try_from(r)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}');
    let mut out = String::from("'");
    push_escaped_rune(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U` of a rune: `U+0063 'c'` (the character only when printable).
pub fn go_rune_u_format(r: i32) -> String {
    let c = u32::try_from(r).ok().and_then(char::from_u32);
    match c {
        Some(c) if is_printable(c) => format!("U+{:04X} '{}'", c as u32, c),
        Some(c) => format!("U+{:04X}", c as u32),
        None => "U+FFFD '\u{fffd}'".to_string(),
    }
}

/// Go's `%.10q...` truncation used for long token texts in messages.
pub fn go_quote_truncated(s: &str, max_runes: usize) -> String {
    match s.char_indices().nth(max_runes) {
        Some((idx, _)) => format!("{}...", go_quote_str(s.get(..idx).unwrap_or(s))),
        None => go_quote_str(s),
    }
}

/// Unquotes a string token (quotes included) the way Prometheus does: raw
/// for backticks, Go escapes for `"` and `'`. `\xNN` and octal escapes yield
/// raw bytes, so the result may not be UTF-8. The lexer has validated the
/// escapes; malformed input yields `None`.
pub fn unquote(token: &str) -> Option<Vec<u8>> {
    let bytes = token.as_bytes();
    let quote = *bytes.first()?;
    if bytes.len() < 2 || *bytes.last()? != quote {
        return None;
    }
    let inner = token.get(1..token.len() - 1)?;
    if quote == b'`' {
        if inner.contains('`') {
            return None;
        }
        return Some(inner.as_bytes().to_vec());
    }
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote as char {
            return None;
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next()?;
        match e {
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '\\' => out.push(b'\\'),
            '\'' | '"' if e == quote as char => out.push(e as u8),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + chars.next()?.to_digit(8)?;
                }
                out.push(u8::try_from(v).ok()?);
            }
            'x' => {
                let hi = chars.next()?.to_digit(16)?;
                let lo = chars.next()?.to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            'u' | 'U' => {
                let n = if e == 'u' { 4 } else { 8 };
                let mut v: u32 = 0;
                for _ in 0..n {
                    v = v
                        .checked_mul(16)?
                        .checked_add(chars.next()?.to_digit(16)?)?;
                }
                let c = char::from_u32(v)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote_str("\n\t\u{1}"), r#""\n\t\x01""#);
        assert_eq!(go_quote_str("é☺"), "\"é☺\"");
        assert_eq!(go_quote(b"a\xc5z"), r#""a\xc5z""#);
        assert_eq!(go_quote_str("\u{200b}"), r#""\u200b""#);
        assert_eq!(go_quote_rune('.' as i32), "'.'");
        assert_eq!(go_quote_rune('\'' as i32), r"'\''");
        assert_eq!(go_rune_u_format('c' as i32), "U+0063 'c'");
        assert_eq!(go_rune_u_format('\n' as i32), "U+000A");
        assert_eq!(go_quote_truncated("abcdefghijklm", 10), "\"abcdefghij\"...");
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\"b""#).unwrap(), b"a\"b");
        assert_eq!(unquote(r"'a\'b'").unwrap(), b"a'b");
        assert_eq!(unquote(r"`a\d`").unwrap(), b"a\\d");
        assert_eq!(
            unquote(r#""\xFF\377\u263a""#).unwrap(),
            b"\xff\xff\xe2\x98\xba"
        );
        assert!(unquote(r#""\'""#).is_none());
    }
}
