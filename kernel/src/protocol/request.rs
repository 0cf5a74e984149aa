//! Typed requests: a verified message's content decoded into jupyter-protocol's enum.
//!
//! Content is parsed only here, after `wire::decode` has checked the HMAC over the frames as
//! received. Fields a client omits or mistypes first get the defaults this kernel has always
//! used (code `""`, `store_history` and `stop_on_error` true, counts 0...), so a sloppy request
//! is served as before instead of being refused. What still cannot be typed (an unknown
//! `msg_type`, an unknown `hist_access_type`, a malformed comm message) becomes the crate's
//! catch-all `UnknownMessage`, which keeps its `msg_type` and raw content.

use super::wire::Message;
use jupyter_protocol::{JupyterMessageContent, UnknownMessage};
use serde_json::{Map, Value};

/// A verified request: routing and header in `msg`, its content typed in `content`.
#[derive(Debug, Clone)]
pub struct Request {
    /// The message as received; its `content` has been moved into [`Request::content`].
    pub msg: Message,
    pub content: JupyterMessageContent,
}

impl Request {
    pub fn new(mut msg: Message) -> Self {
        let raw = std::mem::take(&mut msg.content);
        let content = typed(&msg.header.msg_type, raw);
        Self { msg, content }
    }

    /// The `msg_type` the client sent (also for requests that could not be typed).
    pub fn msg_type(&self) -> &str {
        &self.msg.header.msg_type
    }
}

/// `content` of a `msg_type` message as typed content (never fails: see the module docs).
pub fn typed(msg_type: &str, content: Value) -> JupyterMessageContent {
    let content = with_defaults(msg_type, content);
    match JupyterMessageContent::from_type_and_content(msg_type, content.clone()) {
        Ok(typed) => typed,
        Err(e) => {
            tracing::debug!("{msg_type} content does not fit its type: {e}");
            JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: msg_type.to_string(),
                content,
            })
        }
    }
}

/// Fill in, or replace when mistyped, the fields of the requests this kernel answers.
fn with_defaults(msg_type: &str, content: Value) -> Value {
    let mut f = Fields(match content {
        Value::Object(map) => map,
        _ => Map::new(),
    });
    match msg_type {
        "execute_request" => {
            f.string("code");
            f.boolean("silent", false);
            f.boolean("store_history", true);
            f.expressions("user_expressions");
            f.boolean("allow_stdin", false);
            f.boolean("stop_on_error", true);
        }
        "complete_request" => {
            // No usable cursor: complete at the end of the code.
            let end = f.string("code").chars().count() as u64;
            f.count("cursor_pos", end, u64::MAX);
        }
        "inspect_request" => {
            f.string("code");
            f.count("cursor_pos", 0, u64::MAX);
            f.count("detail_level", 0, u64::MAX);
        }
        "is_complete_request" => {
            f.string("code");
        }
        "history_request" => history_defaults(&mut f),
        "comm_info_request" => {
            if !matches!(f.0.get("target_name"), Some(Value::String(_))) {
                f.0.insert("target_name".into(), Value::Null);
            }
        }
        "shutdown_request" => f.boolean("restart", false),
        _ => {}
    }
    Value::Object(f.0)
}

fn history_defaults(f: &mut Fields) {
    const I32: u64 = i32::MAX as u64;
    f.boolean("output", false);
    f.boolean("raw", false);
    let access = f.0.get("hist_access_type").and_then(Value::as_str);
    match access.unwrap_or("") {
        "tail" => f.count("n", 0, I32),
        "range" => {
            // 0 (or absent) is the current session, negative counts back from it.
            let session = f.0.get("session").and_then(Value::as_i64).unwrap_or(0);
            let session = session.clamp(i32::MIN.into(), i32::MAX.into());
            f.0.insert("session".into(), session.into());
            f.count("start", 0, I32);
            f.count("stop", 0, I32);
        }
        "search" => {
            f.string("pattern");
            f.boolean("unique", false);
            f.count("n", 0, I32);
        }
        _ => {}
    }
}

struct Fields(Map<String, Value>);

impl Fields {
    fn string(&mut self, key: &str) -> &str {
        if !matches!(self.0.get(key), Some(Value::String(_))) {
            self.0.insert(key.into(), Value::String(String::new()));
        }
        self.0[key].as_str().unwrap_or_default()
    }

    fn boolean(&mut self, key: &str, default: bool) {
        if !matches!(self.0.get(key), Some(Value::Bool(_))) {
            self.0.insert(key.into(), Value::Bool(default));
        }
    }

    /// A non-negative integer, held to `max` (what the typed field can take).
    fn count(&mut self, key: &str, default: u64, max: u64) {
        let n = self.0.get(key).and_then(Value::as_u64).unwrap_or(default);
        self.0.insert(key.into(), n.min(max).into());
    }

    /// `user_expressions`: names to expression strings; anything else is left out.
    fn expressions(&mut self, key: &str) {
        let kept: Map<String, Value> = match self.0.remove(key) {
            Some(Value::Object(map)) => map.into_iter().filter(|(_, v)| v.is_string()).collect(),
            _ => Map::new(),
        };
        self.0.insert(key.into(), Value::Object(kept));
    }
}
