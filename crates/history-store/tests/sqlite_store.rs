//! The embedded SQLite backend and ResilientStore's no-URL mode.
mod common;

use common::*;
use history_store::{HistoryStore, ResilientStore, SqliteStore, StoreConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_contract() {
    let dir = tempfile::tempdir().unwrap();
    // Parent directories are created on open.
    let path = dir.path().join("nested/dir/history.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.describe(), format!("SQLite at {}", path.display()));
    contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_uses_wal_and_keeps_context_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let s = session("restart.ipynb", &["fp1"], 0);
    let recs: Vec<_> = (1..=4).map(|i| record(i, "fp1")).collect();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.open_session(&s).await.unwrap();
        for r in &recs {
            store.append(&s.session_id, r, 10).await.unwrap();
        }
    }
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.recent(&s.session_id, 3).await.unwrap(),
        recs[1..].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_without_url_is_sqlite_in_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig::new(dir.path().join("data"));
    let store = ResilientStore::open(&cfg).await;
    let path = dir.path().join("data/history.sqlite3");
    assert_eq!(store.describe(), format!("SQLite at {}", path.display()));
    assert!(store.take_warnings().is_empty());
    contract(&store).await;
    assert_eq!(store.flush(std::time::Duration::from_millis(10)).await, 0);
    assert!(path.is_file());
    assert!(!dir.path().join("data/spool.sqlite3").exists());
}
