//! Recursive walk over the parsed module, stopping at the first violation.
//!
//! The walk is hand-written rather than using `rustpython_ast::Visitor`
//! because that generated visitor skips arguments, keywords, comprehensions,
//! `with` items and match cases, which would leave holes. Matches over
//! `Stmt`/`Expr` are exhaustive (no `_` arm) so a parser upgrade that adds a
//! node kind fails to compile instead of silently skipping it.

use rustpython_parser::ast::{self, Constant, Expr, ExprContext, Ranged, Stmt};
use rustpython_parser::text_size::TextSize;

use crate::scope::{Bindings, Meaning};
use crate::Rejection;
use crate::{lists, strings};

mod sql_call;

type Check = Result<(), Rejection>;

/// Where a name or attribute chain is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A value: assigned, passed, stored, returned.
    Value,
    /// The start of an attribute chain (`np` in `np.mean`).
    Root,
    /// Called directly (`ols` in `ols(...)`).
    Callee,
    /// Subscripted directly (`rcParams` in `rcParams['x']`).
    Subscripted,
}

pub struct Checker<'a, 'b> {
    code: &'a str,
    bindings: &'b Bindings<'b>,
    /// Set when the code binds the name `result` anywhere.
    pub assigns_result: bool,
    /// The next name or attribute visited is the value of a subscript.
    subscripted: bool,
    /// The tables `sql(...)` may query; empty when `sql` is no function
    /// the kernel provides.
    sql_tables: &'a [String],
    /// The module's top-level statements (where a query name is bound).
    top_level: &'b [Stmt],
}

impl<'a, 'b> Checker<'a, 'b> {
    pub fn new(code: &'a str, bindings: &'b Bindings<'b>) -> Self {
        Checker {
            code,
            bindings,
            assigns_result: false,
            subscripted: false,
            sql_tables: &[],
            top_level: &[],
        }
    }

    /// Allow `sql(query)` calls over `tables` (none when empty) in the
    /// module `top_level`.
    pub fn with_sql(mut self, tables: &'a [String], top_level: &'b [Stmt]) -> Self {
        self.sql_tables = tables;
        self.top_level = top_level;
        self
    }

    /// 1-based line of a byte offset into the checked code.
    pub fn line_at(&self, offset: TextSize) -> usize {
        line_at(self.code, offset)
    }

    pub fn body(&mut self, stmts: &[Stmt]) -> Check {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    fn exprs<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>) -> Check {
        exprs.into_iter().try_for_each(|e| self.expr(e))
    }

    fn opt_expr(&mut self, expr: Option<&Expr>) -> Check {
        expr.map_or(Ok(()), |e| self.expr(e))
    }

    // ---------------------------------------------------------------- statements

