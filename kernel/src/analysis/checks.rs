//! Checks on what a question produced, with no model call: did the answer come in the format
//! the question asked for, and does the interpretation state only numbers the result holds.

/// Answer names a question asks for in the `@name[value]` form (DABench-style formats and
/// notebook questions that carry their own answer format), in order, without repeats.
pub fn required_answer_names(question: &str) -> Vec<String> {
    let mut names: Vec<String> = vec![];
    for (i, _) in question.match_indices('@') {
        let rest = &question[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with('[') {
            let name = rest[..len].to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The names of `required` that `answer` does not give as `@name[...]` on one line.
pub fn missing_answer_names(answer: &str, required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|name| {
            let tag = format!("@{name}[");
            !answer.lines().any(|line| {
                line.find(&tag)
                    .is_some_and(|at| line[at + tag.len()..].contains(']'))
            })
        })
        .cloned()
        .collect()
}

/// The names of `required` whose `@name[value]` value is NaN or empty (`nan`, `[]`, `None`):
/// usually missing values reached the calculation or a filter matched no rows.
pub fn blank_answer_names(answer: &str, required: &[String]) -> Vec<String> {
    const BLANK: [&str; 9] = ["", "nan", "NaN", "None", "[]", "<NA>", "NaT", "{}", "()"];
    required
        .iter()
        .filter(|name| {
            answer_values(answer, name)
                .iter()
                .any(|v| BLANK.contains(&v.trim()))
        })
        .cloned()
        .collect()
}

/// Every value `answer` gives as `@name[value]`, in order. A value runs to its matching
/// bracket on the same line (`@x[[]]` holds `[]`); one left open at the line end is none.
pub fn answer_values<'a>(answer: &'a str, name: &str) -> Vec<&'a str> {
    let tag = format!("@{name}[");
    answer
        .match_indices(&tag)
        .filter_map(|(at, _)| {
            let rest = &answer[at + tag.len()..];
            let mut depth = 1;
            let end = rest.char_indices().find_map(|(i, c)| {
                match c {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    '\n' => return Some(None),
                    _ => {}
                }
                (depth == 0).then_some(Some(i))
            })??;
            Some(&rest[..end])
        })
        .collect()
}

/// A number as written in prose: its value and the size of one unit in its last place.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stated {
    value: f64,
    unit: f64,
    percent: bool,
}

/// Numbers written in `text`: `4,349.27`, `-0.5`, `45%`, `1.2 million`, `3.4K`.
fn stated_numbers(text: &str) -> Vec<Stated> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        // A minus sign, not a hyphen inside a word ("item-7").
        let negative = i > 0 && chars[i - 1] == '-' && (i < 2 || !chars[i - 2].is_alphanumeric());
        let mut digits = String::new();
        let mut decimals: Option<usize> = None;
        while i < chars.len() {
            let c = chars[i];
            let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            if c.is_ascii_digit() {
                digits.push(c);
                if let Some(d) = decimals.as_mut() {
                    *d += 1;
                }
            } else if c == ',' && decimals.is_none() && next_digit {
                // thousands separator
            } else if c == '.' && decimals.is_none() && next_digit {
                digits.push('.');
                decimals = Some(0);
            } else {
                break;
            }
            i += 1;
        }
        let Ok(mut value) = digits.parse::<f64>() else {
            continue;
        };
        let mut unit = 10f64.powi(-(decimals.unwrap_or(0) as i32));
        let tail: String = chars[i..chars.len().min(i + 10)]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let tail = tail.trim_start();
        let scale = [
            ("thousand", 1e3),
            ("million", 1e6),
            ("billion", 1e9),
            ("trillion", 1e12),
            ("k", 1e3),
            ("m", 1e6),
            ("bn", 1e9),
            ("b", 1e9),
        ]
        .iter()
        .find(|(word, _)| {
            tail.starts_with(word)
                && !tail[word.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric)
        })
        .map_or(1.0, |(_, s)| *s);
        value *= scale;
        unit *= scale;
        if negative {
            value = -value;
        }
        let percent = tail.starts_with('%') || tail.starts_with("percent");
        out.push(Stated {
            value,
            unit,
            percent,
        });
    }
    out
}

