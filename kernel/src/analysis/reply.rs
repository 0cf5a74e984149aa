//! What a model's reply holds: its reasoning (never run, never shown) and its code.
//!
//! Reasoning models served by Ollama or vLLM (DeepSeek-R1, Qwen3) put `<think>…</think>` in
//! the content; some stop mid-thought when they hit the token cap. Code is only ever taken
//! from the text after the reasoning.

/// The reply without its reasoning. An unterminated `<think>` means the whole rest is
/// reasoning: nothing of it may run.
pub fn without_reasoning(reply: &str) -> String {
    let mut out = String::with_capacity(reply.len());
    let mut rest = reply;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(open) = lower.find("<think>") else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..open]);
        match lower[open..].find("</think>") {
            Some(close) => rest = &rest[open + close + "</think>".len()..],
            None => break,
        }
    }
    // A reply that starts inside reasoning (the opening tag was in the prompt template)
    // carries only the closing tag: everything before it is reasoning.
    let lower = out.to_ascii_lowercase();
    match lower.rfind("</think>") {
        Some(close) => out[close + "</think>".len()..].to_string(),
        None => out,
    }
}

/// The code of a reply: reasoning removed, then the python block (prose around it dropped).
pub fn code_of(reply: &str) -> String {
    code_guard::extract_code(&without_reasoning(reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_inside_reasoning_never_runs() {
        let reply = "<think>Maybe:\n```python\nimport os\nos.system('x')\n```\nno.</think>\n\
                     Here is the code:\n```python\nresult = df['a'].mean()\n```";
        assert_eq!(code_of(reply), "result = df['a'].mean()");
    }

    #[test]
    fn unterminated_reasoning_yields_no_code() {
        let reply = "<think>\n```python\nresult = 1\n```\nstill thinking";
        assert_eq!(code_of(reply), "");
    }

    #[test]
    fn a_reply_that_starts_mid_reasoning() {
        let reply = "the user wants the mean\n```python\nresult = 2\n```</think>\n```python\nresult = df.a.mean()\n```";
        assert_eq!(code_of(reply), "result = df.a.mean()");
    }

    #[test]
    fn prose_around_fences_is_dropped() {
        let reply =
            "Sure! Here's how:\n\n```python\nresult = df.shape[0]\n```\n\nThis counts rows.";
        assert_eq!(code_of(reply), "result = df.shape[0]");
    }
}
