//! lookout reads and writes Alertmanager's on-disk `nflog` and `silences`:
//! a data directory can move between Debian's Alertmanager 0.25 and lookout
//! in either direction without losing silences or re-sending
//! notifications.

mod support;

use std::process::Command;
use std::time::Duration;

use lookout_alertmanager::matchers::ParseMode;
use serde_json::json;
use support::{get_json, post_json, LookoutServer, RealAlertmanager, Recorder};

fn cfg(hook: &str) -> String {
    format!(
        "route:\n  receiver: wh\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n  - name: wh\n    webhook_configs:\n      - url: {hook}/hook\n"
    )
}

fn prom_alert() -> serde_json::Value {
    let now = chrono::Utc::now();
    json!([{
        "labels": {"alertname": "Migrated", "severity": "warning"},
        "startsAt": (now - chrono::Duration::seconds(10)).to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
    }])
}

fn silence() -> serde_json::Value {
    let now = chrono::Utc::now();
    json!({
        "matchers": [
            {"name": "team", "value": "db.*", "isRegex": true, "isEqual": true},
            {"name": "env", "value": "prod", "isRegex": false, "isEqual": false}
        ],
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::hours(3)).to_rfc3339(),
        "createdBy": "migrator", "comment": "moved"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alertmanager_data_dir_moves_to_lookout_and_back() {
    let Some(bin) = lookout_testkit::require_tool("prometheus-alertmanager") else {
        return;
    };
    let hook = Recorder::start().await;
    let config = cfg(&hook.url());

    // 1. Alertmanager notifies and stores a silence, then stops cleanly.
    let dir = tempfile::tempdir().unwrap();
    let am = RealAlertmanager::start_in(&bin, &config, dir);
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", am.url()), &prom_alert())
            .await
            .0,
        200
    );
    assert_eq!(hook.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    let (s, body) = post_json(&format!("{}/api/v2/silences", am.url()), &silence()).await;
    assert_eq!(s, 200, "{body}");
    let sid = serde_json::from_str::<serde_json::Value>(&body).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();
    let mut am = am;
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(am.child.id().to_string())
        .status();
    let _ = am.child.wait();
    let data = am.dir.path().join("data");
    assert!(data.join("nflog").is_file() && data.join("silences").is_file());

    // 2. lookout takes over the directory: the silence is there and the
    //    re-sent alert is recognised as already notified.
    let lk = LookoutServer::start_opts(&config, ParseMode::Fallback, Some(data.clone())).await;
    let (st, v) = get_json(&format!("{}/api/v2/silence/{sid}", lk.url())).await;
    assert_eq!(st, 200);
    assert_eq!(v["createdBy"], "migrator");
    assert_eq!(
        v["matchers"][0],
        json!({"name": "team", "value": "db.*", "isRegex": true, "isEqual": true})
    );
    assert_eq!(
        v["matchers"][1],
        json!({"name": "env", "value": "prod", "isRegex": false, "isEqual": false})
    );
    assert_eq!(v["status"]["state"], "active");
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", lk.url()), &prom_alert())
            .await
            .0,
        200
    );
    let (_, alerts) = get_json(&format!("{}/api/v2/alerts", lk.url())).await;
    assert_eq!(alerts[0]["status"]["state"], "active", "{alerts}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        hook.count(),
        1,
        "lookout re-sent what Alertmanager had notified"
    );

    // lookout notifies a new alert in the group and writes the snapshot.
    let mut more = prom_alert();
    more[0]["labels"]["instance"] = json!("second");
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", lk.url()), &more)
            .await
            .0,
        200
    );
    let got = hook.wait_for(2, Duration::from_secs(5)).await.len();
    if got != 2 {
        let (_, g) = get_json(&format!("{}/api/v2/alerts/groups", lk.url())).await;
        panic!(
            "no notification for the new alert; groups {g}\nmetrics:\n{}",
            lk.am.metrics_text()
        );
    }
    lk.am.shutdown();
    drop(lk);

    // 3. Alertmanager takes the directory back: no duplicate for the group
    //    lookout notified, and the silence survives the round trip.
    let back = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(back.path().join("data")).unwrap();
    for f in ["nflog", "silences"] {
        std::fs::copy(data.join(f), back.path().join("data").join(f)).unwrap();
    }
    let am2 = RealAlertmanager::start_in(&bin, &config, back);
    let (st, v) = get_json(&format!("{}/api/v2/silence/{sid}", am2.url())).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["comment"], "moved");
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", am2.url()), &prom_alert())
            .await
            .0,
        200
    );
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", am2.url()), &more)
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        hook.count(),
        2,
        "Alertmanager re-sent what lookout had notified:\n{}",
        am2.log()
    );
}
