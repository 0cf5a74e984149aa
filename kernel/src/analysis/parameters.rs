//! The notebook's parameters (papermill's `-p name value`): set by a cell of plain
//! `name = literal` lines, shown to the model, substituted into `%load {name}` and
//! `{name}` in questions, and part of what a recorded answer depended on.

use code_guard::Parameter;
use std::collections::BTreeMap;

/// Characters of one parameter's value shown in the prompt.
const PROMPT_VALUE_CHARS: usize = 200;

/// Set `new` over `current`: a name set again takes its new value, in its old place.
pub fn update(current: &mut Vec<Parameter>, new: Vec<Parameter>) {
    for p in new {
        match current.iter_mut().find(|c| c.name == p.name) {
            Some(slot) => *slot = p,
            None => current.push(p),
        }
    }
}

/// `text` with each `{name}` of a parameter replaced by its value (a string's text, any
/// other literal as written). Braces around anything else are left alone.
pub fn substitute(text: &str, params: &[Parameter]) -> String {
    let mut out = text.to_string();
    for p in params {
        let value = p.text.as_deref().unwrap_or(&p.source);
        out = out.replace(&format!("{{{}}}", p.name), value);
    }
    out
}

/// `{name}` placeholders in `text` that no parameter defines.
pub fn undefined(text: &str, params: &[Parameter]) -> Vec<String> {
    let mut missing = vec![];
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        let is_name = !name.is_empty()
            && name.chars().all(|c| c == '_' || c.is_alphanumeric())
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if is_name && !params.iter().any(|p| p.name == name) && !missing.iter().any(|m| m == name) {
            missing.push(name.to_string());
        }
        rest = &after[close + 1..];
    }
    missing
}

/// The prompt's line about the parameters (empty without any).
pub fn prompt_text(params: &[Parameter]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let listed: Vec<String> = params
        .iter()
        .map(|p| {
            let mut v: String = p.source.chars().take(PROMPT_VALUE_CHARS).collect();
            if v.len() < p.source.len() {
                v.push('…');
            }
            format!("{} = {v}", p.name)
        })
        .collect();
    format!(
        "The notebook's parameters, already defined as Python variables (use them by name, not their values): {}\n",
        listed.join(", ")
    )
}

/// The parameters an answer depended on, name → value as written: those its code names,
/// those whose string value its code writes as a literal (the value baked in), and those
/// its question names.
pub fn used_by(params: &[Parameter], question: &str, code: &str) -> BTreeMap<String, String> {
    let (names, strings) = code_guard::names_and_strings(code);
    let question_words: Vec<&str> = question
        .split(|c: char| !(c == '_' || c.is_alphanumeric()))
        .collect();
    params
        .iter()
        .filter(|p| {
            names.contains(&p.name)
                || question_words.contains(&p.name.as_str())
                || p.text
                    .as_ref()
                    .is_some_and(|t| !t.is_empty() && strings.contains(t))
        })
        .map(|p| (p.name.clone(), p.source.clone()))
        .collect()
}

/// How the parameters an answer depended on differ now, one phrase each
/// (`region = 'US' → 'EU'`); empty when the answer still holds.
pub fn changed(recorded: &BTreeMap<String, String>, current: &[Parameter]) -> Vec<String> {
    recorded
        .iter()
        .filter_map(
            |(name, was)| match current.iter().find(|p| &p.name == name) {
                Some(p) if &p.source == was => None,
                Some(p) => Some(format!("{name} = {was} → {}", p.source)),
                None => Some(format!("{name} (was {was}) is no longer set")),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cell: &str) -> Vec<Parameter> {
        code_guard::literal_assignments(cell).unwrap()
    }

    #[test]
    fn new_values_replace_old_ones_in_place() {
        let mut p = params("region = 'US'\nyear = 2025");
        update(&mut p, params("# Parameters\nregion = \"EU\"\nmonth = 11"));
        let shown: Vec<String> = p
            .iter()
            .map(|p| format!("{}={}", p.name, p.source))
            .collect();
        assert_eq!(shown, ["region=\"EU\"", "year=2025", "month=11"]);
    }

    #[test]
    fn placeholders_take_values() {
        let p = params("path = 'data/2026-11.csv'\nyear = 2026");
        assert_eq!(substitute("{path}", &p), "data/2026-11.csv");
        assert_eq!(
            substitute("Revenue in {year}? {not_a_param} {}", &p),
            "Revenue in 2026? {not_a_param} {}"
        );
        assert_eq!(undefined("{path} {other} {1} {}", &p), ["other"]);
    }

    #[test]
    fn dependence_is_by_name_by_baked_value_or_by_question() {
        let p = params("region = 'EU'\nyear = 2026\npath = 'x.csv'");
        let code = "result = df[df['region'] == region]['sales'].sum()";
        assert_eq!(
            used_by(&p, "Total sales?", code).keys().collect::<Vec<_>>(),
            ["region"]
        );
        let baked = "result = df[df['region'] == 'EU']['sales'].sum()";
        assert_eq!(
            used_by(&p, "Total sales?", baked)
                .keys()
                .collect::<Vec<_>>(),
            ["region"]
        );
        assert!(used_by(&p, "How many rows?", "result = len(df)").is_empty());
        assert_eq!(
            used_by(&p, "Sales in year?", "result = 1")
                .keys()
                .collect::<Vec<_>>(),
            ["year"]
        );
        let was = used_by(&p, "Total sales?", code);
        assert!(changed(&was, &p).is_empty());
        let now = params("region = 'US'");
        assert_eq!(changed(&was, &now), ["region = 'EU' → 'US'"]);
    }
}
