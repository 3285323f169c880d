//! Kill -9 crash test: a writer process appends deterministic batches
//! (`crash_model`) while flushes and merges run; it is SIGKILLed at random
//! moments, and after every kill the store must hold exactly batches
//! `0..=k` where `k` is the last acknowledged batch or the one in flight —
//! every acknowledged sample present, bit-exact, nothing else, no
//! duplicates, no partial batch.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lookout_model::storage::{Querier, SelectHints};
use lookout_model::{MatchOp, Matcher};
use lookout_tsdb::crash_model::{self, BASE_SERIES};
use lookout_tsdb::{Db, Options};

/// Tiny xorshift so the test needs no RNG crate at run time; seeded from
/// the clock (printed) or `CRASH_SEED`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn kills() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

/// Verifies the store holds exactly batches `0..=k` and returns `k`
/// (`None` when empty).
fn verify(dir: &std::path::Path) -> Option<u64> {
    let db = Db::open(dir, Options::for_tests()).expect("reopen after kill");
    let hints = SelectHints {
        mint: i64::MIN,
        maxt: i64::MAX,
        ..Default::default()
    };
    let all = Matcher::new(MatchOp::Regex, "__name__", "crash_.*").unwrap();
    let series: Vec<_> = db
        .select(&[all], &hints)
        .unwrap()
        .map(|s| s.unwrap())
        .collect();
    let base: Vec<_> = series
        .iter()
        .filter(|s| s.labels.get("__name__") == Some("crash_metric"))
        .collect();
    if base.is_empty() {
        assert!(
            series.is_empty(),
            "samples without any base batch: {series:?}"
        );
        db.close().unwrap();
        return None;
    }
    assert_eq!(base.len() as u64, BASE_SERIES, "base series count");
    let k = (base[0].floats.last().unwrap().t / 1000) as u64;
    for s in &base {
        let idx: u64 = s.labels.get("series").unwrap().parse().unwrap();
        assert_eq!(
            s.floats.len() as u64,
            k + 1,
            "series {idx}: partial or duplicated batches"
        );
        assert!(s.histograms.is_empty());
        for (n, f) in s.floats.iter().enumerate() {
            let n = n as u64;
            assert_eq!(f.t, crash_model::ts(n), "series {idx}");
            assert_eq!(
                f.v.to_bits(),
                crash_model::value(n, idx).to_bits(),
                "series {idx} batch {n}"
            );
        }
    }
    let extras: Vec<_> = series
        .iter()
        .filter(|s| s.labels.get("__name__") == Some("crash_extra"))
        .collect();
    assert_eq!(extras.len() as u64, k / 7 + 1, "extra series");
    for e in &extras {
        let born: u64 = e.labels.get("born").unwrap().parse().unwrap();
        assert_eq!(born % 7, 0);
        assert!(born <= k);
        assert_eq!(e.floats.len(), 1);
        assert_eq!(e.floats[0].t, crash_model::ts(born));
        assert_eq!(e.floats[0].v, born as f64);
    }
    let hists: Vec<_> = series
        .iter()
        .filter(|s| s.labels.get("__name__") == Some("crash_hist"))
        .collect();
    assert_eq!(hists.len(), 1);
    let hs = &hists[0].histograms;
    assert_eq!(hs.len() as u64, k / 5 + 1, "histogram samples");
    let mut prev: Option<lookout_model::FloatHistogram> = None;
    for (i, h) in hs.iter().enumerate() {
        let n = i as u64 * 5;
        assert_eq!(h.t, crash_model::ts(n));
        // Stored with the counter-reset hint a Prometheus read reports.
        let mut want = crash_model::histogram(n);
        want.counter_reset_hint =
            lookout_model::histogram::stored_counter_reset_hint(prev.as_ref(), &want);
        assert_eq!(h.h, want);
        prev = Some(want);
    }
    assert_eq!(
        series.len() as u64,
        BASE_SERIES + extras.len() as u64 + 1,
        "unexpected series"
    );
    db.close().unwrap();
    Some(k)
}

#[test]
fn sigkill_never_loses_acknowledged_batches() {
    let exe = env!("CARGO_BIN_EXE_tsdb-crash-writer");
    let dir = tempfile::tempdir().unwrap();
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (set CRASH_SEED to repeat)");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut next: u64 = 0;
    let mut last_ack: Option<u64> = None;
    let mut in_flight_committed = 0;
    let total = kills();
    for round in 0..total {
        let mut child = Command::new(exe)
            .arg(dir.path())
            .arg(next.to_string())
            // Tiny buffers make every commit race a flush or merge; large
            // ones leave the data in the WAL and head until the timer.
            .arg([300u64, 700, 5_000, 100_000][(rng.next() % 4) as usize].to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the writer has opened the store, then kill it at a
        // random moment.
        let ready = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("writer ready");
        assert_eq!(ready, "ready");
        std::thread::sleep(Duration::from_millis(5 + rng.next() % 250));
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success(), "writer exited by itself: {status}");
        reader.join().unwrap();
        for line in rx.try_iter() {
            let n: u64 = line
                .strip_prefix("ack ")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("unexpected writer output {line:?}"));
            assert!(last_ack.is_none_or(|l| n == l + 1), "acks out of sequence");
            last_ack = Some(n);
        }
        let k = verify(dir.path());
        match (k, last_ack) {
            (Some(k), Some(a)) => {
                assert!(
                    k == a || k == a + 1,
                    "round {round}: stored up to {k}, acknowledged {a}"
                );
                if k == a + 1 {
                    in_flight_committed += 1;
                    last_ack = Some(k);
                }
            }
            (Some(k), None) => {
                assert_eq!(k, 0, "round {round}: stored {k} without any ack");
                last_ack = Some(0);
            }
            (None, Some(a)) => panic!("round {round}: acknowledged {a} but store is empty"),
            (None, None) => {}
        }
        next = last_ack.map_or(0, |a| a + 1);
    }
    println!(
        "crash test: {total} SIGKILLs, {next} batches verified ({} samples each + extras), \
         {in_flight_committed} in-flight batches found committed, {:.1}s",
        BASE_SERIES,
        started.elapsed().as_secs_f64()
    );
    assert!(next > 0, "writer never committed anything");
}
