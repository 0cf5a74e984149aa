//! `%load` of data too large for pandas: CSV or Parquet files (one, or a glob) that DuckDB
//! reads where they lie. Nothing is copied or parsed in the kernel: a sandboxed question-role
//! worker that may read exactly these files computes the profile with DuckDB, and every later
//! worker registers the same files as a table that `sql("SELECT ...")` queries.

use super::services::Services;
use super::state::{Dataset, EngineTable, State};
use super::worker_client::{CallError, Request};
use crate::protocol::backend::{ErrorInfo, OutputSink};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes hashed at each end of every file for its fingerprint (a full hash of many GB
/// would cost minutes at every load).
const FINGERPRINT_EDGE: u64 = 1 << 20;

/// What `%load ... --engine duckdb` reads: the files, their format, and the fingerprint.
#[derive(Debug)]
pub struct Files {
    pub table: EngineTable,
    pub fingerprint: String,
}

/// Load `source` (a file or a glob) as table `name`: profile it in a worker that may read
/// exactly these files, and register it in the user worker too when that one can read
/// them (the notebook folder), so `%%python` cells can call `sql()` as well.
pub async fn load(
    svc: &Services,
    state: &mut State,
    source: &Path,
    name: &str,
    sink: &OutputSink,
) -> Result<Dataset, ErrorInfo> {
    let load_error = |why: String| ErrorInfo::new("LoadError", why);
    let (pattern, name_owned) = (source.to_path_buf(), name.to_string());
    let mut files = tokio::task::spawn_blocking(move || resolve(&pattern))
        .await
        .map_err(|e| load_error(format!("Loading failed: {e}")))?
        .map_err(load_error)?;
    let table = &files.table;
    let Some(mut worker) = svc.start_question_worker_reading(&[], &table.paths).await else {
        return Err(ErrorInfo::new(
            "WorkerStartError",
            "Could not start Python to read the files. Run ./install.sh to repair the Python environment.",
        ));
    };
    let request = Request::LoadEngineTable {
        name: name_owned.clone(),
        paths: table.paths.clone(),
        fmt: table.fmt.clone(),
        make_current: true,
        source: source.display().to_string(),
    };
    let called = worker.call(request, Some(sink), None).await;
    worker.kill().await;
    let mut profile = match called {
        Ok(p) => p,
        Err(e) => return Err(svc.worker_failure(state, e).await),
    };
    if let Some(why) = profile.get("load_error").and_then(Value::as_str) {
        return Err(load_error(why.to_string()));
    }
    files.table.csv_types = profile
        .as_object_mut()
        .and_then(|p| p.remove("csv_types"))
        .unwrap_or(Value::Null);
    register_in_user_worker(svc, state, &name_owned, &files.table, sink).await;
    Ok(Dataset {
        name: name_owned,
        source: source.to_path_buf(),
        ipc_path: PathBuf::new(),
        sheet: None,
        profile,
        fingerprint: files.fingerprint,
        engine: Some(files.table),
        spark: None,
    })
}

/// The user worker's sandbox was fixed when it started: it reads the table only if the
/// files are in the notebook folder (or a read path). If not, `%%python` is told why (a
/// user worker started later, after a crash, gets the files too).
async fn register_in_user_worker(
    svc: &Services,
    state: &mut State,
    name: &str,
    table: &EngineTable,
    sink: &OutputSink,
) {
    let request = Request::RestoreEngineTable {
        name: name.to_string(),
        paths: table.paths.clone(),
        fmt: table.fmt.clone(),
        make_current: true,
        csv_types: table.csv_types.clone(),
    };
    let registered = match svc.worker(state).await {
        Ok(w) => w.call(request, None, None).await,
        Err(e) => Err(CallError::Failed(e.evalue)),
    };
    let Err(e) = registered else { return };
    tracing::info!("%load: the user worker did not register {name}: {e:?}");
    let traceback = match &e {
        CallError::Failed(tb) => tb.clone(),
        other => format!("{other:?}"),
    };
    let why = if traceback.contains("Permission denied") {
        "its files are not readable to them (outside the notebook's folder, or made after the kernel started). To use sql() in %%python, keep the files in the notebook's folder (or list them in LLM_ANALYTICS_WORKER_READ_PATHS) and restart the kernel.".to_string()
    } else {
        // The exception line ends a traceback; the worker may be short of memory after a
        // failed pandas load, for one.
        let last = traceback.lines().rev().find(|l| !l.trim().is_empty());
        format!(
            "DuckDB could not start in their process ({}). Restart the kernel to use sql() in %%python.",
            last.unwrap_or("no reason given").trim()
        )
    };
    sink.stream(
        "stderr",
        format!("Questions can query {name}; %%python cells cannot: {why}\n"),
    );
}

/// Whether `path` is a glob pattern rather than one file.
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The files `pattern` names (sorted), checked: all exist, all CSV or all Parquet, and
/// none has a `:` (the sandbox passes file lists colon-separated).
pub fn resolve(pattern: &Path) -> Result<Files, String> {
    let text = pattern.to_string_lossy();
    let mut paths: Vec<PathBuf> = if is_glob(&text) {
        let found = glob::glob(&text).map_err(|e| format!("Bad file pattern {text}: {e}"))?;
        found
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect()
    } else {
        vec![pattern.to_path_buf()]
    };
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "No file matches {text}. Check the pattern (relative paths start at the notebook's folder)."
        ));
    }
    let mut fmt = None;
    let mut total = 0u64;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for path in paths.iter_mut() {
        let meta = std::fs::metadata(&*path).map_err(|e| {
            format!(
                "Cannot read {}: {e}. Check the path (relative paths start at the notebook's folder).",
                path.display()
            )
        })?;
        if !meta.is_file() {
            return Err(format!("{} is not a file.", path.display()));
        }
        *path = path
            .canonicalize()
            .map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
        if path.to_string_lossy().contains(':') {
            return Err(format!(
                "{}: DuckDB tables cannot have a ':' in a file's path; rename the file or folder.",
                path.display()
            ));
        }
        let this = format_of(path)?;
        if fmt.is_some_and(|f| f != this) {
            return Err(format!(
                "{text} matches both CSV and Parquet files; one table reads one format. Narrow the pattern."
            ));
        }
        fmt = Some(this);
        total += meta.len();
        hash_edges(&mut hasher, path, meta.len())?;
    }
    Ok(Files {
        table: EngineTable {
            paths,
            fmt: fmt.expect("at least one file").to_string(),
            csv_types: serde_json::Value::Null,
            bytes: total,
        },
        fingerprint: super::session::content_fingerprint(hasher.digest128(), total),
    })
}

