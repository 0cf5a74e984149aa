//! Each message serializes to exactly the JSON this kernel sent before it used the typed
//! structs (names, types and values; the expected JSON is written out literally).

use super::*;
use crate::protocol::backend::ExecuteOutcome;
use serde_json::json;

#[track_caller]
fn check(content: Content, msg_type: &str, expected: &str) {
    assert_eq!(content.msg_type, msg_type);
    let expected: Value = serde_json::from_str(expected).unwrap();
    assert_eq!(content.json, expected, "{msg_type}");
}

#[test]
fn iopub_messages() {
    check(
        status(ExecutionState::Busy),
        "status",
        r#"{"execution_state": "busy"}"#,
    );
    check(
        status(ExecutionState::Starting),
        "status",
        r#"{"execution_state": "starting"}"#,
    );
    check(
        iopub_welcome(String::new()),
        "iopub_welcome",
        r#"{"subscription": ""}"#,
    );
    check(
        execute_input("%%python\n1+1", 3),
        "execute_input",
        r#"{"code": "%%python\n1+1", "execution_count": 3}"#,
    );
}

#[test]
fn outputs() {
    let stream = |name: &str| Output::Stream {
        name: name.into(),
        text: "hi\n".into(),
    };
    check(
        output(&stream("stdout"), 1),
        "stream",
        r#"{"name": "stdout", "text": "hi\n"}"#,
    );
    check(
        output(&stream("stderr"), 1),
        "stream",
        r#"{"name": "stderr", "text": "hi\n"}"#,
    );
    check(
        output(&stream("other"), 1),
        "stream",
        r#"{"name": "other", "text": "hi\n"}"#,
    );

    // MIME bundles pass through exactly, whatever their values.
    let data = json!({"text/plain": ["a", "b"], "application/vnd.dataresource+json": {"odd": 1},
                      "text/html": "<b>x</b>"});
    let shown = Output::DisplayData {
        data: data.clone(),
        metadata: json!({"llm_analytics": {"role": "answer"}}),
        display_id: Some("d1".into()),
    };
    check(
        output(&shown, 1),
        "display_data",
        r#"{"data": {"text/plain": ["a", "b"], "application/vnd.dataresource+json": {"odd": 1},
                     "text/html": "<b>x</b>"},
            "metadata": {"llm_analytics": {"role": "answer"}},
            "transient": {"display_id": "d1"}}"#,
    );
    let plain = Output::DisplayData {
        data: json!({"text/plain": "x"}),
        metadata: json!({}),
        display_id: None,
    };
    check(
        output(&plain, 1),
        "display_data",
        r#"{"data": {"text/plain": "x"}, "metadata": {}, "transient": {}}"#,
    );
    let update = Output::UpdateDisplayData {
        data: json!({"text/markdown": "**y**"}),
        metadata: json!({}),
        display_id: "d1".into(),
    };
    check(
        output(&update, 1),
        "update_display_data",
        r#"{"data": {"text/markdown": "**y**"}, "metadata": {}, "transient": {"display_id": "d1"}}"#,
    );
    let result = Output::ExecuteResult {
        data: json!({"text/plain": "42"}),
        metadata: json!({}),
    };
    check(
        output(&result, 7),
        "execute_result",
        r#"{"data": {"text/plain": "42"}, "metadata": {}, "execution_count": 7}"#,
    );
    let odd_metadata = Output::ExecuteResult {
        data: json!({"text/plain": "42"}),
        metadata: json!(null),
    };
    check(
        output(&odd_metadata, 7),
        "execute_result",
        r#"{"data": {"text/plain": "42"}, "metadata": null, "execution_count": 7}"#,
    );
    let error = ErrorInfo::new("ValueError", "bad");
    check(
        output(&Output::Error(error), 1),
        "error",
        r#"{"ename": "ValueError", "evalue": "bad", "traceback": ["ValueError: bad"]}"#,
    );
    check(
        output(&Output::ClearOutput { wait: true }, 1),
        "clear_output",
        r#"{"wait": true}"#,
    );
}

