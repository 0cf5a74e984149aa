//! `%load PATH [as NAME]`: parse the file to Arrow off the async loop (csv-ingest), hand it
//! to the user worker (which profiles it), show the profile, and resume the notebook's
//! session for that data. Data too large for pandas (or `--engine duckdb`, or a glob)
//! becomes a DuckDB table over the files where they lie (duck_load).

use super::duck_load;
use super::file_formats::{self, Format};
use super::magics;
use super::services::Services;
use super::session;
use super::state::{Dataset, State};
use super::worker_client::Request;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, Output, OutputSink};
use history_store::HistoryStore;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The way out of MAX_UPLOAD_SIZE for CSV and Parquet, said where the limit is hit.
const IN_PLACE_HINT: &str =
    "Or query the file where it lies, without loading it: %load PATH --engine duckdb";

/// How long memory freed after a `%load` stays with the kernel for the next load.
const MEMORY_RELEASE_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// Who reads the data: `--engine` or, by default, pandas unless the data is too large.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Choice {
    Auto,
    Pandas,
    DuckDb,
}

pub async fn load(
    svc: &Services,
    state: &mut State,
    path: &str,
    name: Option<String>,
    sheet: Option<String>,
    engine: Option<String>,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let fail = |e: ErrorInfo| {
        sink.error(e.clone());
        ExecuteOutcome::error(e)
    };
    let usage = |why: &str| fail(ErrorInfo::new("UsageError", why));
    if path.is_empty() {
        return usage("Usage: %load PATH [as NAME], e.g. %load sales.csv as sales");
    }
    let choice = match engine.as_deref() {
        None => Choice::Auto,
        Some("pandas") => Choice::Pandas,
        Some("duckdb") => Choice::DuckDb,
        Some(other) => {
            return usage(&format!(
                "--engine takes duckdb (query the files where they lie, for data too large for pandas) or pandas, not '{other}'."
            ))
        }
    };
    let expanded = if let Some(rest) = path.strip_prefix("~/") {
        std::env::var("HOME")
            .map(|h| PathBuf::from(h).join(rest))
            .unwrap_or_else(|_| PathBuf::from(path))
    } else {
        PathBuf::from(path)
    };
    let name = name.unwrap_or_else(|| magics::dataset_name(path));
    state.loads += 1;
    let started = std::time::Instant::now();
    let format = Format::of(&expanded);
    if sheet.is_some() && (format != Some(Format::Excel) || choice == Choice::DuckDb) {
        return usage(
            "--sheet names a worksheet of an Excel file (.xlsx, .xlsm, .xls); this file is not one.",
        );
    }
    if duck_load::is_glob(path) || choice == Choice::DuckDb {
        if choice == Choice::Pandas {
            return usage(
                "A file pattern loads as one DuckDB table: drop --engine pandas, or name one file.",
            );
        }
        return in_place(svc, state, &expanded, name, sink).await;
    }
    let staged = match format {
        Some(format) => stage_file(svc, state, &expanded, &name, format).await,
        None => parse_csv(svc, state, &expanded, &name).await,
    };
    let (ipc_path, fingerprint, null_counts, encoding, table) = match staged {
        Ok(s) => s,
        Err(Refused::TooManyCells(why)) if choice == Choice::Auto => {
            return too_large_for_pandas(svc, state, &expanded, name, &why, sink).await
        }
        Err(Refused::TooManyCells(why)) => return fail(ErrorInfo::new("LoadError", why)),
        Err(Refused::Error(e)) => return fail(e),
    };
    let request = Request::LoadDataset {
        name: name.clone(),
        ipc_path: ipc_path.clone(),
        make_current: true,
        source: expanded.display().to_string(),
        null_counts,
        sheet: sheet.clone(),
    };
    let called = match svc.worker(state).await {
        Ok(w) => w.call(request, Some(sink), None).await,
        Err(e) => return fail(e),
    };
    // The worker maps the Arrow file; the parsed table is only memory now. Free it once
    // the worker is done (not competing with it for a core), off the cell's critical
    // path; alloc.rs decides when the OS gets the memory back.
    tokio::task::spawn_blocking(move || drop(table));
    let profile = match called {
        Ok(p) => p,
        Err(err) => {
            let _ = std::fs::remove_file(&ipc_path);
            let e = svc.worker_failure(state, err).await;
            return fail(e);
        }
    };
    // pandas could not read the file, or it is over a limit: the worker says why.
    if let Some(why) = profile.get("load_error").and_then(Value::as_str) {
        let _ = std::fs::remove_file(&ipc_path);
        if profile["too_large"] == true && choice == Choice::Auto && format == Some(Format::Parquet)
        {
            let why = why.to_string();
            return too_large_for_pandas(svc, state, &expanded, name, &why, sink).await;
        }
        return fail(ErrorInfo::new("LoadError", why));
    }
    tracing::debug!(
        "%load: worker has the frame and profile at {:?}",
        started.elapsed()
    );
    let mut text = profile["text"].as_str().unwrap_or("").to_string();
    if encoding == "latin-1" {
        text.push_str("\n(The file is not UTF-8; it was read as Latin-1.)");
    }
    let dataset = Dataset {
        name,
        source: expanded,
        ipc_path,
        sheet,
        profile,
        fingerprint,
        engine: None,
        spark: None,
    };
    finish(svc, state, dataset, text, sink).await;
    tracing::debug!("%load: session resumed at {:?}", started.elapsed());
    ExecuteOutcome::ok()
}

