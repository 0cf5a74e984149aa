//! What an expression is (an estimator, a library function, a plot transform); argument helpers.

use rustpython_parser::ast::{self, Expr};

use super::Checker;
use crate::lists;
use crate::scope::Meaning;

impl Checker<'_, '_> {
    /// `np.mean`, `pd.Series.nunique`, `str.upper`: an attribute chain from
    /// an import or a builtin type, not through run-time settings.
    pub(super) fn is_function_attribute(&self, expr: &Expr) -> bool {
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

    /// Whether an object is a scikit-learn/SciPy/statsmodels estimator or
    /// transformer (`scaler.transform(X)` is not pandas' `transform`): a
    /// class from those packages, called, possibly fitted. Attributes of
    /// results (`fit().resid`, `conf_int()`) are pandas objects again, so
    /// any other step ends the exemption.
    pub(super) fn is_estimator(&self, expr: &Expr, depth: usize) -> bool {
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
}

/// How deep literal names are followed (`a = 'sum'; b = [a]; df.agg(b)`).
pub(super) const MAX_DEPTH: usize = 16;

/// First positional argument, else the first of the keywords given.
pub(super) fn positional_or<'e>(call: &'e ast::ExprCall, keywords: &[&str]) -> Option<&'e Expr> {
    call.args.first().or_else(|| {
        call.keywords
            .iter()
            .find(|k| k.arg.as_deref().is_some_and(|a| keywords.contains(&a)))
            .map(|k| &k.value)
    })
}

pub(super) fn attribute_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// `NamedAgg` in `pd.NamedAgg` or `NamedAgg`.
pub(super) fn callee_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Attribute(a) => Some(a.attr.as_str()),
        Expr::Name(n) => Some(n.id.as_str()),
        _ => None,
    }
}

/// Whether an attribute/call chain passes through `.{name}`
/// (`df.style.highlight_max().format` mentions `style`).
pub(super) fn chain_mentions(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Attribute(a) => a.attr.as_str() == name || chain_mentions(&a.value, name),
        Expr::Call(c) => chain_mentions(&c.func, name),
        Expr::Subscript(s) => chain_mentions(&s.value, name),
        _ => false,
    }
}

/// matplotlib transforms (`ax.transData.transform(xy)`), not pandas.
pub(super) fn is_plot_transform(receiver: &Expr) -> bool {
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
