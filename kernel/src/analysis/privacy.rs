//! What of the data may leave the machine: the privacy mode and the transformations every
//! model-bound text goes through.
//!
//! - `sample` (the design document's behaviour): structure plus a few real sample rows.
//! - `masked`: the sample rows' values are replaced by stand-ins of the same type and shape
//!   (letters → x/X, digits → 1), so the model still sees formats.
//! - `schema`: names, dtypes, row and null counts only. No cell value leaves in any request:
//!   error details and printed answers fed back are scrubbed, earlier results are described
//!   by shape, and the interpretation sees the result's shape and types, not its values.
//!
//! The question, the notebook's parameters and the analyst's notes are the user's own
//! words and are sent as written.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Privacy {
    Schema,
    #[default]
    Sample,
    Masked,
}

pub const SETTING: &str = "LLM_ANALYTICS_PRIVACY";

/// Said instead of withheld text.
const WITHHELD: &str = "[withheld: privacy mode]";

impl Privacy {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "schema" => Some(Self::Schema),
            "sample" => Some(Self::Sample),
            "masked" => Some(Self::Masked),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Schema => "schema",
            Self::Sample => "sample",
            Self::Masked => "masked",
        }
    }

    /// One line on what the model sees in this mode.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Schema => "column names, dtypes, row and null counts only: no value of the data is sent, in any request (errors and results fed back are scrubbed; the interpretation sees the result's shape and types)",
            Self::Sample => "column names, dtypes, null counts and the first sample rows as they are (the design document's behaviour)",
            Self::Masked => "column names, dtypes, null counts and sample rows whose values are replaced by stand-ins of the same type and shape; error details fed back are scrubbed",
        }
    }

    /// Whether category values may be named to the model (an assumption "read X as the value
    /// Y"): only when sample rows go anyway.
    pub fn sends_values(self) -> bool {
        self == Self::Sample
    }

    /// Whether text the data produced (errors, printed answers) is scrubbed before it is sent.
    pub fn scrubs_feedback(self) -> bool {
        self != Self::Sample
    }
}

/// The profile as the prompt may see it in `mode`. Keys the prompt never reads are dropped
/// too, so nothing added to the profile later leaks by accident.
pub fn profile_view(profile: &Value, mode: Privacy) -> Value {
    let keep = [
        "name",
        "rows",
        "columns",
        "dtypes",
        "null_counts",
        "numeric_columns",
        "categorical_columns",
        // A DuckDB table: the engine and its column types (structure, no values).
        "engine",
        "sql_types",
        // A Spark table small enough for pandas (read whole for the code): shown as a frame.
        "fits_pandas",
    ];
    let mut out = Map::new();
    for key in keep {
        if let Some(v) = profile.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let columns: Vec<String> = profile["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(String::from))
        .collect();
    match mode {
        Privacy::Sample => {
            for key in ["sample_text", "sample_records"] {
                if let Some(v) = profile.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
        }
        Privacy::Masked => {
            let records: Vec<Value> = profile["sample_records"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| match r {
                    Value::Object(m) => {
                        Value::Object(m.iter().map(|(k, v)| (k.clone(), mask(v))).collect())
                    }
                    other => mask(other),
                })
                .collect();
            out.insert(
                "sample_text".into(),
                Value::String(records_text(&columns, &records)),
            );
            out.insert("sample_records".into(), Value::Array(records));
        }
        Privacy::Schema => {
            out.insert(
                "sample_text".into(),
                Value::String("(no rows shown: privacy mode 'schema' sends no values)".into()),
            );
        }
    }
    Value::Object(out)
}

/// A stand-in of the same JSON type and shape: text keeps its length, case pattern,
/// digits' places and punctuation; numbers keep sign, digit count and decimals.
fn mask(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(mask_text(s)),
        Value::Number(n) => {
            let text = n.to_string();
            let masked = mask_text(&text);
            serde_json::from_str(&masked).unwrap_or(Value::from(1))
        }
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), mask(v))).collect()),
        other => other.clone(),
    }
}

/// Letters → x/X, digits → 1 (dates stay valid dates, numbers valid numbers), everything
/// else kept.
fn mask_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '1'
            } else if c.is_uppercase() {
                'X'
            } else if c.is_alphabetic() {
                'x'
            } else {
                c
            }
        })
        .collect()
}

