//! Recursive walk over the parsed module, stopping at the first violation.
//!
//! The walk is hand-written rather than using `rustpython_ast::Visitor`
//! because that generated visitor skips arguments, keywords, comprehensions,
//! `with` items and match cases, which would leave holes. Matches over
//! `Stmt`/`Expr` are exhaustive (no `_` arm) so a parser upgrade that adds a
//! node kind fails to compile instead of silently skipping it.
//!
//! One `impl Checker` per file, each calling only files below it:
//! `statements` → `imports`, `expressions` → `names`, `members`, `calls`,
//! `sql_call` → `dispatch`, `formulas`, `formats`, `settings` →
//! `receivers`, `errors`.

use rustpython_parser::ast::{Expr, Stmt};
use rustpython_parser::text_size::TextSize;

use crate::scope::Bindings;
use crate::Rejection;

mod calls;
mod dispatch;
mod errors;
mod expressions;
mod formats;
mod formulas;
mod imports;
mod members;
mod names;
mod receivers;
mod settings;
mod sql_call;
mod statements;

type Check = Result<(), Rejection>;

/// Where a name or attribute chain is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A value: assigned, passed, stored, returned.
    Value,
    /// The start of an attribute chain (`np` in `np.mean`).
    Root,
    /// Called directly (`ols` in `ols(...)`).
    Callee,
    /// Subscripted directly (`rcParams` in `rcParams['x']`).
    Subscripted,
}

pub struct Checker<'a, 'b> {
    code: &'a str,
    bindings: &'b Bindings<'b>,
    /// Set when the code binds the name `result` anywhere.
    pub assigns_result: bool,
    /// The next name or attribute visited is the value of a subscript.
    subscripted: bool,
    /// The tables `sql(...)` may query; empty when `sql` is no function
    /// the kernel provides.
    sql_tables: &'a [String],
    /// Tables on Spark that `sql(...)` may query too.
    spark_tables: &'a [String],
    /// The module's top-level statements (where a query name is bound).
    top_level: &'b [Stmt],
    /// The queries of the `sql(...)` calls checked so far, each once.
    pub sql_queries: std::cell::RefCell<Vec<crate::SqlQuery>>,
}

impl<'a, 'b> Checker<'a, 'b> {
    pub fn new(code: &'a str, bindings: &'b Bindings<'b>) -> Self {
        Checker {
            code,
            bindings,
            assigns_result: false,
            subscripted: false,
            sql_tables: &[],
            spark_tables: &[],
            top_level: &[],
            sql_queries: Default::default(),
        }
    }

    /// Allow `sql(query)` calls over `tables` and `spark` (none when both
    /// are empty) in the module `top_level`.
    pub fn with_sql(
        mut self,
        tables: &'a [String],
        spark: &'a [String],
        top_level: &'b [Stmt],
    ) -> Self {
        self.sql_tables = tables;
        self.spark_tables = spark;
        self.top_level = top_level;
        self
    }

    /// 1-based line of a byte offset into the checked code.
    pub fn line_at(&self, offset: TextSize) -> usize {
        line_at(self.code, offset)
    }

    pub fn body(&mut self, stmts: &[Stmt]) -> Check {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    fn exprs<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Check {
        exprs.into_iter().try_for_each(|e| self.expr(e))
    }

    fn opt_expr(&mut self, expr: Option<&Expr>) -> Check {
        expr.map_or(Ok(()), |e| self.expr(e))
    }
}

/// 1-based line of a byte offset into `code`.
pub fn line_at(code: &str, offset: TextSize) -> usize {
    let end = usize::from(offset).min(code.len());
    code.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
