//! API-level tests: typed function registration, host objects, options,
//! and the Go features newer than the Go 1.19 the golden tools were built
//! with (expected values follow the Go 1.22/1.23 documentation).

use std::borrow::Cow;
use std::sync::Arc;

use lookout_template::prometheus::{AlertTemplateData, QueryFn, RuleTemplate, Sample};
use lookout_template::{
    FuncMap, GoSignature, GoType, MissingKey, Object, Template, Value, Variadic,
};

fn render(t: &str, data: &Value) -> Result<String, String> {
    Template::new("t")
        .parse(t)
        .map_err(|e| e.to_string())?
        .execute(data)
        .map_err(|e| e.to_string())
}

#[test]
fn range_over_int_go122() {
    let d = Value::Invalid;
    assert_eq!(render("{{ range 3 }}x{{ end }}", &d).unwrap(), "xxx");
    assert_eq!(
        render("{{ range $i := 4 }}{{ $i }},{{ end }}", &d).unwrap(),
        "0,1,2,3,"
    );
    assert_eq!(
        render("{{ range 0 }}x{{ else }}none{{ end }}", &d).unwrap(),
        "none"
    );
    let err = render("{{ range $i, $j := 3 }}{{ end }}", &d).unwrap_err();
    assert!(
        err.ends_with("can't use 3 to iterate over more than one variable"),
        "{err}"
    );
}

#[test]
fn else_with_go123() {
    let d = Value::map([("b", Value::from("B"))]);
    assert_eq!(
        render(
            "{{ with .a }}a{{ else with .b }}{{ . }}{{ else }}none{{ end }}",
            &d
        )
        .unwrap(),
        "B"
    );
    assert_eq!(
        render(
            "{{ with .a }}a{{ else with .c }}c{{ else }}none{{ end }}",
            &d
        )
        .unwrap(),
        "none"
    );
}

#[test]
fn missing_key_modes() {
    let labels = Value::string_map([("a", "1")]);
    let data = Value::map([
        ("labels", labels),
        ("any", Value::map([("x", Value::int(1))])),
    ]);
    let run = |mk: MissingKey, t: &str| {
        Template::new("t")
            .missing_key(mk)
            .parse(t)
            .unwrap()
            .execute(&data)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        run(MissingKey::Default, "{{ .labels.b }}").unwrap(),
        "<no value>"
    );
    assert_eq!(run(MissingKey::Zero, "[{{ .labels.b }}]").unwrap(), "[]");
    // map[string]interface{}: the zero value is a nil interface.
    assert_eq!(run(MissingKey::Zero, "{{ .any.y }}").unwrap(), "<no value>");
    assert_eq!(
        run(MissingKey::Error, "{{ .labels.b }}").unwrap_err(),
        "template: t:1:10: executing \"t\" at <.labels.b>: map has no entry for key \"b\""
    );
    assert_eq!(
        run(MissingKey::Error, "{{ .nope.x }}").unwrap_err(),
        "template: t:1:8: executing \"t\" at <.nope.x>: map has no entry for key \"nope\""
    );
    assert!(Template::new("t").option("missingkey=bogus").is_err());
}

