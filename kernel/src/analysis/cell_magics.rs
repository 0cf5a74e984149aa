//! The magics that only report or hand back: `%history`, `%sandbox`, `%help`, `%datasets`,
//! `%code`, and the usage errors for the rest.

use super::history_view::{self, HistoryArgs};
use super::magics;
use super::render::fail_cell;
use super::services::Services;
use super::session;
use super::state::State;
use super::worker_client::Request;
use crate::protocol::backend::{ExecuteOutcome, Output, OutputSink};
use history_store::{ExchangeQuery, ExchangeRecord, HistoryStore};
use serde_json::json;

pub async fn history(
    svc: &Services,
    state: &mut State,
    args: &str,
    sink: &OutputSink,
) -> ExecuteOutcome {
    match history_view::parse_args(args) {
        Ok(HistoryArgs::Notebook { all, export }) => {
            notebook_history(svc, state, all, export, sink).await
        }
        Ok(HistoryArgs::Everywhere { query, export }) => {
            everywhere(svc, query, export.as_deref(), sink).await
        }
        Err(usage) => fail_cell(sink, "UsageError", usage),
    }
}

/// `%history [--all] [--export]`: this session, or every session of this notebook.
async fn notebook_history(
    svc: &Services,
    state: &mut State,
    all: bool,
    export: bool,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let store = svc.store().await;
    let rows: Vec<(String, ExchangeRecord)> = if all {
        match store.notebook_history(&svc.notebook).await {
            Ok(sessions) => sessions
                .into_iter()
                .flat_map(|(info, recs)| {
                    let label = info
                        .datasets
                        .iter()
                        .map(|d| d.file_name.clone())
                        .collect::<Vec<_>>()
                        .join(", ");
                    recs.into_iter().map(move |r| (label.clone(), r))
                })
                .collect(),
            Err(e) => return fail_cell(sink, "HistoryError", e.to_string()),
        }
    } else {
        state
            .exchanges
            .iter()
            .map(|r| (String::new(), r.clone()))
            .collect()
    };
    if export {
        let Some(path) = session::answers_path(&svc.notebook) else {
            return fail_cell(sink, "UsageError", "%history --export needs the notebook's path (JPY_SESSION_NAME), which this frontend did not provide.");
        };
        let records: Vec<ExchangeRecord> = rows.iter().map(|(_, r)| r.clone()).collect();
        return match session::write_answers(&path, &svc.notebook, &records) {
            Ok(n) => {
                sink.stream(
                    "stdout",
                    format!("Wrote {n} recorded answers to {}\n", path.display()),
                );
                ExecuteOutcome::ok()
            }
            Err(e) => fail_cell(sink, "HistoryError", e),
        };
    }
    svc.show_store_warnings(&store, sink);
    sink.send(Output::DisplayData {
        data: history_view::notebook_table(&rows, all),
        metadata: json!({"llm_analytics": {"role": "history"}}),
        display_id: None,
    });
    ExecuteOutcome::ok()
}

/// `%history --everywhere`: every notebook's exchanges matching the filters, listed (newest
/// `SHOWN`) or written to a CSV file (all of them). The store does the filtering.
async fn everywhere(
    svc: &Services,
    mut query: ExchangeQuery,
    export: Option<&str>,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let store = svc.store().await;
    query.limit = export.is_none().then_some(history_view::SHOWN);
    let page = match store.query_exchanges(&query).await {
        Ok(page) => page,
        Err(e) => return fail_cell(sink, "HistoryError", e.to_string()),
    };
    svc.show_store_warnings(&store, sink);
    let Some(file) = export else {
        sink.send(Output::DisplayData {
            data: history_view::everywhere_table(&page, &query, &store.describe()),
            metadata: json!({"llm_analytics": {"role": "history"}}),
            display_id: None,
        });
        return ExecuteOutcome::ok();
    };
    let path = std::path::absolute(file).unwrap_or_else(|_| file.into());
    if let Err(e) = std::fs::write(&path, history_view::csv(&page.exchanges)) {
        return fail_cell(
            sink,
            "UsageError",
            format!(
                "Cannot write {}: {e}. Give a file in a folder you can write to, e.g. %history --everywhere --export audit.csv",
                path.display()
            ),
        );
    }
    if let Some(note) = &page.incomplete {
        sink.stream("stderr", format!("{note}\n"));
    }
    sink.stream(
        "stdout",
        format!(
            "Wrote {} exchanges to {}\n",
            page.exchanges.len(),
            path.display()
        ),
    );
    ExecuteOutcome::ok()
}

