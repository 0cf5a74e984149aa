//! Outgoing content: jupyter-protocol's typed structs, serialized to the JSON this kernel sends.
//!
//! Each message is built from its typed struct, which also names its `msg_type`. Where a struct
//! cannot say exactly what this kernel has always sent, the difference is patched here, and
//! only here:
//! - MIME bundles, output metadata, reply payloads and evaluated `user_expressions` are the
//!   backend's JSON, passed through untouched (`Media` would re-type MIME values, e.g. parse
//!   `application/vnd.dataresource+json` tables, and lose the bundle's key order);
//! - `execute_result` carries no `transient`, an aborted `execute_reply` only its status and
//!   count, `is_complete_reply` an `indent` only for incomplete code;
//! - `history` rows asked with output have `null` for it (the typed row wants a string);
//! - a stream name other than stdout/stderr, metadata that is not an object, or an
//!   is_complete status the typed enum does not know go out as the backend gave them;
//! - `kernel_info_reply` is the backend's JSON (the `Backend` trait hands it over as JSON) plus
//!   the typed status and protocol version: `KernelInfoReply` would add `debugger` and
//!   `implementation_version` the backend did not give, and drop fields it has no slot for.
//!
//! Keys come out in the typed structs' order (e.g. `status` after the other reply fields);
//! JSON objects are unordered, so clients see the same names, types and values as before.

use super::backend::{
    Completion, ErrorInfo, ExecuteOutcome, ExecuteStatus, Inspection, IsComplete, Output,
};
use super::history::Entry;
use super::wire::PROTOCOL_VERSION;
use jupyter_protocol::{
    ClearOutput, CommInfoReply, CompleteReply, DisplayData, ErrorOutput, ExecuteInput,
    ExecuteReply, ExecuteResult, ExecutionCount, ExecutionState, HistoryEntry, HistoryReply,
    InspectReply, InterruptReply, IoPubWelcome, IsCompleteReply, IsCompleteReplyStatus,
    JupyterMessageContent, Media, ReplyError, ReplyStatus, ShutdownReply, Status, Stdio,
    StreamContent, Transient, UnknownMessage, UpdateDisplayData,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A message body ready for the wire: its `msg_type` and its JSON content.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub msg_type: String,
    pub json: Value,
}

impl Content {
    /// Typed content, serialized as jupyter-protocol serializes it.
    pub fn typed(content: impl Into<JupyterMessageContent>) -> Self {
        let content = content.into();
        let json = serde_json::to_value(&content).expect("typed content serializes");
        Self {
            msg_type: content.message_type().to_string(),
            json,
        }
    }

    /// Put `value` at `key`, in place of what the typed struct wrote there.
    fn set(mut self, key: &str, value: Value) -> Self {
        if let Some(map) = self.json.as_object_mut() {
            map.insert(key.to_string(), value);
        }
        self
    }

    /// Leave out a field the typed struct always writes.
    fn without(mut self, key: &str) -> Self {
        if let Some(map) = self.json.as_object_mut() {
            map.remove(key);
        }
        self
    }
}

pub fn status(state: ExecutionState) -> Content {
    Content::typed(Status {
        execution_state: state,
    })
}

pub fn iopub_welcome(subscription: String) -> Content {
    Content::typed(IoPubWelcome { subscription })
}

pub fn execute_input(code: &str, count: u32) -> Content {
    Content::typed(ExecuteInput {
        code: code.to_string(),
        execution_count: execution_count(count),
    })
}

fn execution_count(count: u32) -> ExecutionCount {
    ExecutionCount::new(count as usize)
}

/// Metadata as the typed map; anything but a JSON object is patched in as it is.
fn metadata(content: Content, metadata: &Value) -> Content {
    match metadata {
        Value::Object(_) => content,
        other => content.set("metadata", other.clone()),
    }
}

fn metadata_map(metadata: &Value) -> Map<String, Value> {
    metadata.as_object().cloned().unwrap_or_default()
}

/// One output of a running cell, for iopub.
pub fn output(out: &Output, count: u32) -> Content {
    match out {
        Output::Stream { name, text } => {
            let typed = |name| {
                Content::typed(StreamContent {
                    name,
                    text: text.clone(),
                })
            };
            match name.as_str() {
                "stdout" => typed(Stdio::Stdout),
                "stderr" => typed(Stdio::Stderr),
                other => typed(Stdio::Stdout).set("name", Value::String(other.to_string())),
            }
        }
        Output::DisplayData {
            data,
            metadata: meta,
            display_id,
        } => {
            let typed = Content::typed(DisplayData {
                data: Media::default(),
                metadata: metadata_map(meta),
                transient: Some(Transient {
                    display_id: display_id.clone(),
                }),
            });
            metadata(typed.set("data", data.clone()), meta)
        }
        Output::UpdateDisplayData {
            data,
            metadata: meta,
            display_id,
        } => {
            let typed = Content::typed(UpdateDisplayData {
                data: Media::default(),
                metadata: metadata_map(meta),
                transient: Transient {
                    display_id: Some(display_id.clone()),
                },
            });
            metadata(typed.set("data", data.clone()), meta)
        }
        Output::ExecuteResult {
            data,
            metadata: meta,
        } => {
            let typed = Content::typed(ExecuteResult {
                execution_count: execution_count(count),
                data: Media::default(),
                metadata: metadata_map(meta),
                transient: None,
            });
            metadata(typed.set("data", data.clone()).without("transient"), meta)
        }
        Output::Error(e) => Content::typed(error_output(e)),
        Output::ClearOutput { wait } => Content::typed(ClearOutput { wait: *wait }),
    }
}

