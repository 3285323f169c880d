//! Rendering notification text. Notifiers see templates through
//! [`TemplateEngine`], so the engine can be swapped without touching them.

use std::sync::Arc;

use crate::notify::data::Data;

/// Renders notification templates against [`Data`].
pub trait TemplateEngine: Send + Sync {
    /// Renders with text/template semantics.
    fn execute_text(&self, text: &str, data: &Data) -> Result<String, String>;
    /// Renders with html/template (contextual escaping) semantics.
    fn execute_html(&self, text: &str, data: &Data) -> Result<String, String>;
}

/// Stand-in used until the Go template engine is wired in: plain text passes
/// through, anything containing an action is an error (never a guess).
pub struct NoTemplateEngine;

impl TemplateEngine for NoTemplateEngine {
    fn execute_text(&self, text: &str, _data: &Data) -> Result<String, String> {
        if text.contains("{{") {
            Err("template engine not available".into())
        } else {
            Ok(text.to_string())
        }
    }

    fn execute_html(&self, text: &str, data: &Data) -> Result<String, String> {
        self.execute_text(text, data)
    }
}

/// Loads the default templates plus the files matching `globs`.
pub fn load(_globs: &[String]) -> Result<Arc<dyn TemplateEngine>, String> {
    Ok(Arc::new(NoTemplateEngine))
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
            crate::notify::data::Data::from_webhook_json(&raw)?
        }
        None => sample_data(),
    };
    let engine = load(globs)?;
    engine.execute_text(text, &data)
}
