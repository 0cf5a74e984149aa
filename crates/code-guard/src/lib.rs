//! Static validation of model-written pandas code before it runs.
//!
//! This is an **allowlist** validator and one layer of defense in depth: the
//! OS sandbox around the Python process is another. It parses the code with
//! `rustpython-parser` and walks the whole syntax tree, refusing the first
//! construct that breaks a rule. Each [`Rejection`] carries a stable `rule`
//! identifier and a sentence naming the construct and its line.
//!
//! | `rule` | refuses |
//! |---|---|
//! | `empty` | empty or whitespace-only code |
//! | `length` | code longer than [`Policy::max_code_len`] characters |
//! | `syntax` | code that does not parse |
//! | `import` | imports outside [`allowed_modules`] (submodules of scipy, sklearn, statsmodels, seaborn allowed; pandas/numpy/matplotlib only the listed ones), relative imports, `import *`, internal submodules (`pandas.io`, `scipy.io`, `sklearn.utils`, ...) |
//! | `dunder` | any `__name__` identifier, attribute or string containing one (`__class__`, `'{0.__globals__}'`) |
//! | `private` | attributes starting with `_` (`pd._libs`, `df._mgr`); `coef_` is fine |
//! | `module-internals` | system modules as names or attributes (`os`, `sys`, `subprocess`, `builtins`, `importlib`, `ctypes`, `socket`, `shutil`, `pathlib`), library internals anywhere (`.ctypeslib`, `.compat`, `.testing`, ...), `.io`/`.core`/`.lib`/`.util(s)` right after a module alias (`pd.io`), and frame/code attributes (`gi_frame`, `f_globals`, `tb_frame`, ...) |
//! | `builtin` | `eval`, `exec`, `compile`, `__import__`, `open`, `input`, `help`, `globals`, `locals`, `vars`, `dir`, `getattr`, `setattr`, `delattr`, `hasattr`, `breakpoint`, `memoryview`, `exit`, `quit`, `super` (even as names), `operator.attrgetter`/`methodcaller`, and `type()` with more than one argument |
//! | `string-eval` | `.eval` / `.query` methods (`df.query`, `pd.eval`) |
//! | `file-io` | readers (`read_*`, `fetch_*`), always-writing methods (`to_parquet`, `to_pickle`, `to_excel`, `to_sql`, `savefig`, `print_png`, `np.save`, `np.load`, `.dump`, ...), `to_csv`/`to_json`/`to_html`/`to_string`/... given a path, and `pickle`, `shelve`, `marshal`, `dill`, `joblib` |
//! | `result` | code that never assigns `result` (when [`Policy::require_result`]) |
//!
//! Because pandas calls methods named by strings (`df.agg('to_pickle', p)`),
//! string constants equal to a forbidden method name are refused too.
//!
//! Known limits: strings built at run time (`'to_' + 'pickle'`) and objects
//! handed in by the kernel namespace are beyond a static check; that is what
//! the sandbox layer is for.

mod checker;
mod extract;
mod lists;

use rustpython_parser::text_size::TextSize;
use rustpython_parser::{ast, Parse};

/// Why code was refused; `rule` is a short stable identifier, `message` is a
/// clear human sentence naming the rule and the offending construct with its
/// line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub rule: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(rule: &'static str, message: String) -> Self {
        Rejection { rule, message }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

/// Tunable limits of [`validate`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// Maximum code length in characters (default 10 000).
    pub max_code_len: usize,
    /// Whether the code must assign the variable `result` (default true).
    pub require_result: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_code_len: 10_000,
            require_result: true,
        }
    }
}

/// Validate model-written code before it runs.
pub fn validate(code: &str, policy: &Policy) -> Result<(), Rejection> {
    if code.trim().is_empty() {
        return Err(Rejection::new("empty", "Empty code provided".into()));
    }
    let length = code.chars().count();
    if length > policy.max_code_len {
        return Err(Rejection::new(
            "length",
            format!(
                "Code exceeds maximum length of {} characters (it has {length}); \
                 shorten the code",
                policy.max_code_len
            ),
        ));
    }
    let mut checker = checker::Checker::new(code);
    let suite = ast::Suite::parse(code, "<generated>").map_err(|err| {
        // An unexpected EOF points past trailing newlines; report the last
        // line that has content instead.
        let content_end = u32::try_from(code.trim_end().len()).unwrap_or(u32::MAX);
        let line = checker.line_at(err.offset.min(TextSize::from(content_end)));
        Rejection::new(
            "syntax",
            format!("Syntax error at line {line}: {}", err.error),
        )
    })?;
    checker.body(&suite)?;
    if policy.require_result && !checker.assigns_result {
        return Err(Rejection::new(
            "result",
            "Code must assign a value to variable 'result' (e.g. result = df.describe())".into(),
        ));
    }
    Ok(())
}

/// Extract the Python code from a chat-model reply.
///
/// With ``` fences, the largest python/py/unlabelled block is returned
/// (prose around it is dropped; with no such block, the largest block of any
/// label). Without fences, the trimmed reply is returned, minus leading or
/// trailing prose lines ("Here is the code:") when the rest then parses.
pub fn extract_code(reply: &str) -> String {
    extract::extract_code(reply)
}

/// The allowed import roots, for documentation and `%sandbox` display.
/// Submodules of scipy, sklearn, statsmodels and seaborn are allowed too;
/// for the other packages only the listed modules are.
pub fn allowed_modules() -> &'static [&'static str] {
    lists::allowed_modules()
}
