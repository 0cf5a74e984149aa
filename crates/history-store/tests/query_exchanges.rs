//! `query_exchanges` selects exactly what `ExchangeQuery::matches` says, in every backend:
//! SQLite, MongoDB (a real MongoDB-protocol server), and ResilientStore's spool.
mod common;

use chrono::{DateTime, Duration, Utc};

use common::Server;
use history_store::{
    ExchangePage, ExchangeQuery, ExchangeRecord, HistoryStore, MongoStore, ResilientStore,
    SessionInfo, SqliteStore, StoreConfig, Usage,
};

const T0: i64 = 1_700_000_000_000;

fn at(offset_s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(T0).unwrap() + Duration::seconds(offset_s)
}

fn rec(id: &str, ts: i64, model: &str, error: bool, replayed: bool) -> ExchangeRecord {
    ExchangeRecord {
        id: id.into(),
        timestamp: at(ts),
        question: format!("question {id}"),
        code: "result = 1".into(),
        result_summary: "1".into(),
        interpretation: String::new(),
        error: error.then(|| "KeyError: 'x'".to_string()),
        full_result: serde_json::Value::Null,
        model: model.into(),
        endpoint_host: "api.example".into(),
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        },
        llm_ms: 1,
        exec_ms: 1,
        total_ms: 2,
        data_fingerprint: "fp".into(),
        context_key: "ck".into(),
        replayed,
        parameters: Default::default(),
        engine_runs: serde_json::Value::Null,
    }
}

fn session(id: &str, notebook: &str) -> SessionInfo {
    SessionInfo {
        session_id: id.into(),
        notebook: notebook.into(),
        datasets: Vec::new(),
        created_at: at(0),
    }
}

/// (session, notebook, record): two notebooks, errors, replays, two models, equal
/// timestamps (the id breaks the tie), and a session that was never opened.
fn fixture() -> Vec<(&'static str, &'static str, ExchangeRecord)> {
    vec![
        ("s1", "/nb/one.ipynb", rec("a", 10, "m1", false, false)),
        ("s1", "/nb/one.ipynb", rec("b", 20, "m1", true, false)),
        ("s1", "/nb/one.ipynb", rec("c", 30, "m2", false, true)),
        ("s2", "/nb/two.ipynb", rec("d", 30, "m2", true, true)),
        ("s2", "/nb/two.ipynb", rec("e", 40, "m1", false, false)),
        ("s3", "", rec("f", 50, "m1", false, true)),
    ]
}

async fn fill(store: &dyn HistoryStore) {
    store
        .open_session(&session("s1", "/nb/one.ipynb"))
        .await
        .unwrap();
    store
        .open_session(&session("s2", "/nb/two.ipynb"))
        .await
        .unwrap();
    for (sid, _, r) in fixture() {
        store.append(sid, &r, 2).await.unwrap();
    }
}

fn queries() -> Vec<ExchangeQuery> {
    let mut out = Vec::new();
    for model in [None, Some("m1"), Some("m2"), Some("nope")] {
        for since in [None, Some(at(30)), Some(at(31)), Some(at(99))] {
            for (errors_only, replayed_only) in
                [(false, false), (true, false), (false, true), (true, true)]
            {
                for limit in [None, Some(1), Some(3)] {
                    out.push(ExchangeQuery {
                        model: model.map(str::to_string),
                        since,
                        errors_only,
                        replayed_only,
                        limit,
                    });
                }
            }
        }
    }
    out
}

/// (ids newest first, notebooks, total) the rule predicts.
fn expected(q: &ExchangeQuery) -> (Vec<String>, Vec<String>, usize) {
    let mut hits: Vec<_> = fixture()
        .into_iter()
        .filter(|(_, _, r)| q.matches(r))
        .collect();
    hits.sort_by(|a, b| (b.2.timestamp, &b.2.id).cmp(&(a.2.timestamp, &a.2.id)));
    let total = hits.len();
    hits.truncate(q.limit.unwrap_or(usize::MAX));
    (
        hits.iter().map(|h| h.2.id.clone()).collect(),
        hits.iter().map(|h| h.1.to_string()).collect(),
        total,
    )
}

fn seen(page: &ExchangePage) -> (Vec<String>, Vec<String>, usize) {
    (
        page.exchanges.iter().map(|f| f.record.id.clone()).collect(),
        page.exchanges.iter().map(|f| f.notebook.clone()).collect(),
        page.total,
    )
}

async fn check_all(store: &dyn HistoryStore) {
    let mut nonempty = 0;
    for q in queries() {
        let page = store.query_exchanges(&q).await.unwrap();
        assert_eq!(seen(&page), expected(&q), "{q:?}");
        assert_eq!(page.incomplete, None);
        nonempty += usize::from(!page.exchanges.is_empty());
    }
    // The combinations must exercise real selections, not only empty answers.
    assert!(nonempty > 40, "only {nonempty} non-empty answers");
}

#[tokio::test]
async fn sqlite_selects_what_the_rule_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("h.sqlite3")).unwrap();
    fill(&store).await;
    check_all(&store).await;
    // The history cap (2 here) limits the conversation, never the audit trail.
    let all = store
        .query_exchanges(&ExchangeQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    assert_eq!(all.exchanges[0].record, fixture()[5].2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_selects_what_the_rule_says() {
    let server = Server::start();
    let store = MongoStore::connect(&server.url(), "audit", std::time::Duration::from_secs(2))
        .await
        .unwrap();
    fill(&store).await;
    check_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resilient_store_lists_what_reached_mongodb() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        mongodb_url: Some(server.url()),
        database_name: "audit".into(),
        ..StoreConfig::new(dir.path())
    };
    let store = ResilientStore::open(&cfg).await;
    fill(&store).await;
    assert_eq!(store.flush(std::time::Duration::from_secs(20)).await, 0);
    check_all(&store).await;
    // A new machine (empty spool) sees the same through MongoDB alone.
    let other = tempfile::tempdir().unwrap();
    let fresh = ResilientStore::open(&StoreConfig {
        data_dir: other.path().to_path_buf(),
        ..cfg
    })
    .await;
    check_all(&fresh).await;
}

#[tokio::test]
async fn spooled_exchanges_are_listed_with_their_notebook() {
    // An unusable URL keeps every write in the spool: the query must read it there.
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        mongodb_url: Some("mongodb://user:pw@:bad:url".into()),
        ..StoreConfig::new(dir.path())
    };
    let store = ResilientStore::open(&cfg).await;
    fill(&store).await;
    check_all(&store).await;
}

#[tokio::test]
async fn an_unanswering_mongodb_is_reported_not_hidden() {
    // Nothing listens on port 9: the spooled records are listed and the gap is said.
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        mongodb_url: Some("mongodb://127.0.0.1:9".into()),
        op_timeout: std::time::Duration::from_millis(200),
        ..StoreConfig::new(dir.path())
    };
    let store = ResilientStore::open(&cfg).await;
    store
        .open_session(&session("s1", "/nb/one.ipynb"))
        .await
        .unwrap();
    store
        .append("s1", &rec("a", 10, "m1", false, false), 5)
        .await
        .unwrap();
    let page = store
        .query_exchanges(&ExchangeQuery::default())
        .await
        .unwrap();
    assert_eq!(
        seen(&page),
        (vec!["a".into()], vec!["/nb/one.ipynb".into()], 1)
    );
    let note = page.incomplete.expect("the outage is reported");
    assert!(note.contains("127.0.0.1:9"), "{note}");
}
