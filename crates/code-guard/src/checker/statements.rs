//! Statements: the walk over each statement kind, match patterns included.

use rustpython_parser::ast::{self, Expr, Stmt};
use rustpython_parser::text_size::TextSize;

use super::{Check, Checker};

impl Checker<'_, '_> {
    pub(super) fn stmt(&mut self, stmt: &Stmt) -> Check {
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

    pub(super) fn function(
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

    pub(super) fn with(&mut self, items: &[ast::WithItem], body: &[Stmt]) -> Check {
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

    pub(super) fn pattern(&mut self, pattern: &ast::Pattern) -> Check {
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
}
