//! The notifier: batching, external labels, alert relabelling, queue
//! overflow, Alertmanager targets from the `alerting:` section, and a
//! delivery to a real Alertmanager 0.25 on loopback.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lookout_model::Labels;
use lookout_rules::alerting::{AlertingConfig, HttpTarget};
use lookout_rules::metrics::NotifierMetrics;
use lookout_rules::notifier::{
    AlertSender, AlertmanagerTarget, FnTarget, Notifier, NotifierOptions, NotifyAlert,
};
use parking_lot::Mutex;

fn alert(i: usize, extra: &[(&str, &str)]) -> NotifyAlert {
    let mut pairs = vec![
        ("alertname".to_string(), "A".to_string()),
        ("i".to_string(), i.to_string()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    NotifyAlert {
        labels: Labels::from_pairs(pairs),
        annotations: [("summary".to_string(), format!("alert {i}"))].into(),
        starts_at: 1_700_000_000_000,
        ends_at: 1_700_000_240_000,
        generator_url: "http://lookout/graph?g0.expr=up&g0.tab=1".into(),
    }
}

/// Batches delivered to the in-process target.
type Batches = Arc<Mutex<Vec<Vec<NotifyAlert>>>>;

fn collecting() -> (Batches, Arc<dyn AlertmanagerTarget>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let t = FnTarget {
        name: "in-process".into(),
        f: move |a: &[NotifyAlert]| {
            g2.lock().push(a.to_vec());
            Ok(())
        },
    };
    (got, Arc::new(t))
}

#[test]
fn batches_of_256_with_external_labels_and_relabelling() {
    let relabel: AlertingConfig = AlertingConfig::from_yaml(
        &serde_yaml_ng::from_str(
            "alert_relabel_configs:\n- source_labels: [drop]\n  regex: 'yes'\n  action: drop\n",
        )
        .unwrap(),
    )
    .unwrap();
    let opts = NotifierOptions {
        external_labels: Labels::from_pairs([("cluster", "home"), ("i", "ignored")]),
        relabel_configs: relabel.alert_relabel_configs.clone(),
        ..Default::default()
    };
    let n = Notifier::new(opts.clone(), NotifierMetrics::unregistered());
    let (got, target) = collecting();
    n.apply(opts, vec![target]);
    let mut alerts: Vec<NotifyAlert> = (0..600).map(|i| alert(i, &[])).collect();
    alerts.push(alert(9999, &[("drop", "yes")]));
    n.send(alerts);
    n.flush();
    let batches = got.lock();
    let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![256, 256, 88]);
    let first = &batches[0][0];
    assert_eq!(
        first.labels.get("cluster"),
        Some("home"),
        "external label added"
    );
    assert_eq!(
        first.labels.get("i"),
        Some("0"),
        "existing label wins over external"
    );
    assert!(batches
        .iter()
        .flatten()
        .all(|a| a.labels.get("drop").is_none()));
}

#[test]
fn full_queue_drops_the_oldest_alerts() {
    let opts = NotifierOptions {
        queue_capacity: 10,
        ..Default::default()
    };
    let n = Notifier::new(opts.clone(), NotifierMetrics::unregistered());
    let (got, target) = collecting();
    n.apply(opts, vec![target]);
    n.send((0..8).map(|i| alert(i, &[])).collect());
    n.send((8..15).map(|i| alert(i, &[])).collect());
    assert_eq!(n.queue_len(), 10);
    n.flush();
    let ids: Vec<String> = got.lock()[0]
        .iter()
        .map(|a| a.labels.get("i").unwrap().to_string())
        .collect();
    assert_eq!(ids.first().map(String::as_str), Some("5"));
    assert_eq!(ids.last().map(String::as_str), Some("14"));
}

#[test]
fn alertmanager_targets_from_config() {
    let cfg = AlertingConfig::from_yaml(
        &serde_yaml_ng::from_str(
            r#"
alertmanagers:
- static_configs:
  - targets: ['am-1:9093', 'am-2:9093']
  path_prefix: /am/
  timeout: 3s
  relabel_configs:
  - source_labels: [__address__]
    regex: 'am-2:.*'
    action: drop
- scheme: https
  static_configs:
  - targets: ['secure:443']
  basic_auth: {username: u, password: p}
  kubernetes_sd_configs: [{role: pod}]
"#,
        )
        .unwrap(),
    )
    .unwrap();
    let t = cfg.targets();
    let urls: Vec<&str> = t.iter().map(|t| t.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "http://am-1:9093/am/api/v2/alerts",
            "https://secure:443/api/v2/alerts"
        ]
    );
    assert_eq!(t[0].timeout, Duration::from_secs(3));
    assert_eq!(cfg.warnings().len(), 1, "{:?}", cfg.warnings());
    let bad = serde_yaml_ng::from_str("alertmanagers:\n- api_version: v1\n").unwrap();
    assert!(AlertingConfig::from_yaml(&bad).is_err());
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn delivers_to_a_real_alertmanager() {
    let Some(am) = lookout_testkit::require_tool("prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: 'null'\nreceivers:\n- name: 'null'\n",
    )
    .unwrap();
    let port = lookout_testkit::free_port();
    let cluster_port = lookout_testkit::free_port();
    let child = Command::new(am)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--cluster.listen-address=127.0.0.1:{cluster_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let _guard = Kill(child);
    let yaml = format!("alertmanagers:\n- static_configs:\n  - targets: ['127.0.0.1:{port}']\n");
    let cfg = AlertingConfig::from_yaml(&serde_yaml_ng::from_str(&yaml).unwrap()).unwrap();
    let target = HttpTarget::new(cfg.targets().remove(0)).unwrap();
    assert_eq!(
        target.name(),
        format!("http://127.0.0.1:{port}/api/v2/alerts")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut a = alert(1, &[("severity", "page")]);
    a.starts_at = now - 60_000;
    a.ends_at = now + 240_000;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match target.post(std::slice::from_ref(&a)) {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "alertmanager never accepted: {e}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    // Read it back through Alertmanager's API.
    let client = http_get::get(&format!("http://127.0.0.1:{port}/api/v2/alerts"));
    let list: serde_json::Value = serde_json::from_str(&client).unwrap();
    let got = &list.as_array().unwrap()[0];
    assert_eq!(got["labels"]["alertname"], "A");
    assert_eq!(got["labels"]["severity"], "page");
    assert_eq!(got["annotations"]["summary"], "alert 1");
    assert_eq!(got["status"]["state"], "active");
    assert_eq!(
        got["generatorURL"],
        "http://lookout/graph?g0.expr=up&g0.tab=1"
    );
    let starts = got["startsAt"].as_str().unwrap();
    assert_eq!(starts, lookout_rules::notifier::rfc3339_millis(a.starts_at));
}

/// A tiny blocking GET over std TCP (the test needs no HTTP client crate).
mod http_get {
    use std::io::{Read, Write};
    pub fn get(url: &str) -> String {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        let body = buf.split("\r\n\r\n").nth(1).unwrap_or("");
        body.to_string()
    }
}
