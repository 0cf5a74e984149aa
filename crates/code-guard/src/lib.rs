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
//! | `import` | imports outside [`allowed_modules`] (submodules of scipy, sklearn, statsmodels, seaborn allowed; pandas/numpy/matplotlib only the listed ones), relative imports, `import *`, internal submodules and members (`pandas.io`, `scipy.io`, `sklearn.utils`, `seaborn.external`, `matplotlib.cbook`, `statsmodels.sandbox`, `scipy.linalg.cython_blas`, ...), denied paths (`scipy.datasets`, `statsmodels.tools.web`, `statsmodels.tsa.x13`, `numpy.info`, `string.Formatter`) |
//! | `dunder` | any `__name__` identifier, attribute or string containing one (`__class__`, `'{0.__globals__}'`) |
//! | `private` | attributes starting with `_` (`pd._libs`, `df._mgr`); `coef_` is fine |
//! | `module-internals` | system modules as names or attributes (`os`, `sys`, `subprocess`, `builtins`, `importlib`, `ctypes`, `socket`, `shutil`, `pathlib`); stdlib modules that allowed packages expose as attributes (`inspect`, `pydoc`, `pkgutil`, `gc`, `weakref`, `copyreg`, `codecs`, `logging`, `traceback`, `tokenize`, `typing`, `enum`, `dataclasses`, `tempfile`, `threading`, `urllib`, `webbrowser`, `PIL`, ...); library internals on any object (`.io`, `.core`, `.lib`, `.util(s)`, `.internals`, `.cbook`, `.external`, `.ctypeslib`, `.compat`, `.testing`, `cython_*`, ...); denied paths reached through any import alias (`sp.datasets`); frame/code attributes (`gi_frame`, `f_globals`, `tb_frame`, ...); a module bound by `import` used as a value (`m = np`, `f(sns)`) |
//! | `builtin` | `eval`, `exec`, `compile`, `__import__`, `open`, `input`, `help`, `globals`, `locals`, `vars`, `dir`, `getattr`, `setattr`, `delattr`, `hasattr`, `breakpoint`, `memoryview`, `exit`, `quit`, `super` (even as names; the callable ones also as attributes, `x.open`, except `re.compile`), `attrgetter`/`methodcaller` under any alias, and `type()` with more than one argument |
//! | `reflection` | jinja2 template machinery pandas' Styler exposes (`env`, `environment`, `loader`, `template_*`, `from_string`, `from_custom_template`); callables that turn strings into objects or walk the object graph, by name anywhere (attribute, imported name): `resolve_name`, `locate`, `import_module`, `getattr_static`, `get_field`, `vformat`, `get_type_hints`, `get_annotations`, `dictConfig`, `fileConfig`, `getmembers`, `getmodule`, `get_objects`, `get_referents`, `get_referrers`, `walk_stack`, `FunctionType`, `CodeType`, `ModuleType`, `make_dataclass`, `as_strided`, `LowLevelCallable`, ... |
//! | `string-eval` | `.eval` / `.query` methods (`df.query`, `pd.eval`) |
//! | `string-dispatch` | pandas calling a method named by a string: the function argument of `agg`/`aggregate`/`apply`/`transform` (any receiver but scikit-learn/SciPy/statsmodels estimators), `groupby(...).filter`, `pipe`, `aggfunc=`, seaborn `estimator=`, `pd.NamedAgg`, seaborn.objects `Agg`/`Est`, and named aggregations must be a literal from the safe aggregation list (`'sum'`, `'mean'`, ...), lists/tuples/dicts of those, a lambda, a `def` of the code, an imported or safe built-in function or a library function attribute (`np.mean`, `str.upper`) — never a string computed at run time (variables, `+`, f-strings, `join`, calls); `pipe` takes functions only; `rolling(win_type=)` must be literal; these methods stored or passed instead of called (`f = df.agg`, `partial(df.agg, x)`) |
//! | `format-traversal` | `str.format` templates that reach attributes or items (`'{0.x}'`, `'{x[k]}'`) in any string literal; `.format`/`.format_map` on a template that is not a string literal (except a Styler's `format`); templates built at run time passed to `StrMethodFormatter`, `fmt=`, `formatter=`, `Styler.format` |
//! | `module-by-name` | settings that make a library import a module or call a function named by a string: `'module://...'`, `'figure.hooks'`, `'plotting.backend'` anywhere; `backend`/`hooks` as keywords or attributes (`df.plot(backend=...)`, `pd.options.plotting.backend`); `switch_backend`; non-literal or path-like names in `.use(...)`/`style.context(...)`; computed keys or `backend` keys in `rcParams[...]`, `rcParams.update`, `rc_context`, `rc`, `rc=`; `rc_context(fname=)`; `pd.set_option`/`option_context` patterns that are not literal or could select `plotting.backend` (they are regexes); settings objects and setters used as values (`r = plt.rcParams`, `dict.update(plt.rcParams, d)`, `so = pd.set_option`) |
//! | `formula` | formula functions stored or passed instead of called (`f = smf.ols`); statsmodels formulas (patsy/formulaic evaluate them as Python): the formula of `statsmodels.formula.*` functions, `from_formula` and any `formula=`/`*_formula=` keyword must be a literal (or a name bound only to literals) using only column names, numbers, operators, quoted names and `I`, `C`, `Q`, `np.log`, `np.exp`, `np.sqrt`, `center`, `standardize`, `scale`, `poly`, `bs`, ... calls; `eval_env=` |
//! | `file-io` | readers (`read_*`, `fetch_*`), always-writing methods (`to_parquet`, `to_pickle`, `to_excel`, `to_sql`, `savefig`, `print_png`, `np.save`, `np.load`, `.dump`, ...), `to_csv`/`to_json`/`to_html`/`to_string`/... given a path, `pickle`, `shelve`, `marshal`, `dill`, `joblib`, and file or network helpers of allowed packages (`get_sample_data`, `get_data_home`, `rc_file`, `urlopen`, `urlretrieve`, `dogplot`, `webdoc`, `check_internet`, `x13_arima_analysis`, `Path`, `write_text`, ...) |
//! | `result` | code that never assigns `result` (when [`Policy::require_result`]) |
//! | `sql` | in [`check_sql`]: anything but one read-only DuckDB query over the registered tables (see there); in [`validate`] with [`Policy::sql_tables`]: `sql(...)` calls whose query is not a literal or fails [`check_sql`], and `sql` used any other way |
//!
//! Because pandas calls methods named by strings (`df.agg('to_pickle', p)`),
//! string constants equal to a forbidden method name are refused too.
//!
//! Names are resolved before the walk (`scope.rs`): which names are imports
//! (`sp` is `scipy`, so `sp.datasets` is `scipy.datasets`), which are
//! functions of the code, and which only ever hold literals (a name bound
//! once by `funcs = ['sum']` and only passed to `agg` or `print`). Python
//! scopes are merged, which only makes the check stricter.
//!
//! Bypass classes closed (attack pass), and the rule that closes each:
//!
//! | class | examples | rule |
//! |---|---|---|
//! | reflection helpers under aliases | `from operator import attrgetter as g`, `import operator as o; o.methodcaller`, `functools.reduce(getattr, ...)` | `builtin` |
//! | string → module/attribute resolvers | `pkgutil.resolve_name`, `pydoc.locate`, `importlib.import_module`, `inspect.getattr_static`, `logging.config.dictConfig`, `typing.get_type_hints` (evaluates annotation strings) | `reflection`, `module-internals` |
//! | object-graph walkers | `gc.get_objects`/`get_referents`/`get_referrers`, `inspect.getmembers`, `traceback.walk_stack`, `weakref` | `reflection`, `module-internals` |
//! | code/memory construction | `types.FunctionType`/`CodeType`, `enum.Enum(...)`, `make_dataclass`, `as_strided`, `scipy.LowLevelCallable`, `cython_*` capsules, `arr.ctypes`, `np.ctypeslib` | `reflection`, `module-internals` |
//! | stdlib modules exposed by allowed packages | `mpl.inspect`, `re.copyreg`, `re.enum`, `json.codecs`, `matplotlib.cbook`, `seaborn.external.docscrape.pydoc`, `mpl.colors.Image.open`, `sklearn.impute.typing` | `module-internals` |
//! | internals reached without the usual alias | `import seaborn as s; s.utils.urlretrieve`, `from seaborn import axisgrid; axisgrid.utils`, `m = sns; m.utils` | `module-internals` |
//! | builtins reached as attributes | `builtins` under another name (`x.exec`, `x.open`, `x.getattr`) | `builtin` |
//! | package helpers that download, browse or run programs | `scipy.datasets`, `sm.webdoc`, `sns.dogplot`, `x13_arima_analysis`, `get_sample_data`, `numpy.info` | `import`, `module-internals`, `file-io` |
//! | `str.format` traversal | `'{0.x.y}'.format(obj)`, `'{x.y}'.format_map(m)`, `string.Formatter().get_field`, `('{0.' + 'x}').format(o)` | `format-traversal`, `reflection`, `module-internals` |
//! | pandas methods by computed name | `df.agg('ev'+'al', e)`, `df.apply(''.join(...))`, f-strings, variables, `agg(t=('v', x))`, `pivot_table(aggfunc=x)`, `pipe((f, 'kw'))`, mutated literal lists | `string-dispatch` |
//! | settings that import modules | `mpl.use('module://x')`, `rcParams['figure.hooks']`, `pd.set_option('ackend', m)`, `df.plot(backend=m)`, `plt.style.use('pkg.style')` | `module-by-name` |
//! | formula evaluation | `smf.ols('y ~ I(eval(...))')`, formulas built from column names, `eval_env=`, `f = smf.ols` | `formula` |
//! | checked functions aliased | `f = df.agg; f(x)`, `from pandas import set_option as so`, `r = plt.rcParams; r[k] = v` | `string-dispatch`, `module-by-name` |
//! | template injection | `type(df.style.template_html)(src).render()`, `df.style.env.from_string(src)` | `reflection` |
//!
//! Known limits (the OS sandbox's job): values computed at run time can
//! still reach attribute lookups that take strings by design where no name
//! is visible, e.g. dict keys that become attributes (sklearn's `Bunch`
//! forwards `b['__array_interface__']` as an attribute, which numpy trusts
//! for raw memory), `**{computed: v}` into classes that set attributes,
//! format templates in variables given to APIs not listed above, and
//! objects the kernel namespace hands in. Reading files is refused by name
//! but not exhaustively.

