//! Prints the host collector's text exposition (for eyeballing and diffing
//! against prometheus-node-exporter). With a number argument N it renders N
//! times and prints the mean wall time per render to stderr instead.

fn main() {
    let node = lookout_node::NodeCollector::default();
    match std::env::args().nth(1).and_then(|a| a.parse::<u32>().ok()) {
        Some(n) if n > 0 => {
            let t0 = std::time::Instant::now();
            let mut bytes = 0;
            for _ in 0..n {
                bytes += node.render_text().len();
            }
            eprintln!(
                "{n} renders, {:.2} ms each, {} bytes each",
                t0.elapsed().as_secs_f64() * 1000.0 / f64::from(n),
                bytes / n as usize
            );
        }
        _ => print!("{}", node.render_text()),
    }
}
