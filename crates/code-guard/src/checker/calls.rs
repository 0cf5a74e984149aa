//! Rules on call arguments: `type()`, writers given a path, keywords naming functions or modules.

use rustpython_parser::ast::{self, Expr};

use super::{
    errors::{dispatch_error, module_by_name},
    Check, Checker,
};
use crate::lists;
use crate::Rejection;

impl Checker<'_, '_> {
    /// `type(x)` is harmless; `type(name, bases, dict)` builds classes.
    pub(super) fn type_call(&self, func: &ast::ExprName, call: &ast::ExprCall) -> Check {
        let single_plain_arg = call.args.len() == 1
            && !matches!(call.args[0], Expr::Starred(_))
            && call.keywords.is_empty();
        if func.id.as_str() == "type" && !single_plain_arg {
            let line = self.line_at(call.range.start());
            return Err(Rejection::new(
                "builtin",
                format!(
                    "Forbidden built-in function: type() with several arguments (line {line}) \
                     creates classes dynamically; only type(x) is allowed"
                ),
            ));
        }
        Ok(())
    }

    /// `df.to_csv()` returns text; `df.to_csv('x.csv')` writes a file.
    pub(super) fn writer_destination(
        &self,
        method: &ast::ExprAttribute,
        call: &ast::ExprCall,
    ) -> Check {
        let name = method.attr.as_str();
        if !lists::is_conditional_writer(name) {
            return Ok(());
        }
        let has_destination = !call.args.is_empty()
            || call
                .keywords
                .iter()
                .any(|k| k.arg.as_ref().is_none_or(|a| lists::is_path_keyword(a)));
        if has_destination {
            let line = self.line_at(call.range.start());
            return Err(Rejection::new(
                "file-io",
                format!(
                    "Forbidden method call: '{name}' with a destination at line {line} writes a \
                     file; call {name}() without a path (or use keyword options only) to get \
                     the text"
                ),
            ));
        }
        Ok(())
    }

    /// Keywords that name aggregations or modules, wherever they appear.
    pub(super) fn call_keywords(&self, call: &ast::ExprCall) -> Check {
        let line = self.line_at(call.range.start());
        for keyword in &call.keywords {
            let Some(arg) = keyword.arg.as_deref() else {
                continue;
            };
            // sklearn meta-estimators take `estimator=LinearRegression()`.
            let estimator = arg == "estimator" && self.is_estimator(&keyword.value, 0);
            if lists::is_dispatch_keyword(arg) && !estimator {
                self.agg_spec(&keyword.value, arg, line, 0)?;
            }
            match arg {
                "backend" | "hooks" => return Err(module_by_name(&format!("{arg}="), line)),
                "rc" => self.settings_dict(&keyword.value, line)?,
                "fmt" | "formatter" => self.template_value(&keyword.value, line, 0)?,
                // rolling(win_type=name) looks the name up in scipy.signal.
                "win_type" if !matches!(&keyword.value, Expr::Constant(_)) => {
                    return Err(dispatch_error("rolling", "a computed window type", line))
                }
                _ => {}
            }
        }
        Ok(())
    }
}
