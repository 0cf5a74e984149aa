//! Statement blocks: the blocks inside a compound statement, and what a body binds.

use rustpython_parser::ast::{self, Expr, Stmt};

/// The statement lists directly inside a compound statement.
pub(super) fn child_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
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

/// Whether a function body (not nested functions or classes) binds `name`.
pub(super) fn binds(stmts: &[Stmt], name: &str) -> bool {
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
