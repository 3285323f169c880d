//! Unit tests: precedence, positions, AST contents, feature flags and every
//! class of error (lexer, syntax with context, parse-time semantic, type
//! check).

use super::*;

fn p(input: &str) -> Expr {
    match parse_with_options(input, ParseOptions::all()) {
        Ok(e) => e,
        Err(e) => panic!("{input:?}: {e}"),
    }
}

fn err(input: &str, opts: ParseOptions) -> ParseError {
    match parse_with_options(input, opts) {
        Ok(e) => panic!("{input:?} parsed as {e}"),
        Err(e) => e,
    }
}

fn first_err(input: &str) -> String {
    err(input, ParseOptions::all()).to_string()
}

/// Fully parenthesised structure of operators, for precedence tests.
fn shape(e: &Expr) -> String {
    match e {
        Expr::Binary(b) => format!("({} {} {})", shape(&b.lhs), b.op.as_str(), shape(&b.rhs)),
        Expr::Unary(u) => format!(
            "{}{}",
            if u.op == UnaryOp::Neg { "-" } else { "+" },
            shape(&u.expr)
        ),
        Expr::Paren(x) => format!("[{}]", shape(&x.expr)),
        other => other.to_string(),
    }
}

#[test]
fn precedence_and_associativity() {
    let cases = [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("1 * 2 + 3", "((1 * 2) + 3)"),
        ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("-1 ^ 2", "-(1 ^ 2)"),
        ("-a * b", "(-a * b)"),
        ("-a ^ b", "-(a ^ b)"),
        ("2 ^ -1", "(2 ^ -1)"),
        ("a or b and c unless d", "(a or ((b and c) unless d))"),
        ("a == b + c", "(a == (b + c))"),
        ("a atan2 b * c", "((a atan2 b) * c)"),
        ("a + b atan2 c", "(a + (b atan2 c))"),
        ("a < b > c", "((a < b) > c)"),
        ("a </ 1 + 2", "((a </ 1) + 2)"),
        ("a >/ b * c", "((a >/ b) * c)"),
        ("a % b / c", "((a % b) / c)"),
        ("(1 + 2) * 3", "([(1 + 2)] * 3)"),
        ("1 < bool 2 - 1 * 2", "(1 < (2 - (1 * 2)))"),
    ];
    for (input, want) in cases {
        assert_eq!(shape(&p(input)), want, "{input}");
    }
}

#[test]
fn modifiers_bind_to_the_operand_before_them() {
    assert_eq!(shape(&p("foo offset 5m + 1")), "(foo offset 5m + 1)");
    assert_eq!(shape(&p("a + b @ 5")), "(a + b @ 5.000)");
    // The range applies to `b` alone, which makes the `+` operand a matrix.
    assert_eq!(
        first_err("a + b[5m]"),
        "1:5: parse error: binary expression must contain only scalar and instant vector types"
    );
    // `offset` takes a bare literal; the operator applies to the selector.
    let e = p("foo offset -2 ^ 2");
    let Expr::Binary(b) = &e else { panic!("{e:?}") };
    assert_eq!(b.op, BinaryOp::Pow);
    assert_eq!(b.lhs.to_string(), "foo offset -2s");
    // A parenthesised offset is a whole duration expression.
    let e = p("foo offset (2 ^ 2)");
    let Expr::VectorSelector(vs) = &e else {
        panic!("{e:?}")
    };
    assert!(matches!(vs.offset, Some(DurationArg::Expr(_))));
    // Step terms end the offset too.
    let e = p("foo offset step() * 0");
    assert!(matches!(e, Expr::Binary(_)));
    let e = p("-foo offset 5m");
    let Expr::Unary(u) = &e else { panic!("{e:?}") };
    assert_eq!(u.expr.to_string(), "foo offset 5m");
}

