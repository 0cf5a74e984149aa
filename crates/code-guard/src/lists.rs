//! The name lists behind the rules, plus small pure predicates over them.
//!
//! Everything here is data or a one-line classification so that the tree
//! walk in `checker.rs` reads as "which rule applies", not "which strings".

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

/// Built-ins that run code, touch files, introspect scopes or reach
/// attributes by string. Blocked even as plain names so they cannot be
/// aliased (`f = eval`) or shadow-tested.
const FORBIDDEN_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "open",
    "input",
    "help",
    "globals",
    "locals",
    "vars",
    "dir",
    "getattr",
    "setattr",
    "delattr",
    "hasattr",
    "breakpoint",
    "memoryview",
    "exit",
    "quit",
    "super",
];

/// `operator` helpers that are `getattr` in disguise.
const REFLECTION_HELPERS: &[&str] = &["attrgetter", "methodcaller"];

/// System modules: refused as bare names and as attributes anywhere.
const SYSTEM_MODULES: &[&str] = &[
    "os",
    "sys",
    "subprocess",
    "builtins",
    "importlib",
    "ctypes",
    "socket",
    "shutil",
    "pathlib",
];

/// Library internals with no analysis use; refused as attributes anywhere.
const INTERNALS_ANYWHERE: &[&str] = &[
    "ctypeslib",
    "compat",
    "testing",
    "f2py",
    "distutils",
    "iolib",
    "externals",
    "backends",
];

/// Frame and code-object attributes: from a generator or traceback they lead
/// to `f_builtins`/`f_globals` without a single dunder.
const INTERPRETER_INTERNALS: &[&str] = &[
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "cr_frame",
    "cr_code",
    "cr_await",
    "ag_frame",
    "ag_code",
    "ag_await",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "f_code",
    "f_trace",
    "tb_frame",
    "tb_next",
    "co_code",
    "co_consts",
    "co_names",
    "func_globals",
    "func_code",
];

/// Submodule names refused only right after a module alias (`pd.io`), since
/// on data objects they can be legitimate attribute names.
const INTERNALS_ON_MODULES: &[&str] = &["io", "core", "lib", "util", "utils"];

/// Names bound to modules by convention; attribute chains rooted at them are
/// checked for `INTERNALS_ON_MODULES`.
const MODULE_ALIASES: &[&str] = &[
    "pd",
    "np",
    "pandas",
    "numpy",
    "plt",
    "mpl",
    "matplotlib",
    "sns",
    "seaborn",
    "scipy",
    "stats",
    "sklearn",
    "sm",
    "smf",
    "statsmodels",
    "datetime",
    "math",
    "re",
    "json",
];

/// Serialization modules: they read/write files and unpickling runs code.
const SERIALIZATION_MODULES: &[&str] = &[
    "pickle",
    "shelve",
    "marshal",
    "dill",
    "joblib",
    "cloudpickle",
];

/// Methods evaluating a string as an expression (`df.query`, `pd.eval`).
const STRING_EVAL_METHODS: &[&str] = &["eval", "query"];

/// Attributes that always read or write files or the network.
const FILE_IO_METHODS: &[&str] = &[
    "to_parquet",
    "to_feather",
    "to_hdf",
    "to_sql",
    "to_excel",
    "to_stata",
    "to_orc",
    "to_clipboard",
    "to_gbq",
    "to_netcdf",
    "savefig",
    "imsave",
    "imread",
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "load",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "fromregex",
    "tofile",
    "memmap",
    "DataSource",
    "ExcelWriter",
    "ExcelFile",
    "HDFStore",
    "load_dataset",
    "get_rdataset",
    "webuse",
    "load_svmlight_file",
    "load_svmlight_files",
    "dump_svmlight_file",
    "load_files",
    "save_npz",
    "load_npz",
    "dump",
    "export_graphviz",
    "clear_data_home",
    "get_dataset_names",
];

/// Name prefixes of reader/downloader families (`read_csv`, `fetch_openml`).
/// `print_` covers matplotlib's canvas writers (`print_png`, `print_figure`).
const FILE_IO_PREFIXES: &[&str] = &["read_", "fetch_", "print_"];

/// Writers that return a string when called without a destination and write
/// a file when given one; allowed only as direct calls without a path.
const CONDITIONAL_WRITERS: &[&str] = &[
    "to_csv",
    "to_json",
    "to_html",
    "to_string",
    "to_markdown",
    "to_latex",
    "to_xml",
];

/// Keyword arguments that name a writer's destination.
const PATH_KEYWORDS: &[&str] = &[
    "path_or_buf",
    "path_or_buffer",
    "buf",
    "path",
    "excel_writer",
    "fname",
    "filename",
    "file",
];

pub fn allowed_modules() -> &'static [&'static str] {
    ALLOWED_DISPLAY
}

/// Whether `import <path>` / `from <path> import ...` is allowed.
pub fn is_allowed_import(path: &str) -> bool {
    if path.split('.').any(is_internal_segment) {
        return false;
    }
    EXACT_MODULES.contains(&path)
        || MODULE_FAMILIES
            .iter()
            .any(|root| path == *root || is_submodule_of(path, root))
}

fn is_submodule_of(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// A module path segment that must never be imported, whatever the package.
pub fn is_internal_segment(segment: &str) -> bool {
    segment.starts_with('_')
        || SYSTEM_MODULES.contains(&segment)
        || INTERNALS_ANYWHERE.contains(&segment)
        || INTERNALS_ON_MODULES.contains(&segment)
}

pub fn is_forbidden_builtin(name: &str) -> bool {
    FORBIDDEN_BUILTINS.contains(&name)
}

pub fn is_reflection_helper(name: &str) -> bool {
    REFLECTION_HELPERS.contains(&name)
}

pub fn is_system_module(name: &str) -> bool {
    SYSTEM_MODULES.contains(&name)
}

pub fn is_internal_anywhere(name: &str) -> bool {
    SYSTEM_MODULES.contains(&name) || INTERNALS_ANYWHERE.contains(&name)
}

pub fn is_interpreter_internal(name: &str) -> bool {
    INTERPRETER_INTERNALS.contains(&name)
}

pub fn is_internal_on_module(name: &str) -> bool {
    INTERNALS_ON_MODULES.contains(&name)
}

pub fn is_module_alias(name: &str) -> bool {
    MODULE_ALIASES.contains(&name)
}

pub fn is_serialization_module(name: &str) -> bool {
    SERIALIZATION_MODULES.contains(&name)
}

pub fn is_string_eval_method(name: &str) -> bool {
    STRING_EVAL_METHODS.contains(&name)
}

/// Attribute names that always perform file or network I/O.
pub fn is_file_io_method(name: &str) -> bool {
    FILE_IO_METHODS.contains(&name)
        || FILE_IO_PREFIXES.iter().any(|p| name.starts_with(p))
        // Catches to_pickle, read_pickle, load_pickle, save_pickle, ...
        || name.contains("pickle")
}

pub fn is_conditional_writer(name: &str) -> bool {
    CONDITIONAL_WRITERS.contains(&name)
}

pub fn is_path_keyword(name: &str) -> bool {
    PATH_KEYWORDS.contains(&name)
}

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

    #[test]
    fn file_io_names() {
        assert!(is_file_io_method("read_csv"));
        assert!(is_file_io_method("to_pickle"));
        assert!(is_file_io_method("fetch_openml"));
        assert!(!is_file_io_method("to_dict"));
        assert!(!is_file_io_method("loads"));
    }
}