/// Over MAX_DATAFRAME_SIZE for pandas: say so in one line, then load it in place.
async fn too_large_for_pandas(
    svc: &Services,
    state: &mut State,
    source: &Path,
    name: String,
    why: &str,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let why = why.trim_end_matches('.');
    sink.stream(
        "stdout",
        format!("{why}: loading it as a DuckDB table that questions query with SQL where the file lies (--engine pandas refuses instead).\n"),
    );
    in_place(svc, state, source, name, sink).await
}

/// A DuckDB table over the files where they lie (duck_load).
async fn in_place(
    svc: &Services,
    state: &mut State,
    source: &Path,
    name: String,
    sink: &OutputSink,
) -> ExecuteOutcome {
    match duck_load::load(svc, state, source, &name, sink).await {
        Ok(dataset) => {
            let files = dataset.engine_files();
            let size = dataset.engine.as_ref().map_or(0, |e| e.bytes);
            let what = match files.len() {
                1 => "its file".to_string(),
                n => format!("its {n} files"),
            };
            let mut text = format!(
                "{}\n\nEngine: DuckDB reads {what} ({}) in place; questions query {} with SQL.",
                dataset.profile["text"].as_str().unwrap_or(""),
                duck_load::human_bytes(size),
                dataset.name
            );
            // Scanning GBs takes seconds (about 1 GB/s on 2 cores, page cache warm): say so
            // before a question meets the design's short limit.
            let limit = svc.settings.max_execution_timeout.as_secs_f64();
            if size as f64 / 1e9 > limit / 2.0 {
                text.push_str(&format!(
                    "\nQuestions stop after MAX_EXECUTION_TIMEOUT={limit} s; a query over {} may need longer (set it in the environment or .env and restart the kernel).",
                    duck_load::human_bytes(size)
                ));
            }
            finish(svc, state, dataset, text, sink).await;
            ExecuteOutcome::ok()
        }
        Err(e) => {
            sink.error(e.clone());
            ExecuteOutcome::error(e)
        }
    }
}

/// Show the profile, retire the name's old files, pick up its notes, and make the dataset
/// current: the session resumes for the new data and a question worker warms up.
pub(super) async fn finish(
    svc: &Services,
    state: &mut State,
    dataset: Dataset,
    text: String,
    sink: &OutputSink,
) {
    sink.send(Output::DisplayData {
        data: json!({"text/html": dataset.profile["html"], "text/plain": text}),
        metadata: json!({"llm_analytics": {"role": "profile", "dataset": dataset.name}}),
        display_id: None,
    });
    // A dataset loaded again under its name: its old Arrow file is no longer needed
    // (the worker's map of it stays valid until the old frame is gone). Unlinking a
    // big tmpfs file frees its pages there and then, so do it off the critical path.
    let stale: Vec<PathBuf> = state
        .datasets
        .iter()
        .filter(|d| d.name == dataset.name && d.engine.is_none())
        .map(|d| d.ipc_path.clone())
        .collect();
    if !stale.is_empty() {
        tokio::task::spawn_blocking(move || {
            for path in stale {
                let _ = std::fs::remove_file(path);
            }
        });
    }
    pick_up_notes(svc, state, &dataset.source, sink);
    state.datasets.retain(|d| d.name != dataset.name);
    state.datasets.push(dataset);
    state.data_version += 1;
    resume_session(svc, state, sink).await;
    // Warm a question worker now, while the user reads the profile and types.
    svc.prepare_question_worker(state).await;
}

/// Why a file was not staged; too many cells for pandas is the one a DuckDB table answers.
enum Refused {
    Error(ErrorInfo),
    TooManyCells(String),
}

/// What a staged dataset is: the file the worker reads, its fingerprint, the missing counts
/// the parser found (CSV), the text encoding (CSV), and the parsed table to free later.
type Staged = (
    PathBuf,
    String,
    Value,
    &'static str,
    Option<csv_ingest::LoadedTable>,
);

