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
        "comm_info_request" => f.optional_string("target_name"),
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

    fn optional_string(&mut self, key: &str) {
        if !matches!(self.0.get(key), Some(Value::String(_))) {
            self.0.insert(key.into(), Value::Null);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use jupyter_protocol::{HistoryRequest, JupyterMessageContent as Typed};
    use std::collections::HashMap;

    fn decode(msg_type: &str, content: &str) -> Typed {
        typed(msg_type, serde_json::from_str(content).unwrap())
    }

    #[test]
    fn each_request_type_decodes_to_its_variant() {
        let cases = [
            (
                "execute_request",
                r#"{"code": "1+1", "silent": false, "store_history": true, "user_expressions": {}, "allow_stdin": false, "stop_on_error": true}"#,
            ),
            ("kernel_info_request", "{}"),
            ("complete_request", r#"{"code": "x", "cursor_pos": 1}"#),
            (
                "inspect_request",
                r#"{"code": "x", "cursor_pos": 1, "detail_level": 1}"#,
            ),
            ("is_complete_request", r#"{"code": "x"}"#),
            (
                "history_request",
                r#"{"hist_access_type": "tail", "n": 3, "output": false, "raw": true}"#,
            ),
            ("comm_info_request", r#"{"target_name": "jupyter.widget"}"#),
            ("shutdown_request", r#"{"restart": true}"#),
            ("interrupt_request", "{}"),
            (
                "comm_open",
                r#"{"comm_id": "c", "target_name": "t", "data": {}}"#,
            ),
            ("comm_msg", r#"{"comm_id": "c", "data": {}}"#),
            ("comm_close", r#"{"comm_id": "c", "data": {}}"#),
        ];
        for (msg_type, content) in cases {
            let typed = decode(msg_type, content);
            assert_eq!(typed.message_type(), msg_type);
            assert!(
                !matches!(typed, Typed::UnknownMessage(_)),
                "{msg_type}: {typed:?}"
            );
        }
        assert!(matches!(
            decode("kernel_info_request", "{}"),
            Typed::KernelInfoRequest(_)
        ));
        assert!(matches!(
            decode("interrupt_request", "{}"),
            Typed::InterruptRequest(_)
        ));
        assert!(
            matches!(decode("comm_info_request", "{}"), Typed::CommInfoRequest(r) if r.target_name.is_none())
        );
    }

    #[test]
    fn execute_fields_default_as_before() {
        // The defaults the kernel always used: code "", silent false, store_history and
        // stop_on_error true.
        let Typed::ExecuteRequest(r) =
            decode("execute_request", r#"{"code": "x", "silent": true}"#)
        else {
            panic!("not an execute_request");
        };
        assert_eq!(r.code, "x");
        assert!(r.silent);
        assert!(r.store_history);
        assert!(r.stop_on_error);
        assert!(!r.allow_stdin);
        for sloppy in ["{}", "[1, 2]", r#"{"code": 5, "silent": "yes"}"#, "null"] {
            let Typed::ExecuteRequest(r) = decode("execute_request", sloppy) else {
                panic!("{sloppy} is not an execute_request");
            };
            assert_eq!(r.code, "", "{sloppy}");
            assert!(!r.silent && r.store_history && r.stop_on_error, "{sloppy}");
            assert_eq!(r.user_expressions, Some(HashMap::new()));
        }
        let Typed::ExecuteRequest(r) = decode(
            "execute_request",
            r#"{"code": "", "user_expressions": {"a": "1+1", "b": 5}, "stop_on_error": false}"#,
        ) else {
            panic!("not an execute_request");
        };
        assert_eq!(
            r.user_expressions,
            Some(HashMap::from([("a".into(), "1+1".into())]))
        );
        assert!(!r.stop_on_error);
    }

    #[test]
    fn cursors_and_counts_default_as_before() {
        let complete = |c| match decode("complete_request", c) {
            Typed::CompleteRequest(r) => (r.code, r.cursor_pos),
            other => panic!("{other:?}"),
        };
        // No usable cursor: the end of the code, in characters.
        assert_eq!(complete(r#"{"code": "héllo"}"#), ("héllo".into(), 5));
        assert_eq!(
            complete(r#"{"code": "x", "cursor_pos": -7}"#),
            ("x".into(), 1)
        );
        assert_eq!(
            complete(r#"{"code": "x", "cursor_pos": 99999}"#),
            ("x".into(), 99999)
        );
        let Typed::InspectRequest(r) = decode("inspect_request", r#"{"code": "éx"}"#) else {
            panic!("not an inspect_request");
        };
        assert_eq!(
            (r.code.as_str(), r.cursor_pos, r.detail_level),
            ("éx", 0, Some(0))
        );
        let Typed::ShutdownRequest(r) = decode("shutdown_request", "{}") else {
            panic!("not a shutdown_request");
        };
        assert!(!r.restart);
        let Typed::IsCompleteRequest(r) = decode("is_complete_request", "[]") else {
            panic!("not an is_complete_request");
        };
        assert_eq!(r.code, "");
    }

    #[test]
    fn history_requests_decode_by_access_type() {
        let history = |c| match decode("history_request", c) {
            Typed::HistoryRequest(h) => h,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            history(r#"{"hist_access_type": "tail"}"#),
            HistoryRequest::Tail {
                n: 0,
                output: false,
                ..
            }
        ));
        assert!(matches!(
            history(r#"{"hist_access_type": "range", "session": -1, "start": 2, "output": true}"#),
            HistoryRequest::Range {
                session: Some(-1),
                start: 2,
                stop: 0,
                output: true,
                ..
            }
        ));
        assert!(matches!(
            history(r#"{"hist_access_type": "range", "start": -3, "stop": 1e9}"#),
            HistoryRequest::Range {
                session: Some(0),
                start: 0,
                stop: 0,
                ..
            }
        ));
        assert!(matches!(
            history(r#"{"hist_access_type": "search", "pattern": "%%python*", "unique": true}"#),
            HistoryRequest::Search { ref pattern, unique: true, n: 0, .. } if pattern == "%%python*"
        ));
        assert!(matches!(
            history(r#"{"hist_access_type": "tail", "n": 99999999999}"#),
            HistoryRequest::Tail { n: i32::MAX, .. }
        ));
        for odd in [r#"{"hist_access_type": "bogus"}"#, "{}"] {
            let Typed::UnknownMessage(m) = decode("history_request", odd) else {
                panic!("{odd} was typed");
            };
            assert_eq!(m.msg_type, "history_request");
        }
    }

    #[test]
    fn what_cannot_be_typed_keeps_its_type_and_content() {
        let Typed::UnknownMessage(m) = decode("frobnicate_request", r#"{"x": 1}"#) else {
            panic!("an unknown type was typed");
        };
        assert_eq!(
            (m.msg_type.as_str(), &m.content),
            ("frobnicate_request", &serde_json::json!({"x": 1}))
        );
        let Typed::UnknownMessage(m) = decode("comm_msg", r#"{"data": 1}"#) else {
            panic!("a malformed comm_msg was typed");
        };
        assert_eq!(m.msg_type, "comm_msg");
    }

    #[test]
    fn a_request_takes_the_content_out_of_its_message() {
        let factory = super::super::wire::MessageFactory::new();
        let msg = factory.orphan("execute_request", serde_json::json!({"code": "hi"}));
        let req = Request::new(msg);
        assert_eq!(req.msg_type(), "execute_request");
        assert!(req.msg.content.is_null());
        assert!(matches!(req.content, Typed::ExecuteRequest(ref r) if r.code == "hi"));
    }
}
