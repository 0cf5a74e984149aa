//! What a statsmodels formula may call, and the names refused in one.

use super::builtins::{
    is_forbidden_builtin, is_reflection_callable, is_reflection_helper, is_string_eval_method,
};
use super::file_io::is_serialization_module;
use super::internals::{is_module_attribute, is_system_module};

/// Functions a model formula may call (patsy/formulaic evaluate formulas as
/// Python): transforms, contrasts and quoting, plus these under `np.` /
/// `numpy.`: see [`FORMULA_NUMPY_FUNCTIONS`].
const FORMULA_FUNCTIONS: &[&str] = &[
    "I",
    "C",
    "Q",
    "center",
    "standardize",
    "scale",
    "poly",
    "bs",
    "cr",
    "cc",
    "te",
    "lag",
    "Treatment",
    "Sum",
    "Diff",
    "Helmert",
    "Poly",
    "log",
    "exp",
    "sqrt",
    "abs",
    "round",
    "pow",
];

const FORMULA_NUMPY_FUNCTIONS: &[&str] = &[
    "log", "log1p", "log2", "log10", "exp", "expm1", "sqrt", "abs", "square", "power", "sin",
    "cos", "tan", "floor", "ceil", "round", "clip", "sign", "maximum", "minimum",
];

/// Python keywords allowed inside a formula's expressions (`I(x if y else z)`).
const FORMULA_KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "True", "False", "None",
];

/// All Python keywords (refused in formulas unless in [`FORMULA_KEYWORDS`]).
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// A callee a formula may use: `C`, `np.log`, `numpy.sqrt`, ...
pub fn is_formula_function(dotted: &str) -> bool {
    match dotted.split_once('.') {
        None => FORMULA_FUNCTIONS.contains(&dotted),
        Some((module, name)) => {
            matches!(module, "np" | "numpy") && FORMULA_NUMPY_FUNCTIONS.contains(&name)
        }
    }
}

/// A bare name refused inside a formula: keywords (`lambda`), built-ins
/// and modules that run code or reach internals.
pub fn is_forbidden_formula_name(name: &str) -> bool {
    (PYTHON_KEYWORDS.contains(&name) && !FORMULA_KEYWORDS.contains(&name))
        || name.starts_with('_')
        || is_forbidden_builtin(name)
        || is_system_module(name)
        || is_module_attribute(name)
        || is_reflection_callable(name)
        || is_reflection_helper(name)
        || is_serialization_module(name)
        || is_string_eval_method(name)
}
