//! File names and dataset names: plain data paths, file stems, bindable names.

/// File extensions stripped from a file name before matching dataset names.
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "txt", "dat", "data", "xlsx", "xls", "xlsm", "json", "jsonl", "parquet", "pq",
    "feather", "gz", "bz2", "zip", "xz", "zst",
];

/// A path a model writes when it means "the data file": a data-file name, no hidden entry
/// and no `..` on the way. Anything else (`sub/.env`, `/etc/passwd`, `~/.ssh/id_rsa`) is not a
/// habit to repair but a file read, and stays for the validator to refuse.
pub(super) fn is_plain_path(path: &str) -> bool {
    let trimmed = path.trim();
    let parts: Vec<&str> = trimmed
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    let data_file = parts.last().is_some_and(|name| {
        name.rsplit_once('.')
            .is_some_and(|(_, ext)| DATA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
    });
    !trimmed.is_empty()
        && !trimmed.contains("://")
        && !trimmed.contains('\n')
        && !trimmed.starts_with(['{', '[', '<'])
        && trimmed.len() < 1000
        && data_file
        && !parts.iter().any(|p| p.starts_with('.') && *p != ".")
}

/// Names the worker binds itself, and keywords, are never dataset names.
const RESERVED: &[&str] = &[
    "df", "result", "pd", "np", "plt", "datetime", "display", "SCRATCH", "False", "None", "True",
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A dataset name the question namespace binds as a variable.
pub(super) fn is_bindable(name: &str) -> bool {
    is_identifier(name) && !name.starts_with('_') && !RESERVED.contains(&name)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Lower case, every run of non-alphanumerics one `_`, trimmed of `_`.
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// `data/YAHOO_BTC_USD_D.csv.gz` -> `yahoo_btc_usd_d`.
pub(super) fn file_stem(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut stem = name;
    while let Some((rest, ext)) = stem.rsplit_once('.') {
        if rest.is_empty() || !DATA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            break;
        }
        stem = rest;
    }
    normalize(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(file_stem("data/YAHOO_BTC_USD_D.csv"), "yahoo_btc_usd_d");
        assert_eq!(file_stem("Sales 2024.csv.gz"), "sales_2024");
        assert_eq!(file_stem("a.b.csv"), "a_b");
        assert_eq!(normalize("Sales-2024"), "sales_2024");
    }
}
