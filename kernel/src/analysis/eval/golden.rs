//! The `%eval` inputs: its arguments, and the golden questions joined with their labels.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parsed `%eval` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalArgs {
    pub questions: PathBuf,
    pub labels: PathBuf,
    pub tables: PathBuf,
    pub ids: Option<Vec<u64>>,
    pub limit: Option<usize>,
}

pub const USAGE: &str =
    "Usage: %eval QUESTIONS.jsonl --labels LABELS.jsonl --tables DIR [--ids 1,2] [--limit N]";

pub fn parse_args(args: &str) -> Result<EvalArgs, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let (mut questions, mut labels, mut tables, mut ids, mut limit) =
        (None, None, None, None, None);
    let mut i = 0;
    while i < words.len() {
        let value = || {
            words
                .get(i + 1)
                .map(|s| s.to_string())
                .ok_or(format!("{} needs a value. {USAGE}", words[i]))
        };
        match words[i] {
            "--labels" => labels = Some(PathBuf::from(value()?)),
            "--tables" => tables = Some(PathBuf::from(value()?)),
            "--ids" => {
                let parsed: Result<Vec<u64>, _> = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<u64>())
                    .collect();
                ids = Some(parsed.map_err(|_| format!("--ids takes numbers like 1,2,3. {USAGE}"))?);
            }
            "--limit" => {
                limit = Some(
                    value()?
                        .parse::<usize>()
                        .map_err(|_| format!("--limit takes a number. {USAGE}"))?,
                )
            }
            w if w.starts_with("--") => return Err(format!("Unknown option {w}. {USAGE}")),
            w if questions.is_none() => {
                questions = Some(PathBuf::from(w));
                i += 1;
                continue;
            }
            w => return Err(format!("Unexpected argument {w}. {USAGE}")),
        }
        i += 2;
    }
    Ok(EvalArgs {
        questions: questions.ok_or(USAGE.to_string())?,
        labels: labels.ok_or(format!("--labels is required. {USAGE}"))?,
        tables: tables.ok_or(format!("--tables is required. {USAGE}"))?,
        ids,
        limit,
    })
}

/// One golden question.
#[derive(Debug, Clone)]
pub struct Golden {
    pub id: u64,
    pub text: String,
    pub file_name: String,
    pub level: String,
    pub answers: Vec<(String, String)>,
}

fn read_jsonl(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| format!("{} line {}: not JSON ({e})", path.display(), n + 1))
        })
        .collect()
}

/// Questions joined with their labels; the text given to the system is question,
/// constraints and format together (DABench's rule).
pub fn read_golden(args: &EvalArgs) -> Result<Vec<Golden>, String> {
    let labels: BTreeMap<u64, Vec<(String, String)>> = read_jsonl(&args.labels)?
        .into_iter()
        .filter_map(|v| {
            let id = v["id"].as_u64()?;
            let answers = v["common_answers"]
                .as_array()?
                .iter()
                .filter_map(|pair| {
                    Some((pair[0].as_str()?.to_string(), pair[1].as_str()?.to_string()))
                })
                .collect();
            Some((id, answers))
        })
        .collect();
    let mut out = vec![];
    for v in read_jsonl(&args.questions)? {
        let Some(id) = v["id"].as_u64() else { continue };
        if args.ids.as_ref().is_some_and(|ids| !ids.contains(&id)) {
            continue;
        }
        let Some(answers) = labels.get(&id) else {
            continue;
        };
        let part = |k: &str| v[k].as_str().unwrap_or("").trim().to_string();
        let text = [part("question"), part("constraints"), part("format")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        out.push(Golden {
            id,
            text,
            file_name: part("file_name"),
            level: part("level"),
            answers: answers.clone(),
        });
        if args.limit.is_some_and(|n| out.len() >= n) {
            break;
        }
    }
    Ok(out)
}
