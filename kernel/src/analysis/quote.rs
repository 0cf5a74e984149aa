//! Text that goes into prompts: names as Python literals, data as inert text. Control and
//! invisible characters are escaped or dropped so data can never fake prompt structure.

/// A name as a Python string literal, exactly as code must spell it (`' BARO'` keeps its
/// leading space), with control characters escaped so data can never start a prompt line.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Characters that change how text reads without showing (bidi overrides, zero-width).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Data-derived text block (the sample table): control characters other than the line
/// breaks between rows are dropped, so a value cannot fake prompt structure.
pub fn data_text(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\n' || !(c.is_control() || is_invisible(c)))
        .collect()
}
