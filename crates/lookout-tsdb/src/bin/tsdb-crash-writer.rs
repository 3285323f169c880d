//! Crash-test writer: appends deterministic batches to a store and prints
//! `ack <n>` after batch `n` was committed, until it is killed. Used by
//! `tests/crash.rs`; the batch contents are defined in `crash_model`.

use lookout_model::storage::Appendable;
use lookout_tsdb::crash_model::{batch, Sample};
use lookout_tsdb::{Db, FsyncPolicy, Options};
use std::io::Write;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(start)) = (args.next(), args.next()) else {
        eprintln!("usage: tsdb-crash-writer DIR START_BATCH [HEAD_MAX_ROWS]");
        std::process::exit(2);
    };
    let head_max_rows = args.next().and_then(|s| s.parse().ok()).unwrap_or(700);
    let Ok(start) = start.parse::<u64>() else {
        eprintln!("START_BATCH must be a number");
        std::process::exit(2);
    };
    // Small buffers and fast timers so flushes and merges run all the time.
    let opts = Options {
        retention: None,
        fsync: FsyncPolicy::Interval(Duration::from_millis(20)),
        head_max_rows,
        head_flush_interval: Duration::from_millis(50),
        merge_min_parts: 4,
        final_merge_delay: Duration::from_secs(0),
        ..Options::default()
    };
    let db = match Db::open(&dir, opts) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    for n in start.. {
        let mut app = db.appender();
        for s in batch(n) {
            let r = match &s {
                Sample::Float(l, t, v) => app.append(l, *t, *v),
                Sample::Hist(l, t, h) => app.append_histogram(l, *t, h),
            };
            if let Err(e) = r {
                eprintln!("batch {n}: append refused: {e}");
                std::process::exit(1);
            }
        }
        if let Err(e) = app.commit() {
            eprintln!("batch {n}: commit failed: {e}");
            std::process::exit(1);
        }
        let _ = writeln!(out, "ack {n}");
        let _ = out.flush();
    }
}