    fn stmt(&mut self, stmt: &Stmt) -> Check {
        match stmt {
            Stmt::FunctionDef(f) => self.function(
                &f.name,
                f.range.start(),
                &f.args,
                &f.body,
                &f.decorator_list,
                f.returns.as_deref(),
            ),
            Stmt::AsyncFunctionDef(f) => self.function(
                &f.name,
                f.range.start(),
                &f.args,
                &f.body,
                &f.decorator_list,
                f.returns.as_deref(),
            ),
            Stmt::ClassDef(c) => self.class_def(c),
            Stmt::Return(s) => self.opt_expr(s.value.as_deref()),
            Stmt::Delete(s) => self.exprs(&s.targets),
            Stmt::Assign(s) => {
                self.exprs(&s.targets)?;
                self.expr(&s.value)
            }
            Stmt::TypeAlias(s) => {
                self.expr(&s.name)?;
                self.type_params(&s.type_params)?;
                self.expr(&s.value)
            }
            Stmt::AugAssign(s) => {
                self.expr(&s.target)?;
                self.expr(&s.value)
            }
            Stmt::AnnAssign(s) => self.ann_assign(s),
            Stmt::For(s) => self.for_loop(&s.target, &s.iter, &s.body, &s.orelse),
            Stmt::AsyncFor(s) => self.for_loop(&s.target, &s.iter, &s.body, &s.orelse),
            Stmt::While(s) => {
                self.expr(&s.test)?;
                self.body(&s.body)?;
                self.body(&s.orelse)
            }
            Stmt::If(s) => {
                self.expr(&s.test)?;
                self.body(&s.body)?;
                self.body(&s.orelse)
            }
            Stmt::With(s) => self.with(&s.items, &s.body),
            Stmt::AsyncWith(s) => self.with(&s.items, &s.body),
            Stmt::Match(s) => self.match_stmt(s),
            Stmt::Raise(s) => {
                self.opt_expr(s.exc.as_deref())?;
                self.opt_expr(s.cause.as_deref())
            }
            Stmt::Try(s) => self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody),
            Stmt::TryStar(s) => self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody),
            Stmt::Assert(s) => {
                self.expr(&s.test)?;
                self.opt_expr(s.msg.as_deref())
            }
            Stmt::Import(s) => self.import(s),
            Stmt::ImportFrom(s) => self.import_from(s),
            Stmt::Global(s) => self.identifiers(&s.names, s.range.start()),
            Stmt::Nonlocal(s) => self.identifiers(&s.names, s.range.start()),
            Stmt::Expr(s) => self.expr(&s.value),
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) => Ok(()),
        }
    }

    fn function(
        &mut self,
        name: &str,
        at: TextSize,
        args: &ast::Arguments,
        body: &[Stmt],
        decorators: &[Expr],
        returns: Option<&Expr>,
    ) -> Check {
        self.exprs(decorators)?;
        self.identifier(name, at)?;
        self.arguments(args)?;
        self.opt_expr(returns)?;
        self.body(body)
    }

    fn class_def(&mut self, c: &ast::StmtClassDef) -> Check {
        self.exprs(&c.decorator_list)?;
        self.identifier(&c.name, c.range.start())?;
        self.type_params(&c.type_params)?;
        self.exprs(&c.bases)?;
        c.keywords.iter().try_for_each(|k| self.keyword(k))?;
        self.body(&c.body)
    }

    fn ann_assign(&mut self, s: &ast::StmtAnnAssign) -> Check {
        // A bare annotation (`result: int`) declares but does not assign.
        if s.value.is_some() {
            self.expr(&s.target)?;
        } else {
            self.non_binding_target(&s.target)?;
        }
        self.expr(&s.annotation)?;
        self.opt_expr(s.value.as_deref())
    }

    fn for_loop(&mut self, target: &Expr, iter: &Expr, body: &[Stmt], orelse: &[Stmt]) -> Check {
        self.expr(target)?;
        self.expr(iter)?;
        self.body(body)?;
        self.body(orelse)
    }

    fn with(&mut self, items: &[ast::WithItem], body: &[Stmt]) -> Check {
        for item in items {
            self.expr(&item.context_expr)?;
            self.opt_expr(item.optional_vars.as_deref())?;
        }
        self.body(body)
    }

    fn try_stmt(
        &mut self,
        body: &[Stmt],
        handlers: &[ast::ExceptHandler],
        orelse: &[Stmt],
        finalbody: &[Stmt],
    ) -> Check {
        self.body(body)?;
        for ast::ExceptHandler::ExceptHandler(h) in handlers {
            self.opt_expr(h.type_.as_deref())?;
            if let Some(name) = &h.name {
                self.identifier(name, h.range.start())?;
            }
            self.body(&h.body)?;
        }
        self.body(orelse)?;
        self.body(finalbody)
    }

    fn match_stmt(&mut self, s: &ast::StmtMatch) -> Check {
        self.expr(&s.subject)?;
        for case in &s.cases {
            self.pattern(&case.pattern)?;
            self.opt_expr(case.guard.as_deref())?;
            self.body(&case.body)?;
        }
        Ok(())
    }

    fn pattern(&mut self, pattern: &ast::Pattern) -> Check {
        use ast::Pattern as P;
        match pattern {
            P::MatchValue(p) => self.expr(&p.value),
            P::MatchSingleton(_) => Ok(()),
            P::MatchSequence(p) => self.patterns(&p.patterns),
            P::MatchMapping(p) => {
                self.exprs(&p.keys)?;
                self.patterns(&p.patterns)?;
                self.opt_binding(p.rest.as_deref(), p.range.start())
            }
            P::MatchClass(p) => {
                self.expr(&p.cls)?;
                self.patterns(&p.patterns)?;
                // `case C(attr=x)` reads `attr` from the subject like getattr.
                let line = self.line_at(p.range.start());
                for attr in &p.kwd_attrs {
                    self.attribute_segment(attr, &format!(".{attr}"), None, false, line)?;
                }
                self.patterns(&p.kwd_patterns)
            }
            P::MatchStar(p) => self.opt_binding(p.name.as_deref(), p.range.start()),
            P::MatchAs(p) => {
                if let Some(inner) = p.pattern.as_deref() {
                    self.pattern(inner)?;
                }
                self.opt_binding(p.name.as_deref(), p.range.start())
            }
            P::MatchOr(p) => self.patterns(&p.patterns),
        }
    }

    fn patterns(&mut self, patterns: &[ast::Pattern]) -> Check {
        patterns.iter().try_for_each(|p| self.pattern(p))
    }

    /// A name bound by a match pattern: checked like an identifier, and it
    /// counts as assigning `result`.
    fn opt_binding(&mut self, name: Option<&str>, at: TextSize) -> Check {
        let Some(name) = name else { return Ok(()) };
        if name == "result" {
            self.assigns_result = true;
        }
        self.identifier(name, at)
    }

    // ------------------------------------------------------------------- imports

    fn import(&mut self, s: &ast::StmtImport) -> Check {
        let line = self.line_at(s.range.start());
        for alias in &s.names {
            if !lists::is_allowed_import(&alias.name) {
                return Err(forbidden_import(&alias.name, line));
            }
            // The last segment gets the member rules too (`numpy.info`).
            if let Some((_, last)) = alias.name.rsplit_once('.') {
                self.attribute_segment(last, &alias.name, Some(&alias.name), false, line)?;
            }
            self.opt_identifier(alias.asname.as_deref(), s.range.start())?;
        }
        Ok(())
    }

    fn import_from(&mut self, s: &ast::StmtImportFrom) -> Check {
        let line = self.line_at(s.range.start());
        let level = s.level.as_ref().map_or(0, |l| l.to_u32());
        let module = match (&s.module, level) {
            (Some(module), 0) => module.as_str(),
            _ => return Err(relative_import(line)),
        };
        if !lists::is_allowed_import(module) {
            return Err(forbidden_import(module, line));
        }
        for alias in &s.names {
            self.imported_name(module, &alias.name, line)?;
            match alias.asname.as_deref() {
                Some(local) => self.identifier(local, s.range.start())?,
                None => self.sql_binding(&alias.name, s.range.start())?,
            }
        }
        Ok(())
    }

    /// `from module import name`: the name is a submodule or a member.
    fn imported_name(&mut self, module: &str, name: &str, line: usize) -> Check {
        if name == "*" {
            return Err(Rejection::new(
                "import",
                format!(
                    "Forbidden import: 'from {module} import *' at line {line}; \
                     import the names you need explicitly"
                ),
            ));
        }
        let path = format!("{module}.{name}");
        // Underscore names fall through to the dunder/private rules below.
        if !name.starts_with('_')
            && (lists::is_internal_segment(name) || lists::is_denied_path(&path))
        {
            return Err(forbidden_import(&path, line));
        }
        self.attribute_segment(name, &path, Some(&path), false, line)
    }

    // --------------------------------------------------------------- expressions

    fn expr(&mut self, expr: &Expr) -> Check {
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
    fn non_binding_target(&mut self, target: &Expr) -> Check {
        let before = self.assigns_result;
        let outcome = self.expr(target);
        self.assigns_result = before;
        outcome
    }

    fn name(&mut self, name: &ast::ExprName) -> Check {
        let how = if std::mem::take(&mut self.subscripted) {
            Use::Subscripted
        } else {
            Use::Value
        };
        self.name_use(name, how)
    }

    /// Modules may only start attribute chains; formula functions must be
    /// called; settings objects may only be subscripted or used through
    /// their attributes.
    fn name_use(&mut self, name: &ast::ExprName, how: Use) -> Check {
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

    fn call(&mut self, call: &ast::ExprCall) -> Check {
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

    /// `type(x)` is harmless; `type(name, bases, dict)` builds classes.
    fn type_call(&self, func: &ast::ExprName, call: &ast::ExprCall) -> Check {
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
    fn writer_destination(&self, method: &ast::ExprAttribute, call: &ast::ExprCall) -> Check {
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

    fn keyword(&mut self, keyword: &ast::Keyword) -> Check {
        // A keyword names a parameter of the callee; it binds nothing here.
        if let Some(arg) = keyword.arg.as_deref() {
            self.not_dunder(arg, keyword.range.start())?;
        }
        self.expr(&keyword.value)
    }

    fn arguments(&mut self, args: &ast::Arguments) -> Check {
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

    fn arg(&mut self, arg: &ast::Arg) -> Check {
        self.identifier(&arg.arg, arg.range.start())?;
        self.opt_expr(arg.annotation.as_deref())
    }

    fn type_params(&mut self, params: &[ast::TypeParam]) -> Check {
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

    fn constant(&self, constant: &ast::ExprConstant) -> Check {
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

    // ------------------------------------------------- methods named by strings

    /// Rules that depend on the called function's name: a method
    /// (`receiver` given) or a bare/imported name.
    fn named_rules(&mut self, name: &str, receiver: Option<&Expr>, call: &ast::ExprCall) -> Check {
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
    fn dispatch(&mut self, name: &str, call: &ast::ExprCall, line: usize) -> Check {
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
    fn agg_spec(&self, spec: &Expr, method: &str, line: usize, depth: usize) -> Check {
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

    /// `np.mean`, `pd.Series.nunique`, `str.upper`: an attribute chain from
    /// an import or a builtin type, not through run-time settings.
    fn is_function_attribute(&self, expr: &Expr) -> bool {
        let mut node = expr;
        while let Expr::Attribute(a) = node {
            if lists::is_settings_attribute(&a.attr) {
                return false;
            }
            node = &a.value;
        }
        match node {
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Import { .. } => true,
                Meaning::Unbound => lists::is_builtin_type(&n.id),
                _ => false,
            },
            _ => false,
        }
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

    /// Whether an object is a scikit-learn/SciPy/statsmodels estimator or
    /// transformer (`scaler.transform(X)` is not pandas' `transform`): a
    /// class from those packages, called, possibly fitted. Attributes of
    /// results (`fit().resid`, `conf_int()`) are pandas objects again, so
    /// any other step ends the exemption.
    fn is_estimator(&self, expr: &Expr, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match expr {
            Expr::Attribute(a) => {
                self.bindings
                    .qualify(expr)
                    .is_some_and(|q| lists::is_model_library(&q))
                    || (lists::is_estimator_method(&a.attr)
                        && self.is_estimator(&a.value, depth + 1))
            }
            Expr::Call(c) => self.is_estimator(&c.func, depth + 1),
            Expr::Subscript(s) => match s.value.as_ref() {
                Expr::Attribute(a) if a.attr.as_str() == "named_steps" => {
                    self.is_estimator(&a.value, depth + 1)
                }
                _ => false,
            },
            Expr::Name(n) => match self.bindings.meaning(&n.id) {
                Meaning::Import { path, .. } => lists::is_model_library(&path),
                _ => {
                    let values = self.bindings.assigned_values(&n.id);
                    !values.is_empty() && values.iter().all(|v| self.is_estimator(v, depth + 1))
                }
            },
            _ => false,
        }
    }

    /// A format template given as an argument (`StrMethodFormatter(t)`,
    /// `bar_label(fmt=t)`, `df.style.format(t)`): a literal (its fields are
    /// checked by the constant rule), a name bound only to literals, or a
    /// function; never a string built at run time.
    fn template_value(&self, value: &Expr, line: usize, depth: usize) -> Check {
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

    /// Keywords that name aggregations or modules, wherever they appear.
    fn call_keywords(&self, call: &ast::ExprCall) -> Check {
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

    // ------------------------------------------------------------- formulas

    /// statsmodels formulas are evaluated as Python by patsy/formulaic.
    fn formula_call(&self, call: &ast::ExprCall) -> Check {
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

    // ------------------------------------------------------ format templates

    /// `.format`/`.format_map` resolve `{0.attr}` and `{0[key]}` in the
    /// template at run time, so the template must be a literal (checked by
    /// the constant rule) or the call must be a Styler's `format`.
    fn format_attribute(&self, attr: &ast::ExprAttribute, direct_call: bool) -> Check {
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
    fn str_format_call(&self, receiver: &Expr, call: &ast::ExprCall, line: usize) -> Check {
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

    // -------------------------------------------------------------- settings

    /// `mpl.rcParams`, `plt.rcParams`, `from matplotlib import rcParams`.
    fn is_settings(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Attribute(a) => lists::is_settings_attribute(&a.attr),
            Expr::Name(n) => {
                lists::is_settings_attribute(&n.id)
                    || self
                        .bindings
                        .qualify(expr)
                        .and_then(|q| q.rsplit('.').next().map(lists::is_settings_attribute))
                        .unwrap_or(false)
            }
            _ => false,
        }
    }

    /// A settings key must be a literal that names no module or hook.
    fn settings_key(&self, key: &Expr) -> Check {
        match key {
            Expr::Constant(c) => match &c.value {
                Constant::Str(k) if !lists::is_module_by_name_key(k) => Ok(()),
                Constant::Str(k) => Err(module_by_name(k, self.line_at(c.range.start()))),
                _ => Ok(()),
            },
            other => Err(module_by_name(
                "a computed settings key",
                self.line_at(other.range().start()),
            )),
        }
    }

    /// A settings dict must be a dict literal with literal keys (or None).
    fn settings_dict(&self, value: &Expr, line: usize) -> Check {
        match value {
            Expr::Constant(c) if matches!(c.value, Constant::None) => Ok(()),
            Expr::Dict(d) => d.keys.iter().try_for_each(|k| match k {
                Some(k) => self.settings_key(k),
                None => Err(module_by_name("**settings", line)),
            }),
            _ => Err(module_by_name("settings that are not a dict literal", line)),
        }
    }

    /// `plt.style.use(...)`, `mpl.use(...)`: plain style or backend names (a
    /// dotted name is imported as a package, a path is read), or an rc dict.
    fn style_names(&self, call: &ast::ExprCall, line: usize) -> Check {
        let plain = |e: &Expr| match e {
            Expr::Constant(c) => match &c.value {
                Constant::Str(name) => !name.contains(['.', '/', '\\', ':']),
                _ => false,
            },
            _ => false,
        };
        let args = call.args.iter().chain(
            call.keywords
                .iter()
                .filter(|k| k.arg.as_deref() == Some("style"))
                .map(|k| &k.value),
        );
        for arg in args {
            let ok = match arg {
                Expr::Dict(_) => {
                    self.settings_dict(arg, line)?;
                    true
                }
                Expr::List(l) => l.elts.iter().all(plain),
                Expr::Tuple(t) => t.elts.iter().all(plain),
                other => plain(other),
            };
            if !ok {
                return Err(module_by_name(
                    "a style or backend that is not a plain literal name",
                    line,
                ));
            }
        }
        Ok(())
    }

    /// `pd.set_option(pattern, value, ...)`: each pattern a literal that
    /// cannot select `plotting.backend`.
    fn option_keys(&self, call: &ast::ExprCall, line: usize) -> Check {
        for (i, arg) in call.args.iter().enumerate() {
            let key = match arg {
                Expr::Dict(d) => {
                    for key in &d.keys {
                        match key {
                            Some(Expr::Constant(c)) => match &c.value {
                                Constant::Str(k) if !lists::option_pattern_reaches_backend(k) => {}
                                _ => return Err(module_by_name("an option pattern", line)),
                            },
                            _ => return Err(module_by_name("a computed option name", line)),
                        }
                    }
                    continue;
                }
                Expr::Starred(_) => return Err(module_by_name("unpacked options", line)),
                _ if i % 2 == 1 => continue,
                key => key,
            };
            match key {
                Expr::Constant(c) => match &c.value {
                    Constant::Str(k) if !lists::option_pattern_reaches_backend(k) => {}
                    _ => {
                        return Err(module_by_name(
                            "an option pattern that selects plotting.backend",
                            line,
                        ))
                    }
                },
                _ => return Err(module_by_name("a computed option name", line)),
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- attributes

    /// Checks a whole `a.b.c` chain left to right so the message names the
    /// first offending step (`pd.io`, not `...os.system`). `direct_call` is
    /// true when the outermost attribute is immediately called.
    fn attribute(&mut self, outer: &ast::ExprAttribute, direct_call: bool) -> Check {
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

    /// Rules on how an imported thing is used (`smf.ols` must be called,
    /// `rcParams` only subscripted or used through its attributes).
    fn qualified_value(&self, qualified: &str, text: &str, how: Use, line: usize) -> Check {
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
    fn uncalled_method(
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
    fn attribute_segment(
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

    // --------------------------------------------------------------- identifiers

    /// A bare identifier (def/class/arg/except/global name, keyword, alias).
    fn identifier(&self, name: &str, at: TextSize) -> Check {
        self.not_dunder(name, at)?;
        self.sql_binding(name, at)
    }

    fn not_dunder(&self, name: &str, at: TextSize) -> Check {
        if lists::is_dunder(name) {
            return Err(forbidden_dunder(name, self.line_at(at)));
        }
        Ok(())
    }

    fn opt_identifier(&self, name: Option<&str>, at: TextSize) -> Check {
        name.map_or(Ok(()), |n| self.identifier(n, at))
    }

    fn identifiers(&self, names: &[ast::Identifier], at: TextSize) -> Check {
        names.iter().try_for_each(|n| self.identifier(n, at))
    }
}

/// How deep literal names are followed (`a = 'sum'; b = [a]; df.agg(b)`).
const MAX_DEPTH: usize = 16;

/// First positional argument, else the first of the keywords given.
fn positional_or<'e>(call: &'e ast::ExprCall, keywords: &[&str]) -> Option<&'e Expr> {
    call.args.first().or_else(|| {
        call.keywords
            .iter()
            .find(|k| k.arg.as_deref().is_some_and(|a| keywords.contains(&a)))
            .map(|k| &k.value)
    })
}

fn attribute_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// `NamedAgg` in `pd.NamedAgg` or `NamedAgg`.
fn callee_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Attribute(a) => Some(a.attr.as_str()),
        Expr::Name(n) => Some(n.id.as_str()),
        _ => None,
    }
}

/// Whether an attribute/call chain passes through `.{name}`
/// (`df.style.highlight_max().format` mentions `style`).
fn chain_mentions(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Attribute(a) => a.attr.as_str() == name || chain_mentions(&a.value, name),
        Expr::Call(c) => chain_mentions(&c.func, name),
        Expr::Subscript(s) => chain_mentions(&s.value, name),
        _ => false,
    }
}

/// matplotlib transforms (`ax.transData.transform(xy)`), not pandas.
fn is_plot_transform(receiver: &Expr) -> bool {
    const TRANSFORMS: &[&str] = &[
        "transData",
        "transAxes",
        "transFigure",
        "transSubfigure",
        "transLimits",
        "transScale",
        "inverted",
        "get_transform",
        "get_xaxis_transform",
        "get_yaxis_transform",
    ];
    TRANSFORMS.iter().any(|t| chain_mentions(receiver, t))
}

fn dispatch_error(method: &str, what: &str, line: usize) -> Rejection {
    Rejection::new(
        "string-dispatch",
        format!(
            "Forbidden method dispatch: {method}() at line {line} is given {what}; pandas calls \
             methods named by strings, so pass a literal aggregation name ('sum', 'mean', ...), \
             a list or dict of them, a lambda or a function"
        ),
    )
}

fn module_by_name(what: &str, line: usize) -> Rejection {
    Rejection::new(
        "module-by-name",
        format!(
            "Forbidden setting: {what} at line {line}; library settings that name a backend, \
             hook or style file import modules or call functions by name, so only plain \
             literal names and literal keys are allowed"
        ),
    )
}

fn format_traversal(field: &str, line: usize) -> Rejection {
    Rejection::new(
        "format-traversal",
        format!(
            "Forbidden string formatting: the field '{{{field}}}' at line {line} reads attributes \
             or items of its argument; format plain values ('{{}}', '{{:.2f}}') or use an f-string"
        ),
    )
}

fn formula_not_literal(line: usize) -> Rejection {
    Rejection::new(
        "formula",
        format!(
            "Forbidden formula: the formula at line {line} is not a literal string; formulas are \
             evaluated as Python, so write it out, e.g. smf.ols('y ~ x1 + x2', data=df)"
        ),
    )
}

/// 1-based line of a byte offset into `code`.
pub fn line_at(code: &str, offset: TextSize) -> usize {
    let end = usize::from(offset).min(code.len());
    code.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn forbidden_import(module: &str, line: usize) -> Rejection {
    Rejection::new(
        "import",
        format!(
            "Forbidden import: '{module}' at line {line} is not on the allowed list ({}; \
             submodules of scipy, sklearn, statsmodels and seaborn are allowed too)",
            lists::allowed_modules().join(", ")
        ),
    )
}

fn relative_import(line: usize) -> Rejection {
    Rejection::new(
        "import",
        format!(
            "Forbidden import: relative import at line {line}; import from an allowed module \
             by its full name ({})",
            lists::allowed_modules().join(", ")
        ),
    )
}

fn forbidden_builtin(name: &str, line: usize) -> Rejection {
    Rejection::new(
        "builtin",
        format!(
            "Forbidden built-in function: {name} (line {line}); it can run code, touch files or \
             reach attributes by name, so it is blocked even as a variable name"
        ),
    )
}

fn forbidden_dunder(name: &str, line: usize) -> Rejection {
    Rejection::new(
        "dunder",
        format!(
            "Forbidden dunder attribute: '{name}' at line {line}; names that start and end with \
             '__' give access to interpreter internals"
        ),
    )
}
