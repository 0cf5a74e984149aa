//! Sample rows typed into the code as a `DataFrame` named like a loaded dataset.

use rustpython_parser::ast::{self, Expr, Stmt};
use rustpython_parser::Parse;

use super::{apply, line_end, line_start, span, Edit};

/// Small models rebuild the data from the sample rows the prompt shows
/// (`df = pd.DataFrame({'BARO': [1020.1, 1002.8, ...]})`) and answer about five rows. A
/// top-level assignment of a literal-only `DataFrame(...)` to a loaded dataset's name goes:
/// the loaded data is what the question is about.
pub(super) fn drop_sample_copies(code: &str, datasets: &[&str], notes: &mut Vec<String>) -> String {
    let Ok(suite) = ast::Suite::parse(code, "<generated>") else {
        return code.to_string();
    };
    let mut edits = Vec::new();
    let mut names = Vec::new();
    for stmt in &suite {
        let Stmt::Assign(a) = stmt else { continue };
        let [Expr::Name(target)] = a.targets.as_slice() else {
            continue;
        };
        let name = target.id.as_str();
        if name != "df" && !datasets.contains(&name) {
            continue;
        }
        let Expr::Call(call) = a.value.as_ref() else {
            continue;
        };
        let Expr::Attribute(attr) = call.func.as_ref() else {
            continue;
        };
        if attr.attr.as_str() != "DataFrame"
            || call.args.is_empty() && call.keywords.is_empty()
            || !call.args.iter().all(is_literal)
            || !call.keywords.iter().all(|k| is_literal(&k.value))
        {
            continue;
        }
        let (start, end) = span(a.range);
        edits.push(Edit {
            start: line_start(code, start),
            end: line_end(code, end),
            text: String::new(),
        });
        names.push(name.to_string());
    }
    if edits.is_empty() {
        return code.to_string();
    }
    for name in names {
        notes.push(format!(
            "Used the loaded data `{name}`, not a copy of its sample rows typed into the code."
        ));
    }
    apply(code, edits)
}

/// A value written out in the code: constants, and lists, tuples, dicts and sets of them.
fn is_literal(e: &Expr) -> bool {
    match e {
        Expr::Constant(_) => true,
        Expr::UnaryOp(u) => is_literal(&u.operand),
        Expr::List(l) => l.elts.iter().all(is_literal),
        Expr::Tuple(t) => t.elts.iter().all(is_literal),
        Expr::Set(t) => t.elts.iter().all(is_literal),
        Expr::Dict(d) => d.keys.iter().flatten().all(is_literal) && d.values.iter().all(is_literal),
        _ => false,
    }
}
