//! Test harness: a real MongoDB-protocol server (SecantusDB) per test, plus fixtures.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use history_store::{session_id, DatasetInfo, ExchangeRecord, SessionInfo, Usage};
use serde_json::json;

/// Locates `secantusd-py`: $SECANTUSD, the kernel's venv, then PATH.
/// A missing server is a test failure, never a silent skip.
fn secantusd() -> PathBuf {
    if let Some(p) = std::env::var_os("SECANTUSD") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = Path::new(&home).join(".local/share/llm-analytics/venv/bin/secantusd-py");
        if venv.is_file() {
            return venv;
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("secantusd-py");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "secantusd-py not found (set SECANTUSD, or run \
         ~/.local/share/llm-analytics/venv/bin/pip install SecantusDB==0.7.0b3); \
         the MongoDB tests need a real MongoDB-protocol server"
    );
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().unwrap().port()
}

/// A port nothing listens on, to play a MongoDB server that is down.
pub fn closed_port_url() -> String {
    format!("mongodb://127.0.0.1:{}/", free_port())
}

/// A SecantusDB server on a free port and a temp storage dir, killed on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    storage: PathBuf,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = dir.path().join("data");
        let log = dir.path().join("secantusd.log");
        let mut s = Server {
            child: None,
            port: free_port(),
            storage,
            log,
            _dir: Some(dir),
        };
        s.spawn();
        s
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) {
        let exe = secantusd();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log file");
        let child = Command::new(&exe)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(&self.storage)
            .arg("--standalone")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "secantusd-py exited ({status}) before accepting connections:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "secantusd-py did not accept connections within 60 s:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server process (SIGKILL, by PID): an abrupt outage.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and storage path.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn raw_client(url: &str) -> mongodb::Client {
    mongodb::Client::with_uri_str(url)
        .await
        .expect("driver client")
}

pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

pub fn dataset(file: &str, fingerprint: &str) -> DatasetInfo {
    let mut dtypes = serde_json::Map::new();
    dtypes.insert("region".into(), json!("object"));
    dtypes.insert("revenue".into(), json!("float64"));
    dtypes.insert("units.sold".into(), json!("int64"));
    let mut nulls = serde_json::Map::new();
    nulls.insert("region".into(), json!(0));
    nulls.insert("revenue".into(), json!(2));
    nulls.insert("units.sold".into(), json!(0));
    DatasetInfo {
        name: file.trim_end_matches(".csv").into(),
        file_name: file.into(),
        fingerprint: fingerprint.into(),
        rows: 1200,
        columns: vec!["region".into(), "revenue".into(), "units.sold".into()],
        dtypes,
        sample: vec![
            json!({"region": "EU", "revenue": 10.5, "units.sold": 3}),
            json!({"region": "US", "revenue": null, "units.sold": 7}),
        ],
        null_counts: nulls,
        numeric_columns: vec!["revenue".into(), "units.sold".into()],
        categorical_columns: vec!["region".into()],
    }
}

pub fn session(notebook: &str, fingerprints: &[&str], created_secs: i64) -> SessionInfo {
    let fps: Vec<String> = fingerprints.iter().map(|s| s.to_string()).collect();
    SessionInfo {
        session_id: session_id(notebook, &fps),
        notebook: notebook.into(),
        datasets: fingerprints
            .iter()
            .enumerate()
            .map(|(i, fp)| dataset(&format!("sales{i}.csv"), fp))
            .collect(),
        created_at: base_time() + chrono::Duration::seconds(created_secs),
    }
}

/// Exchange number `i` (timestamps one second apart, so order is unambiguous).
pub fn record(i: u32, fingerprint: &str) -> ExchangeRecord {
    ExchangeRecord {
        id: uuid::Uuid::new_v4().to_string(),
        timestamp: base_time() + chrono::Duration::seconds(i64::from(i)),
        question: format!("question {i}"),
        code: format!("result = df.head({i})"),
        result_summary: format!("DataFrame with {i} rows and 3 columns"),
        interpretation: format!("The first {i} rows."),
        error: None,
        full_result: json!({"type": "dataframe", "shape": [i, 3], "data": [{"region": "EU", "revenue": 1.5}]}),
        model: "gpt-4o-mini".into(),
        endpoint_host: "api.openai.com".into(),
        usage: Usage {
            prompt_tokens: 100 + i,
            completion_tokens: 20,
        },
        llm_ms: 800,
        exec_ms: 15,
        total_ms: 830,
        data_fingerprint: fingerprint.into(),
        context_key: format!("ctx{i}"),
        replayed: false,
        // Round-trips through every store (papermill parameters an answer used).
        parameters: [("region".to_string(), format!("'R{i}'"))].into(),
        // ...and where the work ran (DuckDB's SQL), for the audit trail.
        engine_runs: serde_json::json!([{"engine": "duckdb", "sql": format!("SELECT {i} FROM t"), "rows_scanned": i, "rows_returned": 1}]),
    }
}

pub fn ids(records: &[ExchangeRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

/// Asserts a future completes within `limit` and returns its output.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> T {
    let start = Instant::now();
    let out = fut.await;
    let took = start.elapsed();
    assert!(took <= limit, "{what} took {took:?}, limit {limit:?}");
    out
}

/// Behaviour every backend must share. Uses its own notebook names, so it
/// can run against a fresh store of any kind.
pub async fn contract(store: &dyn history_store::HistoryStore) {
    let s1 = session("contract.ipynb", &["fpA"], 0);
    store.open_session(&s1).await.unwrap();
    // Refreshing keeps the original creation time and any history.
    let mut refreshed = s1.clone();
    refreshed.created_at = base_time() + chrono::Duration::hours(1);
    refreshed.datasets[0].rows = 1300;
    store.open_session(&refreshed).await.unwrap();

    let recs: Vec<ExchangeRecord> = (1..=5).map(|i| record(i, "fpA")).collect();
    for r in &recs {
        store.append(&s1.session_id, r, 3).await.unwrap();
    }
    // Cap 3 keeps the newest three, oldest first.
    assert_eq!(
        store.recent(&s1.session_id, 10).await.unwrap(),
        recs[2..].to_vec()
    );
    assert_eq!(
        store.recent(&s1.session_id, 2).await.unwrap(),
        recs[3..].to_vec()
    );
    // Appending the same record again is a no-op.
    store.append(&s1.session_id, &recs[4], 3).await.unwrap();
    assert_eq!(
        ids(&store.recent(&s1.session_id, 10).await.unwrap()),
        ids(&recs[2..])
    );

    // Replay: exact key, successful only, newest from any session.
    let mut failed = record(6, "fpA");
    failed.question = "question 4".into();
    failed.context_key = "ctx4".into();
    failed.error = Some("KeyError: 'revnue'".into());
    store.append(&s1.session_id, &failed, 3).await.unwrap();
    assert_eq!(
        store
            .find_replay("question 4", "fpA", "ctx4")
            .await
            .unwrap(),
        Some(recs[3].clone())
    );
    assert_eq!(
        store
            .find_replay("question 4", "fpB", "ctx4")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_replay("question 4", "fpA", "ctx3")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_replay("question 4?", "fpA", "ctx4")
            .await
            .unwrap(),
        None
    );
    let s2 = session("contract.ipynb", &["fpA", "fpB"], 60);
    store.open_session(&s2).await.unwrap();
    let mut newer = record(7, "fpA");
    newer.question = "question 2".into();
    newer.context_key = "ctx2".into();
    newer.replayed = true;
    store.append(&s2.session_id, &newer, 3).await.unwrap();
    assert_eq!(
        store
            .find_replay("question 2", "fpA", "ctx2")
            .await
            .unwrap(),
        Some(newer.clone())
    );

    // A session never opened still records its exchanges.
    let orphan = record(8, "fpZ");
    store.append("no-such-session", &orphan, 3).await.unwrap();
    assert_eq!(
        store.recent("no-such-session", 3).await.unwrap(),
        vec![orphan]
    );
    assert!(store.recent("unknown", 3).await.unwrap().is_empty());

    // Notebook history: sessions oldest first, each with every exchange (not just the capped ones).
    let other = session("other.ipynb", &["fpA"], 30);
    store.open_session(&other).await.unwrap();
    let hist = store.notebook_history("contract.ipynb").await.unwrap();
    assert_eq!(hist.len(), 2, "{hist:#?}");
    assert_eq!(hist[0].0.session_id, s1.session_id);
    assert_eq!(hist[0].0.created_at, s1.created_at);
    assert_eq!(hist[0].0.datasets, refreshed.datasets);
    let mut all = recs.clone();
    all.push(failed);
    assert_eq!(hist[0].1, all);
    assert_eq!(hist[1].0, s2);
    assert_eq!(hist[1].1, vec![newer]);
    assert!(store
        .notebook_history("nobody.ipynb")
        .await
        .unwrap()
        .is_empty());
}
