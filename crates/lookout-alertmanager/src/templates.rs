//! Rendering notification text with lookout's Go-template engine
//! (`lookout-template`), Alertmanager's function set, lookout's own default
//! templates (`templates/default.tmpl`, same names and output as
//! Alertmanager's) and the user's template files.
//!
//! Like Alertmanager, every field is rendered by parsing it as a new
//! template in a copy of the loaded set, executed with `missingkey=zero`.

use std::sync::Arc;

use lookout_template::alertmanager as amt;
use lookout_template::gotime::Time;
use lookout_template::{MissingKey, Template};

use crate::alert::is_zero;
use crate::notify::data::Data;

/// lookout's built-in templates (`pushover.default.title` and friends).
pub const DEFAULT_TEMPLATES: &str = include_str!("../templates/default.tmpl");

/// Renders notification templates against [`Data`].
pub trait TemplateEngine: Send + Sync {
    /// Renders with text/template semantics.
    fn execute_text(&self, text: &str, data: &Data) -> Result<String, String>;
    /// Renders with html/template (contextual escaping) semantics.
    fn execute_html(&self, text: &str, data: &Data) -> Result<String, String>;
}

/// The loaded template set, in text and HTML flavours.
pub struct GoTemplates {
    text: Template,
    html: Template,
}

fn go_time(t: &chrono::DateTime<chrono::Utc>) -> Time {
    if is_zero(t) {
        Time::zero()
    } else {
        Time::utc(t.timestamp(), t.timestamp_subsec_nanos())
    }
}

