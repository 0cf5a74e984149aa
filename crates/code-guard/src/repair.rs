//! Repairs of two harmless habits of small models, made on the syntax tree
//! by splicing the source text (everything else stays byte-identical):
//!
//! 1. re-reading the data that is already loaded (`df = pd.read_csv('x.csv')`);
//! 2. the `if __name__ == "__main__":` guard around the real work.
//!
//! Nothing else is touched, and nothing here makes code safe: the caller
//! validates the repaired code afterwards.

use rustpython_parser::ast::{self, Constant, Expr, Ranged, Stmt};
use rustpython_parser::text_size::TextRange;
use rustpython_parser::Parse;

use crate::scope::Bindings;

/// Code after [`crate::repair`], with one short line per change made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub code: String,
    pub notes: Vec<String>,
}

/// pandas readers of a data file that a question never needs to call.
const READERS: &[&str] = &[
    "read_csv",
    "read_excel",
    "read_table",
    "read_json",
    "read_parquet",
    "read_fwf",
];

/// Keywords that name the file.
const PATH_KEYWORDS: &[&str] = &["filepath_or_buffer", "io", "path", "path_or_buf"];

/// Keywords that make the reader return something other than a frame.
const NOT_A_FRAME: &[&str] = &["chunksize", "iterator"];

/// File extensions stripped from a file name before matching dataset names.
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "txt", "dat", "data", "xlsx", "xls", "xlsm", "json", "jsonl", "parquet", "pq",
    "feather", "gz", "bz2", "zip", "xz", "zst",
];

pub fn repair(code: &str, datasets: &[&str]) -> Repaired {
    let mut notes = Vec::new();
    let code = unguard_main(code, &mut notes);
    let code = if datasets.is_empty() {
        code
    } else {
        let code = drop_sample_copies(&code, datasets, &mut notes);
        reuse_loaded_data(&code, datasets, &mut notes)
    };
    Repaired { code, notes }
}

/// Small models rebuild the data from the sample rows the prompt shows
/// (`df = pd.DataFrame({'BARO': [1020.1, 1002.8, ...]})`) and answer about five rows. A
/// top-level assignment of a literal-only `DataFrame(...)` to a loaded dataset's name goes:
/// the loaded data is what the question is about.
fn drop_sample_copies(code: &str, datasets: &[&str], notes: &mut Vec<String>) -> String {
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

/// A replacement of `range` in the source by `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(code: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = code.to_string();
    let mut limit = usize::MAX;
    for edit in edits {
        // Overlapping edits cannot happen by construction; skip if they do.
        if edit.end > limit {
            continue;
        }
        out.replace_range(edit.start..edit.end, &edit.text);
        limit = edit.start;
    }
    out
}

fn span(range: TextRange) -> (usize, usize) {
    (usize::from(range.start()), usize::from(range.end()))
}

