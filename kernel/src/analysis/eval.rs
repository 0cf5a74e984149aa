//! `%eval QUESTIONS.jsonl --labels LABELS.jsonl --tables DIR [--ids 1,2] [--limit N]`: golden
//! questions (DABench format) through the same solve path as a question cell, against the
//! configured model, with replay off and the history untouched, scored by DABench's rule.
//!
//! Each question's table is parsed like `%load` (csv-ingest) into the kernel's scratch; every
//! attempt runs in a fresh question worker, as questions do. The interpretation is skipped:
//! it is not scored, and on a CPU model it would double the time.

use super::llm::LlmClient;
use super::prompt;
use super::render::fail_cell;
use super::services::Services;
use super::solve::{DataInfo, Held, Ledger, Ran, Runner, Solver};
use super::state::Dataset;
use super::worker_client::Request;
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, Output, OutputSink};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// DABench's scoring: answers are `@name[value]` (last occurrence of a name wins); a
/// sub-answer is right when the strings are equal or both are floats within 1e-6.
pub fn score(response: &str, answers: &[(String, String)]) -> bool {
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for line in response.lines() {
        let mut rest = line;
        while let Some(at) = rest.find('@') {
            let after = &rest[at + 1..];
            let name_len = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let tail = &after[name_len..];
            if name_len > 0 && tail.starts_with('[') {
                if let Some(close) = tail[1..].find(']') {
                    found.insert(
                        after[..name_len].to_string(),
                        tail[1..1 + close].to_string(),
                    );
                    rest = &tail[1 + close + 1..];
                    continue;
                }
            }
            rest = after;
        }
    }
    answers.iter().all(|(name, want)| {
        found.get(name).is_some_and(|got| {
            got == want
                || matches!((got.trim().parse::<f64>(), want.trim().parse::<f64>()),
                    (Ok(a), Ok(b)) if (a - b).abs() < 1e-6)
        })
    })
}

/// Per-question outcome.
#[derive(Debug, Clone)]
pub struct Scored {
    pub id: u64,
    pub level: String,
    pub ok: bool,
    pub calls: u32,
    pub tokens: u32,
    pub seconds: f64,
    pub why: String,
    /// The last code and what it answered (bounded), to see where misses come from.
    pub code: String,
    pub answer: String,
}

/// The summary table: strict ABQ overall and per level, means, ids missed.
pub fn summary(rows: &[Scored], model: &str) -> String {
    let pct = |ok: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            100.0 * ok as f64 / n as f64
        }
    };
    let mut out = format!("%eval with {model}: {} questions\n\n", rows.len());
    out.push_str("level   questions  right  strict ABQ\n");
    let mut levels: Vec<&str> = rows.iter().map(|r| r.level.as_str()).collect();
    levels.sort();
    levels.dedup();
    for level in levels {
        let of: Vec<&Scored> = rows.iter().filter(|r| r.level == level).collect();
        let ok = of.iter().filter(|r| r.ok).count();
        out.push_str(&format!(
            "{level:<8}{:>9}{:>7}{:>11.1}%\n",
            of.len(),
            ok,
            pct(ok, of.len())
        ));
    }
    let ok = rows.iter().filter(|r| r.ok).count();
    out.push_str(&format!(
        "{:<8}{:>9}{:>7}{:>11.1}%\n\n",
        "all",
        rows.len(),
        ok,
        pct(ok, rows.len())
    ));
    let n = rows.len().max(1) as f64;
    out.push_str(&format!(
        "mean per question: {:.2} model calls, {:.0} tokens, {:.1} s\n",
        rows.iter().map(|r| r.calls as f64).sum::<f64>() / n,
        rows.iter().map(|r| r.tokens as f64).sum::<f64>() / n,
        rows.iter().map(|r| r.seconds).sum::<f64>() / n,
    ));
    let missed: Vec<String> = rows
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.id.to_string())
        .collect();
    out.push_str(&format!(
        "missed ids: {}\n",
        if missed.is_empty() {
            "none".into()
        } else {
            missed.join(",")
        }
    ));
    out
}

/// Runs each attempt in a fresh question worker holding only the question's table.
pub struct EvalRunner<'a> {
    pub svc: &'a Services,
    pub dataset: Dataset,
    pub timeout: std::time::Duration,
}

#[async_trait::async_trait]
impl Runner for EvalRunner<'_> {
    async fn run(&mut self, code: &str) -> Ran {
        let started = self
            .svc
            .start_question_worker(std::slice::from_ref(&self.dataset))
            .await;
        let Some(mut worker) = started else {
            return Ran::Fatal {
                error: ErrorInfo::new("WorkerStartError", "Could not start Python."),
                retry: false,
            };
        };
        let held = Held::default();
        let sink = held.sink();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let request = Request::RunQuestion {
            code: code.to_string(),
            execution_count: 0,
            variables: String::new(),
        };
        let outcome = worker.call(request, Some(&sink), Some(deadline)).await;
        worker.kill().await;
        let outputs = held.take();
        match outcome {
            Ok(v) if v["status"] == "ok" => Ran::Ok { value: v, outputs },
            Ok(v) => Ran::CodeError { value: v },
            Err(e) => Ran::Fatal {
                error: ErrorInfo::new("ExecutionError", format!("{e:?}")),
                retry: matches!(
                    e,
                    super::worker_client::CallError::Timeout
                        | super::worker_client::CallError::Died(_)
                ),
            },
        }
    }
}

