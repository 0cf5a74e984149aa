//! ResilientStore over MongoDB: nothing lost while the server is down.
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use history_store::{HistoryStore, MongoStore, ResilientStore, StoreConfig};
use mongodb::bson::{doc, Document};

const CALL_LIMIT: Duration = Duration::from_millis(1500);

fn config(url: &str, database: &str, data_dir: &Path) -> StoreConfig {
    StoreConfig {
        mongodb_url: Some(url.to_string()),
        database_name: database.to_string(),
        ..StoreConfig::new(data_dir)
    }
}

/// The `conversation_history` ids of a session, read with the driver.
async fn history_ids(url: &str, database: &str, session_id: &str) -> Vec<String> {
    let client = raw_client(url).await;
    let raw = client
        .database(database)
        .collection::<Document>("sessions")
        .find_one(doc! {"_id": session_id})
        .await
        .unwrap()
        .expect("session document");
    raw.get_array("conversation_history")
        .unwrap()
        .iter()
        .map(|e| e.as_document().unwrap().get_str("id").unwrap().to_string())
        .collect()
}

async fn exchange_count(url: &str, database: &str) -> u64 {
    raw_client(url)
        .await
        .database(database)
        .collection::<Document>("exchanges")
        .count_documents(doc! {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_contract_with_server_up() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let store = ResilientStore::open(&config(&server.url(), "contract", dir.path())).await;
    assert!(store.take_warnings().is_empty());
    assert!(store
        .describe()
        .starts_with(&format!("MongoDB at 127.0.0.1:{}/contract", server.port)));
    contract(&store).await;
    assert_eq!(store.flush(Duration::from_secs(10)).await, 0);
    // Flushed, the same contract holds against MongoDB alone.
    let direct = MongoStore::connect(&server.url(), "contract", Duration::from_secs(1))
        .await
        .unwrap();
    let hist = direct.notebook_history("contract.ipynb").await.unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0].1.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_after_restart_with_server_up() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server.url(), "restart", dir.path());
    let s = session("restart.ipynb", &["fp1"], 0);
    let recs: Vec<_> = (1..=4).map(|i| record(i, "fp1")).collect();
    {
        let store = ResilientStore::open(&cfg).await;
        store.open_session(&s).await.unwrap();
        for r in &recs {
            store.append(&s.session_id, r, 10).await.unwrap();
        }
        assert_eq!(store.flush(Duration::from_secs(10)).await, 0);
    }
    let store = ResilientStore::open(&cfg).await;
    assert_eq!(
        store.recent(&s.session_id, 3).await.unwrap(),
        recs[1..].to_vec()
    );
    assert_eq!(
        store
            .find_replay("question 2", "fp1", "ctx2")
            .await
            .unwrap(),
        Some(recs[1].clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_down_at_start_works_from_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&closed_port_url(), "down", dir.path());
    let store = within(CALL_LIMIT, "open", ResilientStore::open(&cfg)).await;
    let warnings = store.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("MongoDB at 127.0.0.1:"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("unreachable"), "{warnings:?}");
    println!("warning: {}", warnings[0]);

    let s = session("down.ipynb", &["fp1"], 0);
    within(CALL_LIMIT, "open_session", store.open_session(&s))
        .await
        .unwrap();
    let recs: Vec<_> = (1..=3).map(|i| record(i, "fp1")).collect();
    for r in &recs {
        within(CALL_LIMIT, "append", store.append(&s.session_id, r, 10))
            .await
            .unwrap();
    }
    let recent = within(CALL_LIMIT, "recent", store.recent(&s.session_id, 10))
        .await
        .unwrap();
    assert_eq!(recent, recs);
    let replay = within(
        CALL_LIMIT,
        "find_replay",
        store.find_replay("question 3", "fp1", "ctx3"),
    )
    .await;
    assert_eq!(replay.unwrap(), Some(recs[2].clone()));
    let hist = within(
        CALL_LIMIT,
        "notebook_history",
        store.notebook_history("down.ipynb"),
    )
    .await
    .unwrap();
    assert_eq!(hist, vec![(s.clone(), recs.clone())]);
    assert_eq!(
        within(CALL_LIMIT, "flush", store.flush(Duration::from_millis(300))).await,
        4
    );
    // Wait for a few failed flush attempts: still exactly one warning in total.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(store.take_warnings().is_empty());
    drop(store);

    // A new process, still without a server: the context is still there.
    let store = within(CALL_LIMIT, "reopen", ResilientStore::open(&cfg)).await;
    assert_eq!(store.take_warnings().len(), 1);
    assert_eq!(
        store.recent(&s.session_id, 2).await.unwrap(),
        recs[1..].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_mid_session_loses_nothing() {
    let mut server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let store = ResilientStore::open(&config(&url, "outage", dir.path())).await;
    let s = session("outage.ipynb", &["fp1"], 0);
    store.open_session(&s).await.unwrap();
    let recs: Vec<_> = (1..=5).map(|i| record(i, "fp1")).collect();
    for r in &recs[..2] {
        store.append(&s.session_id, r, 10).await.unwrap();
    }
    assert_eq!(store.flush(Duration::from_secs(10)).await, 0);
    assert!(store.take_warnings().is_empty());

    server.kill();
    for r in &recs[2..] {
        within(
            CALL_LIMIT,
            "append during outage",
            store.append(&s.session_id, r, 10),
        )
        .await
        .unwrap();
    }
    // Follow-up context during the outage: flushed records plus spooled ones.
    let recent = within(
        CALL_LIMIT,
        "recent during outage",
        store.recent(&s.session_id, 10),
    )
    .await
    .unwrap();
    assert_eq!(recent, recs);
    let recent = within(
        CALL_LIMIT,
        "recent during outage",
        store.recent(&s.session_id, 10),
    )
    .await
    .unwrap();
    assert_eq!(recent, recs);
    assert_eq!(store.flush(Duration::from_millis(500)).await, 3);
    let warnings = store.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("unreachable"), "{warnings:?}");

    server.restart();
    let start = Instant::now();
    assert_eq!(store.flush(Duration::from_secs(20)).await, 0);
    println!("drained after restart in {:?}", start.elapsed());
    assert_eq!(history_ids(&url, "outage", &s.session_id).await, ids(&recs));
    assert_eq!(exchange_count(&url, "outage").await, 5);
    let warnings = store.take_warnings();
    assert!(
        warnings.iter().any(|w| w.contains("reachable again")),
        "{warnings:?}"
    );
    assert_eq!(store.recent(&s.session_id, 10).await.unwrap(), recs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_spooled_exchanges_flush_in_order() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let s = session("bulk.ipynb", &["fp1"], 0);
    let recs: Vec<_> = (1..=100).map(|i| record(i, "fp1")).collect();
    {
        // A previous kernel that never reached MongoDB.
        let store = ResilientStore::open(&config(&closed_port_url(), "bulk", dir.path())).await;
        store.open_session(&s).await.unwrap();
        for r in &recs {
            store.append(&s.session_id, r, 10).await.unwrap();
        }
    }
    let store = ResilientStore::open(&config(&server.url(), "bulk", dir.path())).await;
    let start = Instant::now();
    let left = store.flush(Duration::from_secs(120)).await;
    let took = start.elapsed();
    println!("flushed 100 spooled exchanges (+1 session upsert) in {took:?}");
    assert_eq!(left, 0);
    assert_eq!(
        history_ids(&server.url(), "bulk", &s.session_id).await,
        ids(&recs[90..])
    );
    assert_eq!(exchange_count(&server.url(), "bulk").await, 100);
    let hist = store.notebook_history("bulk.ipynb").await.unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0].1, recs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_flush_resends_without_duplicates() {
    let server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let s = session("crash.ipynb", &["fp1"], 0);
    let recs: Vec<_> = (1..=6).map(|i| record(i, "fp1")).collect();
    {
        let store = ResilientStore::open(&config(&closed_port_url(), "crash", dir.path())).await;
        store.open_session(&s).await.unwrap();
        for r in &recs {
            store.append(&s.session_id, r, 10).await.unwrap();
        }
    }
    // The crashed process had sent records 1-3 (acknowledged, not yet deleted from the spool) ...
    let direct = MongoStore::connect(&url, "crash", Duration::from_secs(1))
        .await
        .unwrap();
    direct.open_session(&s).await.unwrap();
    for r in &recs[..3] {
        direct.append(&s.session_id, r, 10).await.unwrap();
    }
    // ... and was killed while sending record 4: the history push got in, the audit copy did not.
    direct.append(&s.session_id, &recs[3], 10).await.unwrap();
    raw_client(&url)
        .await
        .database("crash")
        .collection::<Document>("exchanges")
        .delete_one(doc! {"_id": &recs[3].id})
        .await
        .unwrap();

    let store = ResilientStore::open(&config(&url, "crash", dir.path())).await;
    assert_eq!(store.flush(Duration::from_secs(20)).await, 0);
    assert_eq!(history_ids(&url, "crash", &s.session_id).await, ids(&recs));
    assert_eq!(exchange_count(&url, "crash").await, 6);
    assert_eq!(store.recent(&s.session_id, 10).await.unwrap(), recs);
    assert_eq!(
        store.notebook_history("crash.ipynb").await.unwrap()[0].1,
        recs
    );
    // Appending an already-flushed record again changes nothing either.
    store.append(&s.session_id, &recs[5], 10).await.unwrap();
    assert_eq!(store.flush(Duration::from_secs(10)).await, 0);
    assert_eq!(history_ids(&url, "crash", &s.session_id).await, ids(&recs));
    assert_eq!(exchange_count(&url, "crash").await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_url_keeps_history_locally() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("mongodb://u:pa55word@host:notaport/", "x", dir.path());
    let store = within(CALL_LIMIT, "open", ResilientStore::open(&cfg)).await;
    let warnings = store.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("not valid"), "{warnings:?}");
    assert!(!warnings[0].contains("pa55word"), "{warnings:?}");
    let s = session("bad.ipynb", &["fp1"], 0);
    store.open_session(&s).await.unwrap();
    let r = record(1, "fp1");
    store.append(&s.session_id, &r, 10).await.unwrap();
    assert_eq!(store.recent(&s.session_id, 5).await.unwrap(), vec![r]);
    assert_eq!(store.flush(Duration::from_secs(5)).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_mongodb_refuses_are_set_aside_not_blocking() {
    let server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let store = ResilientStore::open(&config(&url, "refused", dir.path())).await;
    let s = session("refused.ipynb", &["fp1"], 0);
    let broken = session("refused.ipynb", &["fp2"], 10);
    store.open_session(&s).await.unwrap();
    store.open_session(&broken).await.unwrap();
    assert_eq!(store.flush(Duration::from_secs(10)).await, 0);
    // Someone edits a session document by hand: its history is no longer an array.
    raw_client(&url)
        .await
        .database("refused")
        .collection::<Document>("sessions")
        .update_one(
            doc! {"_id": &broken.session_id},
            doc! {"$set": {"conversation_history": "oops"}},
        )
        .await
        .unwrap();

    let recs: Vec<_> = (1..=3).map(|i| record(i, "fp1")).collect();
    // Callers bound results to 20 KB; this one cannot fit a MongoDB document.
    let mut huge = recs[1].clone();
    huge.full_result = serde_json::json!("x".repeat(17 * 1024 * 1024));
    store.append(&s.session_id, &recs[0], 10).await.unwrap();
    store.append(&s.session_id, &huge, 10).await.unwrap();
    store
        .append(&broken.session_id, &record(9, "fp2"), 10)
        .await
        .unwrap();
    store.append(&s.session_id, &recs[2], 10).await.unwrap();

    assert_eq!(store.flush(Duration::from_secs(20)).await, 0);
    assert_eq!(
        history_ids(&url, "refused", &s.session_id).await,
        vec![recs[0].id.clone(), recs[2].id.clone()]
    );
    let warnings = store.take_warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| w.contains("could not be stored")),
        "{warnings:?}"
    );
    for w in &warnings {
        println!("warning: {w}");
    }
    // Kept locally for inspection, not dropped.
    let kept: i64 = rusqlite::Connection::open(dir.path().join("spool.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM rejected", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 2);
}

/// Child-process half of `killed_writer_loses_nothing_it_acknowledged`;
/// does nothing when run as an ordinary test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_writer() {
    let (Ok(url), Ok(dir)) = (std::env::var("HS_CHILD_URL"), std::env::var("HS_CHILD_DIR")) else {
        return;
    };
    use std::io::Write;
    let store = ResilientStore::open(&config(&url, "killed", Path::new(&dir))).await;
    let s = session("killed.ipynb", &["fp1"], 0);
    store.open_session(&s).await.unwrap();
    for i in 1.. {
        let r = record(i, "fp1");
        store.append(&s.session_id, &r, 1000).await.unwrap();
        // Printed only once append() returned Ok.
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACK {}", r.id).unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_loses_nothing_it_acknowledged() {
    use std::io::BufRead;
    let server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env("HS_CHILD_URL", &url)
        .env("HS_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL) while it is appending and its flusher is sending.
    let mut acked = Vec::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 60 {
        let line = lines.next().expect("child output").unwrap();
        // libtest may print "test child_writer ... " on the same line first.
        if let Some((_, id)) = line.split_once("ACK ") {
            acked.push(id.to_string());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    while let Some(Ok(line)) = lines.next() {
        if let Some((_, id)) = line.split_once("ACK ") {
            acked.push(id.to_string());
        }
    }

    let pending: i64 = rusqlite::Connection::open(dir.path().join("spool.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM pending", [], |r| r.get(0))
        .unwrap();
    let store = ResilientStore::open(&config(&url, "killed", dir.path())).await;
    assert_eq!(store.flush(Duration::from_secs(30)).await, 0);
    let sid = history_store::session_id("killed.ipynb", &["fp1".to_string()]);
    let stored = history_ids(&url, "killed", &sid).await;
    // Every acknowledged record is there once, in order (an unacknowledged
    // one may follow: it was written but the process died before printing).
    assert!(
        stored.len() >= acked.len(),
        "{} < {}",
        stored.len(),
        acked.len()
    );
    assert_eq!(stored[..acked.len()], acked[..]);
    let unique: std::collections::HashSet<_> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "duplicates in history");
    assert_eq!(exchange_count(&url, "killed").await as usize, stored.len());
    println!(
        "killed after {} acknowledged appends ({pending} still spooled); {} stored",
        acked.len(),
        stored.len()
    );
}
