//! Whether the code binds `result` where the kernel looks for it.

use rustpython_parser::ast::{self, Stmt};
use rustpython_parser::Parse;

use super::blocks::{binds, child_blocks};

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