fn line_start(code: &str, offset: usize) -> usize {
    code[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the newline ending the line that contains `offset`.
fn line_end(code: &str, offset: usize) -> usize {
    code[offset..]
        .find('\n')
        .map_or(code.len(), |i| offset + i + 1)
}

fn indent_at(code: &str, offset: usize) -> &str {
    &code[line_start(code, offset)..offset]
}

fn is_str(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Constant(c) => match &c.value {
            Constant::Str(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

// --------------------------------------------------------------- main guard

/// `if __name__ == "__main__":` at top level becomes its body, dedented.
fn unguard_main(code: &str, notes: &mut Vec<String>) -> String {
    let Ok(suite) = ast::Suite::parse(code, "<generated>") else {
        return code.to_string();
    };
    let mut edits = Vec::new();
    for stmt in &suite {
        let Stmt::If(s) = stmt else { continue };
        if !s.orelse.is_empty() || !is_main_test(&s.test) || s.body.is_empty() {
            continue;
        }
        let (if_start, if_end) = span(s.range);
        let start = line_start(code, if_start);
        let end = line_end(code, if_end);
        let body_start = usize::from(s.body[0].start());
        let text = if line_start(code, body_start) == start {
            // `if __name__ == "__main__": main()`
            code[body_start..end].to_string()
        } else {
            let block = line_end(code, usize::from(s.test.end()));
            dedent(&code[block..end], indent_at(code, body_start).len())
        };
        edits.push(Edit { start, end, text });
    }
    if edits.is_empty() {
        return code.to_string();
    }
    notes.push("Ran the code under `if __name__ == \"__main__\":` directly.".into());
    apply(code, edits)
}

fn is_main_test(test: &Expr) -> bool {
    let Expr::Compare(c) = test else { return false };
    if c.ops.len() != 1 || !matches!(c.ops[0], ast::CmpOp::Eq) {
        return false;
    }
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| is_str(e) == Some("__main__");
    let (left, right) = (c.left.as_ref(), &c.comparators[0]);
    (is_name(left) && is_main(right)) || (is_main(left) && is_name(right))
}

/// Removes up to `width` leading whitespace characters from every line.
fn dedent(text: &str, width: usize) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let strip = line
                .char_indices()
                .take(width)
                .take_while(|(_, c)| *c == ' ' || *c == '\t')
                .count();
            &line[strip..]
        })
        .collect()
}

// ------------------------------------------------------------ reading again

fn reuse_loaded_data(code: &str, datasets: &[&str], notes: &mut Vec<String>) -> String {
    let Ok(suite) = ast::Suite::parse(code, "<generated>") else {
        return code.to_string();
    };
    let bindings = Bindings::collect(&suite);
    let mut pass = ReadRepair {
        code,
        datasets,
        bindings: &bindings,
        pandas: pandas_aliases(&suite, &bindings),
        edits: Vec::new(),
        notes,
    };
    pass.block(&suite, None);
    let edits = std::mem::take(&mut pass.edits);
    apply(code, edits)
}

/// Names that refer to the pandas module: `pd` (bound by the worker) unless
/// rebound, and every `import pandas [as x]`.
fn pandas_aliases(suite: &[Stmt], bindings: &Bindings) -> Vec<String> {
    let mut aliases: Vec<String> = ["pd", "pandas"]
        .into_iter()
        .filter(|n| bindings.qualify_name(n).as_deref() == Some("pandas"))
        .map(str::to_string)
        .collect();
    let mut stack: Vec<&Stmt> = suite.iter().collect();
    while let Some(stmt) = stack.pop() {
        match stmt {
            Stmt::Import(s) => {
                for alias in &s.names {
                    if alias.name.as_str() == "pandas" {
                        let local = alias.asname.as_deref().unwrap_or("pandas");
                        if bindings.qualify_name(local).as_deref() == Some("pandas") {
                            aliases.push(local.to_string());
                        }
                    }
                }
            }
            other => stack.extend(child_blocks(other).into_iter().flatten()),
        }
    }
    aliases
}

/// The statement lists directly inside a compound statement.
fn child_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::FunctionDef(f) => vec![&f.body],
        Stmt::AsyncFunctionDef(f) => vec![&f.body],
        Stmt::ClassDef(c) => vec![&c.body],
        Stmt::For(s) => vec![&s.body, &s.orelse],
        Stmt::AsyncFor(s) => vec![&s.body, &s.orelse],
        Stmt::While(s) => vec![&s.body, &s.orelse],
        Stmt::If(s) => vec![&s.body, &s.orelse],
        Stmt::With(s) => vec![&s.body],
        Stmt::AsyncWith(s) => vec![&s.body],
        Stmt::Match(s) => s.cases.iter().map(|c| c.body.as_slice()).collect(),
        Stmt::Try(s) => try_blocks(&s.body, &s.handlers, &s.orelse, &s.finalbody),
        Stmt::TryStar(s) => try_blocks(&s.body, &s.handlers, &s.orelse, &s.finalbody),
        _ => Vec::new(),
    }
}

