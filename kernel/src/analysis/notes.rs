//! The analyst's own context: free-text notes about the data ("revenue is net of refunds",
//! "fiscal year starts in April") from `%%context` cells and `NAME.context.md` files next
//! to a loaded file. Kept per notebook (a file in the data directory, so a restarted kernel
//! still has them) and given to every following prompt within a fixed budget, newest first
//! when they do not all fit.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Characters of notes a prompt carries (~500 tokens): the newest notes that fit.
pub const PROMPT_BUDGET: usize = 2_000;
/// Longest note kept from one cell or file; the rest is cut with a notice.
pub const MAX_NOTE_CHARS: usize = 8_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Where it came from: "%%context" or the file's name.
    pub source: String,
    pub text: String,
}

/// Adds a note unless the same text from the same source is already there (a cell run
/// twice). Returns whether it was added and whether it was cut to MAX_NOTE_CHARS.
pub fn add(notes: &mut Vec<Note>, source: &str, text: &str) -> (bool, bool) {
    let text = text.trim();
    let cut = text.chars().count() > MAX_NOTE_CHARS;
    let text: String = text.chars().take(MAX_NOTE_CHARS).collect();
    if text.is_empty() || notes.iter().any(|n| n.source == source && n.text == text) {
        return (false, cut);
    }
    notes.push(Note {
        source: source.to_string(),
        text,
    });
    (true, cut)
}

/// The prompt block: the newest notes that fit PROMPT_BUDGET, in the order written.
pub fn prompt_text(notes: &[Note]) -> String {
    if notes.is_empty() {
        return String::new();
    }
    let mut kept: Vec<&Note> = vec![];
    let mut used = 0;
    for n in notes.iter().rev() {
        let len = n.text.chars().count() + 3;
        if used + len > PROMPT_BUDGET {
            break;
        }
        used += len;
        kept.push(n);
    }
    kept.reverse();
    let mut s =
        String::from("The analyst's notes about this data (definitions and rules to follow):\n");
    for n in &kept {
        s.push_str(&format!("- {}\n", super::quote::data_text(&n.text)));
    }
    let left = notes.len() - kept.len();
    if left > 0 {
        s.push_str(&format!("({left} older notes omitted for length.)\n"));
    }
    s
}

/// The file that keeps a notebook's notes across kernel restarts.
pub fn store_path(data_dir: &Path, notebook: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(notebook.as_bytes()));
    data_dir
        .join("context")
        .join(format!("{}.json", &digest[..24]))
}

pub fn load(path: &Path) -> Vec<Note> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes the notes; a failure is returned for the cell to report (the notes still apply
/// to this session).
pub fn save(path: &Path, notes: &[Note]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(notes)?)?;
    std::fs::rename(tmp, path)
}

/// `sales.csv` → `sales.context.md` beside it, if there is one.
pub fn file_beside(data: &Path) -> Option<PathBuf> {
    let stem = data.file_stem()?.to_str()?;
    let path = data.with_file_name(format!("{stem}.context.md"));
    path.is_file().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_run_twice_adds_one_note() {
        let mut notes = vec![];
        assert_eq!(
            add(&mut notes, "%%context", "revenue is net"),
            (true, false)
        );
        assert_eq!(
            add(&mut notes, "%%context", " revenue is net \n"),
            (false, false)
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn the_prompt_keeps_the_newest_notes_within_budget() {
        let mut notes = vec![];
        for i in 0..10 {
            add(
                &mut notes,
                "%%context",
                &format!("note {i} {}", "x".repeat(400)),
            );
        }
        let text = prompt_text(&notes);
        assert!(text.chars().count() <= PROMPT_BUDGET + 200);
        assert!(text.contains("note 9") && !text.contains("note 0 "));
        assert!(text.contains("older notes omitted"));
    }

    #[test]
    fn notes_survive_a_restart_per_notebook() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_path(dir.path(), "/a/report.ipynb");
        let mut notes = vec![];
        add(
            &mut notes,
            "sales.context.md",
            "fiscal year starts in April",
        );
        save(&path, &notes).unwrap();
        assert_eq!(load(&path), notes);
        assert!(load(&store_path(dir.path(), "/b/other.ipynb")).is_empty());
    }

    #[test]
    fn finds_the_file_beside_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("sales.csv");
        std::fs::write(&csv, "a\n1\n").unwrap();
        assert!(file_beside(&csv).is_none());
        std::fs::write(dir.path().join("sales.context.md"), "x").unwrap();
        assert_eq!(file_beside(&csv), Some(dir.path().join("sales.context.md")));
    }
}
