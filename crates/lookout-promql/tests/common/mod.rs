//! Corpus loaders shared by the integration tests.
#![allow(dead_code)]

/// Reverses the field escaping of `queries.tsv` (`\\`, `\t`, `\n`, `\r`).
fn unescape_tsv(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The substituted expressions of `kube-prometheus/queries.tsv`, with their
/// row names.
pub fn kube_queries() -> Option<Vec<(String, String)>> {
    let path = lookout_testkit::corpus_path("kube-prometheus/queries.tsv")?;
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "bad row: {line}");
        rows.push((cols[2].to_string(), unescape_tsv(cols[4])));
    }
    Some(rows)
}

/// One `eval` command of a `.test` file.
pub struct Eval {
    pub file: String,
    pub line: usize,
    pub expr: String,
}

/// Extracts eval expressions with upstream's line rules: lines are trimmed,
/// and the command line is split with the runner's patterns (lazy time for
/// instant evals, greedy `from`/`to` and lazy `step` for range evals).
pub fn corpus_evals() -> Option<Vec<Eval>> {
    let dir = lookout_testkit::corpus_path("promql")?;
    let instant = regex::Regex::new(
        r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$",
    )
    .unwrap();
    let range = regex::Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut evals = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches([' ', '\t']);
            let word = line.split_whitespace().next().unwrap_or("").to_lowercase();
            if !word.starts_with("eval") {
                continue;
            }
            let expr = if let Some(c) = instant.captures(line) {
                c.get(3).unwrap().as_str().to_string()
            } else if let Some(c) = range.captures(line) {
                c.get(5).unwrap().as_str().to_string()
            } else {
                panic!("{file}:{}: unrecognised eval line {line:?}", i + 1);
            };
            evals.push(Eval {
                file: file.clone(),
                line: i + 1,
                expr,
            });
        }
    }
    Some(evals)
}
