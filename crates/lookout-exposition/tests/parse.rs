use lookout_exposition::*;
use proptest::prelude::*;

fn entries(input: &str, f: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    Parser::new(input.as_bytes(), f).collect()
}

fn err(input: &str, f: Format) -> ParseError {
    match entries(input, f) {
        Ok(e) => panic!("expected an error for {input:?}, got {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn text004_full_example() {
    let input = "# HELP http_requests_total The total number of HTTP requests.\n\
# TYPE http_requests_total counter\n\
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
\n\
# Escaping in label values:\n\
msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
metric_without_timestamp_and_labels 12.47\n\
something_weird{problem=\"division by zero\"} +Inf -3982045\n\
# TYPE http_request_duration_seconds histogram\n\
http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n\
http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n\
http_request_duration_seconds_sum 53423\n\
http_request_duration_seconds_count 144320\n\
  \t spaced  {  a = \"b\" , }  7\t  \n\
# TYPE rpc_duration_seconds summary\n\
rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
rpc_duration_seconds_count 2693\n";
    let e = entries(input, Format::Text004).unwrap();
    let samples: Vec<&Sample> = e
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(samples.len(), 12);
    assert!(
        matches!(e[0], Entry::Help { name: "http_requests_total", ref help } if help == "The total number of HTTP requests.")
    );
    assert!(matches!(
        e[1],
        Entry::Type {
            name: "http_requests_total",
            kind: MetricType::Counter
        }
    ));
    assert_eq!(samples[0].timestamp_ms, Some(1395066363000));
    assert_eq!(samples[0].kind, MetricType::Counter);
    assert_eq!(samples[1].value, 3.0);
    assert_eq!(samples[2].labels[0].value, "C:\\DIR\\FILE.TXT");
    assert_eq!(
        samples[2].labels[1].value,
        "Cannot find file:\n\"FILE.TXT\""
    );
    assert_eq!(samples[2].value, 1.458255915e9);
    assert_eq!(samples[3].labels.len(), 0);
    assert_eq!(samples[4].value, f64::INFINITY);
    assert_eq!(samples[4].timestamp_ms, Some(-3982045));
    assert_eq!(samples[5].kind, MetricType::Histogram);
    assert_eq!(samples[9].name, "spaced");
    assert_eq!(samples[9].labels[0].name, "a");
    assert_eq!(samples[9].value, 7.0);
    assert_eq!(samples[9].kind, MetricType::Unknown);
    assert_eq!(samples[10].kind, MetricType::Summary);
    assert_eq!(samples[10].line, 17);
    assert!(matches!(&e[4], Entry::Comment(c) if c == "Escaping in label values:"));
}

#[test]
fn text004_no_trailing_newline_and_nan() {
    let s = parse_samples(b"a NaN", Format::Text004).unwrap();
    assert_eq!(s[0].value.to_bits(), GO_NAN_BITS);
    let s = parse_samples(b"null_byte_metric{a=\"abc\x00\"} 1", Format::Text004).unwrap();
    assert_eq!(s[0].labels[0].value, "abc\u{0}");
}

#[test]
fn text004_errors_match_upstream_wording() {
    let cases: &[(&str, &str)] = &[
        ("a", "line 1: expected value after metric, got \"\\n\" while parsing: \"a\""),
        ("a{b='c'} 1\n", "line 1: expected label value, got \"'\" while parsing: \"a{b='\""),
        ("a{b=\n", "line 1: expected label value, got \"\\n\" while parsing: \"a{b=\""),
        ("a true\n", "line 1: strconv.ParseFloat: parsing \"true\": invalid syntax while parsing: \"a true\""),
        ("foo 1_2\n", "line 1: unsupported character in float while parsing: \"foo 1_2\""),
        ("foo 0x1p-3\n", "line 1: unsupported character in float while parsing: \"foo 0x1p-3\""),
        ("foo 0 1_2\n", "line 1: expected next entry after timestamp, got \"_\" while parsing: \"foo 0 1_2\""),
        ("{a=\"ok\"} 1", "line 1: expected a valid start token, got \"{\" while parsing: \"{\""),
        ("# TYPE #\n", "line 1: expected metric name after TYPE, got \"#\" while parsing: \"# TYPE #\""),
        ("# HELP #\n", "line 1: expected metric name after HELP, got \"#\" while parsing: \"# HELP #\""),
        ("ok 1\nempty_label_name{=\"\"} 0", "line 2: expected label name, got \"=\" while parsing: \"empty_label_name{=\""),
        ("# TYPE a gauges\n", "line 1: invalid metric type \"gauges\""),
        ("a{b=\"1\",b=\"2\"} 1\n", "line 1: duplicate label name \"b\""),
        ("a 1 2 3\n", "line 1: expected next entry after timestamp, got \"3\" while parsing: \"a 1 2 3\""),
    ];
    for (input, want) in cases {
        assert_eq!(
            err(input, Format::Text004).to_string(),
            *want,
            "input {input:?}"
        );
    }
    let bad: &[u8] = b"a{b=\"\xff\"} 1\n";
    let e = Parser::new(bad, Format::Text004)
        .next()
        .unwrap()
        .unwrap_err();
    assert!(e.message.starts_with("invalid UTF-8 label value"), "{e}");
    let e = err("something_weird{problem=\"", Format::Text004);
    assert!(e.message.starts_with("expected label value"), "{e}");
}

#[test]
fn parser_stops_after_first_error() {
    let mut p = Parser::new(b"a 1\nb x\nc 3\n", Format::Text004);
    assert!(matches!(p.next(), Some(Ok(Entry::Sample(_)))));
    assert_eq!(p.next().unwrap().unwrap_err().line, 2);
    assert!(p.next().is_none());
}

const OM_EXAMPLE: &str =
    "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n\
# TYPE go_gc_duration_seconds summary\n\
# UNIT go_gc_duration_seconds seconds\n\
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n\
go_gc_duration_seconds_count 99\n\
go_gc_duration_seconds_created 1520430000.123\n\
# HELP help2 escape \\\\ \\n \\\" \\x chars\n\
# TYPE go_goroutines gauge\n\
go_goroutines 33 123.123\n\
# TYPE hh histogram\n\
hh_bucket{le=\"+Inf\"} 1 # {id=\"histogram-bucket-test\"} 4\n\
hh_count 1\n\
# TYPE ggh gaugehistogram\n\
ggh_bucket{le=\"+Inf\"} 1 # {id=\"gaugehistogram-bucket-test\",xx=\"yy\"} 4 123.123\n\
ggh_gcount 1\n\
# TYPE foo counter\n\
foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5\n\
foo_created 1520872607.123\n\
# TYPE ii info\n\
ii_info{foo=\"bar\"} 1\n\
# TYPE ss stateset\n\
ss{ss=\"a\"} 1\n\
# TYPE un unknown\n\
un 1\n\
# EOF\n";

#[test]
fn openmetrics_full_example() {
    let e = entries(OM_EXAMPLE, Format::OpenMetrics).unwrap();
    let samples: Vec<&Sample> = e
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(samples.len(), 13);
    assert!(matches!(
        e[2],
        Entry::Unit {
            name: "go_gc_duration_seconds",
            unit: "seconds"
        }
    ));
    assert_eq!(samples[0].kind, MetricType::Summary);
    assert_eq!(samples[2].name, "go_gc_duration_seconds_created");
    assert_eq!(samples[2].value, 1520430000.123);
    assert_eq!(samples[3].timestamp_ms, Some(123123));
    let ex = samples[4].exemplar.as_ref().unwrap();
    assert_eq!(ex.labels[0].name, "id");
    assert_eq!(ex.value, 4.0);
    assert_eq!(ex.timestamp_ms, None);
    assert_eq!(samples[4].kind, MetricType::Histogram);
    let ex = samples[6].exemplar.as_ref().unwrap();
    assert_eq!(ex.timestamp_ms, Some(123123));
    assert_eq!(samples[7].kind, MetricType::GaugeHistogram);
    assert_eq!(samples[8].timestamp_ms, Some(1520879607789));
    assert_eq!(samples[8].kind, MetricType::Counter);
    assert!(samples[8].exemplar.is_some());
    assert_eq!(samples[9].kind, MetricType::Counter);
    assert_eq!(samples[10].kind, MetricType::Info);
    assert_eq!(samples[11].kind, MetricType::StateSet);
    assert_eq!(samples[12].kind, MetricType::Unknown);
    let help2 = e.iter().find_map(|e| match e {
        Entry::Help {
            name: "help2",
            help,
        } => Some(help.to_string()),
        _ => None,
    });
    assert_eq!(help2.as_deref(), Some("escape \\ \n \" \\x chars"));
}

#[test]
fn openmetrics_errors() {
    let cases: &[(&str, &str)] = &[
        ("a 1\n", "line 2: data does not end with # EOF"),
        ("a 1\n# EOF\nb 2\n", "line 3: unexpected data after # EOF"),
        ("\n# EOF\n", "line 1: unexpected empty line"),
        (
            "a  1\n# EOF\n",
            "line 1: expected value after metric, got \" \" while parsing: \"a  \"",
        ),
        (
            "# foo bar\n# EOF\n",
            "line 1: expected HELP, TYPE, UNIT or EOF after #, got \"foo\"",
        ),
        (
            "#TYPE a gauge\n# EOF\n",
            "line 1: expected a valid start token, got \"T\" while parsing: \"#T\"",
        ),
        (
            "# TYPE a untyped\n# EOF\n",
            "line 1: invalid metric type \"untyped\"",
        ),
        (
            "a{b=\"c\",} 1\n# EOF\n",
            "line 1: expected label name, got \"}\" while parsing: \"a{b=\\\"c\\\",}\"",
        ),
        ("a 1 abc\n# EOF\n", "line 1: invalid timestamp \"abc\""),
        (
            "a 1 1 # {} x\n# EOF\n",
            "line 1: exemplar value: strconv.ParseFloat: parsing \"x\": invalid syntax",
        ),
        (
            "# UNIT a_seconds bytes\n# EOF\n",
            "line 1: unit \"bytes\" not a suffix of metric \"a_seconds\"",
        ),
        (
            "a 1 #\n# EOF\n",
            "line 1: expected # symbol, got \"#\" while parsing: \"a 1 #\"",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            err(input, Format::OpenMetrics).to_string(),
            *want,
            "input {input:?}"
        );
    }
    let long = format!("a 1 # {{id=\"{}\"}} 1\n# EOF\n", "x".repeat(130));
    assert!(err(&long, Format::OpenMetrics)
        .message
        .contains("exceeding the limit of 128"));
    // # EOF without trailing newline is fine; empty input is not.
    assert!(entries("a 1\n# EOF", Format::OpenMetrics).is_ok());
    assert_eq!(
        err("", Format::OpenMetrics).message,
        "data does not end with # EOF"
    );
    assert!(entries("", Format::Text004).unwrap().is_empty());
}

#[test]
fn content_type_selects_format() {
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Text004
    );
}

#[test]
fn loadgen_output_parses_back_exactly() {
    use lookout_loadgen::text::{write_openmetrics, write_prometheus_text, Order};
    use lookout_loadgen::{series_major, Entropy, Spec};
    let spec = Spec {
        metrics: 5,
        series_per_metric: 3,
        start_ms: 1_795_773_600_000,
        interval_ms: 15_000,
        points: 40,
        seed: 3,
        entropy: Entropy::HighEntropy,
        idx_label: true,
        metric_prefix: "lg".into(),
        job: "j".into(),
    };
    let want: Vec<(i64, u64)> = series_major(&spec).map(|s| (s.t, s.v.to_bits())).collect();
    let mut om = Vec::new();
    write_openmetrics(&spec, &mut om).unwrap();
    let got: Vec<(i64, u64)> = parse_samples(&om, Format::OpenMetrics)
        .unwrap()
        .iter()
        .map(|s| (s.timestamp_ms.unwrap(), s.value.to_bits()))
        .collect();
    assert_eq!(got, want);
    let mut text = Vec::new();
    write_prometheus_text(&spec, Order::SeriesMajor, &mut text).unwrap();
    let got: Vec<(i64, u64)> = parse_samples(&text, Format::Text004)
        .unwrap()
        .iter()
        .map(|s| (s.timestamp_ms.unwrap(), s.value.to_bits()))
        .collect();
    assert_eq!(got, want);
}

fn fragments() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "b_total",
        "{",
        "}",
        "=",
        "\"",
        "\\",
        ",",
        " ",
        "\t",
        "\n",
        "#",
        " HELP ",
        " TYPE ",
        " UNIT ",
        "# EOF",
        "counter",
        "1",
        "-2.5e3",
        "NaN",
        "+Inf",
        ".",
        "e",
        "x",
        "\u{e9}",
        "\u{0}",
        "le=\"0.5\"",
        " # {id=\"x\"} 1 2",
        "1_0",
        "0x1",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_token_soup(s in fragments()) {
        for f in [Format::Text004, Format::OpenMetrics] {
            let mut n = 0;
            for e in Parser::new(s.as_bytes(), f) {
                n += 1;
                if let Err(e) = e {
                    prop_assert!(e.line >= 1);
                }
                prop_assert!(n <= s.len() + 2);
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..200)) {
        for f in [Format::Text004, Format::OpenMetrics] {
            for _ in Parser::new(&b, f) {}
        }
    }

    #[test]
    fn writer_output_round_trips(
        name in "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        labels in prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", "\\PC{0,10}", 0..5),
        v in any::<f64>(),
        t in proptest::option::of(any::<i64>()),
    ) {
        let mut out = String::new();
        writer::write_sample(&mut out, &name, labels.iter().map(|(a, b)| (a.as_str(), b.as_str())), v, t);
        let s = parse_samples(out.as_bytes(), Format::Text004).unwrap();
        prop_assert_eq!(s.len(), 1);
        prop_assert_eq!(s[0].name, name.as_str());
        if v.is_nan() { prop_assert!(s[0].value.is_nan()); } else { prop_assert_eq!(s[0].value.to_bits(), v.to_bits()); }
        prop_assert_eq!(s[0].timestamp_ms, t);
        let got: Vec<(String, String)> = s[0].labels.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect();
        let want: Vec<(String, String)> = labels.into_iter().filter(|(n, _)| n != "__name__").collect();
        prop_assert_eq!(got, want);
    }
}