mod checker;
mod extract;
mod lists;
mod params;
mod repair;
mod scope;
mod selections;
mod sql;
mod strings;

pub use params::{literal_assignments, names_and_strings, Parameter};
pub use repair::Repaired;
pub use selections::{column_selections, sql_literals};
pub use sql::{check_sql, check_sql_in, check_sql_over, SqlDialect};

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
    /// Tables the kernel's `sql(query)` function may read (default empty).
    /// When empty, `sql` is an unknown name like any other. When not, the
    /// code may call `sql` with one argument: a string literal (or an
    /// f-string without placeholders), or a name bound exactly once, at
    /// top level before the call, to one; that query must pass
    /// [`check_sql`] over these tables. Any other use of `sql` (as a value,
    /// rebound, a computed query, keyword arguments) is refused (rule `sql`).
    pub sql_tables: Vec<String>,
    /// Tables on a Spark cluster that `sql(query)` may read as well: a query
    /// reading one is checked as Spark SQL ([`check_sql_over`]).
    pub spark_tables: Vec<String>,
}

/// A `sql(...)` query of validated code, and the engine that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlQuery {
    pub text: String,
    pub dialect: SqlDialect,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_code_len: 10_000,
            require_result: true,
            sql_tables: Vec::new(),
            spark_tables: Vec::new(),
        }
    }
}

