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

/// Library internals with no analysis use; refused as module path segments
/// and as attributes anywhere. `io`/`core`/`lib`/`util(s)` are refused on
/// any object, not only right after a module alias: a module reached
/// another way (`from seaborn import axisgrid; axisgrid.utils`) must not
/// slip through, and data objects have no such public attributes (a column
/// named `io` is reached as `df['io']`).
const INTERNALS_ANYWHERE: &[&str] = &[
    "ctypeslib",
    "compat",
    "testing",
    "f2py",
    "distutils",
    "iolib",
    "externals",
    "external",
    "backends",
    "io",
    "core",
    "lib",
    "util",
    "utils",
    "internals",
    "cbook",
    "sandbox",
    "x13",
];

/// Module path segments refused by prefix: Cython C-API modules
/// (`scipy.linalg.cython_blas`) hand out raw function pointers.
const INTERNAL_PREFIXES: &[&str] = &["cython_"];

/// Standard-library (and bundled third-party) modules that allowed packages
/// import at module level and so expose as public attributes
/// (`matplotlib.inspect`, `re.copyreg`, `json.codecs`,
/// `statsmodels.tools.web.webbrowser`, `seaborn.utils.urlopen`...). They
/// resolve names, walk the object graph, evaluate strings, open files or
/// start threads; refused as attributes and imported names anywhere. (Bare
/// names are not refused: nothing binds them without an import, and
/// columns are often called `signal`, `time` or `code`.)
const MODULE_ATTRIBUTES: &[&str] = &[
    "inspect",
    "pydoc",
    "pkgutil",
    "gc",
    "weakref",
    "copyreg",
    "codecs",
    "logging",
    "traceback",
    "tokenize",
    "linecache",
    "dataclasses",
    "enum",
    "typing",
    "tempfile",
    "webbrowser",
    "urllib",
    "http",
    "threading",
    "multiprocessing",
    "concurrent",
    "asyncio",
    "runpy",
    "ast",
    "atexit",
    "gzip",
    "zipfile",
    "tarfile",
    "glob",
    "mmap",
    "plistlib",
    "fontTools",
    "PIL",
    "Image",
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

/// Callables that turn a string into an object (module import, attribute
/// lookup, code object) or walk the object graph to objects the code was
/// never given (frames, module globals, every live object). Refused by name
/// anywhere: as an attribute, an imported name or the target of an alias.
const REFLECTION_CALLABLES: &[&str] = &[
    // string -> module / attribute
    "resolve_name",
    "locate",
    "import_module",
    "find_spec",
    "find_loader",
    "getattr_static",
    "get_field",
    "vformat",
    "get_type_hints",
    "get_annotations",
    "ForwardRef",
    "dictConfig",
    "fileConfig",
    // object graph
    "getmembers",
    "getmembers_static",
    "getmodule",
    "getclosurevars",
    "currentframe",
    "getouterframes",
    "getinnerframes",
    "getframeinfo",
    "getsource",
    "getsourcelines",
    "get_objects",
    "get_referents",
    "get_referrers",
    "walk_stack",
    "walk_tb",
    // code and class construction
    "FunctionType",
    "LambdaType",
    "CodeType",
    "MethodType",
    "FrameType",
    "TracebackType",
    "CellType",
    "ModuleType",
    "new_class",
    "make_dataclass",
    // raw memory and C function pointers
    "as_strided",
    "LowLevelCallable",
    "from_cython",
];

/// Built-ins refused as attribute names too (`builtins` reached under
/// another name, `gzip.open`, `PIL.Image.open`). `compile` is fine as
/// `re.compile`; `eval` is the `string-eval` rule.
const FORBIDDEN_BUILTIN_ATTRIBUTES: &[&str] = &[
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "hasattr",
    "vars",
    "globals",
    "locals",
    "dir",
    "breakpoint",
    "input",
    "help",
    "memoryview",
    "exit",
    "quit",
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
    "get_data_home",
    "get_sample_data",
    "get_data_path",
    "get_cachedir",
    "get_configdir",
    "matplotlib_fname",
    "rc_file",
    "rc_params_from_file",
    "to_filehandle",
    "open_file_cm",
    "get_handle",
    "urlopen",
    "urlretrieve",
    "check_internet",
    "dogplot",
    "webdoc",
    "x13_arima_analysis",
    "x13_arima_select_order",
    "run_spec",
    "write_text",
    "write_bytes",
    "touch",
    "unlink",
    "mkdir",
    "rmdir",
    "iterdir",
    "Path",
    "PosixPath",
    "PurePath",
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

/// pandas methods that call a method named by a string argument
/// (`df.agg('sum')` is `df.sum()`). `map` is not one: pandas 3 only maps
/// through callables, dicts and Series.
const DISPATCH_METHODS: &[&str] = &["agg", "aggregate", "apply", "transform"];

/// Keywords whose value is an aggregation, wherever they appear
/// (`pivot_table(aggfunc=...)`, `pd.NamedAgg(aggfunc=...)`, seaborn's
/// `estimator=`, which calls `getattr(series, name)`).
const DISPATCH_KEYWORDS: &[&str] = &["aggfunc", "estimator"];

/// Method names a string may name in a dispatching call: pure computations
/// that neither write, evaluate nor take further method names.
const SAFE_AGGREGATIONS: &[&str] = &[
    "sum",
    "mean",
    "median",
    "min",
    "max",
    "count",
    "size",
    "std",
    "var",
    "sem",
    "first",
    "last",
    "nunique",
    "prod",
    "product",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "cumcount",
    "ngroup",
    "idxmax",
    "idxmin",
    "argmax",
    "argmin",
    "any",
    "all",
    "describe",
    "quantile",
    "mode",
    "skew",
    "kurt",
    "kurtosis",
    "abs",
    "rank",
    "unique",
    "value_counts",
    "diff",
    "pct_change",
    "shift",
    "ffill",
    "bfill",
    "round",
    "head",
    "tail",
    "nth",
    "ohlc",
    "corr",
    "cov",
    "nlargest",
    "nsmallest",
    "sort_values",
    "is_monotonic_increasing",
    "is_monotonic_decreasing",
    "tolist",
    "to_list",
];

/// Builtins that may be passed where pandas expects a function.
const SAFE_FUNCTION_BUILTINS: &[&str] = &[
    "len",
    "sum",
    "max",
    "min",
    "abs",
    "round",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "set",
    "tuple",
    "sorted",
    "any",
    "all",
    "repr",
    "dict",
    "frozenset",
    "ord",
    "chr",
    "hex",
    "bin",
    "oct",
    "pow",
    "divmod",
    "reversed",
    "complex",
    "bytes",
    "type",
];

/// Builtin types whose methods may be passed as functions (`str.upper`).
const BUILTIN_TYPES: &[&str] = &[
    "str", "int", "float", "bool", "list", "dict", "set", "tuple", "bytes", "complex",
];

/// Attributes of modules that hold run-time settings (strings a question
/// may set), never functions: `pd.options.display.encoding`, `mpl.rcParams`.
const SETTINGS_ATTRIBUTES: &[&str] = &["options", "rcParams", "rcParamsDefault", "rcParamsOrig"];

/// Calls that only read their arguments: a name passed to them keeps its
/// literal status (see `scope.rs`).
const READING_CALLS: &[&str] = &[
    "agg",
    "aggregate",
    "apply",
    "transform",
    "pipe",
    "filter",
    "pivot_table",
    "crosstab",
    "NamedAgg",
    "Agg",
    "Est",
    "format",
    "StrMethodFormatter",
    "bar_label",
    "print",
    "len",
    "from_formula",
    "ols",
    "wls",
    "gls",
    "glsar",
    "logit",
    "probit",
    "mnlogit",
    "poisson",
    "negativebinomial",
    "glm",
    "gee",
    "ordinal_gee",
    "nominal_gee",
    "mixedlm",
    "quantreg",
    "rlm",
    "phreg",
];

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

/// Configuration keys that make a library import a module, or call a
/// function, named by a string (`rcParams['backend'] = 'module://x'`,
/// `rcParams['figure.hooks'] = ['pkg:func']`, pandas'
/// `plotting.backend`). Refused as literals in settings; the `module://`
/// prefix and the last two are refused anywhere.
const MODULE_BY_NAME_KEYS: &[&str] = &[
    "backend",
    "backend_fallback",
    "figure.hooks",
    "plotting.backend",
];

/// Calls that switch a backend or load a style by name (a dotted style name
/// is imported as a package). Their arguments must be plain literal names.
const BACKEND_SWITCHES: &[&str] = &["switch_backend"];

/// pandas option setters: option names are regular expressions searched in
/// the full names, so `set_option('ackend', ...)` sets `plotting.backend`.
const OPTION_SETTERS: &[&str] = &["set_option", "option_context"];

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

fn is_submodule_of(path: &str, root: &str) -> bool {
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

pub fn is_forbidden_builtin(name: &str) -> bool {
    FORBIDDEN_BUILTINS.contains(&name)
}

pub fn is_forbidden_builtin_attribute(name: &str) -> bool {
    FORBIDDEN_BUILTIN_ATTRIBUTES.contains(&name)
}

pub fn is_reflection_helper(name: &str) -> bool {
    REFLECTION_HELPERS.contains(&name)
}

pub fn is_reflection_callable(name: &str) -> bool {
    REFLECTION_CALLABLES.contains(&name)
}

pub fn is_system_module(name: &str) -> bool {
    SYSTEM_MODULES.contains(&name)
}

pub fn is_module_attribute(name: &str) -> bool {
    MODULE_ATTRIBUTES.contains(&name)
}

pub fn is_internal_anywhere(name: &str) -> bool {
    SYSTEM_MODULES.contains(&name)
        || INTERNALS_ANYWHERE.contains(&name)
        || INTERNAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

pub fn is_interpreter_internal(name: &str) -> bool {
    INTERPRETER_INTERNALS.contains(&name)
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

/// Packages whose objects have `transform`/`apply`-named methods that are
/// not pandas' string dispatch (`scaler.transform(X)`).
pub fn is_model_library(path: &str) -> bool {
    ["sklearn", "scipy", "statsmodels"]
        .iter()
        .any(|root| path == *root || is_submodule_of(path, root))
}

/// Methods that return the estimator itself (`StandardScaler().fit(X)`).
pub fn is_estimator_method(name: &str) -> bool {
    matches!(name, "fit" | "set_params" | "set_output")
}

/// Functions whose arguments the checker inspects: they must be called
/// where they are named.
pub fn is_checked_callable(name: &str) -> bool {
    matches!(
        name,
        "pivot_table"
            | "crosstab"
            | "NamedAgg"
            | "Agg"
            | "Est"
            | "StrMethodFormatter"
            | "from_formula"
    ) || is_checked_setting(name)
}

/// Setting functions whose arguments are checked.
pub fn is_checked_setting(name: &str) -> bool {
    matches!(name, "use" | "rc" | "rc_context") || is_option_setter(name)
}

/// jinja2 template machinery (pandas' Styler exposes it): templates
/// evaluate attribute paths, dunders included, from run-time strings.
pub fn is_template_engine(name: &str) -> bool {
    matches!(
        name,
        "env"
            | "environment"
            | "loader"
            | "jinja2"
            | "from_string"
            | "from_custom_template"
            | "compile_expression"
            | "template_dir"
    ) || name.starts_with("template_")
}

pub fn is_dispatch_method(name: &str) -> bool {
    DISPATCH_METHODS.contains(&name)
}

pub fn is_dispatch_keyword(name: &str) -> bool {
    DISPATCH_KEYWORDS.contains(&name)
}

pub fn is_safe_aggregation(name: &str) -> bool {
    SAFE_AGGREGATIONS.contains(&name)
}

pub fn is_safe_function_builtin(name: &str) -> bool {
    SAFE_FUNCTION_BUILTINS.contains(&name)
}

pub fn is_builtin_type(name: &str) -> bool {
    BUILTIN_TYPES.contains(&name)
}

pub fn is_settings_attribute(name: &str) -> bool {
    SETTINGS_ATTRIBUTES.contains(&name)
}

pub fn is_reading_call(name: &str) -> bool {
    READING_CALLS.contains(&name)
}

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

pub fn is_module_by_name_key(key: &str) -> bool {
    MODULE_BY_NAME_KEYS.contains(&key)
}

/// Strings refused anywhere: they name a module to import or a function to
/// call in library settings.
pub fn is_module_by_name_literal(text: &str) -> bool {
    text.trim_start().starts_with("module://")
        || text == "figure.hooks"
        || text == "plotting.backend"
}

pub fn is_backend_switch(name: &str) -> bool {
    BACKEND_SWITCHES.contains(&name)
}

pub fn is_option_setter(name: &str) -> bool {
    OPTION_SETTERS.contains(&name)
}

/// Whether a pandas option pattern could select `plotting.backend`: pandas
/// searches the pattern (a regular expression, case-insensitively) in every
/// option name. Patterns with other regex syntax are treated as matching.
pub fn option_pattern_reaches_backend(pattern: &str) -> bool {
    if pattern
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return true;
    }
    let target: Vec<char> = "plotting.backend".chars().collect();
    let pat: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    if pat.is_empty() {
        return true;
    }
    (0..target.len())
        .filter(|start| start + pat.len() <= target.len())
        .any(|start| {
            pat.iter()
                .zip(&target[start..])
                .all(|(p, t)| *p == '.' || p == t)
        })
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
