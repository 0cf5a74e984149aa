//! Library settings that import modules or call functions named by strings.

use rustpython_parser::ast::{self, Constant, Expr, Ranged};

use super::{errors::module_by_name, Check, Checker};
use crate::lists;

impl Checker<'_, '_> {
    /// `mpl.rcParams`, `plt.rcParams`, `from matplotlib import rcParams`.
    pub(super) fn is_settings(&self, expr: &Expr) -> bool {
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
    pub(super) fn settings_key(&self, key: &Expr) -> Check {
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
    pub(super) fn settings_dict(&self, value: &Expr, line: usize) -> Check {
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
    pub(super) fn style_names(&self, call: &ast::ExprCall, line: usize) -> Check {
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
    pub(super) fn option_keys(&self, call: &ast::ExprCall, line: usize) -> Check {
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
}
