//! pandas calling methods named by strings: `agg`/`apply`/`transform`, `pipe`, `filter`.

use rustpython_parser::ast::{self, Constant, Expr};

use super::{
    errors::{dispatch_error, module_by_name},
    receivers::{
        attribute_name, callee_name, chain_mentions, is_plot_transform, positional_or, MAX_DEPTH,
    },
    Check, Checker,
};
use crate::lists;
use crate::scope::Meaning;

impl Checker<'_, '_> {
    /// Rules that depend on the called function's name: a method
    /// (`receiver` given) or a bare/imported name.
    pub(super) fn named_rules(
        &mut self,
        name: &str,
        receiver: Option<&Expr>,
        call: &ast::ExprCall,
    ) -> Check {
        let line = self.line_at(call.range.start());
        let Some(receiver) = receiver else {
            return match name {
                // The module functions; the builtin `filter` and others are
                // not pandas dispatch.
                "pivot_table" | "crosstab" | "NamedAgg" | "Agg" | "Est" | "StrMethodFormatter"
                | "use" | "rc" | "rc_context" | "set_option" | "option_context" => {
                    self.name_rules(name, true, call, line)
                }
                _ => Ok(()),
            };
        };
        let pandas_object = !self.is_estimator(receiver, 0) && !is_plot_transform(receiver);
        match name {
            _ if lists::is_dispatch_method(name) && pandas_object => {
                self.dispatch(name, call, line)
            }
            "pipe" if pandas_object => match positional_or(call, &["func"]) {
                Some(func) => self.callable_arg(func, "pipe", line),
                None => Ok(()),
            },
            "filter" if pandas_object => match call.args.first() {
                Some(first) => self.filter_arg(first, line),
                None => Ok(()),
            },
            "format" | "format_index" if chain_mentions(receiver, "style") => {
                match positional_or(call, &["formatter"]) {
                    Some(template) => self.template_value(template, line, 0),
                    None => Ok(()),
                }
            }
            "format" => self.str_format_call(receiver, call, line),
            "context" if attribute_name(receiver) == Some("style") => self.style_names(call, line),
            "update" | "setdefault" if self.is_settings(receiver) => {
                for arg in &call.args {
                    self.settings_dict(arg, line)?;
                }
                for keyword in &call.keywords {
                    match keyword.arg.as_deref() {
                        Some(key) if !lists::is_module_by_name_key(key) => {}
                        Some(key) => return Err(module_by_name(key, line)),
                        None => return Err(module_by_name("**settings", line)),
                    }
                }
                Ok(())
            }
            _ => {
                let on_module = matches!(receiver, Expr::Name(n) if self.bindings.is_module(&n.id));
                self.name_rules(name, on_module, call, line)
            }
        }
    }

    /// Rules shared by methods and module functions.
    fn name_rules(
        &mut self,
        name: &str,
        on_module: bool,
        call: &ast::ExprCall,
        line: usize,
    ) -> Check {
        match name {
            "pivot_table" | "crosstab" => {
                // pd.pivot_table(data, values, index, columns, aggfunc);
                // df.pivot_table(values, index, columns, aggfunc);
                // pd.crosstab(index, columns, values, rownames, colnames, aggfunc).
                let index = match (name, on_module) {
                    ("crosstab", _) => 5,
                    (_, true) => 4,
                    _ => 3,
                };
                match call.args.get(index) {
                    Some(aggfunc) => self.agg_spec(aggfunc, name, line, 0),
                    None => Ok(()),
                }
            }
            "NamedAgg" => self.named_agg(call),
            "Agg" | "Est" => self.seaborn_stat(name, call, line),
            "StrMethodFormatter" => match call.args.first() {
                Some(template) => self.template_value(template, line, 0),
                None => Ok(()),
            },
            "use" => self.style_names(call, line),
            "rc_context" => {
                if let Some(rc) = positional_or(call, &["rc"]) {
                    self.settings_dict(rc, line)?;
                }
                if call
                    .keywords
                    .iter()
                    .any(|k| k.arg.as_deref() == Some("fname"))
                    || call.args.len() > 1
                {
                    return Err(module_by_name("rc_context(fname=...)", line));
                }
                Ok(())
            }
            "rc" => match call.args.first() {
                Some(Expr::Constant(c)) if matches!(&c.value, Constant::Str(g) if !lists::is_module_by_name_key(g)) => {
                    Ok(())
                }
                _ => Err(module_by_name("rc(group)", line)),
            },
            _ if lists::is_option_setter(name) => self.option_keys(call, line),
            _ => Ok(()),
        }
    }

    /// `df.agg(spec)`, `df.apply(spec)`, ...: the function argument, and for
    /// `agg` without one, the named aggregations in the keywords.
    pub(super) fn dispatch(&mut self, name: &str, call: &ast::ExprCall, line: usize) -> Check {
        let spec = positional_or(call, &["func", "arg"]);
        if let Some(spec) = spec {
            self.agg_spec(spec, name, line, 0)?;
        }
        if !matches!(name, "agg" | "aggregate") || spec.is_some() {
            // Keywords are arguments of the function (`agg('quantile', q=0.9)`).
            return Ok(());
        }
        for keyword in &call.keywords {
            if keyword.arg.is_none() {
                return Err(dispatch_error(name, "unpacked keyword arguments", line));
            }
            self.named_agg_value(&keyword.value, name, line, 0)?;
        }
        Ok(())
    }