fn error_output(e: &ErrorInfo) -> ErrorOutput {
    ErrorOutput {
        ename: e.ename.clone(),
        evalue: e.evalue.clone(),
        traceback: e.traceback.clone(),
    }
}

fn reply_error(e: &ErrorInfo) -> ReplyError {
    ReplyError {
        ename: e.ename.clone(),
        evalue: e.evalue.clone(),
        traceback: e.traceback.clone(),
    }
}

/// The `execute_reply` for a cell that ran: `ok`, or `error` with the error's fields.
pub fn execute_reply(count: u32, outcome: &ExecuteOutcome) -> Content {
    let (status, error) = match &outcome.status {
        ExecuteStatus::Ok => (ReplyStatus::Ok, None),
        ExecuteStatus::Error(e) => (ReplyStatus::Error, Some(Box::new(reply_error(e)))),
    };
    Content::typed(ExecuteReply {
        status,
        execution_count: execution_count(count),
        payload: vec![],
        user_expressions: Some(HashMap::new()),
        error,
    })
    .set("payload", Value::Array(outcome.payload.clone()))
    .set(
        "user_expressions",
        Value::Object(outcome.user_expressions.clone()),
    )
}

/// The `execute_reply` for a cell that was not run (`stop_on_error` after a failure).
pub fn aborted_reply(count: u32) -> Content {
    Content::typed(ExecuteReply {
        status: ReplyStatus::Aborted,
        execution_count: execution_count(count),
        ..Default::default()
    })
    .without("payload")
    .without("user_expressions")
}

/// The backend's kernel info with the reply status and protocol version.
pub fn kernel_info_reply(mut info: Value) -> Content {
    if !info.is_object() {
        info = Value::Object(Map::new());
    }
    info["status"] = serde_json::to_value(ReplyStatus::Ok).expect("status serializes");
    info["protocol_version"] = PROTOCOL_VERSION.into();
    Content {
        msg_type: "kernel_info_reply".into(),
        json: info,
    }
}

pub fn complete_reply(r: Completion) -> Content {
    Content::typed(CompleteReply {
        matches: r.matches,
        cursor_start: r.cursor_start,
        cursor_end: r.cursor_end,
        metadata: Map::new(),
        status: ReplyStatus::Ok,
        error: None,
    })
}

pub fn inspect_reply(r: Inspection) -> Content {
    Content::typed(InspectReply {
        found: r.found,
        data: Media::default(),
        metadata: Map::new(),
        status: ReplyStatus::Ok,
        error: None,
    })
    .set("data", Value::Object(r.data))
}

pub fn is_complete_reply(r: IsComplete) -> Content {
    let status: Option<IsCompleteReplyStatus> =
        serde_json::from_value(Value::String(r.status.clone())).ok();
    let incomplete = status == Some(IsCompleteReplyStatus::Incomplete);
    let typed = Content::typed(IsCompleteReply {
        status: status.clone().unwrap_or(IsCompleteReplyStatus::Unknown),
        indent: r.indent,
    });
    // A status the typed enum does not know goes out as the backend said it.
    let typed = match status {
        Some(_) => typed,
        None => typed.set("status", Value::String(r.status)),
    };
    if incomplete {
        typed
    } else {
        typed.without("indent")
    }
}

/// Input history rows; with `output`, each row's output is `null` (outputs are not kept).
pub fn history_reply(entries: &[&Entry], output: bool) -> Content {
    let row = |e: &Entry| {
        let (session, line) = (e.session as usize, e.line as usize);
        if output {
            HistoryEntry::InputOutput(session, line, (e.input.clone(), String::new()))
        } else {
            HistoryEntry::Input(session, line, e.input.clone())
        }
    };
    let mut content = Content::typed(HistoryReply::new(entries.iter().map(|e| row(e)).collect()));
    if output {
        let rows = content.json["history"].as_array_mut();
        for row in rows.into_iter().flatten() {
            row[2][1] = Value::Null;
        }
    }
    content
}

pub fn comm_info_reply() -> Content {
    Content::typed(CommInfoReply::default())
}

pub fn shutdown_reply(restart: bool) -> Content {
    Content::typed(ShutdownReply {
        restart,
        status: ReplyStatus::Ok,
        error: None,
    })
}

pub fn interrupt_reply() -> Content {
    Content::typed(InterruptReply::new())
}

/// Reply type for a request type (`foo_request` -> `foo_reply`, anything else gets `_reply`).
pub fn reply_type(msg_type: &str) -> String {
    match msg_type.strip_suffix("_request") {
        Some(stem) => format!("{stem}_reply"),
        None => format!("{msg_type}_reply"),
    }
}

/// The error reply to a request this kernel does not handle.
pub fn unsupported(msg_type: &str) -> Content {
    let error = ReplyError {
        ename: "UnsupportedRequest".into(),
        evalue: format!("this kernel does not handle {msg_type}"),
        traceback: vec![],
    };
    let mut json = serde_json::to_value(error).expect("error serializes");
    json["status"] = serde_json::to_value(ReplyStatus::Error).expect("status serializes");
    Content::typed(UnknownMessage {
        msg_type: reply_type(msg_type),
        content: json,
    })
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
