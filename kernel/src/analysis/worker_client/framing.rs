//! The worker's side of the pipe as the kernel reads it: JSON lines, each at most
//! MAX_LINE_BYTES (longer ones are skipped, never buffered), parsed into typed events; and
//! its stderr, forwarded up to a cap.

use super::*;

#[derive(Debug)]
pub(super) enum Event {
    Output(Output),
    Ready(Value),
    Fatal(String),
    /// A line longer than MAX_LINE_BYTES was dropped.
    Oversized,
    Reply {
        id: u64,
        ok: bool,
        value: Value,
        error: String,
        interrupted: bool,
    },
}

/// A message's kind, for the error that ends a question worker.
pub(super) fn event_kind(ev: &Event) -> &'static str {
    match ev {
        Event::Output(_) => "output",
        Event::Ready(_) => "ready",
        Event::Fatal(_) => "fatal",
        Event::Oversized => "oversized",
        Event::Reply { .. } => "reply",
    }
}

/// One line of the worker protocol as the worker writes it (runtime.py `_send`, bootstrap.py).
/// Every field has a default: a worker that leaves one out gets an empty value, while a field
/// of the wrong type or an unknown `event` makes the line unreadable (it is dropped and logged).
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Wire {
    Stream {
        #[serde(default)]
        name: String,
        #[serde(default)]
        text: String,
    },
    DisplayData(Display),
    UpdateDisplayData(Display),
    ExecuteResult {
        #[serde(default = "empty_object")]
        data: Value,
        #[serde(default = "empty_object")]
        metadata: Value,
    },
    ClearOutput {
        #[serde(default)]
        wait: bool,
    },
    Error {
        #[serde(default)]
        ename: String,
        #[serde(default)]
        evalue: String,
        #[serde(default)]
        traceback: Vec<String>,
    },
    Ready {
        #[serde(default)]
        sandbox: Value,
    },
    Fatal {
        #[serde(default)]
        message: String,
        #[serde(default)]
        traceback: String,
    },
    Reply {
        #[serde(default)]
        id: u64,
        #[serde(default)]
        ok: bool,
        #[serde(default)]
        value: Value,
        #[serde(default)]
        error: String,
        #[serde(default)]
        interrupted: bool,
    },
}

/// A display_data or update_display_data event's body.
#[derive(Debug, serde::Deserialize)]
struct Display {
    #[serde(default = "empty_object")]
    data: Value,
    #[serde(default = "empty_object")]
    metadata: Value,
    #[serde(default)]
    transient: Transient,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Transient {
    #[serde(default)]
    display_id: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

pub(super) fn parse_event(line: &str) -> Option<Event> {
    Some(match serde_json::from_str::<Wire>(line).ok()? {
        Wire::Stream { name, text } => Event::Output(Output::Stream { name, text }),
        Wire::DisplayData(Display {
            data,
            metadata,
            transient,
        }) => Event::Output(Output::DisplayData {
            data,
            metadata,
            display_id: transient.display_id,
        }),
        Wire::UpdateDisplayData(Display {
            data,
            metadata,
            transient,
        }) => Event::Output(Output::UpdateDisplayData {
            data,
            metadata,
            display_id: transient.display_id.unwrap_or_default(),
        }),
        Wire::ExecuteResult { data, metadata } => {
            Event::Output(Output::ExecuteResult { data, metadata })
        }
        Wire::ClearOutput { wait } => Event::Output(Output::ClearOutput { wait }),
        Wire::Error {
            ename,
            evalue,
            traceback,
        } => Event::Output(Output::Error(ErrorInfo {
            ename,
            evalue,
            traceback,
        })),
        Wire::Ready { sandbox } => Event::Ready(sandbox),
        Wire::Fatal { message, traceback } => Event::Fatal(format!("{message}\n{traceback}")),
        Wire::Reply {
            id,
            ok,
            value,
            error,
            interrupted,
        } => Event::Reply {
            id,
            ok,
            value,
            error,
            interrupted,
        },
    })
}

/// Copy the worker's stderr to ours, up to MAX_STDERR_BYTES per worker, then drain it.
pub(super) async fn forward_stderr(mut stderr: tokio::process::ChildStderr) {
    let mut buf = vec![0u8; 64 << 10];
    let mut forwarded = 0usize;
    let mut out = tokio::io::stderr();
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if forwarded < MAX_STDERR_BYTES {
            let take = n.min(MAX_STDERR_BYTES - forwarded);
            let _ = out.write_all(&buf[..take]).await;
            forwarded += n;
            if forwarded >= MAX_STDERR_BYTES {
                let note = format!(
                    "\n[llm-analytics: worker stderr truncated after {} MB]\n",
                    MAX_STDERR_BYTES >> 20
                );
                let _ = out.write_all(note.as_bytes()).await;
            }
        }
    }
}

/// Read one line (without its newline) into `line`, keeping at most `max` bytes.
/// `Some(true)`: a complete line; `Some(false)`: a longer line was skipped; `None`: end of input.
pub(super) async fn read_line_capped<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut overflow = false;
    let mut any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(any.then_some(!overflow));
        }
        any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !overflow {
            if line.len() + chunk.len() <= max {
                line.extend_from_slice(chunk);
            } else {
                overflow = true;
                line.clear();
                line.shrink_to(64 << 10);
            }
        }
        reader.consume(used);
        if done {
            return Ok(Some(!overflow));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        let ev = parse_event(r#"{"event":"stream","name":"stdout","text":"hi\n"}"#).unwrap();
        assert!(matches!(ev, Event::Output(Output::Stream { ref text, .. }) if text == "hi\n"));
        let ev = parse_event(r#"{"event":"reply","id":3,"ok":true,"value":{"a":1}}"#).unwrap();
        assert!(matches!(
            ev,
            Event::Reply {
                id: 3,
                ok: true,
                ..
            }
        ));
        let ev = parse_event(
            r#"{"event":"display_data","data":{"text/plain":"x"},"metadata":{},"transient":{"display_id":"d1"}}"#,
        )
        .unwrap();
        assert!(
            matches!(ev, Event::Output(Output::DisplayData { display_id: Some(ref d), .. }) if d == "d1")
        );
        assert!(parse_event("not json").is_none());
        assert!(parse_event(r#"{"event":"mystery"}"#).is_none());
        // Missing fields are empty; a field of the wrong type makes the line unreadable.
        let ev = parse_event(r#"{"event":"error"}"#).unwrap();
        assert!(matches!(ev, Event::Output(Output::Error(ref e)) if e.ename.is_empty()));
        assert!(parse_event(r#"{"event":"stream","text":7}"#).is_none());
        assert!(parse_event(r#"{"event":"reply","id":"1"}"#).is_none());
    }

    #[tokio::test]
    async fn long_lines_are_skipped_not_buffered() {
        let data = format!("{}\nshort\n{}", "x".repeat(100), "tail-without-newline");
        let mut reader = BufReader::with_capacity(16, data.as_bytes());
        let mut line = Vec::new();
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 10).await.unwrap(),
            Some(false)
        );
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 10).await.unwrap(),
            Some(true)
        );
        assert_eq!(line, b"short");
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 100).await.unwrap(),
            Some(true)
        );
        assert_eq!(line, b"tail-without-newline");
        assert_eq!(
            read_line_capped(&mut reader, &mut line, 100).await.unwrap(),
            None
        );
    }
}
