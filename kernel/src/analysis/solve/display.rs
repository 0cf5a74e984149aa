//! The cell's code display: streamed while the model writes, the code about to run, its final notes.

use crate::analysis::reply;
use crate::protocol::backend::{Output, OutputSink};
use serde_json::{json, Value};

/// The code display while the model writes: what it has so far, as plain text.
pub(super) fn show_streaming(
    sink: &OutputSink,
    display_id: &str,
    label: &str,
    so_far: &str,
    update: bool,
) {
    let text = format!("{label}\n{}", reply::without_reasoning(so_far));
    let data = json!({"text/plain": text});
    send_code_display(sink, display_id, data, update);
}

/// The code display with the code about to run.
pub(super) fn show_code(
    sink: &OutputSink,
    display_id: &str,
    code: &str,
    label: &str,
    update: bool,
) {
    let data = json!({
        "text/markdown": crate::analysis::render::code_markdown(code, None),
        "text/plain": format!("{label}\n{code}"),
    });
    send_code_display(sink, display_id, data, update);
}

fn send_code_display(sink: &OutputSink, display_id: &str, data: Value, update: bool) {
    let metadata = crate::analysis::render::role("code");
    sink.send(if update {
        Output::UpdateDisplayData {
            data,
            metadata,
            display_id: display_id.to_string(),
        }
    } else {
        Output::DisplayData {
            data,
            metadata,
            display_id: Some(display_id.to_string()),
        }
    });
}

/// The code display's final state: the code that ran (or last failed), its notes above it.
pub(super) fn code_display(
    sink: &OutputSink,
    display_id: &str,
    code: &str,
    notes: &[String],
    update: bool,
) {
    let data = json!({
        "text/markdown": crate::analysis::render::code_markdown(code, Some(notes)),
        "text/plain": code,
    });
    send_code_display(sink, display_id, data, update);
}
