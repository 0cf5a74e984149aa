//! Built-ins and reflection: refused built-ins, string-to-object callables; safe built-ins.

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

/// Methods evaluating a string as an expression (`df.query`, `pd.eval`).
const STRING_EVAL_METHODS: &[&str] = &["eval", "query"];

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

pub fn is_string_eval_method(name: &str) -> bool {
    STRING_EVAL_METHODS.contains(&name)
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

pub fn is_safe_function_builtin(name: &str) -> bool {
    SAFE_FUNCTION_BUILTINS.contains(&name)
}

pub fn is_builtin_type(name: &str) -> bool {
    BUILTIN_TYPES.contains(&name)
}
