//! Files other than CSV that `%load` takes: Parquet, Excel and JSON / newline-delimited JSON.
//!
//! The kernel checks the size, fingerprints the bytes and stages a copy in its private tmpfs
//! directory (the only place a worker may read besides the notebook folder); the user worker
//! then reads it with pandas' own reader (`read_parquet`, `read_excel`, `read_json`), so the
//! dtypes are exactly what pandas gives, and an untrusted file is parsed inside the sandbox.
//! Respawned and question workers read the same staged copy.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Excel,
    Json,
    JsonLines,
}

impl Format {
    /// The format by file extension; None: a CSV/TSV/text file for csv-ingest.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "parquet" | "pq" => Self::Parquet,
            "xlsx" | "xlsm" | "xls" => Self::Excel,
            "json" => Self::Json,
            "jsonl" | "ndjson" => Self::JsonLines,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Parquet => "Parquet",
            Self::Excel => "Excel",
            Self::Json => "JSON",
            Self::JsonLines => "newline-delimited JSON",
        }
    }
}

/// A staged file: where the worker reads it, and the content fingerprint.
pub struct Staged {
    pub path: PathBuf,
    pub fingerprint: String,
}

/// Check the size against MAX_UPLOAD_SIZE, hash the bytes and copy them to `dest`.
pub fn stage(source: &Path, dest: &Path, max_bytes: u64, format: Format) -> Result<Staged, String> {
    let meta = std::fs::metadata(source).map_err(|e| {
        format!(
            "Cannot read {}: {e}. Check the path (relative paths start at the notebook's folder).",
            source.display()
        )
    })?;
    if !meta.is_file() {
        return Err(format!("{} is not a file.", source.display()));
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "{} is {} bytes, over MAX_UPLOAD_SIZE={max_bytes}. Raise MAX_UPLOAD_SIZE (environment or .env) and restart the kernel.",
            source.display(),
            meta.len()
        ));
    }
    let bytes =
        std::fs::read(source).map_err(|e| format!("Cannot read {}: {e}", source.display()))?;
    if bytes.is_empty() {
        return Err(format!(
            "{} is empty: there is no {} data to load.",
            source.display(),
            format.name()
        ));
    }
    let hash = xxhash_rust::xxh3::xxh3_128(&bytes);
    std::fs::write(dest, &bytes).map_err(|e| format!("Cannot stage {}: {e}", source.display()))?;
    Ok(Staged {
        path: dest.to_path_buf(),
        fingerprint: super::session::content_fingerprint(hash, bytes.len() as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a.PARQUET")), Some(Format::Parquet));
        assert_eq!(Format::of(Path::new("b.xls")), Some(Format::Excel));
        assert_eq!(Format::of(Path::new("c.ndjson")), Some(Format::JsonLines));
        assert_eq!(Format::of(Path::new("d.csv")), None);
        assert_eq!(Format::of(Path::new("noext")), None);
    }

    #[test]
    fn staging_checks_size_and_fingerprints_content() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.json");
        std::fs::write(&src, "[{\"a\": 1}]").unwrap();
        let err = stage(&src, &dir.path().join("x"), 3, Format::Json)
            .err()
            .unwrap();
        assert!(err.contains("MAX_UPLOAD_SIZE=3"));
        let a = stage(&src, &dir.path().join("a"), 1 << 20, Format::Json).unwrap();
        std::fs::write(&src, "[{\"a\": 2}]").unwrap();
        let b = stage(&src, &dir.path().join("b"), 1 << 20, Format::Json).unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
        assert!(stage(
            &dir.path().join("missing.json"),
            &dir.path().join("c"),
            1 << 20,
            Format::Json
        )
        .is_err());
    }
}