#[test]
fn execute_replies() {
    check(
        execute_reply(2, &ExecuteOutcome::ok()),
        "execute_reply",
        r#"{"status": "ok", "execution_count": 2, "payload": [], "user_expressions": {}}"#,
    );
    let mut ok = ExecuteOutcome::ok();
    ok.payload
        .push(json!({"source": "set_next_input", "text": "%%python\nx", "replace": false}));
    ok.user_expressions.insert(
        "a".into(),
        json!({"status": "ok", "data": {"text/plain": "2"}, "metadata": {}}),
    );
    check(
        execute_reply(2, &ok),
        "execute_reply",
        r#"{"status": "ok", "execution_count": 2,
            "payload": [{"source": "set_next_input", "text": "%%python\nx", "replace": false}],
            "user_expressions": {"a": {"status": "ok", "data": {"text/plain": "2"}, "metadata": {}}}}"#,
    );
    let failed = ExecuteOutcome::error(ErrorInfo::new("EchoError", "asked to fail"));
    check(
        execute_reply(3, &failed),
        "execute_reply",
        r#"{"ename": "EchoError", "evalue": "asked to fail", "traceback": ["EchoError: asked to fail"],
            "status": "error", "execution_count": 3, "payload": [], "user_expressions": {}}"#,
    );
    check(
        aborted_reply(3),
        "execute_reply",
        r#"{"status": "aborted", "execution_count": 3}"#,
    );
}

#[test]
fn simple_replies() {
    let info = json!({"implementation": "echo", "language_info": {"name": "echo"}, "extra": [1]});
    check(
        kernel_info_reply(info),
        "kernel_info_reply",
        r#"{"implementation": "echo", "language_info": {"name": "echo"}, "extra": [1],
            "status": "ok", "protocol_version": "5.3"}"#,
    );
    let completion = Completion {
        matches: vec!["zip".into()],
        cursor_start: 9,
        cursor_end: 11,
    };
    check(
        complete_reply(completion),
        "complete_reply",
        r#"{"status": "ok", "matches": ["zip"], "cursor_start": 9, "cursor_end": 11, "metadata": {}}"#,
    );
    let mut found = Inspection {
        found: true,
        ..Default::default()
    };
    found
        .data
        .insert("text/plain".into(), json!("zip(*iterables)"));
    check(
        inspect_reply(found),
        "inspect_reply",
        r#"{"status": "ok", "found": true, "data": {"text/plain": "zip(*iterables)"}, "metadata": {}}"#,
    );
    check(
        inspect_reply(Inspection::default()),
        "inspect_reply",
        r#"{"status": "ok", "found": false, "data": {}, "metadata": {}}"#,
    );
    let is_complete = |status: &str| IsComplete {
        status: status.into(),
        indent: "    ".into(),
    };
    check(
        is_complete_reply(is_complete("incomplete")),
        "is_complete_reply",
        r#"{"status": "incomplete", "indent": "    "}"#,
    );
    for status in ["complete", "invalid", "unknown", "something-else"] {
        let expected = format!(r#"{{"status": "{status}"}}"#);
        check(
            is_complete_reply(is_complete(status)),
            "is_complete_reply",
            &expected,
        );
    }
    check(
        comm_info_reply(),
        "comm_info_reply",
        r#"{"status": "ok", "comms": {}}"#,
    );
    check(
        shutdown_reply(true),
        "shutdown_reply",
        r#"{"status": "ok", "restart": true}"#,
    );
    check(
        shutdown_reply(false),
        "shutdown_reply",
        r#"{"status": "ok", "restart": false}"#,
    );
    check(interrupt_reply(), "interrupt_reply", r#"{"status": "ok"}"#);
}

#[test]
fn history_replies() {
    let a = Entry {
        session: 1,
        line: 1,
        input: "a".into(),
    };
    let b = Entry {
        session: 2,
        line: 4,
        input: "%%python\nb".into(),
    };
    check(
        history_reply(&[&a, &b], false),
        "history_reply",
        r#"{"status": "ok", "history": [[1, 1, "a"], [2, 4, "%%python\nb"]]}"#,
    );
    check(
        history_reply(&[&a, &b], true),
        "history_reply",
        r#"{"status": "ok", "history": [[1, 1, ["a", null]], [2, 4, ["%%python\nb", null]]]}"#,
    );
    check(
        history_reply(&[], false),
        "history_reply",
        r#"{"status": "ok", "history": []}"#,
    );
}

#[test]
fn unsupported_requests_get_the_same_error_reply() {
    check(
        unsupported("frobnicate_request"),
        "frobnicate_reply",
        r#"{"status": "error", "ename": "UnsupportedRequest",
            "evalue": "this kernel does not handle frobnicate_request", "traceback": []}"#,
    );
    check(
        unsupported("input_reply"),
        "input_reply_reply",
        r#"{"status": "error", "ename": "UnsupportedRequest",
            "evalue": "this kernel does not handle input_reply", "traceback": []}"#,
    );
}

#[test]
fn reply_types() {
    assert_eq!(reply_type("kernel_info_request"), "kernel_info_reply");
    assert_eq!(reply_type("foo"), "foo_reply");
}
