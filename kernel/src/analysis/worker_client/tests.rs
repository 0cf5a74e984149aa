//! The kernel's side against a fake worker: protocol violations end a question worker, bounds hold.

use super::*;

/// A stand-in worker: a shell script that plays `script` (a question worker's side of the
/// protocol), so the kernel's side can be tested against messages a hostile one would send.
fn fake_worker(script: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, path)
}

const READY: &str = r#"echo '{"event":"ready","sandbox":null}'"#;

fn run_question() -> Request {
    Request::RunQuestion {
        code: String::new(),
        execution_count: 0,
        variables: String::new(),
        prepared: serde_json::Value::Null,
    }
}

async fn question_worker(script: &str) -> (tempfile::TempDir, Worker) {
    let (dir, exe) = fake_worker(script);
    let launch = Arc::new(Launch::plain(exe, dir.path().to_path_buf()));
    let mut w = Worker::spawn(
        &launch,
        Arc::new(InterruptHandle::default()),
        Role::Question,
        &[],
    )
    .unwrap();
    w.preload(vec![Request::Configure {
        settings: json!({}),
    }])
    .await
    .unwrap();
    (dir, w)
}

#[tokio::test]
async fn a_reply_to_another_request_ends_a_question_worker() {
    let script = format!(
        "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
         read b\necho '{{\"event\":\"reply\",\"id\":7,\"ok\":true,\"value\":{{\"status\":\"ok\"}}}}'\nsleep 30"
    );
    let (_dir, mut w) = question_worker(&script).await;
    let got = w.call(run_question(), None, None).await;
    assert!(
        matches!(&got, Err(CallError::Protocol(why)) if why.contains("request 7")),
        "{got:?}"
    );
}

#[tokio::test]
async fn messages_between_calls_end_a_question_worker() {
    let script = format!(
        "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
         echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"<script>late</script>\"}}'\nsleep 30"
    );
    let (_dir, mut w) = question_worker(&script).await;
    w.finish_preload().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = w.call(run_question(), None, None).await;
    assert!(
        matches!(&got, Err(CallError::Protocol(why)) if why.contains("no request was running")),
        "{got:?}"
    );
}

#[tokio::test]
async fn the_deadline_holds_whatever_the_worker_sends() {
    let script = format!(
        "{READY}\nread a\necho '{{\"event\":\"reply\",\"id\":1,\"ok\":true,\"value\":{{}}}}'\n\
         read b\nwhile true; do echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"x\"}}'; done"
    );
    let (_dir, mut w) = question_worker(&script).await;
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_millis(500);
    let got = w.call(run_question(), None, Some(deadline)).await;
    assert!(matches!(got, Err(CallError::Timeout)), "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_flood_between_calls_stays_bounded() {
    // A user worker whose background thread floods: the queue holds EVENT_QUEUE events and
    // the pipe pushes back, whatever the worker sends.
    let script = format!(
        "{READY}\nwhile true; do echo '{{\"event\":\"stream\",\"name\":\"stdout\",\"text\":\"xxxxxxxxxxxxxxxx\"}}'; done"
    );
    let (dir, exe) = fake_worker(&script);
    let launch = Arc::new(Launch::plain(exe, dir.path().to_path_buf()));
    let mut w = Worker::spawn(
        &launch,
        Arc::new(InterruptHandle::default()),
        Role::User,
        &[],
    )
    .unwrap();
    w.wait_ready().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.events.len() <= EVENT_QUEUE, "{} queued", w.events.len());
    w.kill().await;
}
