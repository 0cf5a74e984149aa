//! `__dunder__` names, as identifiers and inside strings.

/// `__name__`-style identifier (at least one character between the underscores).
pub fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// First `__word__` inside a string, e.g. in `'{0.__class__}'.format(x)`.
pub fn find_dunder_in_text(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find("__") {
        let after = &rest[start + 2..];
        let word_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let word = &after[..word_len];
        // `word` may swallow the closing "__"; require a non-empty core.
        if let Some(core) = word.strip_suffix("__") {
            if !core.is_empty() && !core.starts_with('_') {
                return Some(&rest[start..start + 2 + word_len]);
            }
        }
        rest = &rest[start + 2..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dunder_detection() {
        assert!(is_dunder("__class__"));
        assert!(!is_dunder("____"));
        assert!(!is_dunder("__x"));
        assert_eq!(find_dunder_in_text("{0.__class__.x}"), Some("__class__"));
        assert_eq!(find_dunder_in_text("a__b"), None);
        assert_eq!(find_dunder_in_text("x____y"), None);
        assert_eq!(
            find_dunder_in_text("__index_level_0__"),
            Some("__index_level_0__")
        );
    }
}
