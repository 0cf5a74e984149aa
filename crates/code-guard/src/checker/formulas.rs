//! statsmodels formulas, which patsy/formulaic evaluate as Python.

use rustpython_parser::ast::{self, Constant, Expr};

use super::{
    errors::formula_not_literal,
    receivers::{positional_or, MAX_DEPTH},
    Check, Checker,
};
use crate::scope::Meaning;
use crate::strings;
use crate::Rejection;

impl Checker<'_, '_> {
    /// statsmodels formulas are evaluated as Python by patsy/formulaic.
    pub(super) fn formula_call(&self, call: &ast::ExprCall) -> Check {
        let line = self.line_at(call.range.start());
        let formula_function = match call.func.as_ref() {
            Expr::Attribute(a) if a.attr.as_str() == "from_formula" => true,
            func => self
                .bindings
                .qualify(func)
                .is_some_and(|q| q.split('.').any(|s| s == "formula")),
        };
        if formula_function {
            if let Some(formula) = positional_or(call, &["formula"]) {
                self.formula_value(formula, line, 0)?;
            }
        }
        for keyword in &call.keywords {
            match keyword.arg.as_deref() {
                Some("eval_env") => {
                    return Err(Rejection::new(
                        "formula",
                        format!(
                            "Forbidden formula option: eval_env at line {line} chooses the \
                             namespace formulas are evaluated in"
                        ),
                    ))
                }
                Some(arg) if arg == "formula" || arg.ends_with("_formula") => {
                    self.formula_value(&keyword.value, line, 0)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn formula_value(&self, value: &Expr, line: usize, depth: usize) -> Check {
        match value {
            Expr::Constant(c) => match &c.value {
                Constant::Str(text) => match strings::formula_problem(text) {
                    None => Ok(()),
                    Some(problem) => Err(Rejection::new(
                        "formula",
                        format!(
                            "Forbidden formula: {problem} in '{text}' at line {line}; formulas \
                             are evaluated as Python, so only column names, numbers, operators \
                             and I(), C(), Q(), np.log(), np.exp(), np.sqrt(), center(), \
                             standardize(), scale(), poly() are allowed"
                        ),
                    )),
                },
                Constant::None => Ok(()),
                _ => Err(formula_not_literal(line)),
            },
            Expr::Dict(d) if d.keys.iter().all(Option::is_some) => d
                .values
                .iter()
                .try_for_each(|v| self.formula_value(v, line, depth)),
            Expr::Name(n) if depth < MAX_DEPTH => match self.bindings.meaning(&n.id) {
                Meaning::Literal(values) => values
                    .iter()
                    .try_for_each(|v| self.formula_value(v, line, depth + 1)),
                _ => Err(formula_not_literal(line)),
            },
            _ => Err(formula_not_literal(line)),
        }
    }
}
