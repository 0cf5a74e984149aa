//! Imports: allowed modules, submodules and imported members.

use rustpython_parser::ast;

use super::{
    errors::{forbidden_import, relative_import},
    Check, Checker,
};
use crate::lists;
use crate::Rejection;

impl Checker<'_, '_> {
    pub(super) fn import(&mut self, s: &ast::StmtImport) -> Check {
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

    pub(super) fn import_from(&mut self, s: &ast::StmtImportFrom) -> Check {
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
}
