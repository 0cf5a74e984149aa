//! The worker's side of the pipe as the kernel reads it: JSON lines framed by tokio-util's
//! `LinesCodec`, each at most MAX_LINE_BYTES (longer ones are skipped, never buffered), parsed
//! into typed events; and its stderr, forwarded up to a cap.

use super::*;
use bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};

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

/// One line of the worker protocol as the worker writes it (runtime/output.py `send`, bootstrap.py).
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

/// One line of the worker's stdout as the reader sees it.
#[derive(Debug, PartialEq)]
pub(super) enum Line {
    Text(String),
    /// Longer than the maximum: skipped without being buffered.
    Oversized,
    /// Not UTF-8, so not a protocol line: skipped.
    NotUtf8,
}

/// tokio-util's `LinesCodec` with a maximum length, made to go on after a line it refuses:
/// `FramedRead` ends the stream on a decoder error, so the codec's two per-line errors (too
/// long, not UTF-8) become items instead. Memory stays bounded by the maximum whatever the
/// worker writes (the codec discards the rest of a long line as it arrives).
pub(super) struct WorkerLines(LinesCodec);

impl WorkerLines {
    pub(super) fn new(max_bytes: usize) -> Self {
        Self(LinesCodec::new_with_max_length(max_bytes))
    }
}

impl Decoder for WorkerLines {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Line>> {
        per_line(self.0.decode(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> std::io::Result<Option<Line>> {
        per_line(self.0.decode_eof(buf))
    }
}

fn per_line(decoded: Result<Option<String>, LinesCodecError>) -> std::io::Result<Option<Line>> {
    match decoded {
        Ok(line) => Ok(line.map(Line::Text)),
        Err(LinesCodecError::MaxLineLengthExceeded) => Ok(Some(Line::Oversized)),
        // The codec has already consumed the line when it finds it is not UTF-8.
        Err(LinesCodecError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            Ok(Some(Line::NotUtf8))
        }
        Err(LinesCodecError::Io(e)) => Err(e),
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
    async fn long_and_non_utf8_lines_are_skipped_and_reading_goes_on() {
        use futures::StreamExt;
        use tokio_util::codec::FramedRead;
        let mut data = format!("{}\nshort\n", "x".repeat(100)).into_bytes();
        data.extend_from_slice(b"\xff\xfe bad\n");
        data.extend_from_slice("x".repeat(50).as_bytes()); // long, and no newline at the end
        data.extend_from_slice(b"\nafter\ntail-without-newline");
        let mut lines = FramedRead::with_capacity(&data[..], WorkerLines::new(20), 16);
        let mut seen = vec![];
        while let Some(line) = lines.next().await {
            seen.push(line.unwrap());
        }
        assert_eq!(
            seen,
            vec![
                Line::Oversized,
                Line::Text("short".into()),
                Line::NotUtf8,
                Line::Oversized,
                Line::Text("after".into()),
                Line::Text("tail-without-newline".into()),
            ]
        );
    }
}
