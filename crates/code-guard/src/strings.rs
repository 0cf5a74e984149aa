//! Checks over the contents of string literals that libraries interpret:
//! `str.format` templates and statsmodels (patsy/formulaic) formulas.

use crate::lists;

/// The first replacement field of a `str.format` template that traverses
/// attributes or items of its argument (`{0.__class__}`, `{x.y}`,
/// `{0[key]}`), including fields nested in format specs (`{0:{1.x}}`).
///
/// Text that is not a format template (JSON, regex quantifiers like `{2,3}`)
/// is not reported: a field counts only when its name is empty, an integer
/// or an identifier, followed by `.` or `[`.
pub fn format_traversal(template: &str) -> Option<&str> {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => {
                let start = i + 1;
                // The field runs to its matching '}' (specs may nest fields).
                let mut depth = 1;
                let mut j = start;
                while j < bytes.len() && depth > 0 {
                    match bytes[j] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let end = if depth == 0 { j - 1 } else { bytes.len() };
                let field = &template[start..end];
                if traverses(field) {
                    return Some(field);
                }
                // Fields nested in the format spec.
                if let Some(colon) = field.find(':') {
                    if let Some(inner) = format_traversal(&field[colon + 1..]) {
                        return Some(inner);
                    }
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    None
}

/// `arg_name ("." attribute | "[" index "]")*` with at least one accessor.
fn traverses(field: &str) -> bool {
    let name_end = field.find(['.', '[', '!', ':']).unwrap_or(field.len());
    let name = &field[..name_end];
    let plausible_name =
        name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) || is_identifier(name);
    plausible_name && matches!(field[name_end..].chars().next(), Some('.' | '['))
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Why a model formula is refused, naming the offending piece; `None` when
/// it only uses column names, numbers, operators, quoted names and
/// [`lists::is_formula_function`] calls.
pub fn formula_problem(formula: &str) -> Option<String> {
    let chars: Vec<char> = formula.chars().collect();
    let mut i = 0;
    // What the previous token was, to spot calls of call results `f(x)(y)`.
    let mut after_value = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            i = skip_number(&chars, i);
            after_value = true;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let name = name.trim_end_matches('.');
            let called = next_non_space(&chars, i) == Some('(');
            if called {
                if !lists::is_formula_function(name) {
                    return Some(format!("call of '{name}'"));
                }
                after_value = false;
            } else {
                if name.contains('.') {
                    return Some(format!("attribute access '{name}'"));
                }
                if lists::is_forbidden_formula_name(name) || lists::is_dunder(name) {
                    return Some(format!("name '{name}'"));
                }
                after_value = true;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                i = skip_string(&chars, i);
                if matches!(next_non_space(&chars, i), Some('(' | '.' | '[')) {
                    return Some("a string used as a function or object".into());
                }
                after_value = true;
            }
            '`' => {
                // formulaic's quoted column names.
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                i += 1;
                after_value = true;
            }
            '(' => {
                if after_value {
                    return Some("a call of an expression result".into());
                }
                i += 1;
            }
            ')' => {
                i += 1;
                after_value = true;
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                return Some("':=' assignment".into());
            }
            '~' | '+' | '-' | '*' | '/' | '%' | '^' | ':' | '|' | '&' | '<' | '>' | '=' | '!'
            | ',' => {
                i += 1;
                after_value = false;
            }
            other => return Some(format!("character '{other}'")),
        }
    }
    None
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<char> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    chars.get(i).copied()
}

fn skip_number(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        let c = chars[i];
        let exponent_sign = matches!(c, '+' | '-') && i > 0 && matches!(chars[i - 1], 'e' | 'E');
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_fields() {
        assert_eq!(format_traversal("{0.__class__}"), Some("0.__class__"));
        assert_eq!(format_traversal("{x.y} and {}"), Some("x.y"));
        assert_eq!(format_traversal("{0[key]}"), Some("0[key]"));
        assert_eq!(format_traversal("{.real}"), Some(".real"));
        assert_eq!(format_traversal("{0:{1.x}}"), Some("1.x"));
        assert_eq!(format_traversal("{:.2f} {0:>10} {x!r}"), None);
        assert_eq!(format_traversal("{{0.x}}"), None);
        assert_eq!(format_traversal(r#"{"a.b": 1}"#), None);
        assert_eq!(format_traversal(r"\d{2,3}.\d{4}"), None);
        assert_eq!(format_traversal("{:,.0f}"), None);
    }

    #[test]
    fn formulas() {
        for ok in [
            "y ~ x",
            "np.log(price) ~ C(region) + I(age ** 2) + x1:x2 - 1",
            "y ~ C(g, Treatment(reference='a')) + Q('my col')",
            "y ~ standardize(x) + bs(t, df=4) + `odd name`",
            "y ~ x + 1e-3 * z",
        ] {
            assert_eq!(formula_problem(ok), None, "{ok}");
        }
        for bad in [
            "y ~ I(eval('1'))",
            "y ~ I(getattr)",
            "y ~ os.system",
            "y ~ I((lambda: 1)())",
            "y ~ I(Q('eval')('x'))",
            "y ~ {x + 1}",
            "y ~ x[0]",
            "y ~ I('a'.join)",
            "y ~ exec",
            "y ~ I(x := 1)",
            "y ~ np.load(f)",
        ] {
            assert!(formula_problem(bad).is_some(), "{bad}");
        }
    }
}