fn try_blocks<'a>(
    body: &'a [Stmt],
    handlers: &'a [ast::ExceptHandler],
    orelse: &'a [Stmt],
    finalbody: &'a [Stmt],
) -> Vec<&'a [Stmt]> {
    let mut blocks = vec![body];
    blocks.extend(
        handlers
            .iter()
            .map(|ast::ExceptHandler::ExceptHandler(h)| h.body.as_slice()),
    );
    blocks.push(orelse);
    blocks.push(finalbody);
    blocks
}

/// The enclosing function of a statement: its parameters and body.
#[derive(Clone, Copy)]
struct Function<'a> {
    args: &'a ast::Arguments,
    body: &'a [Stmt],
}

impl Function<'_> {
    fn has_param(&self, name: &str) -> bool {
        let a = self.args;
        a.posonlyargs
            .iter()
            .chain(&a.args)
            .chain(&a.kwonlyargs)
            .any(|p| p.def.arg.as_str() == name)
            || a.vararg
                .iter()
                .chain(&a.kwarg)
                .any(|p| p.arg.as_str() == name)
    }
}

struct ReadRepair<'a, 'n> {
    code: &'a str,
    datasets: &'a [&'a str],
    bindings: &'a Bindings<'a>,
    pandas: Vec<String>,
    edits: Vec<Edit>,
    notes: &'n mut Vec<String>,
}

/// What a read call asked for, besides the file.
struct Read<'a> {
    call: &'a ast::ExprCall,
    /// The pandas alias used (`pd`), for the lines we add.
    alias: &'a str,
    file: Option<String>,
}

