//! Expressions: the walk over each expression kind, attribute chains and calls included.

use rustpython_parser::ast::{self, Constant, Expr, ExprContext};

use super::{
    errors::{forbidden_dunder, format_traversal, module_by_name},
    Check, Checker, Use,
};
use crate::Rejection;
use crate::{lists, strings};

impl Checker<'_, '_> {
    pub(super) fn expr(&mut self, expr: &Expr) -> Check {
        match expr {
            Expr::BoolOp(e) => self.exprs(&e.values),
            Expr::NamedExpr(e) => {
                self.expr(&e.target)?;
                self.expr(&e.value)
            }
            Expr::BinOp(e) => {
                self.expr(&e.left)?;
                self.expr(&e.right)
            }
            Expr::UnaryOp(e) => self.expr(&e.operand),
            Expr::Lambda(e) => {
                self.arguments(&e.args)?;
                self.expr(&e.body)
            }
            Expr::IfExp(e) => {
                self.expr(&e.test)?;
                self.expr(&e.body)?;
                self.expr(&e.orelse)
            }
            Expr::Dict(e) => {
                self.exprs(e.keys.iter().flatten())?;
                self.exprs(&e.values)
            }
            Expr::Set(e) => self.exprs(&e.elts),
            Expr::ListComp(e) => self.comprehension(&[&e.elt], &e.generators),
            Expr::SetComp(e) => self.comprehension(&[&e.elt], &e.generators),
            Expr::DictComp(e) => self.comprehension(&[&e.key, &e.value], &e.generators),
            Expr::GeneratorExp(e) => self.comprehension(&[&e.elt], &e.generators),
            Expr::Await(e) => self.expr(&e.value),
            Expr::Yield(e) => self.opt_expr(e.value.as_deref()),
            Expr::YieldFrom(e) => self.expr(&e.value),
            Expr::Compare(e) => {
                self.expr(&e.left)?;
                self.exprs(&e.comparators)
            }
            Expr::Call(e) => self.call(e),
            Expr::FormattedValue(e) => {
                self.expr(&e.value)?;
                self.opt_expr(e.format_spec.as_deref())
            }
            Expr::JoinedStr(e) => self.exprs(&e.values),
            Expr::Constant(e) => self.constant(e),
            Expr::Attribute(e) => self.attribute(e, false),
            Expr::Subscript(e) => {
                self.subscripted = matches!(e.value.as_ref(), Expr::Name(_) | Expr::Attribute(_));
                let value = self.expr(&e.value);
                self.subscripted = false;
                value?;
                self.expr(&e.slice)?;
                if matches!(e.ctx, ExprContext::Store) && self.is_settings(&e.value) {
                    self.settings_key(&e.slice)?;
                }
                Ok(())
            }
            Expr::Starred(e) => self.expr(&e.value),
            Expr::Name(e) => self.name(e),
            Expr::List(e) => self.exprs(&e.elts),
            Expr::Tuple(e) => self.exprs(&e.elts),
            Expr::Slice(e) => {
                self.opt_expr(e.lower.as_deref())?;
                self.opt_expr(e.upper.as_deref())?;
                self.opt_expr(e.step.as_deref())
            }
        }
    }

    fn comprehension(&mut self, elts: &[&Expr], generators: &[ast::Comprehension]) -> Check {
        for generator in generators {
            // Comprehension variables do not leak, so they never bind `result`.
            self.non_binding_target(&generator.target)?;
            self.expr(&generator.iter)?;
            self.exprs(&generator.ifs)?;
        }
        elts.iter().try_for_each(|e| self.expr(e))
    }

    /// Checks an assignment target without letting it count as binding `result`.
    pub(super) fn non_binding_target(&mut self, target: &Expr) -> Check {
        let before = self.assigns_result;
        let outcome = self.expr(target);
        self.assigns_result = before;
        outcome
    }

    pub(super) fn name(&mut self, name: &ast::ExprName) -> Check {
        let how = if std::mem::take(&mut self.subscripted) {
            Use::Subscripted
        } else {
            Use::Value
        };
        self.name_use(name, how)
    }

    pub(super) fn call(&mut self, call: &ast::ExprCall) -> Check {
        match call.func.as_ref() {
            Expr::Attribute(method) => {
                self.attribute(method, true)?;
                self.writer_destination(method, call)?;
            }
            Expr::Name(func) => {
                self.name_use(func, Use::Callee)?;
                self.type_call(func, call)?;
            }
            func => self.expr(func)?,
        }
        self.exprs(&call.args)?;
        call.keywords.iter().try_for_each(|k| self.keyword(k))?;
        // Rules on what the arguments mean come after the rules on what
        // they are, so `df.agg('query')` is reported as string-eval.
        match call.func.as_ref() {
            Expr::Attribute(method) => {
                self.named_rules(&method.attr, Some(&method.value), call)?;
            }
            Expr::Name(func) => {
                self.sql_call(func, call)?;
                // `from pandas import set_option as so`: the imported name.
                let qualified = self.bindings.qualify(&call.func);
                let name = qualified
                    .as_deref()
                    .and_then(|q| q.rsplit('.').next())
                    .unwrap_or(func.id.as_str())
                    .to_string();
                self.named_rules(&name, None, call)?;
            }
            _ => {}
        }
        self.call_keywords(call)?;
        self.formula_call(call)
    }

