//! What the sandbox reports: the layers applied, for the kernel log and `%sandbox`.

use super::*;

#[derive(Debug, Clone)]
pub struct Layer {
    pub name: &'static str,
    pub active: bool,
    pub detail: String,
}

/// What `apply` managed to install, for the kernel log and `%sandbox`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub layers: Vec<Layer>,
    pub limits: Vec<(&'static str, String)>,
    pub scratch: Option<PathBuf>,
    pub readable: Vec<PathBuf>,
    /// Microseconds spent installing the sandbox.
    pub setup_us: u128,
}

impl Report {
    pub(super) fn layer(&mut self, name: &'static str, active: bool, detail: impl Into<String>) {
        self.layers.push(Layer {
            name,
            active,
            detail: detail.into(),
        });
    }

    pub fn to_json(&self) -> Value {
        json!({
            "layers": self.layers.iter().map(|l| json!({
                "name": l.name, "active": l.active, "detail": l.detail,
            })).collect::<Vec<_>>(),
            "limits": self.limits.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "scratch": self.scratch.as_ref().map(|p| p.display().to_string()),
            "readable": self.readable.iter().take(REPORT_READABLE_MAX).map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "readable_count": self.readable.len(),
            "setup_us": self.setup_us as u64,
        })
    }
}

/// One line for the kernel log: which layers are on.
pub fn summary(report: &Value) -> String {
    let layers = report["layers"].as_array().cloned().unwrap_or_default();
    let on: Vec<&str> = layers
        .iter()
        .filter(|l| l["active"] == true)
        .filter_map(|l| l["name"].as_str())
        .collect();
    let off: Vec<&str> = layers
        .iter()
        .filter(|l| l["active"] != true)
        .filter_map(|l| l["name"].as_str())
        .collect();
    let mut s = format!("worker sandbox: active layers: {}", on.join(", "));
    if !off.is_empty() {
        s.push_str(&format!("; NOT active: {}", off.join(", ")));
    }
    let limits: Vec<String> = report["limits"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    format!(
                        "{}={}",
                        l["name"].as_str().unwrap_or(""),
                        l["value"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if !limits.is_empty() {
        s.push_str(&format!("; limits: {}", limits.join(", ")));
    }
    s
}

/// The kernel's one HTML escaper.
use crate::analysis::render::escape_html;

/// `%sandbox`: the worker's report plus the kernel's own layers, as text/plain and escaped HTML.
pub fn render(report: &Value, kernel_layers: &[(String, bool, String)]) -> Value {
    let mut rows: Vec<(String, String, String)> = kernel_layers
        .iter()
        .map(|(n, a, d)| (n.clone(), if *a { "on" } else { "OFF" }.into(), d.clone()))
        .collect();
    for l in report["layers"].as_array().into_iter().flatten() {
        rows.push((
            l["name"].as_str().unwrap_or("").to_string(),
            if l["active"] == true { "on" } else { "OFF" }.into(),
            l["detail"].as_str().unwrap_or("").to_string(),
        ));
    }
    let limits: Vec<(String, String)> = report["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or("").to_string(),
                l["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    let mut text = String::from("Containment layers\n");
    let mut html = String::from(
        "<table><thead><tr><th>layer</th><th>state</th><th>detail</th></tr></thead><tbody>",
    );
    for (name, state, detail) in &rows {
        text.push_str(&format!("  {name:<width$}  {state:<3}  {detail}\n"));
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(name),
            escape_html(state),
            escape_html(detail)
        ));
    }
    html.push_str("</tbody></table>");
    if !limits.is_empty() {
        text.push_str("Limits\n");
        html.push_str("<table><thead><tr><th>limit</th><th>value</th></tr></thead><tbody>");
        let lw = limits.iter().map(|l| l.0.len()).max().unwrap_or(5);
        for (name, value) in &limits {
            text.push_str(&format!("  {name:<lw$}  {value}\n"));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_html(name),
                escape_html(value)
            ));
        }
        html.push_str("</tbody></table>");
    }
    if let Some(scratch) = report["scratch"].as_str() {
        text.push_str(&format!(
            "Scratch directory (read-write, also TMPDIR and SCRATCH): {scratch}\n"
        ));
        html.push_str(&format!(
            "<p>Scratch directory (read-write, also <code>TMPDIR</code> and <code>SCRATCH</code>): <code>{}</code></p>",
            escape_html(scratch)
        ));
    }
    json!({"text/plain": text, "text/html": html})
}
