//! lookout against Debian's real tools: promtool's query commands read what
//! was ingested, and Prometheus 2.42 remote-writes what it scraped into
//! lookout, sample for sample.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn promtool(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("promtool").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn promtool_query_commands_read_what_was_ingested() {
    if lookout_testkit::require_tool("promtool").is_none() {
        return;
    }
    let l = Lookout::start(&[]);
    let now = now_ms() / 1000 * 1000;
    let t0 = now - 120_000;
    let pts_a: Vec<(i64, f64)> = (0..9).map(|i| (t0 + i * 15_000, i as f64 * 1.5)).collect();
    let pts_b: Vec<(i64, f64)> = (0..9)
        .map(|i| (t0 + i * 15_000, 100.0 + i as f64))
        .collect();
    let body = rw_body(&[
        (
            &[("__name__", "pt_metric"), ("job", "pt"), ("instance", "a")],
            &pts_a,
        ),
        (
            &[("__name__", "pt_metric"), ("job", "pt"), ("instance", "b")],
            &pts_b,
        ),
    ]);
    assert_eq!(remote_write(&l.addr, &body).status, 204);
    let url = l.url();
    let t_last = (t0 + 8 * 15_000) / 1000;

    let (ok, out, err) = promtool(&[
        "query",
        "instant",
        &url,
        "pt_metric",
        &format!("--time={t_last}"),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "pt_metric{{instance=\"a\", job=\"pt\"}} => 12 @[{t_last}]"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "pt_metric{{instance=\"b\", job=\"pt\"}} => 108 @[{t_last}]"
        )),
        "{out}"
    );

    let (ok, out, err) = promtool(&[
        "query",
        "range",
        &url,
        "sum(pt_metric)",
        &format!("--start={}", t0 / 1000),
        &format!("--end={t_last}"),
        "--step=15s",
    ]);
    assert!(ok, "{err}");
    // 9 points; the first is 0 + 100, the last 12 + 108.
    assert!(out.contains(&format!("100 @[{}]", t0 / 1000)), "{out}");
    assert!(out.contains(&format!("120 @[{t_last}]")), "{out}");
    assert_eq!(out.matches(" @[").count(), 9, "{out}");

    let (ok, out, err) = promtool(&[
        "query",
        "series",
        &url,
        "--match=pt_metric",
        &format!("--start={}", t0 / 1000),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("{__name__=\"pt_metric\", instance=\"a\", job=\"pt\"}"),
        "{out}"
    );
    assert!(
        out.contains("{__name__=\"pt_metric\", instance=\"b\", job=\"pt\"}"),
        "{out}"
    );

    let (ok, out, err) = promtool(&["query", "labels", &url, "instance", "--match=pt_metric"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["a", "b"],
        "{out}"
    );
}

/// Prometheus 2.42 scrapes itself every second and remote-writes to lookout;
/// the same range selectors on both return identical points.
#[test]
fn prometheus_remote_write_matches_what_it_scraped() {
    let Some(prom) = lookout_testkit::require_tool("prometheus") else {
        return;
    };
    let l = Lookout::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = lookout_testkit::free_port();
    let prom_addr = format!("127.0.0.1:{port}");
    let cfg = format!(
        "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\n\
         scrape_configs:\n  - job_name: prom\n    static_configs: [{{targets: ['{prom_addr}']}}]\n\
         remote_write:\n  - url: http://{}/api/v1/write\n    queue_config: {{batch_send_deadline: 500ms, max_samples_per_send: 1000}}\n",
        l.addr
    );
    std::fs::write(dir.path().join("prometheus.yml"), cfg).unwrap();
    let _p = spawn(
        &prom,
        &[
            "--config.file=prometheus.yml".into(),
            format!("--web.listen-address={prom_addr}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        ],
        dir.path(),
        "prometheus",
    );
    // Let a few scrapes happen and be shipped.
    let ready = wait_for(Duration::from_secs(60), || {
        let r = http(
            &prom_addr,
            "GET",
            "/api/v1/query?query=count(up)",
            None,
            &[],
        )
        .ok()?;
        (r.status == 200 && r.body.contains("\"1\"")).then_some(())
    });
    assert!(
        ready.is_some(),
        "prometheus did not start:\n{}",
        _p.log_text()
    );
    std::thread::sleep(Duration::from_secs(6));

    // Compare at a time a few seconds back, so shipping has caught up.
    let mut last = String::new();
    let matched = wait_for(Duration::from_secs(30), || {
        let t = (now_ms() - 3000) as f64 / 1000.0;
        let q = format!("/api/v1/query?query={}&time={t}", enc("{job=\"prom\"}[5s]"));
        let p = http(&prom_addr, "GET", &q, None, &[]).ok()?.json();
        let k = l.get(&q).json();
        let ps = p["data"]["result"].as_array()?.clone();
        let ks = k["data"]["result"].as_array()?.clone();
        if ps.len() < 100 {
            last = format!("prometheus has only {} series", ps.len());
            return None;
        }
        if ps == ks {
            return Some(ps.len());
        }
        let missing = ps.iter().filter(|s| !ks.contains(s)).count();
        last = format!(
            "{missing} of {} series differ; first: {}",
            ps.len(),
            ps.iter()
                .find(|s| !ks.contains(s))
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
        None
    });
    assert!(
        matched.is_some(),
        "lookout never matched Prometheus: {last}"
    );
    eprintln!(
        "prometheus and lookout agree on {} series",
        matched.unwrap_or(0)
    );
}
