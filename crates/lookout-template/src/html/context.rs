//! html/template's parsing context and the text transitions between
//! contexts (HTML tags, attributes, URLs, JS and CSS), following Go's
//! `html/template` context model and state names (they appear in error
//! messages and derived template names).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum State {
    #[default]
    Text,
    Tag,
    AttrName,
    AfterName,
    BeforeValue,
    HtmlCmt,
    Rcdata,
    Attr,
    Url,
    Srcset,
    Js,
    JsDqStr,
    JsSqStr,
    JsBqStr,
    JsRegexp,
    JsBlockCmt,
    JsLineCmt,
    Css,
    CssDqStr,
    CssSqStr,
    CssDqUrl,
    CssSqUrl,
    CssUrl,
    CssBlockCmt,
    CssLineCmt,
    Error,
}

impl State {
    pub fn name(self) -> &'static str {
        use State::*;
        match self {
            Text => "stateText",
            Tag => "stateTag",
            AttrName => "stateAttrName",
            AfterName => "stateAfterName",
            BeforeValue => "stateBeforeValue",
            HtmlCmt => "stateHTMLCmt",
            Rcdata => "stateRCDATA",
            Attr => "stateAttr",
            Url => "stateURL",
            Srcset => "stateSrcset",
            Js => "stateJS",
            JsDqStr => "stateJSDqStr",
            JsSqStr => "stateJSSqStr",
            JsBqStr => "stateJSBqStr",
            JsRegexp => "stateJSRegexp",
            JsBlockCmt => "stateJSBlockCmt",
            JsLineCmt => "stateJSLineCmt",
            Css => "stateCSS",
            CssDqStr => "stateCSSDqStr",
            CssSqStr => "stateCSSSqStr",
            CssDqUrl => "stateCSSDqURL",
            CssSqUrl => "stateCSSSqURL",
            CssUrl => "stateCSSURL",
            CssBlockCmt => "stateCSSBlockCmt",
            CssLineCmt => "stateCSSLineCmt",
            Error => "stateError",
        }
    }

    pub fn is_comment(self) -> bool {
        matches!(
            self,
            State::HtmlCmt
                | State::JsBlockCmt
                | State::JsLineCmt
                | State::CssBlockCmt
                | State::CssLineCmt
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Delim {
    #[default]
    None,
    DoubleQuote,
    SingleQuote,
    SpaceOrTagEnd,
}

impl Delim {
    fn name(self) -> &'static str {
        match self {
            Delim::None => "delimNone",
            Delim::DoubleQuote => "delimDoubleQuote",
            Delim::SingleQuote => "delimSingleQuote",
            Delim::SpaceOrTagEnd => "delimSpaceOrTagEnd",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum UrlPart {
    #[default]
    None,
    PreQuery,
    QueryOrFrag,
    Unknown,
}

impl UrlPart {
    fn name(self) -> &'static str {
        match self {
            UrlPart::None => "urlPartNone",
            UrlPart::PreQuery => "urlPartPreQuery",
            UrlPart::QueryOrFrag => "urlPartQueryOrFrag",
            UrlPart::Unknown => "urlPartUnknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum JsCtx {
    #[default]
    Regexp,
    DivOp,
    Unknown,
}

impl JsCtx {
    fn name(self) -> &'static str {
        match self {
            JsCtx::Regexp => "jsCtxRegexp",
            JsCtx::DivOp => "jsCtxDivOp",
            JsCtx::Unknown => "jsCtxUnknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Attr {
    #[default]
    None,
    Script,
    ScriptType,
    Style,
    Url,
    Srcset,
}

impl Attr {
    fn name(self) -> &'static str {
        match self {
            Attr::None => "attrNone",
            Attr::Script => "attrScript",
            Attr::ScriptType => "attrScriptType",
            Attr::Style => "attrStyle",
            Attr::Url => "attrURL",
            Attr::Srcset => "attrSrcset",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Element {
    #[default]
    None,
    Script,
    Style,
    Textarea,
    Title,
}

impl Element {
    fn name(self) -> &'static str {
        match self {
            Element::None => "elementNone",
            Element::Script => "elementScript",
            Element::Style => "elementStyle",
            Element::Textarea => "elementTextarea",
            Element::Title => "elementTitle",
        }
    }
}

/// An escaping error: description plus optional `name:line:col` location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HtmlError {
    pub loc: Option<String>,
    pub desc: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Context {
    pub state: State,
    pub delim: Delim,
    pub url_part: UrlPart,
    pub js_ctx: JsCtx,
    pub attr: Attr,
    pub element: Element,
    pub err: Option<Box<HtmlError>>,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{} {} {} {} {} {} ",
            self.state.name(),
            self.delim.name(),
            self.url_part.name(),
            self.js_ctx.name(),
            self.attr.name(),
            self.element.name()
        )?;
        match &self.err {
            None => write!(f, "<nil>}}"),
            Some(e) => write!(f, "{}}}", e.desc),
        }
    }
}

impl Context {
    pub fn error(desc: String, loc: Option<String>) -> Context {
        Context {
            state: State::Error,
            err: Some(Box::new(HtmlError { loc, desc })),
            ..Default::default()
        }
    }

    fn with_state(state: State) -> Context {
        Context {
            state,
            ..Default::default()
        }
    }

    /// Go's `context.mangle`: the derived template name for this context.
    pub fn mangle(&self, name: &str) -> String {
        if self.state == State::Text {
            return name.to_string();
        }
        let mut s = format!("{name}$htmltemplate_{}", self.state.name());
        if self.delim != Delim::None {
            s = format!("{s}_{}", self.delim.name());
        }
        if self.url_part != UrlPart::None {
            s = format!("{s}_{}", self.url_part.name());
        }
        if self.js_ctx != JsCtx::Regexp {
            s = format!("{s}_{}", self.js_ctx.name());
        }
        if self.attr != Attr::None {
            s = format!("{s}_{}", self.attr.name());
        }
        if self.element != Element::None {
            s = format!("{s}_{}", self.element.name());
        }
        s
    }
}

/// Go's `nudge`: the context an action sees at a tag/attribute boundary.
pub(crate) fn nudge(mut c: Context) -> Context {
    match c.state {
        State::Tag => c.state = State::AttrName,
        State::BeforeValue => {
            c.state = attr_start_state(c.attr);
            c.delim = Delim::SpaceOrTagEnd;
            c.attr = Attr::None;
        }
        State::AfterName => {
            c.state = State::AttrName;
            c.attr = Attr::None;
        }
        _ => {}
    }
    c
}

fn attr_start_state(a: Attr) -> State {
    match a {
        Attr::None | Attr::ScriptType => State::Attr,
        Attr::Script => State::Js,
        Attr::Style => State::Css,
        Attr::Url => State::Url,
        Attr::Srcset => State::Srcset,
    }
}

/// Content types of attribute values (`attrType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ContentType {
    Plain,
    Css,
    Js,
    Url,
    Srcset,
    Unsafe,
}

pub(crate) fn attr_type(name: &str) -> ContentType {
    let mut name = name;
    if let Some(rest) = name.strip_prefix("data-") {
        name = rest;
    } else if let Some((prefix, short)) = name.split_once(':') {
        if prefix == "xmlns" {
            return ContentType::Url;
        }
        name = short;
    }
    match name {
        "action" | "archive" | "background" | "cite" | "classid" | "codebase" | "data"
        | "formaction" | "href" | "icon" | "longdesc" | "manifest" | "poster" | "profile"
        | "src" | "usemap" | "xmlns" => return ContentType::Url,
        "style" => return ContentType::Css,
        "srcset" => return ContentType::Srcset,
        "content" | "http-equiv" | "language" | "pattern" => return ContentType::Unsafe,
        "accept" | "accept-charset" | "accesskey" | "align" | "alt" | "autocomplete"
        | "autofocus" | "autoplay" | "border" | "challenge" | "charset" | "checked" | "class"
        | "color" | "cols" | "colspan" | "contenteditable" | "contextmenu" | "controls"
        | "coords" | "crossorigin" | "datetime" | "default" | "dir" | "dirname" | "disabled"
        | "draggable" | "dropzone" | "enctype" | "for" | "form" | "formenctype" | "formmethod"
        | "formnovalidate" | "formtarget" | "headers" | "height" | "hidden" | "high"
        | "hreflang" | "id" | "ismap" | "keytype" | "kind" | "label" | "lang" | "list" | "loop"
        | "low" | "max" | "maxlength" | "media" | "mediagroup" | "method" | "min" | "multiple"
        | "name" | "novalidate" | "open" | "optimum" | "placeholder" | "preload" | "pubdate"
        | "radiogroup" | "readonly" | "rel" | "required" | "reversed" | "rows" | "rowspan"
        | "sandbox" | "spellcheck" | "scope" | "scoped" | "seamless" | "selected" | "shape"
        | "size" | "sizes" | "span" | "srcdoc" | "srclang" | "start" | "step" | "tabindex"
        | "target" | "title" | "type" | "value" | "width" | "wrap" => return ContentType::Plain,
        _ => {}
    }
    if name.starts_with("on") {
        return ContentType::Js;
    }
    if name.contains("src") || name.contains("uri") || name.contains("url") {
        return ContentType::Url;
    }
    ContentType::Plain
}

fn index_any(s: &[u8], set: &[u8]) -> Option<usize> {
    s.iter().position(|b| set.contains(b))
}

fn find(s: &[u8], pat: &[u8]) -> Option<usize> {
    if pat.is_empty() || s.len() < pat.len() {
        return None;
    }
    s.windows(pat.len()).position(|w| w == pat)
}

fn eat_white_space(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() && matches!(s[j], b' ' | b'\t' | b'\n' | b'\x0c' | b'\r') {
        j += 1;
    }
    j
}

fn eat_attr_name(s: &[u8], i: usize) -> Result<usize, String> {
    for j in i..s.len() {
        match s[j] {
            b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' | b'=' | b'>' => return Ok(j),
            b'\'' | b'"' | b'<' => {
                return Err(format!(
                    "{} in attribute name: {}",
                    crate::fmt::quote_go(&String::from_utf8_lossy(&s[j..j + 1])),
                    quote32(s)
                ))
            }
            _ => {}
        }
    }
    Ok(s.len())
}

fn quote32(s: &[u8]) -> String {
    let t: String = String::from_utf8_lossy(s).chars().take(32).collect();
    crate::fmt::quote_go(&t)
}

fn eat_tag_name(s: &[u8], i: usize) -> (usize, Element) {
    if i == s.len() || !s[i].is_ascii_alphabetic() {
        return (i, Element::None);
    }
    let mut j = i + 1;
    while j < s.len() {
        let x = s[j];
        if x.is_ascii_alphanumeric() {
            j += 1;
            continue;
        }
        if (x == b':' || x == b'-') && j + 1 < s.len() && s[j + 1].is_ascii_alphanumeric() {
            j += 2;
            continue;
        }
        break;
    }
    let e = match String::from_utf8_lossy(&s[i..j])
        .to_ascii_lowercase()
        .as_str()
    {
        "script" => Element::Script,
        "style" => Element::Style,
        "textarea" => Element::Textarea,
        "title" => Element::Title,
        _ => Element::None,
    };
    (j, e)
}

fn t_text(c: Context, s: &[u8]) -> (Context, usize) {
    let mut k = 0;
    loop {
        let Some(off) = s[k..].iter().position(|&b| b == b'<') else {
            return (c, s.len());
        };
        let mut i = k + off;
        if i + 1 == s.len() {
            return (c, s.len());
        }
        if s[i..].starts_with(b"<!--") {
            return (Context::with_state(State::HtmlCmt), i + 4);
        }
        i += 1;
        let mut end = false;
        if s[i] == b'/' {
            if i + 1 == s.len() {
                return (c, s.len());
            }
            end = true;
            i += 1;
        }
        let (j, e) = eat_tag_name(s, i);
        if j != i {
            let element = if end { Element::None } else { e };
            return (
                Context {
                    state: State::Tag,
                    element,
                    ..Default::default()
                },
                j,
            );
        }
        k = j;
    }
}

fn element_content_state(e: Element) -> State {
    match e {
        Element::None => State::Text,
        Element::Script => State::Js,
        Element::Style => State::Css,
        Element::Textarea | Element::Title => State::Rcdata,
    }
}

fn t_tag(c: Context, s: &[u8]) -> (Context, usize) {
    let i = eat_white_space(s, 0);
    if i == s.len() {
        return (c, s.len());
    }
    if s[i] == b'>' {
        return (
            Context {
                state: element_content_state(c.element),
                element: c.element,
                ..Default::default()
            },
            i + 1,
        );
    }
    let j = match eat_attr_name(s, i) {
        Ok(j) => j,
        Err(e) => return (Context::error(e, None), s.len()),
    };
    if i == j {
        return (
            Context::error(
                format!(
                    "expected space, attr name, or end of tag, but got {}",
                    crate::fmt::quote_go(&String::from_utf8_lossy(&s[i..]))
                ),
                None,
            ),
            s.len(),
        );
    }
    let attr_name = String::from_utf8_lossy(&s[i..j]).to_ascii_lowercase();
    let attr = if c.element == Element::Script && attr_name == "type" {
        Attr::ScriptType
    } else {
        match attr_type(&attr_name) {
            ContentType::Url => Attr::Url,
            ContentType::Css => Attr::Style,
            ContentType::Js => Attr::Script,
            ContentType::Srcset => Attr::Srcset,
            _ => Attr::None,
        }
    };
    let state = if j == s.len() {
        State::AttrName
    } else {
        State::AfterName
    };
    (
        Context {
            state,
            element: c.element,
            attr,
            ..Default::default()
        },
        j,
    )
}

fn t_attr_name(mut c: Context, s: &[u8]) -> (Context, usize) {
    match eat_attr_name(s, 0) {
        Err(e) => (Context::error(e, None), s.len()),
        Ok(i) => {
            if i != s.len() {
                c.state = State::AfterName;
            }
            (c, i)
        }
    }
}

fn t_after_name(mut c: Context, s: &[u8]) -> (Context, usize) {
    let i = eat_white_space(s, 0);
    if i == s.len() {
        return (c, s.len());
    }
    if s[i] != b'=' {
        c.state = State::Tag;
        return (c, i);
    }
    c.state = State::BeforeValue;
    (c, i + 1)
}

fn t_before_value(mut c: Context, s: &[u8]) -> (Context, usize) {
    let mut i = eat_white_space(s, 0);
    if i == s.len() {
        return (c, s.len());
    }
    let mut delim = Delim::SpaceOrTagEnd;
    match s[i] {
        b'\'' => {
            delim = Delim::SingleQuote;
            i += 1;
        }
        b'"' => {
            delim = Delim::DoubleQuote;
            i += 1;
        }
        _ => {}
    }
    c.state = attr_start_state(c.attr);
    c.delim = delim;
    (c, i)
}

fn t_html_cmt(c: Context, s: &[u8]) -> (Context, usize) {
    match find(s, b"-->") {
        Some(i) => (Context::default(), i + 3),
        None => (c, s.len()),
    }
}

fn index_tag_end(s: &[u8], tag: &[u8]) -> Option<usize> {
    let mut res = 0;
    let mut s = s;
    while !s.is_empty() {
        let i = find(s, b"</")?;
        s = &s[i + 2..];
        if tag.len() <= s.len() && s[..tag.len()].eq_ignore_ascii_case(tag) {
            s = &s[tag.len()..];
            if !s.is_empty() && b"> \t\n\x0c/".contains(&s[0]) {
                return Some(res + i);
            }
            res += tag.len();
        }
        res += i + 2;
    }
    None
}

fn t_special_tag_end(c: Context, s: &[u8]) -> (Context, usize) {
    let tag: &[u8] = match c.element {
        Element::None => return (c, s.len()),
        Element::Script => b"script",
        Element::Style => b"style",
        Element::Textarea => b"textarea",
        Element::Title => b"title",
    };
    match index_tag_end(s, tag) {
        Some(i) => (Context::default(), i),
        None => (c, s.len()),
    }
}

pub(crate) fn t_url(mut c: Context, s: &[u8]) -> (Context, usize) {
    if s.contains(&b'#') || s.contains(&b'?') {
        c.url_part = UrlPart::QueryOrFrag;
    } else if s.len() != eat_white_space(s, 0) && c.url_part == UrlPart::None {
        c.url_part = UrlPart::PreQuery;
    }
    (c, s.len())
}

fn is_js_ident_part(c: u8) -> bool {
    c == b'$' || c == b'_' || c.is_ascii_alphanumeric()
}

fn next_js_ctx(s: &[u8], preceding: JsCtx) -> JsCtx {
    let mut n = s.len();
    while n > 0 && matches!(s[n - 1], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ') {
        n -= 1;
    }
    let s = &s[..n];
    if s.is_empty() {
        return preceding;
    }
    let c = s[n - 1];
    match c {
        b'+' | b'-' => {
            let mut start = n - 1;
            while start > 0 && s[start - 1] == c {
                start -= 1;
            }
            if (n - start) & 1 == 1 {
                JsCtx::Regexp
            } else {
                JsCtx::DivOp
            }
        }
        b'.' => {
            if n != 1 && s[n - 2].is_ascii_digit() {
                JsCtx::DivOp
            } else {
                JsCtx::Regexp
            }
        }
        b',' | b'<' | b'>' | b'=' | b'*' | b'%' | b'&' | b'|' | b'^' | b'?' | b'!' | b'~'
        | b'(' | b'[' | b':' | b';' | b'{' | b'}' => JsCtx::Regexp,
        _ => {
            let mut j = n;
            while j > 0 && is_js_ident_part(s[j - 1]) {
                j -= 1;
            }
            match &s[j..] {
                b"break" | b"case" | b"continue" | b"delete" | b"do" | b"else" | b"finally"
                | b"in" | b"instanceof" | b"return" | b"throw" | b"try" | b"typeof" | b"void" => {
                    JsCtx::Regexp
                }
                _ => JsCtx::DivOp,
            }
        }
    }
}

fn t_js(mut c: Context, s: &[u8]) -> (Context, usize) {
    let Some(mut i) = index_any(s, b"\"'/`") else {
        c.js_ctx = next_js_ctx(s, c.js_ctx);
        return (c, s.len());
    };
    c.js_ctx = next_js_ctx(&s[..i], c.js_ctx);
    match s[i] {
        b'"' => {
            c.state = State::JsDqStr;
            c.js_ctx = JsCtx::Regexp;
        }
        b'\'' => {
            c.state = State::JsSqStr;
            c.js_ctx = JsCtx::Regexp;
        }
        b'`' => {
            c.state = State::JsBqStr;
            c.js_ctx = JsCtx::Regexp;
        }
        _ => {
            if i + 1 < s.len() && s[i + 1] == b'/' {
                c.state = State::JsLineCmt;
                i += 1;
            } else if i + 1 < s.len() && s[i + 1] == b'*' {
                c.state = State::JsBlockCmt;
                i += 1;
            } else if c.js_ctx == JsCtx::Regexp {
                c.state = State::JsRegexp;
            } else if c.js_ctx == JsCtx::DivOp {
                c.js_ctx = JsCtx::Regexp;
            } else {
                let t: String = String::from_utf8_lossy(&s[i..]).chars().take(32).collect();
                return (
                    Context::error(
                        format!(
                            "'/' could start a division or regexp: {}",
                            crate::fmt::quote_go(&t)
                        ),
                        None,
                    ),
                    s.len(),
                );
            }
        }
    }
    (c, i + 1)
}

fn t_js_delimited(mut c: Context, s: &[u8]) -> (Context, usize) {
    let specials: &[u8] = match c.state {
        State::JsSqStr => b"\\'",
        State::JsBqStr => b"\\`",
        State::JsRegexp => b"\\/[]",
        _ => b"\\\"",
    };
    let mut k = 0;
    let mut in_charset = false;
    while let Some(off) = index_any(&s[k..], specials) {
        let mut i = k + off;
        match s[i] {
            b'\\' => {
                i += 1;
                if i == s.len() {
                    return (
                        Context::error(
                            format!(
                                "unfinished escape sequence in JS string: {}",
                                crate::fmt::quote_go(&String::from_utf8_lossy(s))
                            ),
                            None,
                        ),
                        s.len(),
                    );
                }
            }
            b'[' => in_charset = true,
            b']' => in_charset = false,
            _ => {
                if !in_charset {
                    c.state = State::Js;
                    c.js_ctx = JsCtx::DivOp;
                    return (c, i + 1);
                }
            }
        }
        k = i + 1;
    }
    if in_charset {
        return (
            Context::error(
                format!(
                    "unfinished JS regexp charset: {}",
                    crate::fmt::quote_go(&String::from_utf8_lossy(s))
                ),
                None,
            ),
            s.len(),
        );
    }
    (c, s.len())
}

fn t_block_cmt(mut c: Context, s: &[u8]) -> (Context, usize) {
    match find(s, b"*/") {
        None => (c, s.len()),
        Some(i) => {
            c.state = if c.state == State::JsBlockCmt {
                State::Js
            } else {
                State::Css
            };
            (c, i + 2)
        }
    }
}

fn t_line_cmt(mut c: Context, s: &[u8]) -> (Context, usize) {
    let (terms, end): (&[u8], State) = if c.state == State::JsLineCmt {
        (b"\n\r", State::Js)
    } else {
        (b"\n\x0c\r", State::Css)
    };
    // U+2028/2029 also end JS line comments.
    let text = String::from_utf8_lossy(s);
    let pos_ls = text
        .char_indices()
        .find(|&(_, ch)| ch == '\u{2028}' || ch == '\u{2029}')
        .map(|(i, _)| i);
    let pos = match (index_any(s, terms), pos_ls, c.state == State::JsLineCmt) {
        (Some(a), Some(b), true) => Some(a.min(b)),
        (None, Some(b), true) => Some(b),
        (a, _, _) => a,
    };
    match pos {
        None => (c, s.len()),
        Some(i) => {
            c.state = end;
            (c, i)
        }
    }
}

fn ends_with_css_keyword(b: &[u8], kw: &str) -> bool {
    let i = b.len().saturating_sub(kw.len());
    if i == 0 && b.len() < kw.len() {
        return false;
    }
    if i > 0 {
        let prev = b[i - 1];
        if prev.is_ascii_alphanumeric() || prev == b'-' || prev == b'_' || prev >= 0x80 {
            return false;
        }
    }
    b[i..].eq_ignore_ascii_case(kw.as_bytes())
}

fn t_css(mut c: Context, s: &[u8]) -> (Context, usize) {
    let mut k = 0;
    loop {
        let Some(off) = index_any(&s[k..], b"(\"'/") else {
            return (c, s.len());
        };
        let i = k + off;
        match s[i] {
            b'(' => {
                let mut p = i;
                while p > 0 && matches!(s[p - 1], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ') {
                    p -= 1;
                }
                if ends_with_css_keyword(&s[..p], "url") {
                    let mut j = i + 1;
                    while j < s.len() && matches!(s[j], b'\t' | b'\n' | b'\x0c' | b'\r' | b' ') {
                        j += 1;
                    }
                    if j != s.len() && s[j] == b'"' {
                        c.state = State::CssDqUrl;
                        j += 1;
                    } else if j != s.len() && s[j] == b'\'' {
                        c.state = State::CssSqUrl;
                        j += 1;
                    } else {
                        c.state = State::CssUrl;
                    }
                    return (c, j);
                }
            }
            b'/' if i + 1 < s.len() => match s[i + 1] {
                b'/' => {
                    c.state = State::CssLineCmt;
                    return (c, i + 2);
                }
                b'*' => {
                    c.state = State::CssBlockCmt;
                    return (c, i + 2);
                }
                _ => {}
            },
            b'"' => {
                c.state = State::CssDqStr;
                return (c, i + 1);
            }
            b'\'' => {
                c.state = State::CssSqStr;
                return (c, i + 1);
            }
            _ => {}
        }
        k = i + 1;
    }
}

fn t_css_str(mut c: Context, s: &[u8]) -> (Context, usize) {
    let end_and_esc: &[u8] = match c.state {
        State::CssDqStr | State::CssDqUrl => b"\\\"",
        State::CssSqStr | State::CssSqUrl => b"\\'",
        _ => b"\\\t\n\x0c\r )",
    };
    let mut k = 0;
    loop {
        let Some(off) = index_any(&s[k..], end_and_esc) else {
            let (c2, n) = t_url(c, &s[k..]);
            return (c2, k + n);
        };
        let mut i = k + off;
        if s[i] == b'\\' {
            i += 1;
            if i == s.len() {
                return (
                    Context::error(
                        format!(
                            "unfinished escape sequence in CSS string: {}",
                            crate::fmt::quote_go(&String::from_utf8_lossy(s))
                        ),
                        None,
                    ),
                    s.len(),
                );
            }
        } else {
            c.state = State::Css;
            return (c, i + 1);
        }
        c = t_url(c, &s[..i + 1]).0;
        k = i + 1;
    }
}

fn transition(c: Context, s: &[u8]) -> (Context, usize) {
    match c.state {
        State::Text => t_text(c, s),
        State::Tag => t_tag(c, s),
        State::AttrName => t_attr_name(c, s),
        State::AfterName => t_after_name(c, s),
        State::BeforeValue => t_before_value(c, s),
        State::HtmlCmt => t_html_cmt(c, s),
        State::Rcdata => t_special_tag_end(c, s),
        State::Attr | State::Error => (c, s.len()),
        State::Url | State::Srcset => t_url(c, s),
        State::Js => t_js(c, s),
        State::JsDqStr | State::JsSqStr | State::JsBqStr | State::JsRegexp => t_js_delimited(c, s),
        State::JsBlockCmt | State::CssBlockCmt => t_block_cmt(c, s),
        State::JsLineCmt | State::CssLineCmt => t_line_cmt(c, s),
        State::Css => t_css(c, s),
        State::CssDqStr | State::CssSqStr | State::CssDqUrl | State::CssSqUrl | State::CssUrl => {
            t_css_str(c, s)
        }
    }
}

/// Go's `html.UnescapeString` for the common entities.
pub(crate) fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                    u32::from_str_radix(&ent[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            ch.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, n)) => {
                out.push(c);
                rest = &rest[n..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Go's `contextAfterText`: the context after (a prefix of) `s`, and how
/// many bytes were consumed.
pub(crate) fn context_after_text(c: Context, s: &[u8]) -> (Context, usize) {
    if c.delim == Delim::None {
        let (c1, i) = t_special_tag_end(c.clone(), s);
        if i == 0 {
            return (c1, 0);
        }
        return transition(c, &s[..i]);
    }
    let ends: &[u8] = match c.delim {
        Delim::DoubleQuote => b"\"",
        Delim::SingleQuote => b"'",
        _ => b" \t\n\x0c\r>",
    };
    let i = index_any(s, ends).unwrap_or(s.len());
    if c.delim == Delim::SpaceOrTagEnd {
        if let Some(j) = index_any(&s[..i], b"\"'<=`") {
            return (
                Context::error(
                    format!(
                        "{} in unquoted attr: {}",
                        crate::fmt::quote_go(&String::from_utf8_lossy(&s[j..j + 1])),
                        crate::fmt::quote_go(&String::from_utf8_lossy(&s[..i]))
                    ),
                    None,
                ),
                s.len(),
            );
        }
    }
    if i == s.len() {
        let decoded = html_unescape(&String::from_utf8_lossy(s));
        let mut u = decoded.as_bytes();
        let mut c = c;
        while !u.is_empty() {
            let (c1, i1) = transition(c, u);
            c = c1;
            u = &u[i1..];
        }
        return (c, s.len());
    }
    let mut element = c.element;
    if c.state == State::Attr && c.element == Element::Script && c.attr == Attr::ScriptType {
        let t = String::from_utf8_lossy(&s[..i]).to_ascii_lowercase();
        let t = t.split(';').next().unwrap_or("").trim().to_string();
        let js = matches!(
            t.as_str(),
            "application/ecmascript"
                | "application/javascript"
                | "application/json"
                | "application/ld+json"
                | "application/x-ecmascript"
                | "application/x-javascript"
                | "module"
                | "text/ecmascript"
                | "text/javascript"
                | "text/javascript1.0"
                | "text/javascript1.1"
                | "text/javascript1.2"
                | "text/javascript1.3"
                | "text/javascript1.4"
                | "text/javascript1.5"
                | "text/jscript"
                | "text/livescript"
                | "text/x-ecmascript"
                | "text/x-javascript"
        );
        if !js {
            element = Element::None;
        }
    }
    let consumed = if c.delim != Delim::SpaceOrTagEnd {
        i + 1
    } else {
        i
    };
    (
        Context {
            state: State::Tag,
            element,
            ..Default::default()
        },
        consumed,
    )
}
