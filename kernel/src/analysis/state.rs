//! What a kernel session holds between cells: the loaded datasets, the workers, the
//! exchanges, the parameters. Owned by the engine behind one lock; each cell gets `&mut State`.

use super::notes::Note;
use super::privacy::Privacy;
use super::usage::SessionUsage;
use super::worker_client::Worker;
use serde_json::Value;
use std::path::PathBuf;

/// A loaded dataset. The Arrow file is kept so a respawned worker gets the data back
/// without parsing the CSV again.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub source: PathBuf,
    /// The Arrow file (CSV) or the staged copy of a Parquet/Excel/JSON file.
    pub ipc_path: PathBuf,
    /// The Excel worksheet read.
    pub sheet: Option<String>,
    pub profile: Value,
    /// Content hash of the source file (replay keys, session identity).
    pub fingerprint: String,
    /// Set when DuckDB reads the files where they lie (too large for pandas); `ipc_path` is
    /// then empty.
    pub engine: Option<EngineTable>,
    /// Set when the table lives on the Spark cluster: what `%load spark:` named (a catalog
    /// table or a path there); `ipc_path` is then empty.
    pub spark: Option<String>,
}

/// A table DuckDB queries in place: its files (a glob, expanded), their format, and the
/// column types found at load (CSV), pinned so no worker reads the files whole again.
#[derive(Debug, Clone)]
pub struct EngineTable {
    pub paths: Vec<PathBuf>,
    pub fmt: String,
    pub csv_types: Value,
    /// The files' total size.
    pub bytes: u64,
}

/// The names of the tables `sql()` reads: DuckDB's, and those on Spark.
#[derive(Debug, Clone, Default)]
pub struct SqlTables {
    pub duckdb: Vec<String>,
    pub spark: Vec<String>,
}

impl Dataset {
    /// The files a worker must be able to read for this dataset besides the kernel's own
    /// directory (DuckDB tables only).
    pub fn engine_files(&self) -> &[PathBuf] {
        self.engine.as_ref().map_or(&[], |e| e.paths.as_slice())
    }
}

pub struct State {
    /// The user's worker: `%%python`, `%load` profiles, completion. Never runs model code.
    pub worker: Option<Worker>,
    /// The attached Spark cluster (`%connect spark`, or SPARK_CONNECT_URL at first use).
    pub spark: Option<super::spark::SparkLink>,
    /// A question worker started ahead (Python imported, datasets loading), and the
    /// `data_version` it was given.
    pub(super) spare: Option<(Worker, u64)>,
    /// Bumped by every `%load`, so a spare with older datasets is not used.
    pub(super) data_version: u64,
    pub datasets: Vec<Dataset>,
    /// This session's exchanges, oldest first (restored from the store after a restart).
    pub exchanges: Vec<history_store::ExchangeRecord>,
    pub last_code: Option<String>,
    /// Notebook + loaded data; None until something is loaded.
    pub session_id: Option<String>,
    /// The notebook's parameters (papermill), in the order first set.
    pub parameters: Vec<code_guard::Parameter>,
    /// What of the data may be sent to the model (`%privacy`; default from the settings).
    pub privacy: Privacy,
    /// Model calls, tokens and cost of this kernel session (`%usage`, the cost budget).
    pub usage: SessionUsage,
    /// The analyst's notes about the data (`%%context` cells, `NAME.context.md` files),
    /// oldest first, each with where it came from.
    pub notes: Vec<Note>,
    pub(super) scratch: tempfile::TempDir,
    pub(super) loads: u32,
    pub(super) settings_warned: bool,
}

impl State {
    /// The tables `sql()` may read in this session.
    pub fn sql_tables(&self) -> SqlTables {
        let names = |keep: fn(&Dataset) -> bool| {
            self.datasets
                .iter()
                .filter(|d| keep(d))
                .map(|d| d.name.clone())
                .collect()
        };
        SqlTables {
            duckdb: names(|d| d.engine.is_some()),
            spark: names(|d| d.spark.is_some()),
        }
    }

    pub fn new(worker: Option<Worker>, scratch: tempfile::TempDir) -> Self {
        Self {
            worker,
            spark: None,
            spare: None,
            data_version: 0,
            datasets: vec![],
            exchanges: vec![],
            last_code: None,
            session_id: None,
            parameters: vec![],
            privacy: Privacy::default(),
            usage: SessionUsage::default(),
            notes: vec![],
            scratch,
            loads: 0,
            settings_warned: false,
        }
    }
}
