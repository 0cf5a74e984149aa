//! What kind of cell this is: `%%python`, `%load`, another magic, or a question.

/// A parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Python(String),
    /// Only `name = literal` lines (papermill's parameters form): run as Python, no model.
    Parameters {
        code: String,
        params: Vec<code_guard::Parameter>,
    },
    /// `%%context`: the analyst's notes about the data.
    Context(String),
    Load {
        path: String,
        name: Option<String>,
        /// `--sheet NAME`: the worksheet of an Excel file.
        sheet: Option<String>,
        /// `--engine duckdb|pandas`: who reads the data (checked by `%load` itself).
        engine: Option<String>,
    },
    Magic {
        name: String,
        args: String,
    },
    /// `fresh`: asked with `%%fresh`, so a recorded answer must not be replayed.
    Question {
        text: String,
        fresh: bool,
    },
}

/// Magics the kernel knows, with one-line help (for completion, inspection and errors).
pub const MAGICS: &[(&str, &str)] = &[
    ("%load", "%load PATH [--sheet SHEET] [--engine duckdb|pandas] [as NAME]: load a CSV/TSV, Parquet, Excel (.xlsx/.xls) or JSON/NDJSON file as `df` (and NAME); CSV/Parquet files (or a glob of them) too large for pandas are queried in place with DuckDB (--engine duckdb forces it); %load spark:TABLE_OR_PATH as NAME registers a table that lives on the Spark cluster (see %connect)"),
    ("%connect", "%connect spark sc://HOST:PORT[/;token=TOKEN]: attach a Spark cluster through Spark Connect (default: SPARK_CONNECT_URL); its tables are queried there with Spark SQL and only results come back"),
    ("%%python", "%%python: run the rest of the cell as Python in the analysis namespace"),
    ("%code", "%code: put the last generated code into a new %%python cell below"),
    ("%datasets", "%datasets: list the loaded datasets"),
    ("%history", "%history [--all] [--export]: this session's questions, code and results (--all: every session of this notebook; --export: write them as the notebook's recorded answers); %history --everywhere [--model NAME] [--since YYYY-MM-DD] [--errors] [--replayed] [--export FILE.csv]: every notebook's exchanges in the store, filtered, newest first (--export: all matches to a CSV file)"),
    ("%%fresh", "%%fresh: ask the question below the magic line without replaying a recorded answer"),
    ("%eval", "%eval QUESTIONS.jsonl --labels LABELS.jsonl --tables DIR [--ids 1,2] [--limit N]: score the configured model on golden questions (DABench format)"),
    ("%sandbox", "%sandbox: show the worker's containment layers (network, filesystem, system calls...) and limits"),
    ("%privacy", "%privacy [schema|sample|masked]: show or set what of the data may be sent to the model"),
    ("%show_prompt", "%show_prompt QUESTION: print exactly what would be sent to the model for QUESTION; sends nothing"),
    ("%usage", "%usage: model calls, tokens and cost for this session and this notebook, and the budgets"),
    ("%%context", "%%context: notes about the data (definitions, business rules) included in every following prompt"),
    ("%context", "%context [clear]: list the analyst's notes, or remove them"),
    ("%help", "%help: show the magics and how questions work"),
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// `PATH [--sheet SHEET] [--engine ENGINE] [as NAME]`: the path is the rest of the line
/// (spaces, `=`, `+` allowed); the sheet name may be quoted.
fn parse_load(rest: &str) -> Cell {
    let rest = rest.trim();
    let (rest, name) = match rest.rfind(" as ") {
        Some(idx) if is_identifier(rest[idx + 4..].trim()) && !rest[..idx].trim().is_empty() => {
            (&rest[..idx], Some(rest[idx + 4..].trim().to_string()))
        }
        _ => (rest, None),
    };
    let mut engine = None;
    let without_engine;
    let rest = match rest.find(" --engine") {
        Some(idx) => {
            let after = rest[idx + 9..].trim_start();
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            engine = Some(after[..end].to_ascii_lowercase());
            without_engine = format!("{}{}", &rest[..idx], &after[end..]);
            without_engine.as_str()
        }
        None => rest,
    };
    let (path, sheet) = match rest.find(" --sheet ") {
        Some(idx) => (&rest[..idx], Some(unquote(&rest[idx + 9..]).to_string())),
        None => (rest, None),
    };
    Cell::Load {
        path: unquote(path).to_string(),
        name,
        sheet: sheet.filter(|s| !s.is_empty()),
        engine,
    }
}

pub fn parse(code: &str) -> Cell {
    let trimmed = code.trim();
    if trimmed.is_empty() {
        return Cell::Empty;
    }
    let (first, rest) = match trimmed.split_once('\n') {
        Some((f, r)) => (f.trim(), r),
        None => (trimmed, ""),
    };
    if first == "%%python" || first.starts_with("%%python ") {
        // Keep the user's indentation: take the original text after the magic line.
        let body = code.trim_start().split_once('\n').map_or("", |(_, b)| b);
        return Cell::Python(body.to_string());
    }
    if first == "%%context" {
        let body = code.trim_start().split_once('\n').map_or("", |(_, b)| b);
        return Cell::Context(body.to_string());
    }
    // The question may run over several lines.
    if let Some(args) = first.strip_prefix("%show_prompt") {
        if args.is_empty() || args.starts_with(char::is_whitespace) {
            return Cell::Magic {
                name: "%show_prompt".into(),
                args: format!("{}\n{}", args.trim(), rest.trim())
                    .trim()
                    .to_string(),
            };
        }
    }
    if first == "%%fresh" {
        let text = rest.trim();
        if text.is_empty() {
            return Cell::Magic {
                name: "%%fresh".into(),
                args: String::new(),
            };
        }
        return Cell::Question {
            text: text.to_string(),
            fresh: true,
        };
    }
    if let Some(args) = first.strip_prefix("%load") {
        if args.is_empty() || args.starts_with(char::is_whitespace) {
            return parse_load(args);
        }
    }
    if first.starts_with('%') && rest.trim().is_empty() {
        let (name, args) = first.split_once(char::is_whitespace).unwrap_or((first, ""));
        return Cell::Magic {
            name: name.to_string(),
            args: args.trim().to_string(),
        };
    }
    if !first.starts_with('%') {
        if let Some(params) = code_guard::literal_assignments(code) {
            return Cell::Parameters {
                code: code.to_string(),
                params,
            };
        }
    }
    Cell::Question {
        text: trimmed.to_string(),
        fresh: false,
    }
}

/// A dataset name from a file name: `sales 2024.csv` -> `sales_2024`.
pub fn dataset_name(path: &str) -> String {
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    name = name.trim_matches('_').to_string();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("data_{name}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_cells_keep_indentation() {
        assert_eq!(
            parse("%%python\nfor i in x:\n    print(i)"),
            Cell::Python("for i in x:\n    print(i)".into())
        );
        assert_eq!(parse("%%python"), Cell::Python(String::new()));
    }

    #[test]
    fn load_paths_with_spaces_and_names() {
        assert_eq!(
            parse("%load data/DES=+2006261.csv"),
            Cell::Load {
                path: "data/DES=+2006261.csv".into(),
                name: None,
                sheet: None,
                engine: None,
            }
        );
        assert_eq!(
            parse("%load beauty and the labor market.csv as beauty"),
            Cell::Load {
                path: "beauty and the labor market.csv".into(),
                name: Some("beauty".into()),
                sheet: None,
                engine: None,
            }
        );
        assert_eq!(
            parse("%load \"my file.csv\""),
            Cell::Load {
                path: "my file.csv".into(),
                name: None,
                sheet: None,
                engine: None,
            }
        );
        assert_eq!(
            parse("%load"),
            Cell::Load {
                path: "".into(),
                name: None,
                sheet: None,
                engine: None,
            }
        );
    }

    #[test]
    fn load_takes_an_engine() {
        assert_eq!(
            parse("%load data/big part*.parquet --engine DuckDB as big"),
            Cell::Load {
                path: "data/big part*.parquet".into(),
                name: Some("big".into()),
                sheet: None,
                engine: Some("duckdb".into()),
            }
        );
        assert_eq!(
            parse("%load x.csv --engine"),
            Cell::Load {
                path: "x.csv".into(),
                name: None,
                sheet: None,
                engine: Some(String::new()),
            }
        );
    }

    #[test]
    fn load_takes_a_sheet() {
        assert_eq!(
            parse("%load data/book 2024.xlsx --sheet 'Q1 sales' as q1"),
            Cell::Load {
                path: "data/book 2024.xlsx".into(),
                name: Some("q1".into()),
                sheet: Some("Q1 sales".into()),
                engine: None,
            }
        );
        assert_eq!(
            parse("%load book.xlsx --sheet Sales"),
            Cell::Load {
                path: "book.xlsx".into(),
                name: None,
                sheet: Some("Sales".into()),
                engine: None,
            }
        );
    }

    #[test]
    fn questions_and_magics() {
        assert_eq!(
            parse("  What is the total revenue?  "),
            Cell::Question {
                text: "What is the total revenue?".into(),
                fresh: false
            }
        );
        assert_eq!(
            parse("%%fresh\nTotal revenue?"),
            Cell::Question {
                text: "Total revenue?".into(),
                fresh: true
            }
        );
        assert_eq!(
            parse("%code"),
            Cell::Magic {
                name: "%code".into(),
                args: "".into()
            }
        );
        assert_eq!(parse("   \n "), Cell::Empty);
        // A percent sign inside a question is still a question.
        assert!(matches!(
            parse("What % of rows are null?"),
            Cell::Question { .. }
        ));
    }

    #[test]
    fn papermill_parameters_are_python() {
        let Cell::Parameters { code, params } =
            parse("# Parameters\nregion = \"EU\"\npath = \"data/2026-11.csv\"\n")
        else {
            panic!("not parameters")
        };
        assert!(code.starts_with("# Parameters"));
        assert_eq!(params.len(), 2);
        assert!(matches!(parse("region = EU"), Cell::Question { .. }));
        assert!(matches!(parse("What is x = 1?"), Cell::Question { .. }));
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(dataset_name("/x/sales 2024.csv"), "sales_2024");
        assert_eq!(dataset_name("0020200722.csv"), "data_0020200722");
        assert_eq!(dataset_name("DES=+2006261.csv"), "DES__2006261");
    }
}
