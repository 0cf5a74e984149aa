//! One golden question end to end: its table loaded, each attempt run in a fresh question worker, scored.

use super::golden::Golden;
use super::scoring::{score, Scored};
use crate::analysis::prompt;
use crate::analysis::services::Services;
use crate::analysis::solve::{DataInfo, Held, Ledger, Ran, Runner, Solver};
use crate::analysis::state::Dataset;
use crate::analysis::worker_client::Request;
use crate::protocol::backend::ErrorInfo;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

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
            prepared: serde_json::Value::Null,
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
                    crate::analysis::worker_client::CallError::Timeout
                        | crate::analysis::worker_client::CallError::Died(_)
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
    let reading = crate::analysis::assumptions::read(&golden.text, datasets.iter().map(|(_, p)| p));
    let base = prompt::code_prompt(&datasets, &[], &golden.text, &[], "", &reading, true);
    let data = DataInfo {
        names: vec![dataset.name.clone()],
        sql_tables: vec![],
        spark_tables: vec![],
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
        Err(crate::analysis::solve::Unsolved::Refused { code, message, .. }) => {
            (bound(code), bound(message))
        }
        Err(crate::analysis::solve::Unsolved::Failed { code, message, .. }) => {
            (bound(code), bound(message))
        }
        Err(crate::analysis::solve::Unsolved::Stopped(e)) => (String::new(), bound(&e.evalue)),
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
        Err(crate::analysis::solve::Unsolved::Refused { rule, .. }) => {
            (false, format!("refused ({rule})"))
        }
        Err(crate::analysis::solve::Unsolved::Failed { ename, .. }) => {
            (false, format!("failed ({ename})"))
        }
        Err(crate::analysis::solve::Unsolved::Stopped(e)) => {
            (false, format!("stopped ({})", e.ename))
        }
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

/// A table parsed like `%load` and profiled by a question worker (no user state touched).
pub(super) async fn load_table(svc: &Services, path: &Path, n: usize) -> Result<Dataset, String> {
    let name = crate::analysis::magics::dataset_name(&path.display().to_string());
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
    let fingerprint =
        crate::analysis::session::content_fingerprint(table.content_hash, table.source_bytes);
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
        spark: None,
    })
}