/// One question end to end: prompt from the table's profile, solve, score.
pub async fn run_one(golden: &Golden, solver: &Solver<'_>, runner: &mut EvalRunner<'_>) -> Scored {
    let dataset = runner.dataset.clone();
    let started = Instant::now();
    let mut ledger = Ledger::default();
    let datasets = [(dataset.name.clone(), dataset.profile.clone())];
    let reading = super::assumptions::read(&golden.text, datasets.iter().map(|(_, p)| p));
    let base = prompt::code_prompt(&datasets, &[], &golden.text, &[], "", &reading, true);
    let data = DataInfo {
        names: vec![dataset.name.clone()],
        sql_tables: vec![],
        columns: dataset.profile["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(String::from))
            .collect(),
    };
    let solved = solver
        .solve(&base, &golden.text, &data, runner, &mut ledger)
        .await;
    let bound = |s: &str| s.chars().take(2_000).collect::<String>();
    let (code, answer) = match &solved {
        Ok(s) => (bound(&s.code), bound(&s.answer_text)),
        Err(super::solve::Unsolved::Refused { code, message, .. }) => (bound(code), bound(message)),
        Err(super::solve::Unsolved::Failed { code, message, .. }) => (bound(code), bound(message)),
        Err(super::solve::Unsolved::Stopped(e)) => (String::new(), bound(&e.evalue)),
    };
    let (ok, why) = match &solved {
        Ok(s) if score(&s.answer_text, &golden.answers) => (true, String::new()),
        Ok(s) => (
            false,
            format!(
                "wrong answer: {}",
                s.answer_text
                    .lines()
                    .last()
                    .unwrap_or("")
                    .chars()
                    .take(120)
                    .collect::<String>()
            ),
        ),
        Err(super::solve::Unsolved::Refused { rule, .. }) => (false, format!("refused ({rule})")),
        Err(super::solve::Unsolved::Failed { ename, .. }) => (false, format!("failed ({ename})")),
        Err(super::solve::Unsolved::Stopped(e)) => (false, format!("stopped ({})", e.ename)),
    };
    Scored {
        id: golden.id,
        level: golden.level.clone(),
        ok,
        calls: ledger.calls(),
        tokens: ledger.total().tokens() as u32,
        seconds: started.elapsed().as_secs_f64(),
        why,
        code,
        answer,
    }
}

/// The model name for the summary.
pub fn model_name(llm: &LlmClient) -> String {
    format!("{} at {}", llm.model(), llm.endpoint_host())
}

/// A table parsed like `%load` and profiled by a question worker (no user state touched).
async fn load_table(svc: &Services, path: &Path, n: usize) -> Result<Dataset, String> {
    let name = super::magics::dataset_name(&path.display().to_string());
    let ipc_path = svc.scratch_path().join(format!("eval-{n}-{name}.arrow"));
    let limits = csv_ingest::Limits {
        max_upload_size: svc.settings.max_upload_size,
        max_cells: svc.settings.max_dataframe_size,
    };
    let (src, out) = (path.to_path_buf(), ipc_path.clone());
    let parsed =
        tokio::task::spawn_blocking(move || csv_ingest::load_to_arrow(&src, &out, &limits))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    let (table, _) = parsed;
    let fingerprint = super::session::content_fingerprint(table.content_hash, table.source_bytes);
    let request = Request::LoadDataset {
        name: name.clone(),
        ipc_path: ipc_path.clone(),
        make_current: true,
        source: path.display().to_string(),
        null_counts: json!(table.null_counts()),
        sheet: None,
    };
    let mut worker = svc
        .start_question_worker(&[])
        .await
        .ok_or("could not start Python")?;
    let profile = worker.call(request, None, None).await;
    worker.kill().await;
    let profile = profile.map_err(|e| format!("{e:?}"))?;
    Ok(Dataset {
        name,
        source: path.to_path_buf(),
        ipc_path,
        sheet: None,
        profile,
        fingerprint,
        engine: None,
    })
}

/// The `%eval` cell: one progress line per question, then the summary table.
pub async fn eval_cell(svc: &Services, args: &str, sink: &OutputSink) -> ExecuteOutcome {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => return fail_cell(sink, "UsageError", e),
    };
    let golden = match read_golden(&args) {
        Ok(g) if g.is_empty() => {
            return fail_cell(
                sink,
                "EvalError",
                "No question with a label matched (check --ids and the files).",
            )
        }
        Ok(g) => g,
        Err(e) => return fail_cell(sink, "EvalError", e),
    };
    let settings = &svc.settings;
    if settings.openai_api_key.is_none() && !settings.endpoint_is_local() {
        return fail_cell(sink, "MissingApiKey", "%eval asks the configured model: set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server.");
    }
    let llm = match svc.llm() {
        Ok(c) => c,
        Err(e) => return fail_cell(sink, "LLMError", e),
    };
    let quiet = OutputSink::new(|_| {});
    let solver = Solver {
        llm: llm.as_ref(),
        sink: &quiet,
        temperature: settings.code_temperature,
        max_tokens: settings.max_code_tokens,
        max_rounds: settings.max_repair_rounds,
        timeout: settings.max_execution_timeout,
        interrupt: &svc.interrupt,
        validate: !settings.skip_validation,
        preface: vec![],
        privacy: Default::default(),
    };
    sink.stream(
        "stdout",
        format!(
            "Asking {} {} questions (replay off, history untouched)...\n",
            model_name(&llm),
            golden.len()
        ),
    );
    let mut tables: BTreeMap<String, Dataset> = BTreeMap::new();
    let mut rows = vec![];
    for (n, g) in golden.iter().enumerate() {
        let dataset = match tables.get(&g.file_name) {
            Some(d) => d.clone(),
            None => match load_table(svc, &args.tables.join(&g.file_name), n).await {
                Ok(d) => {
                    tables.insert(g.file_name.clone(), d.clone());
                    d
                }
                Err(e) => {
                    sink.stream(
                        "stdout",
                        format!("#{:<4} table {} not loaded: {e}\n", g.id, g.file_name),
                    );
                    rows.push(Scored {
                        id: g.id,
                        level: g.level.clone(),
                        ok: false,
                        calls: 0,
                        tokens: 0,
                        seconds: 0.0,
                        why: "table not loaded".into(),
                        code: String::new(),
                        answer: e,
                    });
                    continue;
                }
            },
        };
        let mut runner = EvalRunner {
            svc,
            dataset,
            timeout: settings.max_execution_timeout,
        };
        let row = tokio::select! {
            r = run_one(g, &solver, &mut runner) => r,
            _ = svc.interrupt.notified() => {
                sink.stream("stderr", "Interrupted: the summary covers the questions finished so far.\n");
                break;
            }
        };
        sink.stream(
            "stdout",
            format!(
                "#{:<4} {:<6} {} {:>2} calls {:>6} tokens {:>6.1} s {}\n",
                row.id,
                row.level,
                if row.ok { "right" } else { "MISS " },
                row.calls,
                row.tokens,
                row.seconds,
                row.why
            ),
        );
        rows.push(row);
    }
    for d in tables.values() {
        let _ = std::fs::remove_file(&d.ipc_path);
    }
    let text = summary(&rows, &model_name(&llm));
    sink.send(Output::DisplayData {
        data: json!({"text/plain": text}),
        metadata: json!({"llm_analytics": {"role": "eval", "rows": rows.iter().map(|r| json!({"id": r.id, "level": r.level, "ok": r.ok, "calls": r.calls, "tokens": r.tokens, "seconds": r.seconds, "why": r.why, "code": r.code, "answer": r.answer})).collect::<Vec<_>>()}}),
        display_id: None,
    });
    ExecuteOutcome::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn scoring_follows_dabench() {
        let want = answers(&[("mean_fare", "34.65"), ("n", "891")]);
        assert!(score("@mean_fare[34.65]\n@n[891]", &want));
        assert!(score("@mean_fare[34.650000] @n[891.0]", &want));
        assert!(!score("@mean_fare[34.66] @n[891]", &want));
        assert!(
            !score("@mean_fare[34.65]", &want),
            "every sub-answer is needed"
        );
        // The last occurrence of a name wins.
        assert!(score("@n[1] @mean_fare[34.65]\n@n[891]", &want));
        assert!(!score("@n[891] @mean_fare[34.65]\n@n[1]", &want));
        assert!(score(
            "@name[Mr. Smith]",
            &answers(&[("name", "Mr. Smith")])
        ));
        assert!(!score("", &want));
    }

    #[test]
    fn arguments_parse_with_clear_errors() {
        let a = parse_args("q.jsonl --labels l.jsonl --tables t --ids 1,2 --limit 5").unwrap();
        assert_eq!(a.ids, Some(vec![1, 2]));
        assert_eq!(a.limit, Some(5));
        assert!(parse_args("q.jsonl --tables t")
            .unwrap_err()
            .contains("--labels"));
        assert!(parse_args("q.jsonl --labels l --tables t --ids x")
            .unwrap_err()
            .contains("--ids"));
        assert!(parse_args("").unwrap_err().starts_with("Usage"));
    }

    #[test]
    fn summary_reports_levels_and_misses() {
        let row = |id, level: &str, ok| Scored {
            id,
            level: level.into(),
            ok,
            calls: 2,
            tokens: 1000,
            seconds: 10.0,
            why: String::new(),
            code: String::new(),
            answer: String::new(),
        };
        let s = summary(
            &[
                row(1, "easy", true),
                row(2, "easy", false),
                row(3, "hard", true),
            ],
            "m",
        );
        assert!(s.contains("easy            2      1       50.0%"), "{s}");
        assert!(s.contains("all             3      2       66.7%"), "{s}");
        assert!(s.contains("missed ids: 2"), "{s}");
        assert!(s.contains("2.00 model calls"), "{s}");
    }
}