/// A CSV: parsed to an Arrow file in the kernel, off the async loop (csv-ingest).
async fn parse_csv(
    svc: &Services,
    state: &State,
    source: &Path,
    name: &str,
) -> Result<Staged, Refused> {
    let ipc_path = state
        .scratch
        .path()
        .join(format!("{}-{}.arrow", state.loads, name));
    let limits = csv_ingest::Limits {
        max_upload_size: svc.settings.max_upload_size,
        max_cells: svc.settings.max_dataframe_size,
    };
    let (src, out) = (source.to_path_buf(), ipc_path.clone());
    // Parsing is CPU-bound (rayon threads); keep it off the async loop.
    let started = std::time::Instant::now();
    let parsed = tokio::task::spawn_blocking(move || {
        let loaded = csv_ingest::load_to_arrow(&src, &out, &limits);
        crate::alloc::release_after(MEMORY_RELEASE_DELAY);
        let (table, _) = loaded?;
        tracing::debug!(
            "%load: parsed, Arrow file written at {:?}",
            started.elapsed()
        );
        Ok::<_, csv_ingest::LoadError>(table)
    })
    .await;
    let table = match parsed {
        Ok(Ok(table)) => table,
        Ok(Err(e @ csv_ingest::LoadError::TooManyCells { .. })) => {
            return Err(Refused::TooManyCells(e.to_string()))
        }
        Ok(Err(e @ csv_ingest::LoadError::TooLarge { .. })) => {
            return Err(Refused::Error(ErrorInfo::new(
                "LoadError",
                format!("{e} {IN_PLACE_HINT}"),
            )))
        }
        Ok(Err(e)) => return Err(Refused::Error(ErrorInfo::new("LoadError", e.to_string()))),
        Err(e) => {
            return Err(Refused::Error(ErrorInfo::new(
                "LoadError",
                format!("Loading failed: {e}"),
            )))
        }
    };
    let fingerprint = session::content_fingerprint(table.content_hash, table.source_bytes);
    Ok((
        ipc_path,
        fingerprint,
        json!(table.null_counts()),
        table.encoding,
        Some(table),
    ))
}

/// Parquet, Excel, JSON: size-checked, fingerprinted and staged for the worker's pandas reader.
async fn stage_file(
    svc: &Services,
    state: &State,
    source: &Path,
    name: &str,
    format: Format,
) -> Result<Staged, Refused> {
    let ext = source
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let dest = state
        .scratch
        .path()
        .join(format!("{}-{}.{ext}", state.loads, name));
    let (src, max) = (source.to_path_buf(), svc.settings.max_upload_size);
    let refused = |why: String| Refused::Error(ErrorInfo::new("LoadError", why));
    let staged = tokio::task::spawn_blocking(move || file_formats::stage(&src, &dest, max, format))
        .await
        .map_err(|e| refused(format!("Loading failed: {e}")))?
        .map_err(|e| match format {
            Format::Parquet if e.contains("MAX_UPLOAD_SIZE") => {
                refused(format!("{e} {IN_PLACE_HINT}"))
            }
            _ => refused(e),
        })?;
    Ok((staged.path, staged.fingerprint, Value::Null, "utf-8", None))
}

/// `sales.context.md` beside `sales.csv`: the analyst's notes about this data, read into
/// every following prompt like a `%%context` cell.
fn pick_up_notes(svc: &Services, state: &mut State, data: &std::path::Path, sink: &OutputSink) {
    let Some(path) = super::notes::file_beside(data) else {
        return;
    };
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            sink.stream(
                "stderr",
                format!("Could not read the notes in {file}: {e}\n"),
            );
            return;
        }
    };
    // A file edited since: its old text goes, the new one comes in.
    state.notes.retain(|n| n.source != file);
    let (added, cut) = super::notes::add(&mut state.notes, &file, &text);
    if added {
        let cut = if cut {
            format!(
                " (cut to its first {} characters)",
                super::notes::MAX_NOTE_CHARS
            )
        } else {
            String::new()
        };
        sink.stream(
            "stdout",
            format!("Notes from {file}{cut} are included in every following prompt (%context lists them).\n"),
        );
    }
    let _ = super::notes::save(&svc.notes_path(), &state.notes);
}

/// The data changed: register the session and pick up its earlier exchanges, so
/// follow-ups keep their context across kernel restarts.
async fn resume_session(svc: &Services, state: &mut State, sink: &OutputSink) {
    let info = session::session_info(&svc.notebook, &state.datasets);
    let store = svc.store().await;
    if let Err(e) = store.open_session(&info).await {
        tracing::warn!("history: {e}");
    }
    if state.session_id.as_deref() != Some(info.session_id.as_str()) {
        let recent = store
            .recent(&info.session_id, svc.settings.max_conversation_history)
            .await
            .unwrap_or_default();
        state.exchanges = session::latest_per_question(recent);
        state.session_id = Some(info.session_id);
    }
    svc.show_store_warnings(&store, sink);
}