    /// One named aggregation: `total=('v', 'sum')`, `total='sum'` (on a
    /// column), `total=pd.NamedAgg(...)` (checked as a call), or a name
    /// bound to one of those.
    fn named_agg_value(&self, value: &Expr, method: &str, line: usize, depth: usize) -> Check {
        match value {
            Expr::Tuple(t) if t.elts.len() == 2 => self.agg_spec(&t.elts[1], method, line, depth),
            Expr::Call(c) if callee_name(&c.func) == Some("NamedAgg") => Ok(()),
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Literal(values) if depth < MAX_DEPTH => values
                    .iter()
                    .try_for_each(|v| self.named_agg_value(v, method, line, depth + 1)),
                _ => self.agg_spec(value, method, line, depth),
            },
            other => self.agg_spec(other, method, line, depth),
        }
    }

    /// seaborn.objects `Agg(func)` / `Est(func)` hand `func` to pandas' agg.
    fn seaborn_stat(&self, name: &str, call: &ast::ExprCall, line: usize) -> Check {
        match positional_or(call, &["func"]) {
            Some(func) => self.agg_spec(func, name, line, 0),
            None => Ok(()),
        }
    }

    /// `pd.NamedAgg(column, aggfunc)`.
    fn named_agg(&self, call: &ast::ExprCall) -> Check {
        let line = self.line_at(call.range.start());
        match call.args.get(1) {
            Some(aggfunc) => self.agg_spec(aggfunc, "NamedAgg", line, 0),
            None => Ok(()),
        }
    }

    /// What may name an aggregation: a literal from the safe list, a
    /// list/tuple/dict of such, a lambda, a function defined in the code, an
    /// imported or built-in function, or a library function attribute
    /// (`np.mean`, `str.upper`). Never a string computed at run time.
    pub(super) fn agg_spec(&self, spec: &Expr, method: &str, line: usize, depth: usize) -> Check {
        if depth > MAX_DEPTH {
            return Err(dispatch_error(method, "a deeply nested name", line));
        }
        match spec {
            Expr::Constant(c) => match &c.value {
                Constant::Str(text) if lists::is_safe_aggregation(text) => Ok(()),
                Constant::Str(text) => Err(dispatch_error(
                    method,
                    &format!("'{text}', which is not an aggregation name"),
                    line,
                )),
                _ => Ok(()),
            },
            Expr::List(e) => self.agg_specs(&e.elts, method, line, depth),
            Expr::Tuple(e) => self.agg_specs(&e.elts, method, line, depth),
            Expr::Set(e) => self.agg_specs(&e.elts, method, line, depth),
            Expr::Dict(e) => {
                if e.keys.iter().any(Option::is_none) {
                    return Err(dispatch_error(method, "an unpacked dict", line));
                }
                self.agg_specs(&e.values, method, line, depth)
            }
            Expr::Lambda(_) => Ok(()),
            Expr::IfExp(e) => {
                self.agg_spec(&e.body, method, line, depth)?;
                self.agg_spec(&e.orelse, method, line, depth)
            }
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Function => Ok(()),
                Meaning::Import { path, .. }
                    if !path
                        .rsplit('.')
                        .next()
                        .is_some_and(lists::is_settings_attribute) =>
                {
                    Ok(())
                }
                Meaning::Unbound if lists::is_safe_function_builtin(&n.id) => Ok(()),
                Meaning::Literal(values) => values
                    .iter()
                    .try_for_each(|v| self.agg_spec(v, method, line, depth + 1)),
                _ => Err(dispatch_error(
                    method,
                    &format!(
                        "the variable '{}', which may hold a method name built at run time",
                        n.id
                    ),
                    line,
                )),
            },
            Expr::Attribute(_) if self.is_function_attribute(spec) => Ok(()),
            Expr::Attribute(_) => Err(dispatch_error(
                method,
                "an attribute that is not a library function",
                line,
            )),
            _ => Err(dispatch_error(method, "a computed value", line)),
        }
    }

    fn agg_specs(&self, specs: &[Expr], method: &str, line: usize, depth: usize) -> Check {
        specs.iter().try_for_each(|s| match s {
            Expr::Starred(_) => Err(dispatch_error(method, "an unpacked list", line)),
            s => self.agg_spec(s, method, line, depth),
        })
    }

    /// `pipe` takes a function; its `(function, 'keyword')` form and strings
    /// are refused.
    fn callable_arg(&self, func: &Expr, method: &str, line: usize) -> Check {
        let callable = match func {
            Expr::Lambda(_) => true,
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Function | Meaning::Import { .. } => true,
                Meaning::Unbound => lists::is_safe_function_builtin(&n.id),
                _ => false,
            },
            Expr::Attribute(_) => self.is_function_attribute(func),
            _ => false,
        };
        if callable {
            Ok(())
        } else {
            Err(dispatch_error(
                method,
                "something other than a function",
                line,
            ))
        }
    }

    /// `df.filter(['a', 'b'])` lists labels; `groupby(...).filter(f)` calls
    /// `f`, or the method a string names.
    fn filter_arg(&self, first: &Expr, line: usize) -> Check {
        let labels = |e: &Expr| matches!(e, Expr::List(_) | Expr::Tuple(_) | Expr::Set(_));
        match first {
            e if labels(e) => Ok(()),
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Literal(values) if values.iter().all(|v| labels(v)) => Ok(()),
                _ => self.agg_spec(first, "filter", line, 0).map_err(|_| {
                    dispatch_error(
                        "filter",
                        &format!(
                            "the variable '{}' (use df.filter(items={}) for column labels)",
                            n.id, n.id
                        ),
                        line,
                    )
                }),
            },
            other => self.agg_spec(other, "filter", line, 0),
        }
    }
}
