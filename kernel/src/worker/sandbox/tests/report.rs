//! The report: `%sandbox` output escapes everything it shows.

use super::*;

#[test]
fn render_escapes_everything() {
    let report = json!({
        "layers": [{"name": "filesystem", "active": true, "detail": "<b>x</b>"}],
        "limits": [{"name": "memory", "value": "8192 MB"}],
        "scratch": "/tmp/<s>",
    });
    let out = render(
        &report,
        &[("validator".into(), false, "OFF <script>".into())],
    );
    let html = out["text/html"].as_str().unwrap();
    assert!(!html.contains("<script>") && !html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;"));
    let text = out["text/plain"].as_str().unwrap();
    assert!(text.contains("filesystem") && text.contains("OFF <script>"));
    assert!(text.contains("8192 MB"));
}