/// A plain aligned table of records (what pandas would print), for masked samples.
fn records_text(columns: &[String], records: &[Value]) -> String {
    let cell = |r: &Value, c: &str| match &r[c] {
        Value::Null => "NaN".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for r in records {
        for (i, c) in columns.iter().enumerate() {
            widths[i] = widths[i].max(cell(r, c).chars().count());
        }
    }
    let index_width = records.len().saturating_sub(1).to_string().len();
    let mut lines = vec![];
    let mut header = " ".repeat(index_width);
    for (i, c) in columns.iter().enumerate() {
        header.push_str(&format!("  {c:>w$}", w = widths[i]));
    }
    lines.push(header);
    for (n, r) in records.iter().enumerate() {
        let mut line = format!("{n:<index_width$}");
        for (i, c) in columns.iter().enumerate() {
            line.push_str(&format!("  {:>w$}", cell(r, c), w = widths[i]));
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// Text the data produced (an error message, a printed answer), made safe to send back in
/// `mode`: quoted parts and numbers that the model's own code or the column names do not
/// contain are withheld. Row counts and shapes in messages may go too; that is the price.
pub fn scrub(text: &str, mode: Privacy, code: &str, columns: &[String]) -> String {
    if !mode.scrubs_feedback() {
        return text.to_string();
    }
    let known = |s: &str| s.is_empty() || code.contains(s) || columns.iter().any(|c| c == s);
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            if let Some(len) = chars[i + 1..].iter().position(|&d| d == c) {
                let inner: String = chars[i + 1..i + 1 + len].iter().collect();
                if known(&inner) {
                    out.push(c);
                    out.push_str(&inner);
                    out.push(c);
                } else {
                    out.push_str(WITHHELD);
                }
                i += len + 2;
                continue;
            }
        }
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '_')
        {
            let len = chars[i..]
                .iter()
                .take_while(|d| d.is_ascii_digit() || **d == '.' || **d == ',')
                .count();
            let number: String = chars[i..i + len].iter().collect();
            let number = number.trim_end_matches(['.', ',']);
            // Short integers (line numbers, small counts) say nothing about the data.
            let small = number.len() <= 2 && !number.contains(['.', ',']);
            if small || known(number) {
                out.push_str(number);
            } else {
                out.push_str(WITHHELD);
            }
            i += number.chars().count();
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// An earlier result's one-line summary as the conversation context may carry it: shapes
/// stay, values ("Numeric value: 42.5", "String: Berlin") are withheld in schema mode.
pub fn summary_view(summary: &str, mode: Privacy) -> String {
    if mode != Privacy::Schema {
        return summary.to_string();
    }
    for kind in ["Numeric value", "String"] {
        if summary.starts_with(kind) {
            return format!("{kind} {WITHHELD}");
        }
    }
    summary.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile() -> Value {
        json!({
            "name": "t", "rows": 2, "columns": ["city", "amount"],
            "dtypes": {"city": "str", "amount": "float64"},
            "null_counts": {"city": 0, "amount": 1},
            "sample_text": "   city  amount\n0  Zurich  1234.5\n1  Basel  NaN",
            "sample_records": [{"city": "Zurich", "amount": 1234.5}, {"city": "Basel", "amount": null}],
            "categories": {"city": ["Zurich", "Basel"]},
            "html": "<table>Zurich</table>", "text": "Zurich",
        })
    }

    #[test]
    fn schema_sends_no_value() {
        let v = profile_view(&profile(), Privacy::Schema).to_string();
        for value in ["Zurich", "Basel", "1234.5"] {
            assert!(!v.contains(value), "{value} leaked: {v}");
        }
        assert!(v.contains("amount") && v.contains("float64"));
    }

    #[test]
    fn masked_keeps_shape_not_values() {
        let v = profile_view(&profile(), Privacy::Masked);
        let text = v.to_string();
        for value in ["Zurich", "Basel", "1234.5"] {
            assert!(!text.contains(value), "{value} leaked: {text}");
        }
        assert_eq!(v["sample_records"][0]["city"], "Xxxxxx");
        assert_eq!(v["sample_records"][0]["amount"], json!(1111.1));
        assert!(v["sample_records"][1]["amount"].is_null());
        assert!(v["sample_text"].as_str().unwrap().contains("Xxxxxx"));
    }

    #[test]
    fn sample_is_the_design_behaviour_but_drops_unread_keys() {
        let v = profile_view(&profile(), Privacy::Sample);
        assert!(v["sample_text"].as_str().unwrap().contains("Zurich"));
        assert!(v.get("categories").is_none() && v.get("html").is_none());
    }

    #[test]
    fn masks_keep_format() {
        assert_eq!(mask_text("2021-03-04"), "1111-11-11");
        assert_eq!(mask_text("Ab 9"), "Xx 1");
        assert_eq!(mask(&json!(-42)), json!(-11));
    }

    #[test]
    fn scrub_withholds_data_but_keeps_the_models_own_words() {
        let code = "df['amount'].astype(float)";
        let cols = vec!["amount".to_string()];
        let msg = "ValueError: could not convert string to float: '5,350,380' (line 3: `df['amount'].astype(float)`)";
        let s = scrub(msg, Privacy::Schema, code, &cols);
        assert!(!s.contains("5,350,380"), "{s}");
        assert!(s.contains("'amount'") && s.contains("line 3"), "{s}");
        assert!(!scrub("mean is 1234.5", Privacy::Schema, "", &[]).contains("1234.5"));
        assert_eq!(scrub(msg, Privacy::Sample, code, &cols), msg);
    }

    #[test]
    fn summaries_keep_shapes_only_in_schema_mode() {
        assert_eq!(
            summary_view("DataFrame with 3 rows and 2 columns", Privacy::Schema),
            "DataFrame with 3 rows and 2 columns"
        );
        assert!(!summary_view("Numeric value: 42.5", Privacy::Schema).contains("42.5"));
        assert!(summary_view("Numeric value: 42.5", Privacy::Masked).contains("42.5"));
    }
}
