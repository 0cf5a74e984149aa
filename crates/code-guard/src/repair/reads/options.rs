//! Reader options redone on the loaded frame: `usecols`, `parse_dates`, `index_col`.

use rustpython_parser::ast::{Constant, Expr};

use super::{is_str, Read, ReadRepair, PATH_KEYWORDS};

impl<'a> ReadRepair<'a, '_> {
    /// Statements redoing what `usecols`, `parse_dates` and `index_col` did
    /// in the read (in pandas' order), and a note for options dropped.
    pub(super) fn option_lines(&mut self, read: &Read<'a>, name: &str) -> Vec<String> {
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
    pub(super) fn option_chain(&mut self, read: &Read<'a>, dataset: &str) -> String {
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