/// Validate model-written code before it runs.
pub fn validate(code: &str, policy: &Policy) -> Result<(), Rejection> {
    validate_with_queries(code, policy).map(|_| ())
}

/// [`validate`], returning the queries of the code's `sql(...)` calls in
/// the order written (each once), so the kernel can run the Spark ones
/// on the cluster before the code runs in a worker without network.
pub fn validate_with_queries(code: &str, policy: &Policy) -> Result<Vec<SqlQuery>, Rejection> {
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
    let suite = ast::Suite::parse(code, "<generated>").map_err(|err| {
        // An unexpected EOF points past trailing newlines; report the last
        // line that has content instead.
        let content_end = u32::try_from(code.trim_end().len()).unwrap_or(u32::MAX);
        let line = checker::line_at(code, err.offset.min(TextSize::from(content_end)));
        Rejection::new(
            "syntax",
            format!("Syntax error at line {line}: {}", err.error),
        )
    })?;
    let bindings = scope::Bindings::collect(&suite);
    let mut checker = checker::Checker::new(code, &bindings).with_sql(
        &policy.sql_tables,
        &policy.spark_tables,
        &suite,
    );
    checker.body(&suite)?;
    if policy.require_result && !checker.assigns_result {
        return Err(Rejection::new(
            "result",
            "Code must assign a value to variable 'result' (e.g. result = df.describe())".into(),
        ));
    }
    Ok(checker.sql_queries.into_inner())
}

/// Repair two harmless habits of small models before validation, keeping
/// the rest of the code byte-identical:
///
/// - reading the data again (`df = pd.read_csv('sales.csv')`, with any
///   pandas alias, `read_csv`/`read_excel`/`read_table`/`read_json`/
///   `read_parquet`/`read_fwf`, at top level, in blocks or in a loader
///   function's `return`) uses the loaded frame instead: the statement goes
///   when it rebinds `df`, else the call becomes `df.copy()`; a file whose
///   stem matches another loaded dataset's name uses that dataset.
///   `usecols`, `parse_dates` and `index_col` with literal columns are
///   redone on the loaded frame. URLs, buffers, inline text and paths built
///   at run time are left alone (the validator refuses them).
/// - `if __name__ == "__main__":` at top level is replaced by its body.
///
/// `datasets` are the loaded dataset names, the one bound as `df` first;
/// with none loaded, reads are left alone. Each change adds one short line
/// to [`Repaired::notes`]. Code that does not parse is returned unchanged.
/// The caller still validates the result: repair never makes code safe.
pub fn repair(code: &str, datasets: &[&str]) -> Repaired {
    repair::repair(code, datasets)
}

/// Whether the code binds `result` where the kernel looks for it (module
/// level, or a function declaring `global result`); `def main(): result = 1`
/// alone does not count, though [`validate`] accepts it.
pub fn assigns_result(code: &str) -> bool {
    repair::assigns_result(code)
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
