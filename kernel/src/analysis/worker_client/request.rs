//! What the kernel may ask a worker, as one typed enum: the wire form is
//! `{"id": N, "op": "<snake_case name>", "args": {...}}`, and the worker's op table
//! (worker/bootstrap.py) lists exactly these names.

use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", content = "args", rename_all = "snake_case")]
pub enum Request {
    /// The design document's limits and sample sizes (Settings::worker_config).
    Configure {
        settings: Value,
    },
    /// A `%%python` cell in the user namespace.
    RunCell {
        code: String,
        execution_count: u32,
        /// The cell's Spark results, fetched before it runs (as for `RunQuestion`).
        #[serde(skip_serializing_if = "Value::is_null")]
        prepared: Value,
    },
    UserExpressions {
        expressions: Value,
    },
    Complete {
        code: String,
        cursor_pos: usize,
    },
    Inspect {
        code: String,
        cursor_pos: usize,
        detail_level: u8,
    },
    IsComplete {
        code: String,
    },
    /// A freshly parsed Arrow file, or a staged Parquet/Excel/JSON file the worker reads with
    /// pandas' own reader: bind it, profile it.
    LoadDataset {
        name: String,
        ipc_path: PathBuf,
        make_current: bool,
        source: String,
        null_counts: Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        sheet: Option<String>,
    },
    /// A dataset loaded before (respawn, question worker): bind it, no profile.
    RestoreDataset {
        name: String,
        ipc_path: PathBuf,
        make_current: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        sheet: Option<String>,
    },
    /// Files too large for pandas, as a DuckDB table queried with `sql()`: register, profile.
    LoadEngineTable {
        name: String,
        paths: Vec<PathBuf>,
        fmt: String,
        make_current: bool,
        source: String,
    },
    /// A DuckDB table loaded before; `csv_types` (from its profile) pins a CSV's column types.
    RestoreEngineTable {
        name: String,
        paths: Vec<PathBuf>,
        fmt: String,
        make_current: bool,
        csv_types: Value,
    },
    /// The user's variables as one pickle, for a question worker.
    ExportVariables {},
    /// One attempt of model-written code, in a question worker.
    RunQuestion {
        code: String,
        execution_count: u32,
        variables: String,
        /// The Spark results of the code's queries, fetched before it runs: query text ->
        /// {"path", "rows_returned", "seconds"} or {"refused": true, ...}.
        #[serde(skip_serializing_if = "Value::is_null")]
        prepared: Value,
    },
    SandboxReport {},
    /// A table on the Spark cluster: bind its name (and `df`) to a reference that only
    /// `sql()` reads.
    RestoreSparkTable {
        name: String,
        make_current: bool,
    },
    /// Spark engine only: open the session (the address carries the token: never logged).
    SparkConnect {
        url: String,
    },
    /// Spark engine only: register `source` (a catalog table or a path on the cluster) as
    /// the temporary view `name`, and profile it.
    SparkRegister {
        name: String,
        source: String,
    },
    /// Spark engine only: run one checked query, write the result to `out` (Arrow IPC).
    SparkRun {
        sql: String,
        max_rows: u64,
        max_bytes: u64,
        out: PathBuf,
    },
}

impl Request {
    /// The wire line for request `id`.
    pub fn line(&self, id: u64) -> String {
        let mut v = serde_json::to_value(self).expect("requests serialize");
        v["id"] = id.into();
        v.to_string() + "\n"
    }

    /// Every op name, for the worker's table (kept equal by a test).
    #[cfg(test)]
    pub const OPS: &'static [&'static str] = &[
        "configure",
        "run_cell",
        "user_expressions",
        "complete",
        "inspect",
        "is_complete",
        "load_dataset",
        "restore_dataset",
        "load_engine_table",
        "restore_engine_table",
        "export_variables",
        "run_question",
        "sandbox_report",
        "restore_spark_table",
        "spark_connect",
        "spark_register",
        "spark_run",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_form() {
        let line = Request::RunCell {
            code: "1 + 1".into(),
            execution_count: 3,
            prepared: Value::Null,
        }
        .line(7);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({"id": 7, "op": "run_cell", "args": {"code": "1 + 1", "execution_count": 3}})
        );
        let v: Value = serde_json::from_str(&Request::ExportVariables {}.line(1)).unwrap();
        assert_eq!(v["args"], json!({}));
    }

    #[test]
    fn the_worker_table_lists_every_op_and_no_other() {
        let bootstrap = include_str!("../../worker/bootstrap.py");
        let table = |marker: &str| {
            let start = bootstrap
                .find(marker)
                .expect("bootstrap.py has the op table");
            &bootstrap[start..start + bootstrap[start..].find(')').unwrap()]
        };
        let mut listed: Vec<&str> = [table("\nOPS = ("), table("SPARK_OPS = (")]
            .iter()
            .flat_map(|t| t.split('"').skip(1).step_by(2))
            .collect();
        let mut ours = Request::OPS.to_vec();
        listed.sort_unstable();
        ours.sort_unstable();
        assert_eq!(listed, ours);
    }
}