#[test]
fn number_literals_fold_signs() {
    let Expr::NumberLiteral(n) = p("-0755") else {
        panic!()
    };
    assert_eq!(n.value, -493.0);
    assert_eq!(n.pos, PosRange::new(0, 5));
    let Expr::NumberLiteral(n) = p("+Inf") else {
        panic!()
    };
    assert_eq!(n.value, f64::INFINITY);
    let Expr::NumberLiteral(n) = p("5m") else {
        panic!()
    };
    assert_eq!((n.value, n.duration), (300.0, true));
    let Expr::NumberLiteral(n) = p("0x_1f") else {
        panic!()
    };
    assert_eq!(n.value, 31.0);
    let Expr::NumberLiteral(n) = p("1e3") else {
        panic!()
    };
    assert_eq!(n.value, 1000.0);
    assert!(matches!(p("- -1"), Expr::NumberLiteral(n) if n.value == 1.0));
}

#[test]
fn positions() {
    let pos = |s: &str| p(s).pos();
    assert_eq!(pos("foo"), PosRange::new(0, 3));
    assert_eq!(pos(r#"foo{a="b"}"#), PosRange::new(0, 10));
    assert_eq!(pos(r#"{a="b"}"#), PosRange::new(0, 7));
    assert_eq!(pos("rate(foo[5m])"), PosRange::new(0, 13));
    assert_eq!(pos("sum by (a) (x)"), PosRange::new(0, 14));
    assert_eq!(pos("sum(x) by (a)"), PosRange::new(0, 13));
    assert_eq!(pos("foo offset 5m"), PosRange::new(0, 13));
    assert_eq!(pos("foo[5m] @ 100"), PosRange::new(0, 13));
    assert_eq!(pos("(1)"), PosRange::new(0, 3));
    assert_eq!(pos("a + b"), PosRange::new(0, 5));
    assert_eq!(pos("foo[5m:1m]"), PosRange::new(0, 10));
    assert_eq!(pos("  -foo"), PosRange::new(2, 6));
    let Expr::Call(c) = p("rate(foo[5m])") else {
        panic!()
    };
    assert_eq!(c.args[0].pos(), PosRange::new(5, 12));
    let Expr::Binary(b) = p("a\n + b") else {
        panic!()
    };
    assert_eq!(b.rhs.pos(), PosRange::new(5, 6));
}

#[test]
fn error_positions_are_line_and_column() {
    assert_eq!(
        first_err("1 +"),
        "1:4: parse error: unexpected end of input"
    );
    assert_eq!(
        first_err("foo{"),
        "1:5: parse error: unexpected end of input inside braces"
    );
    assert_eq!(
        first_err("foo\n + bar baz"),
        "2:8: parse error: unexpected identifier \"baz\""
    );
    let e = err("sum(x) + {}", ParseOptions::all());
    assert_eq!(e.errors[0].pos, PosRange::new(9, 11));
    assert_eq!(
        e.to_string(),
        "1:10: parse error: vector selector must contain at least one non-empty matcher"
    );
}

#[test]
fn selectors() {
    let Expr::VectorSelector(vs) = p(r#"foo{a="b", c!~"d.*"} @ start() offset -5m"#) else {
        panic!()
    };
    assert_eq!(vs.name.as_deref(), Some("foo"));
    assert_eq!(vs.matchers.len(), 3);
    assert_eq!(vs.matchers[2].name, "__name__");
    assert_eq!(vs.at, Some(AtModifier::Start));
    assert_eq!(
        vs.offset,
        Some(DurationArg::Fixed(Duration::from_millis(-300_000)))
    );
    let Expr::VectorSelector(vs) = p(r#"{"my.metric", "a.b"="c"}"#) else {
        panic!()
    };
    assert_eq!(vs.name, None);
    assert_eq!(vs.matchers[0].value, "my.metric");
    assert_eq!(vs.matchers[1].name, "a.b");
    let Expr::VectorSelector(vs) = p("foo @ 1.5") else {
        panic!()
    };
    assert_eq!(vs.at, Some(AtModifier::Timestamp(1500)));
    let Expr::MatrixSelector(m) = p("foo[4.018] anchored") else {
        panic!()
    };
    assert_eq!(m.range, DurationArg::Fixed(Duration::from_millis(4018)));
    assert!(m.selector.anchored);
    let Expr::Subquery(s) = p("foo[10m:] offset 1m") else {
        panic!()
    };
    assert_eq!(s.step, None);
    assert_eq!(
        s.offset,
        Some(DurationArg::Fixed(Duration::from_millis(60_000)))
    );
    // A zero offset is no offset.
    let Expr::VectorSelector(vs) = p("foo offset 0s") else {
        panic!()
    };
    assert_eq!(vs.offset, None);
    let Expr::MatrixSelector(m) = p("foo[step() + 1m]") else {
        panic!()
    };
    assert!(matches!(m.range, DurationArg::Expr(_)));
    assert_eq!(m.to_string(), "foo[step() + 1m]");
}

#[test]
fn binary_matching_and_fill() {
    let Expr::Binary(b) = p("a * on(x, y) group_left(z) fill_left(1) fill_right(-Inf) b") else {
        panic!()
    };
    let vm = b.matching.as_ref().unwrap();
    assert!(vm.on);
    assert_eq!(vm.matching_labels, ["x", "y"]);
    assert_eq!(vm.include, ["z"]);
    assert_eq!(vm.card, VectorMatchCardinality::ManyToOne);
    assert_eq!(vm.fill.lhs, Some(1.0));
    assert_eq!(vm.fill.rhs, Some(f64::NEG_INFINITY));
    let Expr::Binary(b) = p("a and b") else {
        panic!()
    };
    assert_eq!(
        b.matching.as_ref().unwrap().card,
        VectorMatchCardinality::ManyToMany
    );
    let Expr::Binary(b) = p("a + 1") else {
        panic!()
    };
    assert!(b.matching.is_none());
    let Expr::Binary(b) = p("1 > bool 2") else {
        panic!()
    };
    assert!(b.return_bool);
    assert_eq!(p("fill + fill(0) fill").to_string(), "fill + fill (0) fill");
}

#[test]
fn aggregations_and_calls() {
    let Expr::Aggregate(a) = p(r#"count_values without (a, "b.c") ("v", x)"#) else {
        panic!()
    };
    assert_eq!(a.op, AggregateOp::CountValues);
    assert!(a.without);
    assert_eq!(a.grouping, ["a", "b.c"]);
    assert!(matches!(a.param.as_deref(), Some(Expr::StringLiteral(s)) if s.value == "v"));
    let Expr::Call(c) = p(r#"info(up, {version=~".*"})"#) else {
        panic!()
    };
    let Expr::VectorSelector(vs) = &c.args[1] else {
        panic!()
    };
    assert!(vs.bypass_empty_matcher_check);
    let Expr::Call(c) = p("start()") else {
        panic!()
    };
    assert_eq!(c.func.name, "start");
    // Keywords are metric names where a selector is expected.
    assert!(matches!(p("sum"), Expr::VectorSelector(_)));
    assert!(matches!(p("offset{a=\"b\"}"), Expr::VectorSelector(_)));
}

#[test]
fn strings() {
    let Expr::StringLiteral(s) = p(r#""a\n\u263a""#) else {
        panic!()
    };
    assert_eq!(s.value, "a\n☺");
    assert_eq!(s.invalid_utf8, None);
    let Expr::StringLiteral(s) = p(r#""a\xc5z""#) else {
        panic!()
    };
    assert_eq!(s.invalid_utf8.as_deref(), Some(&b"a\xc5z"[..]));
    assert_eq!(s.to_string(), r#""a\xc5z""#);
    let Expr::StringLiteral(s) = p(r"`\d+`") else {
        panic!()
    };
    assert_eq!(s.value, r"\d+");
    let Expr::StringLiteral(s) = p("# comment\n'x' # trailing") else {
        panic!()
    };
    assert_eq!(s.value, "x");
}

#[test]
fn feature_flags_gate_experimental_syntax() {
    let off = ParseOptions::default();
    let cases = [
        ("rate(x[5m] anchored)", "anchored modifier is experimental and not enabled"),
        ("x smoothed", "smoothed modifier is experimental and not enabled"),
        (
            "limitk(1, x)",
            "limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
        ),
        ("info(x)", "function \"info\" is not enabled"),
        ("a + fill(0) b", "binop fill modifiers are experimental and not enabled"),
    ];
    for (input, want) in cases {
        assert_eq!(err(input, off).messages()[0], want, "{input}");
        assert!(
            parse_with_options(input, ParseOptions::all()).is_ok(),
            "{input}"
        );
    }
    let no_durations = ParseOptions {
        duration_expr: false,
        ..ParseOptions::all()
    };
    assert_eq!(
        err("x[1m+1m]", no_durations).messages()[0],
        "experimental duration expression is not enabled"
    );
    assert!(parse("x[5m]").is_ok());
}

#[test]
fn every_error_class() {
    let cases = [
        // Lexer.
        ("foo[", "unexpected end of input in duration expression"),
        ("foo[5m", "unclosed left bracket"),
        ("foo[5m] ]", "unexpected right bracket ']'"),
        ("foo[5m[", "unexpected left bracket '['"),
        ("foo{a!b}", "unexpected character after '!' inside braces: 'b'"),
        ("foo{{", "unexpected left brace '{'"),
        ("1 $ 2", "unexpected character: '$'"),
        ("\"\\ud800\"", "escape sequence is an invalid Unicode code point"),
        ("foo[:5m]", "unexpected colon before duration in duration expression"),
        ("foo[5m:1m:]", "unexpected colon ':'"),
        // Syntax, with the context of the innermost construct.
        ("foo{a=\"b\" c}", "unexpected identifier \"c\" in label matching, expected \",\" or \"}\""),
        ("sum by x (y)", "unexpected identifier \"x\" in grouping opts, expected \"(\""),
        ("sum by (a b) (y)", "unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""),
        ("sum(a b)", "unexpected identifier \"b\" in aggregation"),
        ("foo[5m 3]", "unexpected number \"3\" in subquery or range, expected \":\" or \"]\""),
        ("foo[5m:1m 2]", "unexpected number \"2\" in subquery selector, expected \"]\""),
        ("foo offset bar", "unexpected identifier \"bar\" in offset, expected number, duration, step(), or range()"),
        ("foo @ bar", "unexpected identifier \"bar\" in @, expected timestamp"),
        ("rate(a b)", "unexpected identifier \"b\""),
        ("(a", "unclosed left parenthesis"),
        ("a +", "unexpected end of input"),
        ("a bool b", "unexpected <bool>"),
        ("sum(x) by (a) by (b)", "unexpected <by>"),
        // Semantic errors found while parsing.
        ("foo offset 1m offset 2m", "offset may not be set multiple times"),
        ("foo @ 1 @ 2", "@ <timestamp> may not be set multiple times"),
        ("foo[5m] anchored smoothed", "anchored and smoothed modifiers cannot be used together"),
        ("foo[5m:] anchored", "anchored modifier is not supported for subqueries"),
        ("sum(x) smoothed", "smoothed modifier not implemented"),
        ("1 @ 5", "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("rate(x[5m1m])", "not a valid duration string: \"5m1m\""),
        ("foo{a=~\"(\"}", "error parsing regexp"),
        ("quantile(x)", "wrong number of arguments for aggregate expression provided, expected 2, got 1"),
        ("sum(a, b)", "wrong number of arguments for aggregate expression provided, expected 1, got 2"),
        ("nope(x)", "unknown function with name \"nope\""),
        ("f(x,)", "unknown function with name \"f\""),
        ("foo[5m/0]", "division by zero"),
        ("foo[5m%0]", "modulo by zero"),
        ("foo offset 9.5e10", "duration out of range"),
        ("foo[-5m]", "duration must be greater than 0"),
        ("sum by (\"\") (x)", "invalid label name for grouping: \"\""),
        // Type checks.
        ("rate(x)", "expected type range vector in call to function \"rate\", got instant vector"),
        ("sum(x[5m])", "expected type instant vector in aggregation expression, got range vector"),
        ("topk(\"a\", x)", "expected type scalar in aggregation parameter, got string"),
        ("x[5m] + 1", "binary expression must contain only scalar and instant vector types"),
        ("-\"a\"", "unary expression only allowed on expressions of type scalar or instant vector, got \"string\""),
        ("x[5m][5m:]", "subquery is only allowed on instant vector, got matrix instead"),
        ("foo{__name__=\"bar\"}", "metric name must not be set twice: \"foo\" or \"bar\""),
        ("{a=~\".*\"}", "vector selector must contain at least one non-empty matcher"),
        ("a + fill(1) 1", "filling in missing series only allowed between instant vectors"),
        ("a and fill(1) b", "filling in missing series not allowed for set operators"),
        ("label_join(x, \"a\")", "expected at least 3 argument(s) in call to \"label_join\", got 2"),
        ("round(x, 1, 2)", "expected at most 2 argument(s) in call to \"round\", got 3"),
        ("info(x, y{a=\"b\"})", "expected label selectors only, got vector selector instead"),
    ];
    for (input, want) in cases {
        let e = err(input, ParseOptions::all());
        let got = e.messages()[0];
        assert!(
            got.starts_with(want),
            "{input:?}: got {got:?}, want {want:?}"
        );
    }
}

#[test]
fn aggregation_errors_add_the_missing_arguments_error() {
    assert_eq!(
        err("sum(", ParseOptions::all()).messages(),
        [
            "unclosed left parenthesis",
            "no arguments for aggregate expression provided"
        ]
    );
    assert_eq!(
        err("sum(a b)", ParseOptions::all()).messages(),
        [
            "unexpected identifier \"b\" in aggregation",
            "no arguments for aggregate expression provided"
        ]
    );
}

#[test]
fn deep_parens_do_not_overflow() {
    let n = 5000;
    let input = format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let e = p(&input);
    assert_eq!(e.to_string(), input);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let chain = format!("a{}", " + a".repeat(20_000));
    let e = p(&chain);
    assert_eq!(e.to_string(), chain);
    // Past the depth limit: a clear error instead of a stack overflow.
    let too_deep = format!("a{}", " + a".repeat(60_000));
    let e = err(&too_deep, ParseOptions::all());
    assert!(e.messages()[0].starts_with("expression nesting too deep"));
    let too_deep = format!("foo[{}1m]", "1m + ".repeat(60_000));
    let e = err(&too_deep, ParseOptions::all());
    assert!(e.messages()[0].starts_with("expression nesting too deep"));
    let unary = format!("{}a", "-".repeat(20_000));
    assert!(parse(&unary).is_ok());
    let subqueries = format!("a{}", "[1m:]".repeat(2000));
    let e = err(&subqueries, ParseOptions::all());
    assert!(e.messages()[0].starts_with("subquery is only allowed"));
}

#[test]
fn nan_durations_are_rejected() {
    for input in ["foo offset NaN", "foo offset -Inf", "foo[1m] offset nan"] {
        let e = err(input, ParseOptions::all());
        assert_eq!(e.messages()[0], "duration out of range", "{input}");
    }
}

#[test]
fn invalid_utf8_input() {
    let e = parse_bytes(b"some_metric{a=\"\xff\"}", ParseOptions::all()).unwrap_err();
    assert_eq!(e.to_string(), "1:15: parse error: invalid UTF-8 rune");
    let e = parse_bytes(
        b"label_replace(a, `b`, `c\xff`, `d`, `.*`)",
        ParseOptions::all(),
    )
    .unwrap_err();
    assert_eq!(e.messages(), ["invalid UTF-8 rune"]);
    let e = parse_bytes(b"foo\xff", ParseOptions::all()).unwrap_err();
    assert_eq!(e.messages(), ["unexpected character: '\u{fffd}'"]);
    // Go's lexer rejects U+FFFD itself inside strings, valid or not.
    assert_eq!(
        first_err("\"\u{fffd}\""),
        "1:1: parse error: invalid UTF-8 rune"
    );
    assert!(parse_bytes(b"foo # \xff comment", ParseOptions::all()).is_ok());
}

#[test]
fn printing_round_trips_fuzz_findings() {
    for input in [
        // `+Inf` as the base of `^` must not print as a sign.
        "inf^2",
        // A binary offset expression that started with two signs.
        "foo offset - -5 + 1",
        "foo offset - -step() * 2",
        "foo offset + +5m - 1",
        // Negative zero durations keep their sign.
        "foo[-00s+15s]",
        "2/r_-2^2/inf^2/r_-2^2/r_-2^tratei^2/r_-2^trat-+ktime:f--\r1*+k/r_-2^e:f---1*-+ktime:f--\r1*+k-16",
    ] {
        let first = p(input);
        let printed = first.to_string();
        let second = p(&printed);
        let (mut a, mut b) = (first.clone(), second.clone());
        a.canonicalize();
        b.canonicalize();
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{input:?} -> {printed:?}");
        assert_eq!(second.to_string(), printed);
    }
}

#[test]
fn replacement_characters_print_escaped() {
    for input in [
        r#"{a=~"\xFF\377"}"#,
        r#""\ufffd""#,
        r#"sum by ("\ufffd") (x)"#,
    ] {
        let printed = p(input).to_string();
        assert!(printed.contains("\\ufffd"), "{printed}");
        assert_eq!(p(&printed).to_string(), printed);
    }
}

#[test]
fn duration_expressions_evaluate_in_seconds() {
    let range_of = |input: &str| match p(input) {
        Expr::MatrixSelector(MatrixSelector {
            range: DurationArg::Expr(e),
            ..
        }) => e.eval_seconds(15.0, 3600.0),
        other => panic!("{other:?}"),
    };
    assert_eq!(range_of("x[1h30m % 1h]"), 1800.0);
    assert_eq!(range_of("x[2m*(10+5)]"), 1800.0);
    assert_eq!(range_of("x[step() * 2]"), 30.0);
    assert_eq!(range_of("x[max_of(range(), 1m) / 2]"), 1800.0);
    assert_eq!(range_of("x[min_of(step()+1,1h)]"), 16.0);
    assert_eq!(range_of("x[-(10s-5s)+20s]"), 15.0);
    assert_eq!(range_of("x[11s+10s-5*2^2]"), 1.0);
}

#[test]
fn canonical_form() {
    let cases = [
        (
            "sum  by(job)(rate(http_requests_total[5m]))",
            "sum by (job) (rate(http_requests_total[5m]))",
        ),
        ("sum(x) without (a,b)", "sum without (a, b) (x)"),
        ("topk(5,x)", "topk(5, x)"),
        ("foo{c!~\"d\",a='b'}", "foo{a=\"b\",c!~\"d\"}"),
        ("{__name__=\"foo\"}", "{__name__=\"foo\"}"),
        (
            "{\"my.metric\",\"a.b\"=\"c\"}",
            "{\"a.b\"=\"c\",__name__=\"my.metric\"}",
        ),
        ("foo @ 1603774568", "foo @ 1603774568.000"),
        ("foo offset -1h30m", "foo offset -1h30m"),
        ("foo[90m] offset 1d @ end()", "foo[1h30m] @ end() offset 1d"),
        ("rate(x[5m])[30m:1m]", "rate(x[5m])[30m:1m]"),
        ("x[1h:]", "x[1h:]"),
        ("a / on(x) group_left b", "a / on (x) group_left () b"),
        (
            "a / ignoring(x) group_right(y) b",
            "a / ignoring (x) group_right (y) b",
        ),
        ("a and on() b", "a and on () b"),
        ("a > bool 1", "a > bool 1"),
        (
            "a + fill_left(1) fill_right(2) b",
            "a + fill_left (1) fill_right (2) b",
        ),
        ("a + fill(NaN) b", "a + fill (NaN) b"),
        ("-(a)", "-(a)"),
        ("1e6", "1000000"),
        ("x smoothed offset 1m @ 2", "x @ 2.000 smoothed offset 1m"),
        ("x[1m] offset 1m anchored", "x[1m] anchored offset 1m"),
        ("0x10", "16"),
        ("5m", "5m"),
        ("'it''s'", "\"it\" \"s\""),
        ("foo[4.018]", "foo[4s18ms]"),
        ("foo offset (2 * 1m)", "foo offset (2 * 1m)"),
        ("foo[step()+1m]", "foo[step() + 1m]"),
        ("x[5m] smoothed", "x[5m] smoothed"),
        (
            "label_replace(x, \"a\", \"$1\", \"b\", `(\\d+)`)",
            "label_replace(x, \"a\", \"$1\", \"b\", \"(\\\\d+)\")",
        ),
    ];
    for (input, want) in cases {
        match parse_with_options(input, ParseOptions::all()) {
            Ok(e) => assert_eq!(e.to_string(), want, "{input}"),
            Err(e) if want.contains("\" \"") => {
                // Two adjacent strings are not an expression.
                assert!(e.messages()[0].starts_with("unexpected string"), "{e}");
            }
            Err(e) => panic!("{input}: {e}"),
        }
    }
}
