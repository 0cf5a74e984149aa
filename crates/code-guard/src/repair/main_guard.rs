//! The `if __name__ == "__main__":` guard, replaced by its body.

use rustpython_parser::ast::{self, Expr, Ranged, Stmt};
use rustpython_parser::Parse;

use super::{apply, indent_at, is_str, line_end, line_start, span, Edit};

/// `if __name__ == "__main__":` at top level becomes its body, dedented.
pub(super) fn unguard_main(code: &str, notes: &mut Vec<String>) -> String {
    let Ok(suite) = ast::Suite::parse(code, "<generated>") else {
        return code.to_string();
    };
    let mut edits = Vec::new();
    for stmt in &suite {
        let Stmt::If(s) = stmt else { continue };
        if !s.orelse.is_empty() || !is_main_test(&s.test) || s.body.is_empty() {
            continue;
        }
        let (if_start, if_end) = span(s.range);
        let start = line_start(code, if_start);
        let end = line_end(code, if_end);
        let body_start = usize::from(s.body[0].start());
        let text = if line_start(code, body_start) == start {
            // `if __name__ == "__main__": main()`
            code[body_start..end].to_string()
        } else {
            let block = line_end(code, usize::from(s.test.end()));
            dedent(&code[block..end], indent_at(code, body_start).len())
        };
        edits.push(Edit { start, end, text });
    }
    if edits.is_empty() {
        return code.to_string();
    }
    notes.push("Ran the code under `if __name__ == \"__main__\":` directly.".into());
    apply(code, edits)
}

fn is_main_test(test: &Expr) -> bool {
    let Expr::Compare(c) = test else { return false };
    if c.ops.len() != 1 || !matches!(c.ops[0], ast::CmpOp::Eq) {
        return false;
    }
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| is_str(e) == Some("__main__");
    let (left, right) = (c.left.as_ref(), &c.comparators[0]);
    (is_name(left) && is_main(right)) || (is_main(left) && is_name(right))
}

/// Removes up to `width` leading whitespace characters from every line.
fn dedent(text: &str, width: usize) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let strip = line
                .char_indices()
                .take(width)
                .take_while(|(_, c)| *c == ' ' || *c == '\t')
                .count();
            &line[strip..]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedents_blocks() {
        assert_eq!(
            dedent("    a\n\n    if x:\n        b\n", 4),
            "a\n\nif x:\n    b\n"
        );
    }
}
