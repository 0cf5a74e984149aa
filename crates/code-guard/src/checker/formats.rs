//! `str.format` templates: literal templates only, except a Styler's `format`.

use rustpython_parser::ast::{self, Constant, Expr};

use super::{
    receivers::{chain_mentions, MAX_DEPTH},
    Check, Checker,
};
use crate::lists;
use crate::scope::Meaning;
use crate::Rejection;

impl Checker<'_, '_> {
    /// A format template given as an argument (`StrMethodFormatter(t)`,
    /// `bar_label(fmt=t)`, `df.style.format(t)`): a literal (its fields are
    /// checked by the constant rule), a name bound only to literals, or a
    /// function; never a string built at run time.
    pub(super) fn template_value(&self, value: &Expr, line: usize, depth: usize) -> Check {
        let ok = match value {
            Expr::Constant(_) | Expr::Lambda(_) => true,
            Expr::Dict(d) if d.keys.iter().all(Option::is_some) => {
                return d
                    .values
                    .iter()
                    .try_for_each(|v| self.template_value(v, line, depth + 1))
            }
            Expr::Name(n) if depth < MAX_DEPTH => match self.bindings.meaning(&n.id) {
                Meaning::Function | Meaning::Import { .. } => true,
                Meaning::Unbound => lists::is_safe_function_builtin(&n.id),
                Meaning::Literal(values) => {
                    return values
                        .iter()
                        .try_for_each(|v| self.template_value(v, line, depth + 1))
                }
                Meaning::Unknown => false,
            },
            // `'{:.1f}'.format` (its template is a checked literal).
            Expr::Attribute(a) if a.attr.as_str() == "format" => {
                matches!(a.value.as_ref(), Expr::Constant(_))
            }
            Expr::Attribute(_) => self.is_function_attribute(value),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Rejection::new(
                "format-traversal",
                format!(
                    "Forbidden string formatting: a format template built at run time at line \
                     {line}; templates can reach attributes ('{{0.attr}}'), so write the \
                     template as a literal"
                ),
            ))
        }
    }

    /// `.format`/`.format_map` resolve `{0.attr}` and `{0[key]}` in the
    /// template at run time, so the template must be a literal (checked by
    /// the constant rule) or the call must be a Styler's `format`.
    pub(super) fn format_attribute(&self, attr: &ast::ExprAttribute, direct_call: bool) -> Check {
        let name = attr.attr.as_str();
        if !matches!(name, "format" | "format_map") {
            return Ok(());
        }
        let literal =
            matches!(attr.value.as_ref(), Expr::Constant(c) if matches!(c.value, Constant::Str(_)));
        let str_type = direct_call
            && name == "format"
            && matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "str");
        let styler = name == "format" && chain_mentions(&attr.value, "style");
        if literal || str_type || styler {
            return Ok(());
        }
        let line = self.line_at(attr.range.start());
        Err(Rejection::new(
            "format-traversal",
            format!(
                "Forbidden string formatting: .{name} on a template that is not a string literal \
                 at line {line}; templates can reach attributes ('{{0.attr}}'), so write \
                 'literal {{}}'.format(...) or use an f-string"
            ),
        ))
    }

    /// `str.format(template, ...)` needs a literal template.
    pub(super) fn str_format_call(
        &self,
        receiver: &Expr,
        call: &ast::ExprCall,
        line: usize,
    ) -> Check {
        let on_str = matches!(receiver, Expr::Name(n) if n.id.as_str() == "str");
        let literal = matches!(call.args.first(), Some(Expr::Constant(c)) if matches!(c.value, Constant::Str(_)));
        if on_str && !literal {
            return Err(Rejection::new(
                "format-traversal",
                format!(
                    "Forbidden string formatting: str.format without a literal template at line \
                     {line}; write 'literal {{}}'.format(...) or use an f-string"
                ),
            ));
        }
        Ok(())
    }
}