/// Converts notification data into the template engine's data model.
pub fn to_template_data(d: &Data) -> amt::Data {
    amt::Data {
        receiver: d.receiver.clone(),
        status: d.status.clone(),
        alerts: d
            .alerts
            .iter()
            .map(|a| amt::Alert {
                status: a.status.clone(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: go_time(&a.starts_at),
                ends_at: go_time(&a.ends_at),
                generator_url: a.generator_url.clone(),
                fingerprint: a.fingerprint.clone(),
            })
            .collect(),
        group_labels: d.group_labels.clone(),
        common_labels: d.common_labels.clone(),
        common_annotations: d.common_annotations.clone(),
        external_url: d.external_url.clone(),
    }
}

fn funcs() -> lookout_template::FuncMap {
    // `trimSpace` arrived in Alertmanager 0.26; configs written for current
    // releases use it.
    amt::funcs().merge(amt::newer_funcs())
}

impl GoTemplates {
    /// Loads the defaults plus every file matching `globs` (a glob with no
    /// match is not an error; a file that does not parse is).
    pub fn load(globs: &[String]) -> Result<Self, String> {
        let mut text = Template::new("")
            .funcs(funcs())
            .missing_key(MissingKey::Zero)
            .parse_named("default.tmpl", DEFAULT_TEMPLATES)
            .map_err(|e| e.to_string())?;
        let mut html = Template::new_html("")
            .funcs(funcs())
            .missing_key(MissingKey::Zero)
            .parse_named("default.tmpl", DEFAULT_TEMPLATES)
            .map_err(|e| e.to_string())?;
        for g in globs {
            let paths = glob::glob(g).map_err(|e| format!("invalid template glob {g:?}: {e}"))?;
            for p in paths {
                let p = p.map_err(|e| e.to_string())?;
                if !p.is_file() {
                    continue;
                }
                let content =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                text = text
                    .parse_named(&name, &content)
                    .map_err(|e| e.to_string())?;
                html = html
                    .parse_named(&name, &content)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(GoTemplates { text, html })
    }

    fn run(base: &Template, text: &str, data: &Data) -> Result<String, String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let t = base.clone().parse(text).map_err(|e| e.to_string())?;
        t.execute(&to_template_data(data).to_value())
            .map_err(|e| e.to_string())
    }
}

impl TemplateEngine for GoTemplates {
    fn execute_text(&self, text: &str, data: &Data) -> Result<String, String> {
        Self::run(&self.text, text, data)
    }

    fn execute_html(&self, text: &str, data: &Data) -> Result<String, String> {
        Self::run(&self.html, text, data)
    }
}

/// Loads the default templates plus the files matching `globs`.
pub fn load(globs: &[String]) -> Result<Arc<dyn TemplateEngine>, String> {
    Ok(Arc::new(GoTemplates::load(globs)?))
}

/// Sample data for `template render` when none is given: two alerts, one
/// firing and one resolved, in a group keyed on `alertname`.
pub fn sample_data() -> Data {
    use crate::notify::data::NotificationAlert;
    let now = chrono::Utc::now();
    let kv = |p: &[(&str, &str)]| -> crate::labels::LabelSet {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let a1 = NotificationAlert {
        status: "firing".into(),
        labels: kv(&[
            ("alertname", "ExampleAlert"),
            ("instance", "host-1:9100"),
            ("severity", "warning"),
        ]),
        annotations: kv(&[
            ("summary", "Example alert on host-1"),
            ("description", "Something is wrong on host-1."),
        ]),
        starts_at: now - chrono::Duration::minutes(5),
        ends_at: crate::alert::zero_time(),
        generator_url: "http://prometheus.example/graph?g0.expr=up+%3D%3D+0".into(),
        fingerprint: "c9a6ea5ffee2cb3a".into(),
    };
    let a2 = NotificationAlert {
        status: "resolved".into(),
        labels: kv(&[
            ("alertname", "ExampleAlert"),
            ("instance", "host-2:9100"),
            ("severity", "warning"),
        ]),
        annotations: kv(&[("summary", "Example alert on host-2")]),
        starts_at: now - chrono::Duration::minutes(20),
        ends_at: now - chrono::Duration::minutes(1),
        generator_url: "http://prometheus.example/graph?g0.expr=up+%3D%3D+0".into(),
        fingerprint: "1f2e3d4c5b6a7988".into(),
    };
    Data {
        receiver: "example-receiver".into(),
        status: "firing".into(),
        alerts: vec![a1, a2],
        group_labels: kv(&[("alertname", "ExampleAlert")]),
        common_labels: kv(&[("alertname", "ExampleAlert"), ("severity", "warning")]),
        common_annotations: kv(&[]),
        external_url: "http://alertmanager.example:9093".into(),
    }
}

/// `template render`: renders `text` after loading `globs`, against the
/// webhook-payload JSON in `data_file` or [`sample_data`].
pub fn render_cli(
    text: &str,
    globs: &[String],
    data_file: Option<&std::path::Path>,
) -> Result<String, String> {
    let data = match data_file {
        Some(p) => {
            let raw = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Data::from_webhook_json(&raw)?
        }
        None => sample_data(),
    };
    let engine = load(globs)?;
    engine.execute_text(text, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_templates_render() {
        let t = GoTemplates::load(&[]).unwrap();
        let d = sample_data();
        assert_eq!(
            t.execute_text("{{ .CommonLabels.alertname }}", &d).unwrap(),
            "ExampleAlert"
        );
        assert_eq!(
            t.execute_text("{{ range .Alerts }}{{ .Annotations.summary }}{{ end }}", &d)
                .unwrap(),
            "Example alert on host-1Example alert on host-2"
        );
        assert_eq!(
            t.execute_text(r#"{{ template "pushover.default.title" . }}"#, &d)
                .unwrap(),
            "[FIRING:1] ExampleAlert (warning)"
        );
        assert_eq!(
            t.execute_text(r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#, &d)
                .unwrap(),
            "2"
        );
        assert!(t.execute_text("{{ .Nope }}", &d).is_err());
        assert_eq!(
            t.execute_text("{{ .CommonLabels.missing }}", &d).unwrap(),
            ""
        );
    }
}