    pub(super) fn keyword(&mut self, keyword: &ast::Keyword) -> Check {
        // A keyword names a parameter of the callee; it binds nothing here.
        if let Some(arg) = keyword.arg.as_deref() {
            self.not_dunder(arg, keyword.range.start())?;
        }
        self.expr(&keyword.value)
    }

    pub(super) fn arguments(&mut self, args: &ast::Arguments) -> Check {
        let with_defaults = args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs);
        for arg in with_defaults {
            self.arg(&arg.def)?;
            self.opt_expr(arg.default.as_deref())?;
        }
        for arg in args.vararg.iter().chain(&args.kwarg) {
            self.arg(arg)?;
        }
        Ok(())
    }

    pub(super) fn arg(&mut self, arg: &ast::Arg) -> Check {
        self.identifier(&arg.arg, arg.range.start())?;
        self.opt_expr(arg.annotation.as_deref())
    }

    pub(super) fn type_params(&mut self, params: &[ast::TypeParam]) -> Check {
        for param in params {
            match param {
                ast::TypeParam::TypeVar(p) => {
                    self.identifier(&p.name, p.range.start())?;
                    self.opt_expr(p.bound.as_deref())?;
                }
                ast::TypeParam::ParamSpec(p) => self.identifier(&p.name, p.range.start())?,
                ast::TypeParam::TypeVarTuple(p) => self.identifier(&p.name, p.range.start())?,
            }
        }
        Ok(())
    }

    pub(super) fn constant(&self, constant: &ast::ExprConstant) -> Check {
        let Constant::Str(text) = &constant.value else {
            return Ok(());
        };
        let line = self.line_at(constant.range.start());
        // str.format and pandas' string dispatch (`df.agg('to_pickle', path)`)
        // turn strings into attribute lookups, so strings get attribute rules.
        if let Some(dunder) = lists::find_dunder_in_text(text) {
            return Err(forbidden_dunder(dunder, line));
        }
        let dispatchable = lists::is_string_eval_method(text)
            || lists::is_conditional_writer(text)
            || (text.starts_with("to_") && lists::is_file_io_method(text));
        if dispatchable {
            return Err(Rejection::new(
                if lists::is_string_eval_method(text) {
                    "string-eval"
                } else {
                    "file-io"
                },
                format!(
                    "Forbidden method call: method name '{text}' given as a string at line \
                     {line}; pandas calls methods named by strings (e.g. df.agg('{text}')), \
                     which would bypass the method rules"
                ),
            ));
        }
        if lists::is_module_by_name_literal(text) {
            return Err(module_by_name(&format!("'{text}'"), line));
        }
        if let Some(field) = strings::format_traversal(text) {
            return Err(format_traversal(field, line));
        }
        Ok(())
    }

    /// Checks a whole `a.b.c` chain left to right so the message names the
    /// first offending step (`pd.io`, not `...os.system`). `direct_call` is
    /// true when the outermost attribute is immediately called.
    pub(super) fn attribute(&mut self, outer: &ast::ExprAttribute, direct_call: bool) -> Check {
        let how = match (direct_call, std::mem::take(&mut self.subscripted)) {
            (true, _) => Use::Callee,
            (false, true) => Use::Subscripted,
            (false, false) => Use::Value,
        };
        let mut chain = vec![outer];
        let mut root = outer.value.as_ref();
        while let Expr::Attribute(inner) = root {
            chain.push(inner);
            root = inner.value.as_ref();
        }
        chain.reverse();
        match root {
            Expr::Name(n) => self.name_use(n, Use::Root)?,
            other => self.expr(other)?,
        }

        let mut path = match root {
            Expr::Name(n) => n.id.to_string(),
            _ => String::new(),
        };
        let mut qualified = self.bindings.qualify(root);
        let last = chain.len() - 1;
        for (i, attr) in chain.iter().enumerate() {
            path.push('.');
            path.push_str(&attr.attr);
            if let Some(q) = qualified.as_mut() {
                q.push('.');
                q.push_str(&attr.attr);
            }
            let line = self.line_at(attr.range.start());
            if let Some(q) = qualified.as_deref().filter(|q| lists::is_denied_path(q)) {
                return Err(Rejection::new(
                    "module-internals",
                    format!(
                        "Forbidden module access: '{path}' ({q}) at line {line} downloads, \
                         starts programs or resolves names; use the library's analysis \
                         functions instead"
                    ),
                ));
            }
            let called = direct_call && i == last;
            self.attribute_segment(&attr.attr, &path, qualified.as_deref(), called, line)?;
        }
        let line = self.line_at(outer.range.start());
        if let Some(q) = &qualified {
            self.qualified_value(q, &path, how, line)?;
        }
        self.uncalled_method(outer, &path, how, line)?;
        self.format_attribute(outer, direct_call)
    }
}
