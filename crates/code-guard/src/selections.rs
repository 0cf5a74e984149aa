//! What code reads from tables that live elsewhere (Spark), read off its tokens so the kernel
//! can fetch it before the code runs in a process without network: column selections on
//! named tables (`trips['fare']`, `df[['a', 'b']]`) and `sql('...')` calls with a literal query.

use rustpython_parser::ast::{self, Constant, Expr};
use rustpython_parser::text_size::TextRange;
use rustpython_parser::{lexer, Mode, Parse, StringKind, Tok};

/// The query of each `sql('...')` call whose argument is one string literal (or adjacent
/// literals, which Python joins), each once, in the order written. F-strings and computed
/// queries are left out: their text is only known when the code runs.
pub fn sql_literals(code: &str) -> Vec<String> {
    let tokens: Vec<(Tok, TextRange)> = lexer::lex(code, Mode::Module)
        .map_while(Result::ok)
        .collect();
    let mut found: Vec<String> = Vec::new();
    for (i, (tok, _)) in tokens.iter().enumerate() {
        let Tok::Name { name } = tok else { continue };
        if name.as_str() != "sql" || !matches!(tokens.get(i + 1), Some((Tok::Lpar, _))) {
            continue;
        }
        if i > 0 && matches!(tokens[i - 1].0, Tok::Dot) {
            continue;
        }
        let literals: Vec<&TextRange> = tokens[i + 2..]
            .iter()
            .map_while(|(t, r)| match t {
                Tok::String { kind, .. } if plain(kind) => Some(r),
                _ => None,
            })
            .collect();
        let closes = matches!(tokens.get(i + 2 + literals.len()), Some((Tok::Rpar, _)));
        let (Some(first), Some(last)) = (literals.first(), literals.last()) else {
            continue;
        };
        if !closes {
            continue;
        }
        let source = &code[usize::from(first.start())..usize::from(last.end())];
        if let Some(query) = string_value(source) {
            if !found.contains(&query) {
                found.push(query);
            }
        }
    }
    found
}

fn plain(kind: &StringKind) -> bool {
    matches!(
        kind,
        StringKind::String | StringKind::RawString | StringKind::Unicode
    )
}

/// The value of a string literal's source (escapes resolved, as Python reads it).
fn string_value(source: &str) -> Option<String> {
    match ast::Expr::parse(source, "<literal>").ok()? {
        Expr::Constant(c) => match c.value {
            Constant::Str(text) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// Each `NAME['col']` or `NAME[['a', 'b', ...]]` of `code` whose NAME is in `names`, as
/// (NAME, columns), each selection once, in the order written. Code that does not tokenize
/// gives the selections before the bad token.
pub fn column_selections(code: &str, names: &[&str]) -> Vec<(String, Vec<String>)> {
    let tokens: Vec<(Tok, TextRange)> = lexer::lex(code, Mode::Module)
        .map_while(Result::ok)
        .collect();
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for (i, (tok, _)) in tokens.iter().enumerate() {
        let Tok::Name { name } = tok else { continue };
        if !names.contains(&name.as_str()) || !matches!(tokens.get(i + 1), Some((Tok::Lsqb, _))) {
            continue;
        }
        // A subscript after a dot is an attribute's, not the table's.
        if i > 0 && matches!(tokens[i - 1].0, Tok::Dot) {
            continue;
        }
        if let Some(columns) = selected(code, &tokens[i + 2..]) {
            let entry = (name.to_string(), columns);
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

/// The columns of `'col']` or `['a', 'b']]` at the start of `rest`.
fn selected(code: &str, rest: &[(Tok, TextRange)]) -> Option<Vec<String>> {
    let text = |range: &TextRange| {
        string_value(&code[usize::from(range.start())..usize::from(range.end())])
    };
    match rest {
        [(Tok::String { kind, .. }, range), (Tok::Rsqb, _), ..] if plain(kind) => {
            Some(vec![text(range)?])
        }
        [(Tok::Lsqb, _), tail @ ..] => {
            let mut columns = Vec::new();
            let mut it = tail.iter();
            loop {
                match it.next()? {
                    (Tok::String { kind, .. }, range) if plain(kind) => columns.push(text(range)?),
                    _ => return None,
                }
                match it.next()?.0 {
                    Tok::Comma => {}
                    Tok::Rsqb => break,
                    _ => return None,
                }
            }
            (it.next()?.0 == Tok::Rsqb && !columns.is_empty()).then_some(columns)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::column_selections;

    #[test]
    fn sql_literals_as_python_reads_them() {
        let code = "a = sql('SELECT count(*) FROM t')\n\
                    b = sql(\"SELECT \\\"x\\\" \" 'FROM t')\n\
                    c = sql(f'SELECT {col} FROM t')\n\
                    d = sql(q)\n\
                    e = obj.sql('SELECT 2')\n\
                    f = sql('SELECT count(*) FROM t')\n";
        assert_eq!(
            super::sql_literals(code),
            ["SELECT count(*) FROM t", "SELECT \"x\" FROM t"]
        );
    }

    #[test]
    fn selections_of_named_tables_only() {
        let code = "m = trips['Fare'].mean()\n\
                    x = df[['Age', 'Fare']].corr()\n\
                    y = other['Fare']\n\
                    z = trips[trips['Age'] > 3]\n\
                    w = obj.trips['Fare']\n\
                    n = trips['Fare'].sum()\n";
        let got = column_selections(code, &["trips", "df"]);
        assert_eq!(
            got,
            [
                ("trips".to_string(), vec!["Fare".to_string()]),
                (
                    "df".to_string(),
                    vec!["Age".to_string(), "Fare".to_string()]
                ),
                ("trips".to_string(), vec!["Age".to_string()]),
            ]
        );
        assert!(column_selections("trips[", &["trips"]).is_empty());
    }
}
