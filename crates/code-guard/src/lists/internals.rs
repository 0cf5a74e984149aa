//! System modules, library internals, stdlib modules seen as attributes, frame and code attributes.

/// System modules: refused as bare names and as attributes anywhere.
pub(super) const SYSTEM_MODULES: &[&str] = &[
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
pub(super) const MODULE_ATTRIBUTES: &[&str] = &[
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
