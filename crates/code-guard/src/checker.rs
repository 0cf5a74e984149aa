//! Recursive walk over the parsed module, stopping at the first violation.
//!
//! The walk is hand-written rather than using `rustpython_ast::Visitor`
//! because that generated visitor skips arguments, keywords, comprehensions,
//! `with` items and match cases, which would leave holes. Matches over
//! `Stmt`/`Expr` are exhaustive (no `_` arm) so a parser upgrade that adds a
//! node kind fails to compile instead of silently skipping it.

use rustpython_parser::ast::{self, Constant, Expr, ExprContext, Stmt};
use rustpython_parser::text_size::TextSize;

use crate::lists;
use crate::Rejection;

type Check = Result<(), Rejection>;

pub struct Checker<'a> {
    code: &'a str,
    /// Set when the code binds the name `result` anywhere.
    pub assigns_result: bool,
}

impl<'a> Checker<'a> {
    pub fn new(code: &'a str) -> Self {
        Checker {
            code,
            assigns_result: false,
        }
    }

    /// 1-based line of a byte offset into the checked code.
    pub fn line_at(&self, offset: TextSize) -> usize {
        let end = usize::from(offset).min(self.code.len());
        self.code.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
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
                    self.attribute_segment(attr, &format!(".{attr}"), false, false, line)?;
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
            self.opt_identifier(alias.asname.as_deref(), s.range.start())?;
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
        // Underscore names fall through to the dunder/private rules below.
        if !name.starts_with('_') && lists::is_internal_segment(name) {
            return Err(forbidden_import(&format!("{module}.{name}"), line));
        }
        self.attribute_segment(name, &format!("{module}.{name}"), false, false, line)
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
                self.expr(&e.value)?;
                self.expr(&e.slice)
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
        let id = name.id.as_str();
        let line = self.line_at(name.range.start());
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
                self.name(func)?;
                self.type_call(func, call)?;
            }
            func => self.expr(func)?,
        }
        self.exprs(&call.args)?;
        call.keywords.iter().try_for_each(|k| self.keyword(k))
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
        self.opt_identifier(keyword.arg.as_deref(), keyword.range.start())?;
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
        Ok(())
    }

    // ---------------------------------------------------------------- attributes

    /// Checks a whole `a.b.c` chain left to right so the message names the
    /// first offending step (`pd.io`, not `...os.system`). `direct_call` is
    /// true when the outermost attribute is immediately called.
    fn attribute(&mut self, outer: &ast::ExprAttribute, direct_call: bool) -> Check {
        let mut chain = vec![outer];
        let mut root = outer.value.as_ref();
        while let Expr::Attribute(inner) = root {
            chain.push(inner);
            root = inner.value.as_ref();
        }
        chain.reverse();
        self.expr(root)?;

        let (mut path, on_module) = match root {
            Expr::Name(n) => (n.id.to_string(), lists::is_module_alias(&n.id)),
            _ => (String::new(), false),
        };
        let last = chain.len() - 1;
        for (i, attr) in chain.iter().enumerate() {
            path.push('.');
            path.push_str(&attr.attr);
            let line = self.line_at(attr.range.start());
            let called = direct_call && i == last;
            self.attribute_segment(&attr.attr, &path, on_module, called, line)?;
        }
        Ok(())
    }

    /// Rules for one attribute name. `path` is the dotted text for messages.
    fn attribute_segment(
        &self,
        name: &str,
        path: &str,
        on_module: bool,
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
        if lists::is_internal_anywhere(name) || (on_module && lists::is_internal_on_module(name)) {
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
        Ok(())
    }

    // --------------------------------------------------------------- identifiers

    /// A bare identifier (def/class/arg/except/global name, keyword, alias).
    fn identifier(&self, name: &str, at: TextSize) -> Check {
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
