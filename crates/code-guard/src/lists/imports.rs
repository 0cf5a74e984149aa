//! Import allowlist, dotted paths denied under any alias, and the worker's pre-bound modules.

use super::internals::{is_internal_anywhere, MODULE_ATTRIBUTES, SYSTEM_MODULES};

/// Modules that may be imported exactly as written (no other submodules).
/// pandas/numpy/matplotlib are exact-only because their submodules expose
/// file I/O, C bindings and backends.
const EXACT_MODULES: &[&str] = &[
    "pandas",
    "pandas.tseries.offsets",
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.fft",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.ticker",
    "matplotlib.dates",
    "matplotlib.colors",
    "matplotlib.cm",
    "math",
    "statistics",
    "datetime",
    "re",
    "collections",
    "itertools",
    "functools",
    "operator",
    "string",
    "decimal",
    "fractions",
    "random",
    "calendar",
    "json",
    "textwrap",
];

/// Packages whose submodules may be imported too (`scipy.stats`,
/// `sklearn.linear_model`, `statsmodels.formula.api`, ...), minus internals.
const MODULE_FAMILIES: &[&str] = &["scipy", "sklearn", "statsmodels", "seaborn"];

/// Everything importable, for display. Family roots allow their submodules.
const ALLOWED_DISPLAY: &[&str] = &[
    "pandas",
    "pandas.tseries.offsets",
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.fft",
    "scipy",
    "sklearn",
    "statsmodels",
    "seaborn",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.ticker",
    "matplotlib.dates",
    "matplotlib.colors",
    "matplotlib.cm",
    "math",
    "statistics",
    "datetime",
    "re",
    "collections",
    "itertools",
    "functools",
    "operator",
    "string",
    "decimal",
    "fractions",
    "random",
    "calendar",
    "json",
    "textwrap",
];

/// Modules the worker binds in every question's namespace without an import.
const PREBOUND_MODULES: &[(&str, &str)] = &[
    ("pd", "pandas"),
    ("np", "numpy"),
    ("plt", "matplotlib.pyplot"),
    ("datetime", "datetime"),
];

/// Dotted paths refused whatever alias reaches them (import or attribute
/// chain from an import): network downloads, browsers, external programs,
/// documentation helpers that print library source, and `string.Formatter`
/// (its `get_field` resolves `'0.attr'` strings with getattr).
const DENIED_PATHS: &[&str] = &[
    "scipy.datasets",
    "scipy.misc",
    "statsmodels.tools.web",
    "statsmodels.tsa.x13",
    "numpy.info",
    "string.Formatter",
];

pub fn allowed_modules() -> &'static [&'static str] {
    ALLOWED_DISPLAY
}

/// Whether `import <path>` / `from <path> import ...` is allowed.
pub fn is_allowed_import(path: &str) -> bool {
    if path.split('.').any(is_internal_segment) || is_denied_path(path) {
        return false;
    }
    EXACT_MODULES.contains(&path)
        || MODULE_FAMILIES
            .iter()
            .any(|root| path == *root || is_submodule_of(path, root))
}

pub(super) fn is_submodule_of(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// A module path segment that must never be imported, whatever the package.
pub fn is_internal_segment(segment: &str) -> bool {
    segment.starts_with('_')
        || SYSTEM_MODULES.contains(&segment)
        || is_internal_anywhere(segment)
        || MODULE_ATTRIBUTES.contains(&segment)
}

/// A dotted path (`scipy.datasets.face`) inside one of [`DENIED_PATHS`].
pub fn is_denied_path(path: &str) -> bool {
    DENIED_PATHS
        .iter()
        .any(|denied| path == *denied || is_submodule_of(path, denied))
}

pub fn prebound_module(name: &str) -> Option<&'static str> {
    PREBOUND_MODULES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, path)| *path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_allowlist() {
        assert!(is_allowed_import("pandas"));
        assert!(is_allowed_import("scipy.stats"));
        assert!(is_allowed_import("statsmodels.formula.api"));
        assert!(is_allowed_import("matplotlib.pyplot"));
        assert!(!is_allowed_import("matplotlib.backends"));
        assert!(!is_allowed_import("pandas.io.common"));
        assert!(!is_allowed_import("scipy.io"));
        assert!(!is_allowed_import("sklearn.utils"));
        assert!(!is_allowed_import("scipyx"));
        assert!(!is_allowed_import("time"));
    }
}