impl<'a> ReadRepair<'a, '_> {
    fn block(&mut self, stmts: &'a [Stmt], function: Option<Function<'a>>) {
        for stmt in stmts {
            self.stmt(stmt, stmts.len() == 1, function);
        }
    }

    fn stmt(&mut self, stmt: &'a Stmt, only: bool, function: Option<Function<'a>>) {
        match stmt {
            Stmt::FunctionDef(f) => self.block(
                &f.body,
                Some(Function {
                    args: &f.args,
                    body: &f.body,
                }),
            ),
            Stmt::AsyncFunctionDef(f) => self.block(
                &f.body,
                Some(Function {
                    args: &f.args,
                    body: &f.body,
                }),
            ),
            Stmt::ClassDef(_) => {}
            Stmt::Assign(s) => {
                if let [Expr::Name(target)] = s.targets.as_slice() {
                    self.assignment(stmt, &target.id, &s.value, only, function);
                }
            }
            Stmt::Return(s) => {
                if let Some(value) = s.value.as_deref() {
                    self.returned(value);
                }
            }
            other => {
                for block in child_blocks(other) {
                    self.block(block, function);
                }
            }
        }
    }

    /// `pd.read_csv(...)` itself, or the read at the root of a method chain
    /// (`pd.read_csv(...).dropna()`).
    fn find_read(&self, value: &'a Expr) -> Option<(Read<'a>, bool)> {
        let mut node = value;
        let mut direct = true;
        loop {
            match node {
                Expr::Call(call) => {
                    if let Some(read) = self.as_read(call) {
                        return Some((read, direct));
                    }
                    node = &call.func;
                }
                Expr::Attribute(a) => node = &a.value,
                Expr::Subscript(s) => node = &s.value,
                _ => return None,
            }
            direct = false;
        }
    }

    fn as_read(&self, call: &'a ast::ExprCall) -> Option<Read<'a>> {
        let Expr::Attribute(func) = call.func.as_ref() else {
            return None;
        };
        let Expr::Name(module) = func.value.as_ref() else {
            return None;
        };
        if !READERS.contains(&func.attr.as_str())
            || !self.pandas.iter().any(|p| p == module.id.as_str())
        {
            return None;
        }
        if call.args.is_empty() && call.keywords.is_empty() {
            return None;
        }
        if call
            .keywords
            .iter()
            .any(|k| k.arg.as_deref().is_none_or(|a| NOT_A_FRAME.contains(&a)))
        {
            return None;
        }
        let source = call.args.first().or_else(|| {
            call.keywords
                .iter()
                .find(|k| k.arg.as_deref().is_some_and(|a| PATH_KEYWORDS.contains(&a)))
                .map(|k| &k.value)
        })?;
        let file = self.plain_file(source)?;
        Some(Read {
            call,
            alias: module.id.as_str(),
            file,
        })
    }

    /// `Some(Some(name))` for a literal data-file path, `Some(None)` for a
    /// name that holds an unknown path (a parameter), `None` for anything
    /// that is not a plain file read (URLs, buffers, inline text, paths
    /// built at run time).
    fn plain_file(&self, source: &Expr) -> Option<Option<String>> {
        match source {
            Expr::Constant(_) => {
                is_plain_path(is_str(source)?).then(|| is_str(source).map(str::to_string))
            }
            Expr::Name(n) => {
                let values = self.bindings.assigned_values(&n.id);
                let mut literal = None;
                for value in values {
                    let path = is_str(value)?;
                    if !is_plain_path(path) {
                        return None;
                    }
                    literal = Some(path.to_string());
                }
                if self.bindings.has_non_value_sites(&n.id) {
                    literal = None;
                }
                Some(literal)
            }
            _ => None,
        }
    }

    /// The dataset a file name refers to: another loaded dataset whose name
    /// matches the file's stem, else `df`.
    fn dataset_for(&self, file: Option<&str>) -> &'a str {
        let Some(stem) = file.map(file_stem) else {
            return "df";
        };
        self.datasets
            .iter()
            .skip(1)
            .find(|d| is_bindable(d) && normalize(d) == stem)
            .copied()
            .unwrap_or("df")
    }

    fn note_read(&mut self, dataset: &str, file: Option<&str>) {
        self.notes.push(match file {
            Some(f) => format!("Used the loaded data `{dataset}` instead of reading '{f}' again."),
            None => format!("Used the loaded data `{dataset}` instead of reading a file again."),
        });
    }

    fn assignment(
        &mut self,
        stmt: &'a Stmt,
        target: &str,
        value: &'a Expr,
        only: bool,
        function: Option<Function<'a>>,
    ) {
        let Some((read, direct)) = self.find_read(value) else {
            return;
        };
        let dataset = self.dataset_for(read.file.as_deref());
        let (stmt_start, stmt_end) = span(stmt.range());
        let indent = indent_at(self.code, stmt_start).to_string();
        self.note_read(dataset, read.file.as_deref());
        let extras = self.option_lines(&read, target);
        let (call_start, call_end) = span(read.call.range);

        // Inside a function, a name the function assigns is local there: the
        // loaded frame is reached with `global`, unless it is a parameter.
        let (param, needs_global) = match function {
            Some(f) if f.has_param(dataset) => (true, false),
            Some(f) => (false, target == dataset || binds(f.body, dataset)),
            None => (false, false),
        };
        let global = needs_global.then(|| format!("global {dataset}"));

        if target == dataset && direct {
            let mut lines: Vec<String> = global.into_iter().collect();
            lines.extend(extras);
            if lines.is_empty() && (only || param || !self.owns_lines(stmt_start, stmt_end)) {
                lines.push("pass".into());
            }
            if lines.is_empty() {
                // Drop the whole line(s), comment included.
                let start = line_start(self.code, stmt_start);
                let end = line_end(self.code, stmt_end);
                self.edits.push(Edit {
                    start,
                    end,
                    text: String::new(),
                });
            } else {
                self.edits.push(Edit {
                    start: stmt_start,
                    end: stmt_end,
                    text: lines.join(&format!("\n{indent}")),
                });
            }
            return;
        }
        self.edits.push(Edit {
            start: call_start,
            end: call_end,
            text: format!("{dataset}.copy()"),
        });
        if let Some(global) = global {
            self.edits.push(Edit {
                start: stmt_start,
                end: stmt_start,
                text: format!("{global}\n{indent}"),
            });
        }
        if !extras.is_empty() {
            let at = line_end(self.code, stmt_end);
            let newline = if self.code[..at].ends_with('\n') {
                ""
            } else {
                "\n"
            };
            let text: String = extras.iter().map(|l| format!("{indent}{l}\n")).collect();
            self.edits.push(Edit {
                start: at,
                end: at,
                text: format!("{newline}{text}"),
            });
        }
    }

    /// `return pd.read_csv(path)` (a loader function): return a copy of the
    /// loaded data, with the read options applied as a method chain.
    fn returned(&mut self, value: &'a Expr) {
        let Some((read, _)) = self.find_read(value) else {
            return;
        };
        let dataset = self.dataset_for(read.file.as_deref());
        self.note_read(dataset, read.file.as_deref());
        let chain = self.option_chain(&read, dataset);
        let (start, end) = span(read.call.range);
        self.edits.push(Edit {
            start,
            end,
            text: chain,
        });
    }

    /// Whether the statement is alone on its line(s) (comments aside).
    fn owns_lines(&self, start: usize, end: usize) -> bool {
        let before = &self.code[line_start(self.code, start)..start];
        let after = &self.code[end..line_end(self.code, end)];
        let after = after.trim();
        before.trim().is_empty() && (after.is_empty() || after.starts_with('#'))
    }

    fn src(&self, expr: &Expr) -> &'a str {
        let (start, end) = span(expr.range());
        &self.code[start..end]
    }

    /// Statements redoing what `usecols`, `parse_dates` and `index_col` did
    /// in the read (in pandas' order), and a note for options dropped.
    fn option_lines(&mut self, read: &Read<'a>, name: &str) -> Vec<String> {
        let pd = read.alias;
        let mut lines = Vec::new();
        let mut ignored = Vec::new();
        let mut applied = Vec::new();
        for keyword in &read.call.keywords {
            let Some(arg) = keyword.arg.as_deref() else {
                continue;
            };
            let value = &keyword.value;
            match arg {
                _ if PATH_KEYWORDS.contains(&arg) => {}
                "usecols" if string_list(value).is_some() => {
                    lines.push(format!("{name} = {name}[{}]", self.list_src(value)));
                    applied.push(arg);
                }
                "parse_dates" if string_list(value).is_some() => {
                    for column in string_list(value).unwrap_or_default() {
                        let col = self.src(column);
                        lines.push(format!("{name}[{col}] = {pd}.to_datetime({name}[{col}])"));
                    }
                    applied.push(arg);
                }
                "index_col" => match value {
                    Expr::Constant(c)
                        if matches!(c.value, Constant::None | Constant::Bool(false)) => {}
                    Expr::Constant(c) if matches!(c.value, Constant::Int(_)) => {
                        let i = self.src(value);
                        lines.push(format!("{name} = {name}.set_index({name}.columns[{i}])"));
                        applied.push(arg);
                    }
                    _ if is_str(value).is_some() || string_list(value).is_some() => {
                        lines.push(format!("{name} = {name}.set_index({})", self.src(value)));
                        applied.push(arg);
                    }
                    _ => ignored.push(arg),
                },
                _ => ignored.push(arg),
            }
        }
        self.option_notes(&applied, &ignored);
        // pandas selects columns, then parses dates, then sets the index.
        let order = |l: &String| {
            if l.contains(".set_index(") {
                2
            } else if l.contains(".to_datetime(") {
                1
            } else {
                0
            }
        };
        lines.sort_by_key(order);
        lines
    }

    /// The same as [`Self::option_lines`], as one expression.
    fn option_chain(&mut self, read: &Read<'a>, dataset: &str) -> String {
        let pd = read.alias;
        let mut select = String::new();
        let mut dates = Vec::new();
        let mut index = String::new();
        let mut ignored = Vec::new();
        let mut applied = Vec::new();
        for keyword in &read.call.keywords {
            let Some(arg) = keyword.arg.as_deref() else {
                continue;
            };
            let value = &keyword.value;
            match arg {
                _ if PATH_KEYWORDS.contains(&arg) => {}
                "usecols" if string_list(value).is_some() => {
                    select = format!("[{}]", self.list_src(value));
                    applied.push(arg);
                }
                "parse_dates" if string_list(value).is_some() => {
                    for column in string_list(value).unwrap_or_default() {
                        let col = self.src(column);
                        dates.push(format!("{col}: lambda d: {pd}.to_datetime(d[{col}])"));
                    }
                    applied.push(arg);
                }
                "index_col" if is_str(value).is_some() || string_list(value).is_some() => {
                    index = format!(".set_index({})", self.src(value));
                    applied.push(arg);
                }
                "index_col" if matches!(value, Expr::Constant(c) if matches!(c.value, Constant::None | Constant::Bool(false))) =>
                    {}
                _ => ignored.push(arg),
            }
        }
        self.option_notes(&applied, &ignored);
        let assign = if dates.is_empty() {
            String::new()
        } else {
            format!(".assign(**{{{}}})", dates.join(", "))
        };
        format!("{dataset}{select}.copy(){assign}{index}")
    }

    fn option_notes(&mut self, applied: &[&str], ignored: &[&str]) {
        if !applied.is_empty() {
            self.notes.push(format!(
                "Applied the read options {} to the loaded data.",
                applied.join(", ")
            ));
        }
        if !ignored.is_empty() {
            self.notes.push(format!(
                "Ignored the read options {}: the data is used as loaded.",
                ignored.join(", ")
            ));
        }
    }

    /// `['a', 'b']` for a list, tuple or single string.
    fn list_src(&self, value: &Expr) -> String {
        match value {
            Expr::List(_) => self.src(value).to_string(),
            Expr::Tuple(t) => format!(
                "[{}]",
                t.elts
                    .iter()
                    .map(|e| self.src(e))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => format!("[{}]", self.src(other)),
        }
    }
}

