//! A pre-pass over the whole module: what each name is bound to.
//!
//! Rules that look at an argument (`df.agg(how)`, `smf.ols(formula)`) must
//! know whether a name can only hold a literal, and rules on attribute
//! chains must know which names are modules (`import numpy as np`). Python
//! scopes are ignored on purpose: a name counts as one variable across the
//! whole code, so a binding anywhere (a parameter, a loop variable, an
//! assignment in another function) makes it non-literal everywhere. That
//! is stricter than Python, never looser.
//!
//! The walk (`walk.rs`) mirrors `checker/` (every position, exhaustive
//! matches) but checks nothing.

mod walk;

use std::collections::HashMap;

use rustpython_parser::ast::{Expr, Stmt};

use crate::lists;

/// How one binding site binds a name.
#[derive(Clone, Copy)]
enum Site<'a> {
    /// `name = value` or `name: T = value` with a plain name target.
    Value(&'a Expr),
    /// `def name(...)`.
    Def,
    /// `import x.y` / `import x as name`: a module object.
    Module,
    /// `from x import y [as name]`: a module member (or submodule).
    Member,
    /// Anything else: loop variables, parameters, `+=`, unpacking, `with`,
    /// `except`, walrus, match captures, class names, `global`.
    Other,
}

/// Where a name may be read without losing its "literal" status: as an
/// argument of a call that only reads it (see [`lists::is_reading_call`]) or
/// as the iterable of a loop. Any other read (`x.append`, `f(x)`, `y = x`,
/// `x[0] = ...`) could change or leak the value.
#[derive(Default)]
struct Uses {
    loads: usize,
    reading_loads: usize,
}

#[derive(Default)]
pub struct Bindings<'a> {
    sites: HashMap<&'a str, Vec<Site<'a>>>,
    uses: HashMap<&'a str, Uses>,
    /// Local name -> dotted module path of its import (`np` -> `numpy`,
    /// `ols` -> `statsmodels.formula.api.ols`).
    imports: HashMap<&'a str, String>,
}

/// What a name stands for, as far as the code shows.
pub enum Meaning<'a> {
    /// Bound only by `def`.
    Function,
    /// Bound only by imports (or one of the worker's pre-bound modules and
    /// never rebound); carries the dotted path.
    Import { path: String, module: bool },
    /// Bound only by plain assignments and only read where it cannot
    /// change: the assigned values.
    Literal(Vec<&'a Expr>),
    /// Never bound by the code: a builtin or a namespace name.
    Unbound,
    /// Anything else.
    Unknown,
}

impl<'a> Bindings<'a> {
    pub fn collect(suite: &'a [Stmt]) -> Self {
        let mut b = Bindings::default();
        b.body(suite);
        b
    }

    pub fn meaning(&self, name: &str) -> Meaning<'a> {
        let Some(sites) = self.sites.get(name) else {
            return match lists::prebound_module(name) {
                Some(path) => Meaning::Import {
                    path: path.to_string(),
                    module: true,
                },
                None => Meaning::Unbound,
            };
        };
        if sites.iter().all(|s| matches!(s, Site::Def)) {
            return Meaning::Function;
        }
        if sites
            .iter()
            .all(|s| matches!(s, Site::Module | Site::Member))
        {
            if let Some(path) = self.imports.get(name) {
                return Meaning::Import {
                    path: path.clone(),
                    module: sites.iter().all(|s| matches!(s, Site::Module)),
                };
            }
        }
        let values: Option<Vec<&'a Expr>> = sites
            .iter()
            .map(|s| match s {
                Site::Value(v) => Some(*v),
                _ => None,
            })
            .collect();
        let read_only = self
            .uses
            .get(name)
            .is_none_or(|u| u.loads == u.reading_loads);
        match values {
            Some(values) if read_only => Meaning::Literal(values),
            _ => Meaning::Unknown,
        }
    }

    /// The dotted path an attribute chain names when its root is an import:
    /// `sp.datasets.face` -> `scipy.datasets.face`.
    pub fn qualify(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(n) => match self.meaning(&n.id) {
                Meaning::Import { path, .. } => Some(path),
                _ => None,
            },
            Expr::Attribute(a) => self.qualify(&a.value).map(|p| format!("{p}.{}", a.attr)),
            _ => None,
        }
    }

    /// The values of the plain assignments to `name` (`scaler = StandardScaler()`).
    pub fn assigned_values(&self, name: &str) -> Vec<&'a Expr> {
        self.sites
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|s| match s {
                Site::Value(v) => Some(*v),
                _ => None,
            })
            .collect()
    }

    /// The import path a bare name stands for (`pd` -> `pandas`).
    pub fn qualify_name(&self, name: &str) -> Option<String> {
        match self.meaning(name) {
            Meaning::Import { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether `name` is bound other than by plain assignments (a parameter,
    /// a loop variable, ...).
    pub fn has_non_value_sites(&self, name: &str) -> bool {
        self.sites
            .get(name)
            .is_some_and(|sites| sites.iter().any(|s| !matches!(s, Site::Value(_))))
    }

    /// Whether `name` certainly holds a module object.
    pub fn is_module(&self, name: &str) -> bool {
        matches!(self.meaning(name), Meaning::Import { module: true, .. })
    }

    fn site(&mut self, name: &'a str, site: Site<'a>) {
        self.sites.entry(name).or_default().push(site);
    }
}
