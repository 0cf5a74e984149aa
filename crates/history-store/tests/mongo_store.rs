//! MongoStore against a real MongoDB-protocol server (SecantusDB).
mod common;

use std::time::Duration;

use common::*;
use history_store::{HistoryStore, MongoStore, StoreError};
use mongodb::bson::{doc, Bson, Document};

const TIMEOUT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_contract() {
    let server = Server::start();
    let store = MongoStore::connect(&server.url(), "contract", TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        store.describe(),
        format!("MongoDB at 127.0.0.1:{}/contract", server.port)
    );
    contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_document_matches_design_doc() {
    let server = Server::start();
    let store = MongoStore::connect(&server.url(), "doc", TIMEOUT)
        .await
        .unwrap();
    let s = session("design.ipynb", &["fp1", "fp2"], 0);
    store.open_session(&s).await.unwrap();
    let recs: Vec<_> = (1..=12).map(|i| record(i, "fp1")).collect();
    for r in &recs {
        store.append(&s.session_id, r, 10).await.unwrap();
    }

    let client = raw_client(&server.url()).await;
    let db = client.database("doc");
    let raw: Document = db
        .collection::<Document>("sessions")
        .find_one(doc! {"_id": &s.session_id})
        .await
        .unwrap()
        .expect("session document");
    for field in [
        "_id",
        "notebook",
        "filename",
        "created_at",
        "columns",
        "dtypes",
        "row_count",
        "column_count",
        "data_sample",
        "null_counts",
        "numeric_columns",
        "categorical_columns",
        "conversation_history",
        "datasets",
        "file_names",
    ] {
        assert!(raw.contains_key(field), "missing {field}: {raw:#?}");
    }
    assert_eq!(raw.get_str("filename").unwrap(), "sales0.csv");
    assert!(matches!(raw.get("created_at"), Some(Bson::DateTime(_))));
    assert_eq!(raw.get_i64("row_count").unwrap(), 1200);
    assert_eq!(raw.get_i64("column_count").unwrap(), 3);
    assert_eq!(raw.get_array("datasets").unwrap().len(), 2);
    assert_eq!(raw.get_array("file_names").unwrap().len(), 2);

    // $slice kept the newest 10, in order.
    let history = raw.get_array("conversation_history").unwrap();
    let hist_ids: Vec<&str> = history
        .iter()
        .map(|e| e.as_document().unwrap().get_str("id").unwrap())
        .collect();
    let want: Vec<String> = ids(&recs[2..]);
    assert_eq!(hist_ids, want);
    let entry = history[0].as_document().unwrap();
    for field in [
        "id",
        "timestamp",
        "question",
        "code",
        "result_summary",
        "interpretation",
        "error",
        "full_result",
    ] {
        assert!(entry.contains_key(field), "entry lacks {field}: {entry:#?}");
    }
    assert!(matches!(entry.get("timestamp"), Some(Bson::DateTime(_))));
    assert_eq!(entry.get("error"), Some(&Bson::Null));
    assert_eq!(
        entry
            .get_document("full_result")
            .unwrap()
            .get_str("type")
            .unwrap(),
        "dataframe"
    );

    // The audit trail keeps every exchange, with its session and notebook.
    let exchanges = db.collection::<Document>("exchanges");
    assert_eq!(exchanges.count_documents(doc! {}).await.unwrap(), 12);
    let first = exchanges
        .find_one(doc! {"_id": &recs[0].id})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.get_str("session_id").unwrap(), s.session_id);
    assert_eq!(first.get_str("notebook").unwrap(), "design.ipynb");
    assert_eq!(first.get_str("model").unwrap(), "gpt-4o-mini");

    // The indexes the queries rely on exist.
    let names = exchanges.list_index_names().await.unwrap();
    assert!(
        names.contains(&"question_1_data_fingerprint_1_context_key_1".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"session_id_1_timestamp_1".to_string()),
        "{names:?}"
    );
    let names = db
        .collection::<Document>("sessions")
        .list_index_names()
        .await
        .unwrap();
    assert!(names.contains(&"notebook_1".to_string()), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_survives_a_new_store_on_the_same_server() {
    let server = Server::start();
    let s = session("restart.ipynb", &["fp1"], 0);
    let recs: Vec<_> = (1..=4).map(|i| record(i, "fp1")).collect();
    {
        let store = MongoStore::connect(&server.url(), "restart", TIMEOUT)
            .await
            .unwrap();
        store.open_session(&s).await.unwrap();
        for r in &recs {
            store.append(&s.session_id, r, 10).await.unwrap();
        }
    }
    let store = MongoStore::connect(&server.url(), "restart", TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        store.recent(&s.session_id, 3).await.unwrap(),
        recs[1..].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_invalid_urls_fail_fast_without_secrets() {
    let url = format!("mongodb://kernel:hunter2secret@127.0.0.1:{}/", free_port());
    let err = within(
        Duration::from_millis(1500),
        "connect to a closed port",
        async { MongoStore::connect(&url, "x", TIMEOUT).await.err().unwrap() },
    )
    .await;
    assert!(
        matches!(
            err,
            StoreError::Unreachable { .. } | StoreError::Timeout { .. }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(!text.contains("hunter2secret"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");

    let err = MongoStore::connect(
        "mongodb://kernel:hunter2secret@host:notaport/",
        "x",
        TIMEOUT,
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
}
