//! `%history`: what its arguments ask for, and how exchanges are shown (HTML table + text) or
//! exported (CSV). Every value read from the store is treated as hostile: HTML-escaped in the
//! table, stripped of control characters in text, and kept from starting a formula in CSV.

mod args;
mod export;
mod table;

pub use args::{parse_args, HistoryArgs};
pub use export::csv;
pub use table::{everywhere_table, notebook_table};

use history_store::FoundExchange;

/// Rows `%history --everywhere` shows; `--export` writes every match.
pub const SHOWN: usize = 200;

pub const USAGE: &str = "%history [--all] [--export]  or  %history --everywhere [--model NAME] \
[--since YYYY-MM-DD] [--errors] [--replayed] [--export FILE.csv]";

/// The notebook an exchange came from, as shown and exported.
pub fn notebook_label(f: &FoundExchange) -> String {
    match f.session_id.strip_prefix("recorded:") {
        // Recorded answers imported from `<notebook>.answers.json` (services.rs).
        Some(nb) if f.notebook.is_empty() => format!("{nb} (recorded answers)"),
        _ if f.notebook.is_empty() => "(unknown)".into(),
        _ => f.notebook.clone(),
    }
}

#[cfg(test)]
mod tests;