/// `%sandbox`: the containment layers the worker reported at start-up, plus the kernel's.
pub async fn sandbox(svc: &Services, state: &mut State, sink: &OutputSink) -> ExecuteOutcome {
    let report = match svc.worker(state).await {
        Ok(w) => w.call(Request::SandboxReport {}, None, None).await,
        Err(e) => return fail_cell(sink, &e.ename, e.evalue),
    };
    match report {
        Ok(report) => {
            let kernel = super::worker_client::kernel_layers(&svc.settings);
            sink.send(Output::DisplayData {
                data: crate::worker::sandbox::render(&report, &kernel),
                metadata: json!({"llm_analytics": {"role": "sandbox"}}),
                display_id: None,
            });
            ExecuteOutcome::ok()
        }
        Err(err) => {
            let e = svc.worker_failure(state, err).await;
            sink.error(e.clone());
            ExecuteOutcome::error(e)
        }
    }
}

pub fn other(state: &mut State, name: &str, sink: &OutputSink) -> ExecuteOutcome {
    match name {
        "%help" | "%magics" => {
            let mut text = String::from(
                "Ask a question about your data in plain English, or use a magic:\n",
            );
            for (_, help) in magics::MAGICS {
                text.push_str(&format!("  {help}\n"));
            }
            sink.send(Output::DisplayData {
                data: json!({"text/plain": text}),
                metadata: json!({}),
                display_id: None,
            });
            ExecuteOutcome::ok()
        }
        "%datasets" => {
            let text = if state.datasets.is_empty() {
                "No datasets loaded. Use %load PATH.".to_string()
            } else {
                state
                    .datasets
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let current = match (i + 1 == state.datasets.len(), &d.engine) {
                            _ if d.spark.is_some() => " (Spark table: query it with sql())",
                            (_, Some(_)) => " (DuckDB table: query it with sql())",
                            (true, None) => " (df)",
                            (false, None) => "",
                        };
                        format!(
                            "{}{current}: {} rows × {} columns from {}",
                            d.name,
                            d.profile["rows"],
                            d.profile["columns"].as_array().map_or(0, Vec::len),
                            d.source.display()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            sink.send(Output::DisplayData {
                data: json!({"text/plain": text}),
                metadata: json!({}),
                display_id: None,
            });
            ExecuteOutcome::ok()
        }
        "%code" => match &state.last_code {
            Some(code) => {
                let mut out = ExecuteOutcome::ok();
                out.payload.push(json!({"source": "set_next_input", "text": format!("%%python\n{code}"), "replace": false}));
                sink.send(Output::DisplayData { data: json!({"text/plain": "The last generated code was put in a new %%python cell below."}), metadata: json!({}), display_id: None });
                out
            }
            None => fail_cell(
                sink,
                "UsageError",
                "No code has been generated yet: ask a question first.",
            ),
        },
        "%%fresh" => fail_cell(
            sink,
            "UsageError",
            "%%fresh needs a question on the lines below it, e.g.\n%%fresh\nWhat is the total revenue by category?\n                 It asks the model again instead of replaying a recorded answer.",
        ),
        other => {
            let known: Vec<&str> = magics::MAGICS.iter().map(|(n, _)| *n).collect();
            fail_cell(sink, "UsageError", format!("Unknown magic {other}. Available: {}. Anything else is asked as a question.", known.join(", ")))
        }
    }
}
