//! Papermill's parameters form: a cell of plain `name = literal` lines (its Python
//! translator writes `# Parameters` then one assignment per parameter; a notebook's own
//! `parameters` cell is written the same way).

use rustpython_parser::ast::{self, Constant, Expr, Ranged, Stmt, UnaryOp};
use rustpython_parser::{lexer, Mode, Parse, Tok};

/// One `name = literal` line of a parameters cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// The value as written (`'EU'`, `2026`, `[1, 2]`).
    pub source: String,
    /// The value of a string literal (`EU`); None for other literals.
    pub text: Option<String>,
}

/// The parameters when every statement of `code` assigns a literal to one plain name
/// (at least one statement; comments and blank lines are fine), else None.
pub fn literal_assignments(code: &str) -> Option<Vec<Parameter>> {
    let suite = ast::Suite::parse(code, "<parameters>").ok()?;
    if suite.is_empty() {
        return None;
    }
    suite
        .iter()
        .map(|stmt| {
            let (target, value) = match stmt {
                Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], a.value.as_ref()),
                Stmt::AnnAssign(a) => (a.target.as_ref(), a.value.as_deref()?),
                _ => return None,
            };
            let Expr::Name(name) = target else {
                return None;
            };
            if !is_literal(value) {
                return None;
            }
            let range = value.range();
            let source = code[usize::from(range.start())..usize::from(range.end())].to_string();
            let text = match value {
                Expr::Constant(c) => match &c.value {
                    Constant::Str(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            Some(Parameter {
                name: name.id.to_string(),
                source,
                text,
            })
        })
        .collect()
}

/// The identifiers and the string literals that `code` uses, from its tokens (so a column
/// `'region'` is a string and the variable `region` a name). Code that does not tokenize
/// gives what was read before the error.
pub fn names_and_strings(code: &str) -> (Vec<String>, Vec<String>) {
    let (mut names, mut strings) = (vec![], vec![]);
    for token in lexer::lex(code, Mode::Module) {
        match token {
            Ok((Tok::Name { name }, _)) => names.push(name),
            Ok((Tok::String { value, .. }, _)) => strings.push(value),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (names, strings)
}

/// Numbers, strings, booleans, None, and lists/tuples/sets/dicts of them.
fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Constant(c) => !matches!(c.value, Constant::Ellipsis),
        Expr::UnaryOp(u) => {
            matches!(u.op, UnaryOp::USub | UnaryOp::UAdd)
                && matches!(u.operand.as_ref(), Expr::Constant(c) if matches!(c.value, Constant::Int(_) | Constant::Float(_) | Constant::Complex { .. }))
        }
        Expr::List(l) => l.elts.iter().all(is_literal),
        Expr::Tuple(t) => t.elts.iter().all(is_literal),
        Expr::Set(s) => s.elts.iter().all(is_literal),
        Expr::Dict(d) => {
            d.keys.iter().all(|k| k.as_ref().is_some_and(is_literal))
                && d.values.iter().all(is_literal)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn papermills_form_is_parameters() {
        let cell = "# Parameters\nregion = \"EU\"\npath = \"data/2026-11.csv\"\nyear = 2026\nrate = -0.5\nflags = [True, None]\nlimits = {\"a\": 1}\n";
        let p = literal_assignments(cell).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["region", "path", "year", "rate", "flags", "limits"]);
        assert_eq!(p[0].source, "\"EU\"");
        assert_eq!(p[0].text.as_deref(), Some("EU"));
        assert_eq!(p[2].source, "2026");
        assert_eq!(p[2].text, None);
        assert_eq!(p[3].source, "-0.5");
    }

    #[test]
    fn names_are_told_from_strings() {
        let (names, strings) =
            names_and_strings("total = df[df['region'] == region]['sales'].sum()");
        assert!(names.contains(&"region".to_string()));
        assert!(strings.contains(&"region".to_string()));
        assert!(!names.contains(&"sales".to_string()));
    }

    #[test]
    fn anything_else_is_not() {
        for cell in [
            "What is the total revenue?",
            "x = df['a'].sum()",
            "x = y",
            "a, b = 1, 2",
            "x = 1\nprint(x)",
            "df.x = 1",
            "x = f'{y}'",
            "# only a comment",
            "",
        ] {
            assert_eq!(literal_assignments(cell), None, "{cell:?}");
        }
    }
}
