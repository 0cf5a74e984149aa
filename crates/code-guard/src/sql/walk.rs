//! The walk over one parsed query (sqlparser's `Visitor`): table references
//! resolved against the registered tables and the CTEs in scope, functions
//! against the lists in `functions.rs`.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement,
    TableFactor, Visitor,
};

use super::{functions, message, SqlDialect};
use crate::Rejection;

type Flow = ControlFlow<Rejection>;

/// The CTEs of one `WITH` clause. While the walk is inside the definition
/// of CTE `i`, only the first `i` are visible (`i + 1` with `RECURSIVE`);
/// everywhere else in the query that owns the clause, all of them are.
struct Frame {
    /// Lower-cased names, with the address of each definition.
    ctes: Vec<(String, *const Query)>,
    recursive: bool,
    visible: usize,
}

pub(super) struct Walk<'t> {
    /// The registered tables, lower-cased.
    tables: &'t [String],
    /// One frame per enclosing query that has a `WITH`, innermost last.
    frames: Vec<Frame>,
    /// Statements seen (only the top one may be).
    statements: usize,
    /// The table name the last table factor checked, so that a relation
    /// reached any other way is refused.
    checked_relation: Option<*const ObjectName>,
    dialect: SqlDialect,
    /// The registered tables read so far (lower-cased, each once).
    pub(super) read: Vec<String>,
}

impl<'t> Walk<'t> {
    pub(super) fn new(tables: &'t [String], dialect: SqlDialect) -> Self {
        Walk {
            tables,
            frames: Vec::new(),
            statements: 0,
            checked_relation: None,
            dialect,
            read: Vec::new(),
        }
    }

    fn cte_in_scope(&self, name: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.ctes[..f.visible].iter().any(|(n, _)| n == name))
    }

    /// A table named in `FROM`/`JOIN` (or `TABLE name`): a registered table
    /// or a CTE in scope, by its plain name.
    fn table_name(&mut self, name: &ObjectName) -> Flow {
        let parts: Vec<&Ident> = match name
            .0
            .iter()
            .map(ObjectNamePart::as_ident)
            .collect::<Option<Vec<_>>>()
        {
            Some(parts) => parts,
            None => return refuse(message::computed_name(&name.to_string())),
        };
        let [ident] = parts.as_slice() else {
            return refuse(message::qualified_table(&name.to_string(), self.tables));
        };
        if ident.quote_style == Some('\'') {
            return refuse(message::file_in_from(&ident.value, self.tables));
        }
        self.plain_table(&ident.value)
    }

    fn plain_table(&mut self, name: &str) -> Flow {
        let lower = name.to_lowercase();
        if self.cte_in_scope(&lower) {
            return ControlFlow::Continue(());
        }
        if self.tables.contains(&lower) {
            if !self.read.contains(&lower) {
                self.read.push(lower);
            }
            return ControlFlow::Continue(());
        }
        refuse(message::unknown_table(name, self.tables))
    }

    /// A table function in `FROM`: only the generators.
    fn table_function(&self, name: &ObjectName) -> Flow {
        let plain = match name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => Some(ident.value.as_str()),
            _ => None,
        };
        match plain {
            Some(f) if functions::is_table_function(f, self.dialect) => ControlFlow::Continue(()),
            _ => refuse(message::table_function(&name.to_string(), self.dialect)),
        }
    }

    /// The leaves of a query body: `TABLE name` reads a table; statements
    /// other than queries are refused.
    fn set_expr(&mut self, body: &SetExpr) -> Flow {
        match body {
            SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => {
                ControlFlow::Continue(())
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left)?;
                self.set_expr(right)
            }
            SetExpr::Table(table) => match (&table.schema_name, &table.table_name) {
                (None, Some(name)) if !name.contains(['\'', '"', '.']) => self.plain_table(name),
                _ => refuse(message::qualified_table(&table.to_string(), self.tables)),
            },
            SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
                refuse(message::not_a_query(s))
            }
        }
    }
}

