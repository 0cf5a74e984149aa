//! DABench's scoring of one answer, and the summary table over all questions.

use std::collections::BTreeMap;

/// DABench's scoring: answers are `@name[value]` (last occurrence of a name wins); a
/// sub-answer is right when the strings are equal or both are floats within 1e-6.
pub fn score(response: &str, answers: &[(String, String)]) -> bool {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for line in response.lines() {
        let mut rest = line;
        while let Some(at) = rest.find('@') {
            let after = &rest[at + 1..];
            let name_len = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let tail = &after[name_len..];
            if name_len > 0 && tail.starts_with('[') {
                if let Some(close) = tail[1..].find(']') {
                    found.insert(
                        after[..name_len].to_string(),
                        tail[1..1 + close].to_string(),
                    );
                    rest = &tail[1 + close + 1..];
                    continue;
                }
            }
            rest = after;
        }
    }
    answers.iter().all(|(name, want)| {
        found.get(name).is_some_and(|got| {
            got == want
                || matches!((got.trim().parse::<f64>(), want.trim().parse::<f64>()),
                    (Ok(a), Ok(b)) if (a - b).abs() < 1e-6)
        })
    })
}

/// Per-question outcome.
#[derive(Debug, Clone)]
pub struct Scored {
    pub id: u64,
    pub level: String,
    pub ok: bool,
    pub calls: u32,
    pub tokens: u32,
    pub seconds: f64,
    pub why: String,
    /// The last code and what it answered (bounded), to see where misses come from.
    pub code: String,
    pub answer: String,
}

/// The summary table: strict ABQ overall and per level, means, ids missed.
pub fn summary(rows: &[Scored], model: &str) -> String {
    let pct = |ok: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            100.0 * ok as f64 / n as f64
        }
    };
    let mut out = format!("%eval with {model}: {} questions\n\n", rows.len());
    out.push_str("level   questions  right  strict ABQ\n");
    let mut levels: Vec<&str> = rows.iter().map(|r| r.level.as_str()).collect();
    levels.sort();
    levels.dedup();
    for level in levels {
        let of: Vec<&Scored> = rows.iter().filter(|r| r.level == level).collect();
        let ok = of.iter().filter(|r| r.ok).count();
        out.push_str(&format!(
            "{level:<8}{:>9}{:>7}{:>11.1}%\n",
            of.len(),
            ok,
            pct(ok, of.len())
        ));
    }
    let ok = rows.iter().filter(|r| r.ok).count();
    out.push_str(&format!(
        "{:<8}{:>9}{:>7}{:>11.1}%\n\n",
        "all",
        rows.len(),
        ok,
        pct(ok, rows.len())
    ));
    let n = rows.len().max(1) as f64;
    out.push_str(&format!(
        "mean per question: {:.2} model calls, {:.0} tokens, {:.1} s\n",
        rows.iter().map(|r| r.calls as f64).sum::<f64>() / n,
        rows.iter().map(|r| r.tokens as f64).sum::<f64>() / n,
        rows.iter().map(|r| r.seconds).sum::<f64>() / n,
    ));
    let missed: Vec<String> = rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.id.to_string())
        .collect();
    out.push_str(&format!(
        "missed ids: {}\n",
        if missed.is_empty() {
            "none".into()
        } else {
            missed.join(",")
        }
    ));
    out
}
