//! The pre-pass walk: every binding site and every read of a name, checking nothing.

use rustpython_parser::ast::{self, Expr, ExprContext, Stmt};

use super::{Bindings, Site};
use crate::lists;

impl<'a> Bindings<'a> {
    pub(super) fn body(&mut self, stmts: &'a [Stmt]) {
        stmts.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                self.site(&f.name, Site::Def);
                self.function(&f.args, &f.body, &f.decorator_list, f.returns.as_deref());
            }
            Stmt::AsyncFunctionDef(f) => {
                self.site(&f.name, Site::Def);
                self.function(&f.args, &f.body, &f.decorator_list, f.returns.as_deref());
            }
            Stmt::ClassDef(c) => {
                self.site(&c.name, Site::Other);
                self.exprs(&c.decorator_list);
                self.exprs(&c.bases);
                c.keywords.iter().for_each(|k| self.expr(&k.value));
                self.body(&c.body);
            }
            Stmt::Return(s) => self.opt_expr(s.value.as_deref()),
            Stmt::Delete(s) => self.exprs(&s.targets),
            Stmt::Assign(s) => {
                for target in &s.targets {
                    match target {
                        Expr::Name(n) => self.site(&n.id, Site::Value(&s.value)),
                        other => self.expr(other),
                    }
                }
                self.expr(&s.value);
            }
            Stmt::TypeAlias(s) => {
                self.expr(&s.name);
                self.expr(&s.value);
            }
            Stmt::AugAssign(s) => {
                self.expr(&s.target);
                self.expr(&s.value);
            }
            Stmt::AnnAssign(s) => {
                match (s.target.as_ref(), s.value.as_deref()) {
                    (Expr::Name(n), Some(value)) => self.site(&n.id, Site::Value(value)),
                    (Expr::Name(_), None) => {}
                    (target, _) => self.expr(target),
                }
                self.expr(&s.annotation);
                self.opt_expr(s.value.as_deref());
            }
            Stmt::For(s) => self.for_loop(&s.target, &s.iter, &s.body, &s.orelse),
            Stmt::AsyncFor(s) => self.for_loop(&s.target, &s.iter, &s.body, &s.orelse),
            Stmt::While(s) => {
                self.expr(&s.test);
                self.body(&s.body);
                self.body(&s.orelse);
            }
            Stmt::If(s) => {
                self.expr(&s.test);
                self.body(&s.body);
                self.body(&s.orelse);
            }
            Stmt::With(s) => self.with(&s.items, &s.body),
            Stmt::AsyncWith(s) => self.with(&s.items, &s.body),
            Stmt::Match(s) => {
                self.expr(&s.subject);
                for case in &s.cases {
                    self.pattern(&case.pattern);
                    self.opt_expr(case.guard.as_deref());
                    self.body(&case.body);
                }
            }
            Stmt::Raise(s) => {
                self.opt_expr(s.exc.as_deref());
                self.opt_expr(s.cause.as_deref());
            }
            Stmt::Try(s) => self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody),
            Stmt::TryStar(s) => self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody),
            Stmt::Assert(s) => {
                self.expr(&s.test);
                self.opt_expr(s.msg.as_deref());
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    let path = alias.name.as_str();
                    match &alias.asname {
                        Some(local) => {
                            self.site(local, Site::Module);
                            self.imports.insert(local, path.to_string());
                        }
                        None => {
                            // `import a.b.c` binds `a`.
                            let root = path.split('.').next().unwrap_or(path);
                            self.site(root, Site::Module);
                            self.imports.insert(root, root.to_string());
                        }
                    }
                }
            }
            Stmt::ImportFrom(s) => {
                let module = s.module.as_deref().unwrap_or("");
                for alias in &s.names {
                    let local = alias.asname.as_deref().unwrap_or(&alias.name);
                    self.site(local, Site::Member);
                    self.imports
                        .insert(local, format!("{module}.{}", alias.name));
                }
            }
            Stmt::Global(s) => s.names.iter().for_each(|n| self.site(n, Site::Other)),
            Stmt::Nonlocal(s) => s.names.iter().for_each(|n| self.site(n, Site::Other)),
            Stmt::Expr(s) => self.expr(&s.value),
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) => {}
        }
    }

    fn function(
        &mut self,
        args: &'a ast::Arguments,
        body: &'a [Stmt],
        decorators: &'a [Expr],
        returns: Option<&'a Expr>,
    ) {
        self.exprs(decorators);
        self.arguments(args);
        self.opt_expr(returns);
        self.body(body);
    }

    fn arguments(&mut self, args: &'a ast::Arguments) {
        for arg in args
            .posonlyargs
            .iter()
            .chain(&args.args)
            .chain(&args.kwonlyargs)
        {
            self.site(&arg.def.arg, Site::Other);
            self.opt_expr(arg.def.annotation.as_deref());
            self.opt_expr(arg.default.as_deref());
        }
        for arg in args.vararg.iter().chain(&args.kwarg) {
            self.site(&arg.arg, Site::Other);
            self.opt_expr(arg.annotation.as_deref());
        }
    }

    fn for_loop(&mut self, target: &'a Expr, iter: &'a Expr, body: &'a [Stmt], orelse: &'a [Stmt]) {
        self.expr(target);
        self.reading(iter);
        self.body(body);
        self.body(orelse);
    }

    fn with(&mut self, items: &'a [ast::WithItem], body: &'a [Stmt]) {
        for item in items {
            self.expr(&item.context_expr);
            self.opt_expr(item.optional_vars.as_deref());
        }
        self.body(body);
    }

    fn try_stmt(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ast::ExceptHandler],
        orelse: &'a [Stmt],
        finalbody: &'a [Stmt],
    ) {
        self.body(body);
        for ast::ExceptHandler::ExceptHandler(h) in handlers {
            self.opt_expr(h.type_.as_deref());
            if let Some(name) = &h.name {
                self.site(name, Site::Other);
            }
            self.body(&h.body);
        }
        self.body(orelse);
        self.body(finalbody);
    }

    fn pattern(&mut self, pattern: &'a ast::Pattern) {
        use ast::Pattern as P;
        match pattern {
            P::MatchValue(p) => self.expr(&p.value),
            P::MatchSingleton(_) => {}
            P::MatchSequence(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
            P::MatchMapping(p) => {
                self.exprs(&p.keys);
                p.patterns.iter().for_each(|p| self.pattern(p));
                if let Some(rest) = &p.rest {
                    self.site(rest, Site::Other);
                }
            }
            P::MatchClass(p) => {
                self.expr(&p.cls);
                p.patterns.iter().for_each(|p| self.pattern(p));
                p.kwd_patterns.iter().for_each(|p| self.pattern(p));
            }
            P::MatchStar(p) => {
                if let Some(name) = &p.name {
                    self.site(name, Site::Other);
                }
            }
            P::MatchAs(p) => {
                if let Some(inner) = p.pattern.as_deref() {
                    self.pattern(inner);
                }
                if let Some(name) = &p.name {
                    self.site(name, Site::Other);
                }
            }
            P::MatchOr(p) => p.patterns.iter().for_each(|p| self.pattern(p)),
        }
    }

    fn exprs(&mut self, exprs: &'a [Expr]) {
        exprs.iter().for_each(|e| self.expr(e));
    }

    fn opt_expr(&mut self, expr: Option<&'a Expr>) {
        if let Some(e) = expr {
            self.expr(e);
        }
    }

    /// An expression in a position that only reads it: a bare name there
    /// keeps its literal status.
    fn reading(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if matches!(n.ctx, ExprContext::Load) {
                let uses = self.uses.entry(&n.id).or_default();
                uses.loads += 1;
                uses.reading_loads += 1;
                return;
            }
        }
        self.expr(expr);
    }

    fn expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::BoolOp(e) => self.exprs(&e.values),
            Expr::NamedExpr(e) => {
                self.expr(&e.target);
                self.expr(&e.value);
            }
            Expr::BinOp(e) => {
                self.expr(&e.left);
                self.expr(&e.right);
            }
            Expr::UnaryOp(e) => self.expr(&e.operand),
            Expr::Lambda(e) => {
                self.arguments(&e.args);
                self.expr(&e.body);
            }
            Expr::IfExp(e) => {
                self.expr(&e.test);
                self.expr(&e.body);
                self.expr(&e.orelse);
            }
            Expr::Dict(e) => {
                e.keys.iter().flatten().for_each(|k| self.expr(k));
                self.exprs(&e.values);
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
                self.expr(&e.left);
                self.exprs(&e.comparators);
            }
            Expr::Call(e) => self.call(e),
            Expr::FormattedValue(e) => {
                self.expr(&e.value);
                self.opt_expr(e.format_spec.as_deref());
            }
            Expr::JoinedStr(e) => self.exprs(&e.values),
            Expr::Constant(_) => {}
            Expr::Attribute(e) => self.expr(&e.value),
            Expr::Subscript(e) => {
                self.expr(&e.value);
                self.expr(&e.slice);
            }
            Expr::Starred(e) => self.expr(&e.value),
            Expr::Name(n) => match n.ctx {
                ExprContext::Load => self.uses.entry(&n.id).or_default().loads += 1,
                ExprContext::Store => self.site(&n.id, Site::Other),
                ExprContext::Del => {}
            },
            Expr::List(e) => self.exprs(&e.elts),
            Expr::Tuple(e) => self.exprs(&e.elts),
            Expr::Slice(e) => {
                self.opt_expr(e.lower.as_deref());
                self.opt_expr(e.upper.as_deref());
                self.opt_expr(e.step.as_deref());
            }
        }
    }

    fn call(&mut self, call: &'a ast::ExprCall) {
        self.expr(&call.func);
        let reading = match call.func.as_ref() {
            Expr::Attribute(a) => lists::is_reading_call(&a.attr),
            Expr::Name(n) => lists::is_reading_call(&n.id),
            _ => false,
        };
        for arg in &call.args {
            if reading {
                self.reading(arg);
            } else {
                self.expr(arg);
            }
        }
        for keyword in &call.keywords {
            if reading && keyword.arg.is_some() {
                self.reading(&keyword.value);
            } else {
                self.expr(&keyword.value);
            }
        }
    }

    fn comprehension(&mut self, elts: &[&'a Expr], generators: &'a [ast::Comprehension]) {
        for generator in generators {
            self.expr(&generator.target);
            self.reading(&generator.iter);
            self.exprs(&generator.ifs);
        }
        elts.iter().for_each(|e| self.expr(e));
    }
}