/// The string literals of `'a'`, `['a', 'b']` or `('a',)`.
fn string_list(value: &Expr) -> Option<Vec<&Expr>> {
    let elts: Vec<&Expr> = match value {
        Expr::List(l) => l.elts.iter().collect(),
        Expr::Tuple(t) => t.elts.iter().collect(),
        single => vec![single],
    };
    (!elts.is_empty() && elts.iter().all(|e| is_str(e).is_some())).then_some(elts)
}

/// A path a model writes when it means "the data file": a data-file name, no hidden entry
/// and no `..` on the way. Anything else (`sub/.env`, `/etc/passwd`, `~/.ssh/id_rsa`) is not a
/// habit to repair but a file read, and stays for the validator to refuse.
fn is_plain_path(path: &str) -> bool {
    let trimmed = path.trim();
    let parts: Vec<&str> = trimmed
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .collect();
    let data_file = parts.last().is_some_and(|name| {
        name.rsplit_once('.')
            .is_some_and(|(_, ext)| DATA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
    });
    !trimmed.is_empty()
        && !trimmed.contains("://")
        && !trimmed.contains('\n')
        && !trimmed.starts_with(['{', '[', '<'])
        && trimmed.len() < 1000
        && data_file
        && !parts.iter().any(|p| p.starts_with('.') && *p != ".")
}

/// Names the worker binds itself, and keywords, are never dataset names.
const RESERVED: &[&str] = &[
    "df", "result", "pd", "np", "plt", "datetime", "display", "SCRATCH", "False", "None", "True",
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A dataset name the question namespace binds as a variable.
fn is_bindable(name: &str) -> bool {
    is_identifier(name) && !name.starts_with('_') && !RESERVED.contains(&name)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Lower case, every run of non-alphanumerics one `_`, trimmed of `_`.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// `data/YAHOO_BTC_USD_D.csv.gz` -> `yahoo_btc_usd_d`.
fn file_stem(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let mut stem = name;
    while let Some((rest, ext)) = stem.rsplit_once('.') {
        if rest.is_empty() || !DATA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            break;
        }
        stem = rest;
    }
    normalize(stem)
}

/// Whether a function body (not nested functions or classes) binds `name`.
fn binds(stmts: &[Stmt], name: &str) -> bool {
    stmts.iter().any(|stmt| {
        let here = match stmt {
            Stmt::FunctionDef(f) => f.name.as_str() == name,
            Stmt::AsyncFunctionDef(f) => f.name.as_str() == name,
            Stmt::ClassDef(c) => c.name.as_str() == name,
            Stmt::Assign(s) => s.targets.iter().any(|t| target_binds(t, name)),
            Stmt::AugAssign(s) => target_binds(&s.target, name),
            Stmt::AnnAssign(s) => target_binds(&s.target, name),
            Stmt::For(s) => target_binds(&s.target, name),
            Stmt::AsyncFor(s) => target_binds(&s.target, name),
            Stmt::With(s) => s
                .items
                .iter()
                .filter_map(|i| i.optional_vars.as_deref())
                .any(|t| target_binds(t, name)),
            Stmt::Import(s) => s.names.iter().any(|a| {
                a.asname
                    .as_deref()
                    .unwrap_or_else(|| a.name.split('.').next().unwrap_or(""))
                    == name
            }),
            Stmt::ImportFrom(s) => s
                .names
                .iter()
                .any(|a| a.asname.as_deref().unwrap_or(&a.name) == name),
            _ => false,
        };
        here || match stmt {
            Stmt::FunctionDef(_) | Stmt::AsyncFunctionDef(_) | Stmt::ClassDef(_) => false,
            other => child_blocks(other).into_iter().any(|b| binds(b, name)),
        }
    })
}

fn target_binds(target: &Expr, name: &str) -> bool {
    match target {
        Expr::Name(n) => n.id.as_str() == name,
        Expr::Tuple(t) => t.elts.iter().any(|e| target_binds(e, name)),
        Expr::List(l) => l.elts.iter().any(|e| target_binds(e, name)),
        Expr::Starred(s) => target_binds(&s.value, name),
        _ => false,
    }
}

// ------------------------------------------------------------- assigns_result

/// Whether the code binds `result` in the module namespace, where the kernel
/// looks for it: at top level (also inside `if`/`for`/`with`/`try` blocks),
/// or in a function that declares `global result`. An assignment only inside
/// a function (`def main(): result = ...`) does not count.
pub fn assigns_result(code: &str) -> bool {
    let Ok(suite) = ast::Suite::parse(code, "<generated>") else {
        return false;
    };
    module_binds_result(&suite)
}

fn module_binds_result(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::FunctionDef(f) => declares_global_result(&f.body) && binds(&f.body, "result"),
        Stmt::AsyncFunctionDef(f) => declares_global_result(&f.body) && binds(&f.body, "result"),
        Stmt::ClassDef(_) => false,
        other => {
            binds(std::slice::from_ref(other), "result")
                || child_blocks(other).into_iter().any(module_binds_result)
        }
    })
}

fn declares_global_result(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Global(g) => g.names.iter().any(|n| n.as_str() == "result"),
        Stmt::FunctionDef(_) | Stmt::AsyncFunctionDef(_) | Stmt::ClassDef(_) => false,
        other => child_blocks(other).into_iter().any(declares_global_result),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(file_stem("data/YAHOO_BTC_USD_D.csv"), "yahoo_btc_usd_d");
        assert_eq!(file_stem("Sales 2024.csv.gz"), "sales_2024");
        assert_eq!(file_stem("a.b.csv"), "a_b");
        assert_eq!(normalize("Sales-2024"), "sales_2024");
    }

    #[test]
    fn dedents_blocks() {
        assert_eq!(
            dedent("    a\n\n    if x:\n        b\n", 4),
            "a\n\nif x:\n    b\n"
        );
    }
}
