//! The analyst-facing error type: every message says what is wrong and,
//! where there is one, what to do about it.

use std::path::PathBuf;

/// Why a CSV could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "Only CSV files are supported (.csv, .tsv, .txt); '{name}' is not one. Export it as CSV first."
    )]
    WrongExtension { name: String },

    #[error("File not found: {} (working directory: {})", .path.display(), .cwd.display())]
    NotFound { path: PathBuf, cwd: PathBuf },

    #[error(
        "File too large: {}; the maximum is {} (MAX_UPLOAD_SIZE).",
        megabytes(*.size),
        megabytes(*.limit)
    )]
    TooLarge { size: u64, limit: u64 },

    #[error("File is empty: {name}")]
    Empty { name: String },

    #[error("{name} looks like a binary file, not text (NUL byte at offset {offset})")]
    Binary { name: String, offset: usize },

    #[error("CSV file contains no columns")]
    NoColumns,

    #[error("CSV file contains no data: {name} has a header row but no data rows")]
    HeaderOnly { name: String },

    /// `line` is 1-based and counted like pandas counts it: every line break
    /// outside quotes, blank lines included.
    #[error(
        "Error parsing CSV: line {line} has {found} fields, but {} ({name})",
        expected_fields(*.expected, *.index_columns)
    )]
    Ragged {
        line: u64,
        found: usize,
        /// Fields a row may have: header fields plus `index_columns`.
        expected: usize,
        index_columns: usize,
        name: String,
    },

    #[error(
        "Dataset too large: {} cells exceeds limit of {} (MAX_DATAFRAME_SIZE)",
        thousands(*.cells),
        thousands(*.limit)
    )]
    TooManyCells { cells: u64, limit: u64 },

    #[error("Error parsing CSV: {0}")]
    Parse(String),

    #[error("Could not read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("Could not write the Arrow file {}: {message}", .path.display())]
    Write { path: PathBuf, message: String },
}

/// `150.0 MB`, with MB = 2^20 bytes so the 104_857_600-byte default reads "100.0 MB";
/// small sizes in KB or bytes so a small limit never reads "0.0 MB".
fn megabytes(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else if b >= 10.0 * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// `120000000` -> `120,000,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// With an implicit index the allowed width comes from the first data row,
/// so saying "the header has N" would be wrong.
fn expected_fields(expected: usize, index_columns: usize) -> String {
    if index_columns == 0 {
        format!("the header has {expected}")
    } else {
        format!(
            "the first data row has {expected} (header fields plus {index_columns} index column(s))"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes_and_counts() {
        assert_eq!(megabytes(104_857_600), "100.0 MB");
        assert_eq!(megabytes(157_286_400), "150.0 MB");
        assert_eq!(megabytes(5_900), "5900 bytes");
        assert_eq!(megabytes(20_480), "20.0 KB");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(120_000_000), "120,000,000");
    }
}
