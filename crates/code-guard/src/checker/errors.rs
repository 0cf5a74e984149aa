//! The rejections several rules share.

use crate::lists;
use crate::Rejection;

pub(super) fn dispatch_error(method: &str, what: &str, line: usize) -> Rejection {
    Rejection::new(
        "string-dispatch",
        format!(
            "Forbidden method dispatch: {method}() at line {line} is given {what}; pandas calls \
             methods named by strings, so pass a literal aggregation name ('sum', 'mean', ...), \
             a list or dict of them, a lambda or a function"
        ),
    )
}

pub(super) fn module_by_name(what: &str, line: usize) -> Rejection {
    Rejection::new(
        "module-by-name",
        format!(
            "Forbidden setting: {what} at line {line}; library settings that name a backend, \
             hook or style file import modules or call functions by name, so only plain \
             literal names and literal keys are allowed"
        ),
    )
}

pub(super) fn format_traversal(field: &str, line: usize) -> Rejection {
    Rejection::new(
        "format-traversal",
        format!(
            "Forbidden string formatting: the field '{{{field}}}' at line {line} reads attributes \
             or items of its argument; format plain values ('{{}}', '{{:.2f}}') or use an f-string"
        ),
    )
}

pub(super) fn formula_not_literal(line: usize) -> Rejection {
    Rejection::new(
        "formula",
        format!(
            "Forbidden formula: the formula at line {line} is not a literal string; formulas are \
             evaluated as Python, so write it out, e.g. smf.ols('y ~ x1 + x2', data=df)"
        ),
    )
}

pub(super) fn forbidden_import(module: &str, line: usize) -> Rejection {
    Rejection::new(
        "import",
        format!(
            "Forbidden import: '{module}' at line {line} is not on the allowed list ({}; \
             submodules of scipy, sklearn, statsmodels and seaborn are allowed too)",
            lists::allowed_modules().join(", ")
        ),
    )
}

pub(super) fn relative_import(line: usize) -> Rejection {
    Rejection::new(
        "import",
        format!(
            "Forbidden import: relative import at line {line}; import from an allowed module \
             by its full name ({})",
            lists::allowed_modules().join(", ")
        ),
    )
}

pub(super) fn forbidden_builtin(name: &str, line: usize) -> Rejection {
    Rejection::new(
        "builtin",
        format!(
            "Forbidden built-in function: {name} (line {line}); it can run code, touch files or \
             reach attributes by name, so it is blocked even as a variable name"
        ),
    )
}

pub(super) fn forbidden_dunder(name: &str, line: usize) -> Rejection {
    Rejection::new(
        "dunder",
        format!(
            "Forbidden dunder attribute: '{name}' at line {line}; names that start and end with \
             '__' give access to interpreter internals"
        ),
    )
}
