//! Column selections on named tables (`trips['fare']`, `df[['a', 'b']]`), read off the
//! tokens: a table that lives elsewhere (Spark) can then be read for just those columns
//! before the code runs, since the code's process has no network.

use rustpython_parser::{lexer, Mode, Tok};

/// Each `NAME['col']` or `NAME[['a', 'b', ...]]` of `code` whose NAME is in `names`, as
/// (NAME, columns), each selection once, in the order written. Code that does not tokenize
/// gives the selections before the bad token.
pub fn column_selections(code: &str, names: &[&str]) -> Vec<(String, Vec<String>)> {
    let tokens: Vec<Tok> = lexer::lex(code, Mode::Module)
        .map_while(Result::ok)
        .map(|(tok, _)| tok)
        .collect();
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let Tok::Name { name } = tok else { continue };
        if !names.contains(&name.as_str()) || tokens.get(i + 1) != Some(&Tok::Lsqb) {
            continue;
        }
        // A subscript after a dot or a name is an attribute's, not the table's.
        if i > 0 && matches!(tokens[i - 1], Tok::Dot) {
            continue;
        }
        if let Some(columns) = selected(&tokens[i + 2..]) {
            let entry = (name.to_string(), columns);
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

/// The columns of `'col']` or `['a', 'b']]` at the start of `rest`.
fn selected(rest: &[Tok]) -> Option<Vec<String>> {
    match rest {
        [Tok::String { value, .. }, Tok::Rsqb, ..] => Some(vec![value.clone()]),
        [Tok::Lsqb, tail @ ..] => {
            let mut columns = Vec::new();
            let mut it = tail.iter();
            loop {
                match it.next()? {
                    Tok::String { value, .. } => columns.push(value.clone()),
                    _ => return None,
                }
                match it.next()? {
                    Tok::Comma => {}
                    Tok::Rsqb => break,
                    _ => return None,
                }
            }
            (it.next()? == &Tok::Rsqb && !columns.is_empty()).then_some(columns)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::column_selections;

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
