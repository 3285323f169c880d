//! Splitting independent per-series work over the available cores.
//!
//! Only the hot, annotation-free loops use it (float-only vector selection
//! and `rate`/`increase`/`delta` over a grid): they are pure functions of
//! one series, so the result is the same as a sequential loop, in order.

/// Fewest units of work (series × steps) worth a thread of their own: a
/// thread costs tens of microseconds, 16k window evaluations about a
/// millisecond.
pub(crate) const MIN_WORK_PER_THREAD: usize = 16_000;

/// How many threads `work` units deserve: at most `max_threads`, or one
/// per core when that is 0.
pub(crate) fn threads_for(work: usize, items: usize, max_threads: usize) -> usize {
    let cap = match max_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    cap.min(work / MIN_WORK_PER_THREAD).min(items).max(1)
}

/// `items.iter().map(f).collect()`, over `threads` contiguous chunks run in
/// parallel. Order is preserved.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|sc| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| sc.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A panic in a worker is a bug; re-raise it on the caller's
                // thread (the API runs queries in a blocking task that reports it).
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u64> = (0..10_001).collect();
        for threads in [1, 2, 3, 8] {
            let got = super::map(&items, threads, |x| x * 3);
            let want: Vec<u64> = items.iter().map(|x| x * 3).collect();
            assert_eq!(got, want);
        }
    }
}
