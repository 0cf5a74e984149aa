//! Input history for `history_request`, kept in a JSON-lines file so it survives restarts.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub session: u32,
    pub line: u32,
    pub input: String,
}

/// All past inputs plus the current session number (one more than the last stored).
pub struct InputHistory {
    path: Option<PathBuf>,
    entries: Vec<Entry>,
    pub session: u32,
}

impl InputHistory {
    /// Load from `path` (missing or corrupt lines are skipped: history is best effort).
    pub fn open(path: Option<PathBuf>) -> Self {
        let entries: Vec<Entry> = path
            .as_ref()
            .and_then(|p| std::fs::File::open(p).ok())
            .map(|f| {
                std::io::BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(|l| serde_json::from_str(&l).ok())
                    .collect()
            })
            .unwrap_or_default();
        let session = entries.iter().map(|e| e.session).max().unwrap_or(0) + 1;
        Self {
            path,
            entries,
            session,
        }
    }

    pub fn record(&mut self, line: u32, input: &str) {
        let entry = Entry {
            session: self.session,
            line,
            input: input.to_string(),
        };
        if let Some(path) = &self.path {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{}", serde_json::to_string(&entry)?));
            if let Err(e) = appended {
                tracing::warn!("could not append to input history {}: {e}", path.display());
            }
        }
        self.entries.push(entry);
    }

    /// The last `n` entries (all sessions), oldest first.
    pub fn tail(&self, n: usize) -> Vec<&Entry> {
        let start = self.entries.len().saturating_sub(n);
        self.entries[start..].iter().collect()
    }

    /// Lines `start..stop` of `session` (0 = current, negative = relative to current).
    pub fn range(&self, session: i64, start: u32, stop: u32) -> Vec<&Entry> {
        let session = if session <= 0 {
            (self.session as i64 + session).max(0) as u32
        } else {
            session as u32
        };
        self.entries
            .iter()
            .filter(|e| e.session == session && e.line >= start && (stop == 0 || e.line < stop))
            .collect()
    }

    /// Entries matching a glob pattern (`*` and `?`), newest `n` (0 = all), optionally unique.
    pub fn search(&self, pattern: &str, n: usize, unique: bool) -> Vec<&Entry> {
        let mut hits: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| glob_match(pattern, &e.input))
            .collect();
        if unique {
            let mut seen = std::collections::HashSet::new();
            let mut kept: Vec<&Entry> = hits
                .into_iter()
                .rev()
                .filter(|e| seen.insert(e.input.clone()))
                .collect();
            kept.reverse();
            hits = kept;
        }
        if n > 0 && hits.len() > n {
            hits.drain(..hits.len() - n);
        }
        hits
    }
}

/// Shell-style glob over the whole string (`*` any run, `?` one char).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("%%python*", "%%python\nprint(1)"));
        assert!(glob_match("*mean*", "what is the mean?"));
        assert!(!glob_match("%%python*", "what"));
        assert!(glob_match("a?c", "abc"));
    }

    #[test]
    fn survives_reopen_with_new_session() {
        let dir = std::env::temp_dir().join(format!("hist-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.jsonl");
        let mut h = InputHistory::open(Some(path.clone()));
        assert_eq!(h.session, 1);
        h.record(1, "a");
        h.record(2, "b");
        let h2 = InputHistory::open(Some(path));
        assert_eq!(h2.session, 2);
        assert_eq!(h2.tail(10).len(), 2);
        assert_eq!(h2.range(-1, 1, 0).len(), 2);
        assert_eq!(h2.search("b", 0, false)[0].line, 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
