//! The `@name[value]` answers a question asked for, put in the form it asked for without
//! another model call: one bare value gets its name; Python reprs become plain values
//! (`['Kuwait', 'Saudi Arabia']` → `Kuwait, Saudi Arabia`, `np.float64(4.2)` → `4.2`,
//! `'normal'` → `normal`); numbers get the decimal places the question names.
//!
//! Measured with a real 1.5B model on DABench: a right computation was scored wrong because
//! the value was a list repr, a quoted string or not rounded as asked (bench/RESULTS.md).

use super::checks;

/// `@name[value]` when the question asks for exactly one answer, the code's answer lacks the
/// form, and the answer is one short value (printed and returned alike count once).
pub fn single_answer(answer: &str, required: &[String]) -> Option<String> {
    let [name] = required else { return None };
    if !checks::missing_answer_names(answer, required).contains(name) {
        return None;
    }
    let mut lines: Vec<&str> = answer
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.dedup();
    let [value] = lines.as_slice() else {
        return None;
    };
    let value = value.trim_matches(|c| c == '\'' || c == '"');
    (!value.is_empty() && value.len() <= 200 && !value.contains(['[', ']', '@']))
        .then(|| format!("@{name}[{value}]"))
}

/// The answers given for `required`, in order of the question, the last one of each name
/// (as the benchmark's rule reads them): (name, value).
fn given(answer: &str, required: &[String]) -> Vec<(String, String)> {
    required
        .iter()
        .filter_map(|name| {
            let value = checks::answer_values(answer, name).pop()?;
            Some((name.clone(), value.to_string()))
        })
        .collect()
}

/// The decimal places the question asks for, when it names one number of them
/// ("rounded to 2 decimal places", "to four decimal places"); None when it names none or
/// several different ones.
pub fn decimal_places(question: &str) -> Option<usize> {
    const WORDS: [&str; 7] = ["zero", "one", "two", "three", "four", "five", "six"];
    let q = question.to_lowercase();
    let mut found: Option<usize> = None;
    for (at, _) in q.match_indices("decimal") {
        let before: Vec<&str> = q[..at].split_whitespace().rev().take(1).collect();
        let Some(word) = before.first() else { continue };
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        let n = word
            .parse::<usize>()
            .ok()
            .or_else(|| WORDS.iter().position(|w| *w == word));
        match (n, found) {
            (Some(n), None) if n <= 10 => found = Some(n),
            (Some(n), Some(f)) if n != f => return None,
            _ => {}
        }
    }
    found
}

