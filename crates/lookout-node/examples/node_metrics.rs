//! Prints the host collector's text exposition (for eyeballing and diffing
//! against prometheus-node-exporter).

fn main() {
    print!("{}", lookout_node::NodeCollector::default().render_text());
}
