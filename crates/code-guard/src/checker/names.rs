//! Names and identifiers: builtins, dunders, system modules and modules used as values.

use rustpython_parser::ast::{self, ExprContext};
use rustpython_parser::text_size::TextSize;

use super::{
    errors::{forbidden_builtin, forbidden_dunder},
    Check, Checker, Use,
};
use crate::lists;
use crate::Rejection;

impl Checker<'_, '_> {
    /// Modules may only start attribute chains; formula functions must be
    /// called; settings objects may only be subscripted or used through
    /// their attributes.
    pub(super) fn name_use(&mut self, name: &ast::ExprName, how: Use) -> Check {
        let id = name.id.as_str();
        let line = self.line_at(name.range.start());
        self.sql_name(name, how, line)?;
        let load = matches!(name.ctx, ExprContext::Load);
        if load && how != Use::Root {
            if let Some(path) = self.bindings.qualify_name(id) {
                self.qualified_value(&path, id, how, line)?;
            }
        }
        if how != Use::Root && load && self.bindings.is_module(id) {
            return Err(Rejection::new(
                "module-internals",
                format!(
                    "Forbidden module access: module '{id}' used as a value at line {line}; \
                     modules may only be used through their attributes ({id}.name)"
                ),
            ));
        }
        if lists::is_forbidden_builtin(id) || lists::is_reflection_helper(id) {
            return Err(forbidden_builtin(id, line));
        }
        if lists::is_dunder(id) {
            return Err(forbidden_dunder(id, line));
        }
        if lists::is_system_module(id) {
            return Err(Rejection::new(
                "module-internals",
                format!(
                    "Forbidden module access: '{id}' at line {line}; system modules are not \
                     available to generated code"
                ),
            ));
        }
        if lists::is_serialization_module(id) {
            return Err(Rejection::new(
                "file-io",
                format!(
                    "Forbidden file or network I/O: '{id}' at line {line}; serialization \
                     modules are not allowed, keep results in memory"
                ),
            ));
        }
        if id == "result" && matches!(name.ctx, ExprContext::Store) {
            self.assigns_result = true;
        }
        Ok(())
    }

    /// A bare identifier (def/class/arg/except/global name, keyword, alias).
    pub(super) fn identifier(&self, name: &str, at: TextSize) -> Check {
        self.not_dunder(name, at)?;
        self.sql_binding(name, at)
    }

    pub(super) fn not_dunder(&self, name: &str, at: TextSize) -> Check {
        if lists::is_dunder(name) {
            return Err(forbidden_dunder(name, self.line_at(at)));
        }
        Ok(())
    }

    pub(super) fn opt_identifier(&self, name: Option<&str>, at: TextSize) -> Check {
        name.map_or(Ok(()), |n| self.identifier(n, at))
    }

    pub(super) fn identifiers(&self, names: &[ast::Identifier], at: TextSize) -> Check {
        names.iter().try_for_each(|n| self.identifier(n, at))
    }
}