#[test]
fn typed_closures_and_errors() {
    let funcs = FuncMap::new()
        .func("add", |a: i64, b: i64| a + b)
        .func("half", |f: f64| f / 2.0)
        .func("joinAll", |sep: String, rest: Variadic<String>| {
            rest.0.join(&sep)
        })
        .func("fails", || -> Result<String, String> { Err("boom".into()) })
        .func("answer", || 42i64);
    let t = Template::new("f")
        .funcs(funcs)
        .parse(r#"{{ add 1 2 }} {{ half 5.0 }} {{ joinAll "-" "a" "b" "c" }} {{ answer | printf "%03d" }}"#)
        .unwrap();
    assert_eq!(t.execute(&Value::Invalid).unwrap(), "3 2.5 a-b-c 042");
    let bad = Template::new("f")
        .funcs(FuncMap::new().func("fails", || -> Result<String, String> { Err("boom".into()) }))
        .parse("{{ fails }}")
        .unwrap();
    assert_eq!(
        bad.execute(&Value::Invalid).unwrap_err().to_string(),
        "template: f:1:3: executing \"f\" at <fails>: error calling fails: boom"
    );
    let arity = Template::new("f")
        .funcs(FuncMap::new().func("add", |a: i64, b: i64| a + b))
        .parse("{{ add 1 }}")
        .unwrap();
    assert_eq!(
        arity.execute(&Value::Invalid).unwrap_err().to_string(),
        "template: f:1:3: executing \"f\" at <add>: wrong number of args for add: want 2 got 1"
    );
    assert_eq!(
        Template::new("p")
            .parse("{{ nosuch }}")
            .unwrap_err()
            .to_string(),
        "template: p:1: function \"nosuch\" not defined"
    );
}

/// A host type with a field, a niladic method and a method with arguments.
#[derive(Debug)]
struct Host {
    name: String,
}

impl Object for Host {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed("main.Host")
    }
    fn field_names(&self) -> &[&'static str] {
        &["Name"]
    }
    fn field(&self, name: &str) -> Option<Value> {
        (name == "Name").then(|| Value::from(self.name.as_str()))
    }
    fn method(&self, name: &str) -> Option<GoSignature> {
        match name {
            "Upper" => Some(GoSignature::new(vec![])),
            "Greet" => Some(GoSignature::new(vec![
                GoType::String,
                GoType::Int(lookout_template::IntType::Int),
            ])),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        match name {
            "Upper" => Ok(Value::from(self.name.to_uppercase())),
            "Greet" => {
                let g = args[0].as_str().unwrap_or("").to_string();
                let n = match args[1] {
                    Value::Int(n, _) => n as usize,
                    _ => 0,
                };
                Ok(Value::from(format!("{} {}", g.repeat(n), self.name)))
            }
            _ => Err("no such method".into()),
        }
    }
}

#[test]
fn host_objects() {
    let d = Value::object(Host { name: "ada".into() });
    assert_eq!(
        render(
            r#"{{ .Name }} {{ .Upper }} {{ .Greet "hi" 2 }} {{ . }} {{ printf "%+v %T" . . }}"#,
            &d
        )
        .unwrap(),
        "ada ADA hihi ada {ada} {Name:ada} main.Host"
    );
    assert_eq!(
        render(r#"{{ .Greet 1 2 }}"#, &d).unwrap_err(),
        "template: t:1:10: executing \"t\" at <1>: expected string; found 1"
    );
    assert_eq!(
        render(r#"{{ .Missing }}"#, &d).unwrap_err(),
        "template: t:1:3: executing \"t\" at <.Missing>: can't evaluate field Missing in type main.Host"
    );
}

#[test]
fn html_mode_escapes_by_context() {
    let t = Template::new_html("h")
        .parse(r#"<a href="/x?q={{ .q }}" title="{{ .q }}">{{ .q }}</a>"#)
        .unwrap();
    let d = Value::map([("q", Value::from("a&b <c>"))]);
    assert_eq!(
        t.execute(&d).unwrap(),
        r#"<a href="/x?q=a%26b%20%3cc%3e" title="a&amp;b &lt;c&gt;">a&amp;b &lt;c&gt;</a>"#
    );
}

struct Fixed;
impl QueryFn for Fixed {
    fn query(&self, q: &str) -> Result<Vec<Sample>, String> {
        Ok(vec![Sample {
            labels: [("q".to_string(), q.to_string())].into(),
            value: 7.0,
        }])
    }
}

#[test]
fn rule_template_expansion() {
    let funcs = lookout_template::prometheus::funcs(Arc::new(Fixed), "http://prom:9090/");
    let rt = RuleTemplate::new(
        "HighLoad",
        r#"{{ $labels.instance }} at {{ $value | humanizePercentage }}; {{ query "up" | first | label "q" }}"#,
        funcs.clone(),
    );
    let data = AlertTemplateData {
        labels: [("instance".to_string(), "a:1".to_string())].into(),
        value: 0.25,
        ..Default::default()
    };
    assert_eq!(rt.expand(&data).unwrap(), "a:1 at 25%; up");
    let bad = RuleTemplate::new("R", "{{ .Nope }}", funcs.clone());
    assert_eq!(
        bad.expand_or_error_text(&data),
        "<error expanding template: error executing template __alert_R: template: __alert_R:1:115: executing \"__alert_R\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>"
    );
    let unparsable = RuleTemplate::new("R", "{{ if }}", funcs);
    assert_eq!(
        unparsable.expand(&data).unwrap_err(),
        "error parsing template __alert_R: template: __alert_R:1: missing value for if"
    );
}

#[test]
fn execute_errors_for_unknown_templates() {
    let t = Template::new("main");
    assert_eq!(
        t.execute(&Value::Invalid).unwrap_err().to_string(),
        "template: main: \"main\" is an incomplete or empty template"
    );
    let t = t.parse("x").unwrap();
    assert_eq!(
        t.execute_template("other", &Value::Invalid)
            .unwrap_err()
            .to_string(),
        "template: no template \"other\" associated with template \"main\""
    );
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    let t = Template::new("r")
        .parse(r#"{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}"#)
        .unwrap();
    let err = t.execute(&Value::Invalid).unwrap_err().to_string();
    assert!(err.contains("exceeded maximum template depth"), "{err}");
}

#[test]
fn float_printing_matches_go() {
    let cases = [
        (1e6, "1e+06"),
        (100000000.0, "1e+08"),
        (123456.7, "123456.7"),
        (0.00001, "1e-05"),
        (1.0, "1"),
        (1234567.891, "1.234567891e+06"),
        (-0.0, "-0"),
        (f64::INFINITY, "+Inf"),
        (f64::NAN, "NaN"),
    ];
    for (v, want) in cases {
        assert_eq!(lookout_template::fmt::sprint(&[Value::Float(v)]), want);
    }
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let err = Template::new("n")
        .parse(&deep_parens)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "template: n:1: max expression depth exceeded");
    let deep_ifs = format!("{}x{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
    let err = Template::new("n").parse(&deep_ifs).unwrap_err().to_string();
    assert_eq!(err, "template: n:1: max expression depth exceeded");
    // Moderate nesting still works.
    let ok = format!("{{{{ {}1{} }}}}", "(".repeat(100), ")".repeat(100));
    assert_eq!(render(&ok, &Value::Invalid).unwrap(), "1");
}

#[test]
fn alertmanager_pointer_data_prints_like_go() {
    use lookout_template::alertmanager::Data;
    let d = Data {
        receiver: "r".into(),
        status: "firing".into(),
        ..Default::default()
    }
    .to_value();
    assert_eq!(
        render("{{ . }}|{{ print . }}", &d).unwrap(),
        "{r firing [] map[] map[] map[] }|&{r firing [] map[] map[] map[] }"
    );
    assert_eq!(
        render("{{ .Nope }}", &d).unwrap_err(),
        "template: t:1:3: executing \"t\" at <.Nope>: can't evaluate field Nope in type *template.Data"
    );
}

#[test]
fn call_builtin_with_function_values() {
    let add = lookout_template::FuncMap::new().func("add", |a: i64, b: i64| a + b);
    let f = add.get("add").unwrap().clone();
    let d = Value::map([("f", Value::Func(f))]);
    assert_eq!(render("{{ call .f 2 3 }}", &d).unwrap(), "5");
    assert_eq!(
        render("{{ call .f 2 }}", &d).unwrap_err(),
        "template: t:1:3: executing \"t\" at <call .f 2>: error calling call: wrong number of args: got 1 want 2"
    );
    assert_eq!(
        render(r#"{{ call .f 2 "x" }}"#, &d).unwrap_err(),
        "template: t:1:3: executing \"t\" at <call .f 2 \"x\">: error calling call: arg 1: value has type string; should be int"
    );
}
