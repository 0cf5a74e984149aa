//! Attribute names and how imported things are used (called, stored, subscripted).

use rustpython_parser::ast;

use super::{
    errors::{forbidden_builtin, forbidden_dunder, module_by_name},
    receivers::is_plot_transform,
    Check, Checker, Use,
};
use crate::lists;
use crate::Rejection;

impl Checker<'_, '_> {
    /// Rules on how an imported thing is used (`smf.ols` must be called,
    /// `rcParams` only subscripted or used through its attributes).
    pub(super) fn qualified_value(
        &self,
        qualified: &str,
        text: &str,
        how: Use,
        line: usize,
    ) -> Check {
        let last = qualified.rsplit('.').next().unwrap_or(qualified);
        let formula_function = how == Use::Value
            && (qualified.split('.').any(|s| s == "formula") || last == "from_formula");
        if formula_function {
            return Err(Rejection::new(
                "formula",
                format!(
                    "Forbidden formula use: '{text}' at line {line} must be called directly, \
                     with a literal formula"
                ),
            ));
        }
        if lists::is_settings_attribute(last) && how == Use::Value {
            return Err(module_by_name(&format!("'{text}' used as a value"), line));
        }
        Ok(())
    }

    /// Methods whose arguments are checked must be called where they are
    /// named: `f = df.agg; f(name)` would skip the check.
    pub(super) fn uncalled_method(
        &self,
        attr: &ast::ExprAttribute,
        path: &str,
        how: Use,
        line: usize,
    ) -> Check {
        if how == Use::Callee {
            return Ok(());
        }
        let name = attr.attr.as_str();
        if lists::is_settings_attribute(name) && how == Use::Value {
            return Err(module_by_name(&format!("'{path}' used as a value"), line));
        }
        let pandas_object = !self.is_estimator(&attr.value, 0) && !is_plot_transform(&attr.value);
        let dispatching = (lists::is_dispatch_method(name) || matches!(name, "pipe" | "filter"))
            && pandas_object
            || lists::is_checked_callable(name)
            || (matches!(name, "update" | "setdefault") && self.is_settings(&attr.value));
        if dispatching {
            return Err(Rejection::new(
                if lists::is_checked_setting(name) || matches!(name, "update" | "setdefault") {
                    "module-by-name"
                } else if name == "from_formula" {
                    "formula"
                } else {
                    "string-dispatch"
                },
                format!(
                    "Forbidden method use: '{path}' at line {line} must be called directly \
                     (its arguments are checked), not stored or passed"
                ),
            ));
        }
        Ok(())
    }

    /// Rules for one attribute name (or imported name). `path` is the dotted
    /// text for messages; `qualified` the module path when the chain starts
    /// at an import (`re.compile`).
    pub(super) fn attribute_segment(
        &self,
        name: &str,
        path: &str,
        qualified: Option<&str>,
        called: bool,
        line: usize,
    ) -> Check {
        if lists::is_dunder(name) {
            return Err(forbidden_dunder(name, line));
        }
        if name.starts_with('_') {
            return Err(Rejection::new(
                "private",
                format!(
                    "Forbidden private attribute: '{path}' at line {line}; names starting with \
                     '_' are internal, use the public API instead"
                ),
            ));
        }
        if lists::is_internal_anywhere(name) || lists::is_module_attribute(name) {
            return Err(Rejection::new(
                "module-internals",
                format!(
                    "Forbidden module access: '{path}' at line {line} reaches into module \
                     internals; use the library's public functions instead"
                ),
            ));
        }
        if lists::is_interpreter_internal(name) {
            return Err(Rejection::new(
                "module-internals",
                format!(
                    "Forbidden module access: '{path}' at line {line} reaches interpreter \
                     internals (frames and code objects)"
                ),
            ));
        }
        if lists::is_string_eval_method(name) {
            return Err(Rejection::new(
                "string-eval",
                format!(
                    "Forbidden method call: '{path}' at line {line} evaluates a string \
                     expression; use boolean indexing (df[df['a'] > 1]) or plain Python \
                     arithmetic instead"
                ),
            ));
        }
        if lists::is_serialization_module(name) || lists::is_file_io_method(name) {
            return Err(Rejection::new(
                "file-io",
                format!(
                    "Forbidden method call: '{path}' at line {line} reads or writes files or \
                     the network; the data is already loaded as df, keep results in memory"
                ),
            ));
        }
        if lists::is_conditional_writer(name) && !called {
            return Err(Rejection::new(
                "file-io",
                format!(
                    "Forbidden method call: '{path}' at line {line} may only be called \
                     directly, without a path, e.g. df.{name}()"
                ),
            ));
        }
        if lists::is_reflection_helper(name) {
            return Err(forbidden_builtin(path, line));
        }
        if lists::is_template_engine(name) {
            return Err(Rejection::new(
                "reflection",
                format!(
                    "Forbidden template engine: '{path}' at line {line}; jinja2 templates \
                     evaluate attribute paths from strings (pandas' Styler exposes them), use \
                     df.style methods or to_html() instead"
                ),
            ));
        }
        if lists::is_reflection_callable(name) {
            return Err(Rejection::new(
                "reflection",
                format!(
                    "Forbidden reflection: '{path}' at line {line} turns strings into objects or \
                     walks to objects the code was not given (modules, frames, globals)"
                ),
            ));
        }
        if lists::is_forbidden_builtin_attribute(name) && qualified != Some("re.compile") {
            return Err(forbidden_builtin(path, line));
        }
        if lists::is_backend_switch(name) || name == "backend" {
            return Err(module_by_name(path, line));
        }
        Ok(())
    }
}
