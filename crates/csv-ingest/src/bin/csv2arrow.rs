//! `csv2arrow IN.csv OUT.arrow`: load a CSV like `pd.read_csv` and write it
//! as an Arrow IPC file. Prints a JSON summary on success; on failure prints
//! the analyst-facing message on stderr and exits with status 2.
//! Used by the Python parity tests and handy for debugging. Honours
//! MAX_UPLOAD_SIZE and MAX_DATAFRAME_SIZE like the kernel.
//! CSV_INGEST_FORCE_FALLBACK=1 skips the fast parallel reader and takes the
//! polars path for every file (bench/csv_ingest.py compares the two).

use std::path::Path;
use std::process::ExitCode;

use csv_ingest::{load_to_arrow, Limits};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: csv2arrow IN.csv OUT.arrow");
        return ExitCode::from(64);
    };
    match run(Path::new(input), Path::new(output)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// The kernel's limits, from the same variables (defaults otherwise).
fn limits() -> Limits {
    let var = |key: &str| std::env::var(key).ok().and_then(|v| v.parse().ok());
    let defaults = Limits::default();
    Limits {
        max_upload_size: var("MAX_UPLOAD_SIZE").unwrap_or(defaults.max_upload_size),
        max_cells: var("MAX_DATAFRAME_SIZE").unwrap_or(defaults.max_cells),
    }
}

fn run(input: &Path, output: &Path) -> Result<String, csv_ingest::LoadError> {
    let (table, arrow_bytes) = load_to_arrow(input, output, &limits())?;
    let columns = table.frame.width() - table.index_columns;
    // Every value is a number or a fixed ASCII word, so no JSON escaping.
    Ok(format!(
        r#"{{"rows":{},"columns":{},"encoding":"{}","index_columns":{},"arrow_bytes":{}}}"#,
        table.frame.height(),
        columns,
        table.encoding,
        table.index_columns,
        arrow_bytes
    ))
}