/// "csv" or "parquet", by extension: the two formats DuckDB reads here.
fn format_of(path: &Path) -> Result<&'static str, String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "parquet" | "pq" => Ok("parquet"),
        "csv" | "tsv" | "txt" => Ok("csv"),
        _ => Err(format!(
            "{}: DuckDB reads CSV (.csv, .tsv, .txt) and Parquet (.parquet) files; load other formats without --engine duckdb.",
            path.display()
        )),
    }
}

/// The file's path, size and first and last MB into the fingerprint: a changed file almost
/// always changes one of them, and replay keys stay cheap for files of many GB.
fn hash_edges(hasher: &mut xxhash_rust::xxh3::Xxh3, path: &Path, len: u64) -> Result<(), String> {
    let read_err = |e: std::io::Error| format!("Cannot read {}: {e}", path.display());
    hasher.update(path.as_os_str().as_encoded_bytes());
    hasher.update(&len.to_le_bytes());
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut buf = vec![0u8; FINGERPRINT_EDGE.min(len) as usize];
    file.read_exact(&mut buf).map_err(read_err)?;
    hasher.update(&buf);
    if len > FINGERPRINT_EDGE {
        let tail_start = (len - FINGERPRINT_EDGE).max(FINGERPRINT_EDGE);
        file.seek(SeekFrom::Start(tail_start)).map_err(read_err)?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(read_err)?;
        hasher.update(&tail);
    }
    Ok(())
}

/// A size for people: "2.4 GB", "310 MB", "12 KB".
pub fn human_bytes(n: u64) -> String {
    let (value, unit) = match n {
        n if n >= 1 << 30 => (n as f64 / (1u64 << 30) as f64, "GB"),
        n if n >= 1 << 20 => (n as f64 / (1u64 << 20) as f64, "MB"),
        n => (n as f64 / 1024.0, "KB"),
    };
    if value >= 10.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_resolve_sorted_one_format_and_fingerprint_content() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [("b.csv", "x\n2\n"), ("a.csv", "x\n1\n")] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let files = resolve(&dir.path().join("*.csv")).unwrap();
        let names: Vec<_> = files
            .table
            .paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
        assert_eq!(files.table.fmt, "csv");
        assert_eq!(files.table.bytes, 8);
        std::fs::write(dir.path().join("a.csv"), "x\n9\n").unwrap();
        let again = resolve(&dir.path().join("*.csv")).unwrap();
        assert_ne!(
            files.fingerprint, again.fingerprint,
            "same size, new content"
        );

        std::fs::write(dir.path().join("c.parquet"), "PAR1").unwrap();
        let mixed = resolve(&dir.path().join("*")).unwrap_err();
        assert!(mixed.contains("both CSV and Parquet"), "{mixed}");
        let none = resolve(&dir.path().join("*.pq")).unwrap_err();
        assert!(none.starts_with("No file matches"), "{none}");
        std::fs::write(dir.path().join("d.json"), "{}").unwrap();
        let other = resolve(&dir.path().join("d.json")).unwrap_err();
        assert!(other.contains("reads CSV"), "{other}");
    }

    #[test]
    fn large_files_hash_both_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut body = vec![b'1'; 3 * FINGERPRINT_EDGE as usize];
        std::fs::write(&path, &body).unwrap();
        let before = resolve(&path).unwrap().fingerprint;
        *body.last_mut().unwrap() = b'2';
        std::fs::write(&path, &body).unwrap();
        assert_ne!(resolve(&path).unwrap().fingerprint, before);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(2_500_000_000), "2.3 GB");
        assert_eq!(human_bytes(310 << 20), "310 MB");
        assert_eq!(human_bytes(12 << 10), "12 KB");
    }
}
