//! Reading the data again (`df = pd.read_csv('x.csv')`): the loaded frame is used instead.

mod names;
mod options;

use rustpython_parser::ast::{self, Expr, Ranged, Stmt};
use rustpython_parser::Parse;

use self::names::{file_stem, is_bindable, is_plain_path, normalize};
use super::blocks::{binds, child_blocks};
use super::{apply, indent_at, is_str, line_end, line_start, span, Edit};
use crate::scope::Bindings;

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

pub(super) fn reuse_loaded_data(code: &str, datasets: &[&str], notes: &mut Vec<String>) -> String {
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
}