/// Whether `n` could be a rounding (or truncation) of some number in `known`.
fn supported(n: &Stated, known: &[f64]) -> bool {
    let close = |want: f64, unit: f64| {
        known
            .iter()
            .any(|&k| (k - want).abs() <= unit * 1.0000001 || (k.abs() - want.abs()).abs() <= unit)
    };
    close(n.value, n.unit)
        || (n.percent && close(n.value / 100.0, n.unit / 100.0))
        // "45%" of a result that is already a percentage, or a share written as a percent.
        || (!n.percent && close(n.value * 100.0, n.unit * 100.0))
}

/// Numbers the interpretation states that the result (or the question) does not hold,
/// allowing rounding, thousands separators, percentages and "million"-style scales.
/// Small counts (0–10) are allowed: "the top 3 categories", "2 columns".
pub fn ungrounded_numbers(interpretation: &str, result: &str, question: &str) -> Vec<String> {
    let known: Vec<f64> = stated_numbers(result)
        .into_iter()
        .chain(stated_numbers(question))
        .map(|s| s.value)
        .collect();
    stated_numbers(interpretation)
        .into_iter()
        .filter(|n| !(n.value.fract() == 0.0 && (0.0..=10.0).contains(&n.value)))
        .filter(|n| !supported(n, &known))
        .map(|n| format!("{}", n.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_names_come_from_the_question() {
        let q = "Calculate the mean fare. @mean_fare[mean_fare] where mean_fare is a number \
                 rounded to 2 decimals, and @count[n]. Mail me at a@b.com.";
        assert_eq!(required_answer_names(q), vec!["mean_fare", "count"]);
        assert!(required_answer_names("What is the total revenue?").is_empty());
    }

    #[test]
    fn missing_names_are_reported() {
        let req = vec!["mean_fare".to_string(), "count".to_string()];
        assert_eq!(
            missing_answer_names("@mean_fare[34.69]\n@count[891]", &req),
            Vec::<String>::new()
        );
        assert_eq!(missing_answer_names("34.69", &req), req);
        assert_eq!(
            missing_answer_names("@mean_fare[34.69] @count[", &req),
            vec!["count".to_string()]
        );
    }

    #[test]
    fn numbers_are_read_as_written() {
        let got = stated_numbers(
            "Revenue was $4,349.27 (up 12.5%), about 1.2 million units, 3K users, item-7",
        );
        let values: Vec<f64> = got.iter().map(|s| s.value).collect();
        assert_eq!(values, vec![4349.27, 12.5, 1_200_000.0, 3000.0, 7.0]);
        assert!(got[1].percent);
    }

    #[test]
    fn grounded_numbers_pass_with_rounding() {
        let result = "category\nElectronics    4349.2712\nToys    3599.77\nshare 0.4532";
        let text = "Electronics led with $4,349.27, ahead of Toys at about $3,600 \
                    (roughly 4.3 thousand vs 3.6K). Electronics is 45.3% of sales; 3 categories.";
        assert_eq!(
            ungrounded_numbers(text, result, "revenue by category"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn invented_numbers_are_caught() {
        let result = "Numeric value: 42.5";
        let text = "The average is 42.5, which is 17% higher than last year's 36.3.";
        assert_eq!(
            ungrounded_numbers(text, result, "average?"),
            vec!["17", "36.3"]
        );
    }

    #[test]
    fn blank_answers_are_found() {
        let names = |a: &str| super::blank_answer_names(a, &["a".to_string(), "b".to_string()]);
        assert_eq!(names("@a[nan] @b[0.5]"), vec!["a"]);
        assert_eq!(names("@a[[]] @b[ NaN ]"), vec!["a", "b"]);
        assert!(names("@a[[1, 2]] @b[0]").is_empty());
        assert!(names("@a[nanometre] @b[None of them]").is_empty());
    }
}