impl Visitor for Walk<'_> {
    type Break = Rejection;

    fn pre_visit_statement(&mut self, statement: &Statement) -> Flow {
        self.statements += 1;
        match statement {
            Statement::Query(_) if self.statements == 1 => ControlFlow::Continue(()),
            other => refuse(message::not_a_query(other)),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> Flow {
        if let Some(frame) = self.frames.last_mut() {
            if let Some(i) = frame.ctes.iter().position(|(_, q)| std::ptr::eq(*q, query)) {
                frame.visible = if frame.recursive { i + 1 } else { i };
            }
        }
        if let Some(with) = &query.with {
            let ctes: Vec<(String, *const Query)> = with
                .cte_tables
                .iter()
                .map(|c| (c.alias.name.value.to_lowercase(), &*c.query as *const Query))
                .collect();
            self.frames.push(Frame {
                visible: ctes.len(),
                ctes,
                recursive: with.recursive,
            });
        }
        if !query.pipe_operators.is_empty() {
            return refuse(message::unsupported("pipe syntax (|>)"));
        }
        self.set_expr(&query.body)
    }

    fn post_visit_query(&mut self, query: &Query) -> Flow {
        if query.with.is_some() {
            self.frames.pop();
        }
        if let Some(frame) = self.frames.last_mut() {
            if frame.ctes.iter().any(|(_, q)| std::ptr::eq(*q, query)) {
                frame.visible = frame.ctes.len();
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> Flow {
        match &select.into {
            Some(into) => refuse(message::select_into(&into.name.to_string())),
            None => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> Flow {
        match factor {
            TableFactor::Table { name, args, .. } => {
                match args {
                    None => self.table_name(name)?,
                    Some(_) => self.table_function(name)?,
                }
                self.checked_relation = Some(name as *const ObjectName);
                ControlFlow::Continue(())
            }
            TableFactor::Function { name, .. } => self.table_function(name),
            TableFactor::UNNEST { .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. }
            | TableFactor::MatchRecognize { .. } => ControlFlow::Continue(()),
            TableFactor::TableFunction { .. } => {
                refuse(message::table_function("TABLE(...)", self.dialect))
            }
            TableFactor::JsonTable { .. } => {
                refuse(message::table_function("JSON_TABLE", self.dialect))
            }
            TableFactor::OpenJsonTable { .. } => {
                refuse(message::table_function("OPENJSON", self.dialect))
            }
            TableFactor::XmlTable { .. } => {
                refuse(message::table_function("XMLTABLE", self.dialect))
            }
            TableFactor::SemanticView { .. } => {
                refuse(message::table_function("SEMANTIC_VIEW", self.dialect))
            }
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> Flow {
        // Every relation inside a query belongs to a table factor checked
        // just before; anything else is a construct this walk does not know.
        match self.checked_relation.take() {
            Some(checked) if std::ptr::eq(checked, relation) => ControlFlow::Continue(()),
            _ => refuse(message::unsupported(&format!(
                "the table reference '{relation}' here"
            ))),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> Flow {
        match expr {
            Expr::Function(function) => self.function(function),
            _ => ControlFlow::Continue(()),
        }
    }
}

impl Walk<'_> {
    /// A scalar, aggregate or window function: refused when any part of its
    /// name is on the deny list or computed.
    fn function(&self, function: &Function) -> Flow {
        let name = function.name.to_string();
        for part in &function.name.0 {
            match part {
                ObjectNamePart::Identifier(ident)
                    if functions::is_denied_function(&ident.value, self.dialect) =>
                {
                    return refuse(message::denied_function(&name));
                }
                ObjectNamePart::Identifier(_) => {}
                ObjectNamePart::Function(_) => return refuse(message::computed_name(&name)),
            }
        }
        ControlFlow::Continue(())
    }
}

fn refuse(rejection: Rejection) -> Flow {
    ControlFlow::Break(rejection)
}
