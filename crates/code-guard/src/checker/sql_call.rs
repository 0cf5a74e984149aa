//! The kernel's `sql(query)` function (with [`crate::Policy::sql_tables`]):
//! called directly with a literal query that passes [`crate::check_sql`],
//! never used or bound any other way.

use rustpython_parser::ast::{self, Constant, Expr, ExprContext, Ranged, Stmt};
use rustpython_parser::text_size::TextSize;

use super::{Check, Checker, Use};
use crate::Rejection;

const SQL: &str = "sql";

impl Checker<'_, '_> {
    fn sql_enabled(&self) -> bool {
        !self.sql_tables.is_empty() || !self.spark_tables.is_empty()
    }

    /// `sql` as a name: only called (`sql(...)`, checked by [`Self::sql_call`]).
    pub(super) fn sql_name(&self, name: &ast::ExprName, how: Use, line: usize) -> Check {
        if !self.sql_enabled() || name.id.as_str() != SQL {
            return Ok(());
        }
        match (&name.ctx, how) {
            (ExprContext::Load, Use::Callee) => Ok(()),
            (ExprContext::Load, _) => Err(Rejection::new(
                "sql",
                format!(
                    "Forbidden use of sql: 'sql' at line {line} is used as a value; call it \
                     directly, sql('SELECT ...'), with the query as a string literal"
                ),
            )),
            _ => Err(rebound(line)),
        }
    }

    /// A binding identifier (def, class, parameter, import, except, global,
    /// match capture) may not be `sql`.
    pub(super) fn sql_binding(&self, name: &str, at: TextSize) -> Check {
        if self.sql_enabled() && name == SQL {
            return Err(rebound(self.line_at(at)));
        }
        Ok(())
    }

    /// `sql(query)`: one positional argument that is a literal query, or a
    /// name bound once, at top level before the call, to one; the query
    /// must pass [`crate::check_sql`].
    pub(super) fn sql_call(&self, func: &ast::ExprName, call: &ast::ExprCall) -> Check {
        if !self.sql_enabled() || func.id.as_str() != SQL {
            return Ok(());
        }
        let line = self.line_at(call.range.start());
        let table = self
            .spark_tables
            .first()
            .or(self.sql_tables.first())
            .map_or("table", String::as_str);
        let not_literal = |what: &str| not_literal(line, what, table);
        if !call.keywords.is_empty() {
            return Err(not_literal(
                "given keyword arguments; it takes the query as its one positional argument",
            ));
        }
        let [arg] = call.args.as_slice() else {
            return Err(not_literal(&format!(
                "given {} arguments; it takes exactly one",
                call.args.len()
            )));
        };
        let query = match arg {
            Expr::Name(n) => self.bound_query(&n.id, call.range.start()).ok_or_else(|| {
                not_literal(&format!(
                    "given the variable '{}', which is not bound exactly once, at top level \
                     before the call, to a string literal",
                    n.id
                ))
            })?,
            Expr::JoinedStr(_) => literal_text(arg).ok_or_else(|| {
                not_literal("given an f-string with placeholders (a query built at run time)")
            })?,
            other => literal_text(other)
                .ok_or_else(|| not_literal("given a computed value (a query built at run time)"))?,
        };
        let duck: Vec<&str> = self.sql_tables.iter().map(String::as_str).collect();
        let spark: Vec<&str> = self.spark_tables.iter().map(String::as_str).collect();
        let dialect = crate::check_sql_over(&query, &duck, &spark).map_err(|rejection| {
            Rejection::new(
                "sql",
                format!("{} (the query of sql() at line {line})", rejection.message),
            )
        })?;
        let mut queries = self.sql_queries.borrow_mut();
        if !queries.iter().any(|q| q.text == query) {
            queries.push(crate::SqlQuery {
                text: query,
                dialect,
            });
        }
        Ok(())
    }

    /// The literal a name holds at `before`: its only binding is a
    /// top-level `name = '...'` (or `name: str = '...'`) ending before it.
    fn bound_query(&self, name: &str, before: TextSize) -> Option<String> {
        let [value] = self.bindings.assigned_values(name)[..] else {
            return None;
        };
        if self.bindings.has_non_value_sites(name) {
            return None;
        }
        let at_top_level = self.top_level.iter().any(|stmt| {
            let (targets, bound): (&[Expr], Option<&Expr>) = match stmt {
                Stmt::Assign(s) => (&s.targets, Some(&s.value)),
                Stmt::AnnAssign(s) => (std::slice::from_ref(&s.target), s.value.as_deref()),
                _ => return false,
            };
            stmt.range().end() <= before
                && bound.is_some_and(|b| std::ptr::eq(b, value))
                && targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name))
        });
        if at_top_level {
            literal_text(value)
        } else {
            None
        }
    }
}

/// The text of a string literal or of an f-string without placeholders.
fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Constant(c) => match &c.value {
            Constant::Str(text) => Some(text.clone()),
            _ => None,
        },
        Expr::JoinedStr(j) => j.values.iter().map(literal_text).collect(),
        _ => None,
    }
}

fn rebound(line: usize) -> Rejection {
    Rejection::new(
        "sql",
        format!(
            "Forbidden use of sql: 'sql' is bound at line {line}; sql is the kernel's query \
             function, so give your variable, function or parameter another name"
        ),
    )
}

fn not_literal(line: usize, what: &str, table: &str) -> Rejection {
    Rejection::new(
        "sql",
        format!(
            "Forbidden use of sql: sql() at line {line} is {what}; write the query as a string \
             literal, e.g. result = sql('SELECT count(*) FROM {table}'), or bind a name to one \
             literal once, at top level, before the call"
        ),
    )
}