/// A value as the question wants it written, or None when it already is.
fn tidy(value: &str, places: Option<usize>) -> Option<String> {
    let mut v = value.trim().to_string();
    // numpy scalar reprs: np.float64(4.2), np.int64(3), numpy.float32(1.5)
    for prefix in ["np.", "numpy."] {
        if let Some(rest) = v.strip_prefix(prefix) {
            if let Some(open) = rest.find('(') {
                if rest.ends_with(')') && rest[..open].chars().all(|c| c.is_alphanumeric()) {
                    v = rest[open + 1..rest.len() - 1].to_string();
                }
            }
        }
    }
    // A flat list or tuple of plain items: items joined by ", ".
    let list = (v.starts_with('[') && v.ends_with(']')) || (v.starts_with('(') && v.ends_with(')'));
    if list && v.len() >= 2 {
        let inner = &v[1..v.len() - 1];
        if !inner.contains(['[', ']', '(', ')', '{', '}']) {
            let items: Vec<String> = inner
                .split(',')
                .map(|i| i.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
                .filter(|i| !i.is_empty())
                .map(|i| round_to(&i, places).unwrap_or(i))
                .collect();
            v = items.join(", ");
        }
    }
    let quoted = v.len() >= 2
        && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')));
    if quoted {
        v = v[1..v.len() - 1].to_string();
    }
    if let Some(r) = round_to(&v, places) {
        v = r;
    }
    (v != value).then_some(v)
}

/// `text` written with `places` decimals when it is a number with more of them.
fn round_to(text: &str, places: Option<usize>) -> Option<String> {
    let places = places?;
    let x: f64 = text.parse().ok()?;
    let decimals = text.split_once('.').map_or(0, |(_, d)| {
        d.chars().take_while(char::is_ascii_digit).count()
    });
    (x.is_finite() && decimals > places && !text.contains(['e', 'E']))
        .then(|| format!("{x:.places$}"))
}

/// The answer line in the requested form when any given value needed tidying (a list repr,
/// quotes, a numpy wrapper, more decimals than asked), with what was changed; None if none did.
pub fn tidy_answers(
    answer: &str,
    required: &[String],
    question: &str,
) -> Option<(String, Vec<String>)> {
    let places = decimal_places(question);
    let given = given(answer, required);
    let mut changed = vec![];
    let line: Vec<String> = given
        .iter()
        .map(|(name, value)| match tidy(value, places) {
            Some(t) => {
                changed.push(format!("{value} → {t}"));
                format!("@{name}[{t}]")
            }
            None => format!("@{name}[{value}]"),
        })
        .collect();
    (!changed.is_empty()).then(|| (line.join(" "), changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_value_is_put_in_the_one_requested_form() {
        let req = names(&["site_identifier"]);
        assert_eq!(
            single_answer("57\n57\n", &req).as_deref(),
            Some("@site_identifier[57]")
        );
        assert_eq!(
            single_answer("'normal'", &req).as_deref(),
            Some("@site_identifier[normal]")
        );
        // Already in the form, several values, or several names asked: left to the model.
        assert_eq!(single_answer("@site_identifier[57]", &req), None);
        assert_eq!(single_answer("57\n58", &req), None);
        assert_eq!(single_answer("1", &names(&["a", "b"])), None);
        assert_eq!(single_answer("1", &[]), None);
    }

    #[test]
    fn decimal_places_are_read_from_the_question() {
        assert_eq!(
            decimal_places("a float number rounded to 2 decimal places."),
            Some(2)
        );
        assert_eq!(
            decimal_places("Round to four decimal places; r to four decimal places"),
            Some(4)
        );
        assert_eq!(
            decimal_places("r to 2 decimal places, p to 4 decimal places"),
            None
        );
        assert_eq!(decimal_places("What is the mean?"), None);
    }

    #[test]
    fn reprs_become_plain_values_and_numbers_get_the_asked_places() {
        let q =
            "Report it. @outlier_countries[list] @skewness_value[v] rounded to 2 decimal places.";
        let req = names(&["outlier_countries", "skewness_value"]);
        let (line, changed) = tidy_answers(
            "@outlier_countries[['Kuwait', 'Saudi Arabia']] @skewness_value[0.8347567355796421]",
            &req,
            q,
        )
        .unwrap();
        assert_eq!(
            line,
            "@outlier_countries[Kuwait, Saudi Arabia] @skewness_value[0.83]"
        );
        assert_eq!(changed.len(), 2);
        let one = names(&["x"]);
        assert_eq!(
            tidy_answers("@x['normal']", &one, "").unwrap().0,
            "@x[normal]"
        );
        assert_eq!(
            tidy_answers("@x[np.float64(4.25)]", &one, "").unwrap().0,
            "@x[4.25]"
        );
        // Already right, fewer decimals than asked, or text: nothing to do.
        assert_eq!(tidy_answers("@x[0.83]", &one, "to 2 decimal places"), None);
        assert_eq!(tidy_answers("@x[32.2]", &one, "to 2 decimal places"), None);
        assert_eq!(
            tidy_answers("@x[positive]", &one, "to 2 decimal places"),
            None
        );
        assert_eq!(tidy_answers("@x[1e-05]", &one, "to 2 decimal places"), None);
    }
}
