//! Behaviour of the public API: every `LoadError` with its exact message,
//! and the CSV dialect cases pandas accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use csv_ingest::{
    load, load_bytes, load_to_arrow, write_arrow_ipc, Limits, LoadError, LoadedTable, PandasDtype,
};
use polars::prelude::*;

fn ok(bytes: &[u8]) -> LoadedTable {
    load_bytes(bytes, "t.csv", &Limits::default()).expect("loads")
}

fn err(bytes: &[u8], name: &str) -> String {
    load_bytes(bytes, name, &Limits::default())
        .expect_err("fails")
        .to_string()
}

fn names(table: &LoadedTable) -> Vec<String> {
    table
        .frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

fn strings(table: &LoadedTable, column: &str) -> Vec<Option<String>> {
    let column = table.frame.column(column).unwrap();
    column
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

fn ints(table: &LoadedTable, column: &str) -> Vec<i64> {
    let column = table.frame.column(column).unwrap();
    column.i64().unwrap().iter().map(Option::unwrap).collect()
}

/// A fresh scratch directory per test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("csv-ingest-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- errors, in validation order --------------------------------------------

#[test]
fn wrong_extension() {
    assert_eq!(
        err(b"a\n1\n", "x.xlsx"),
        "Only CSV files are supported (.csv, .tsv, .txt); 'x.xlsx' is not one. Export it as CSV first."
    );
    // Checked before anything else, even for a missing file.
    let e = load(Path::new("/nonexistent/report.xlsx"), &Limits::default()).unwrap_err();
    assert!(matches!(e, LoadError::WrongExtension { .. }), "{e}");
}

#[test]
fn not_found_names_path_and_working_directory() {
    let path = Path::new("/nonexistent/x.csv");
    let cwd = std::env::current_dir().unwrap();
    let message = load(path, &Limits::default()).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "File not found: /nonexistent/x.csv (working directory: {})",
            cwd.display()
        )
    );
}

#[test]
fn too_large() {
    let limits = Limits {
        max_upload_size: 100 * 1024 * 1024,
        ..Limits::default()
    };
    let data = vec![b'1'; 150 * 1024 * 1024];
    let message = load_bytes(&data, "x.csv", &limits).unwrap_err().to_string();
    assert_eq!(
        message,
        "File too large: 150.0 MB; the maximum is 100.0 MB (MAX_UPLOAD_SIZE)."
    );

    let dir = Scratch::new("too_large");
    let path = dir.join("x.csv");
    std::fs::write(&path, b"a,b\n1,2\n").unwrap();
    let tiny = Limits {
        max_upload_size: 4,
        ..Limits::default()
    };
    let e = load(&path, &tiny).unwrap_err();
    assert!(
        matches!(e, LoadError::TooLarge { size: 8, limit: 4 }),
        "{e}"
    );
}

#[test]
fn empty() {
    assert_eq!(err(b"", "x.csv"), "File is empty: x.csv");
    assert_eq!(err(b" \r\n\t\n", "x.csv"), "File is empty: x.csv");
    let dir = Scratch::new("empty");
    let path = dir.join("e.csv");
    std::fs::write(&path, b"").unwrap();
    let message = load(&path, &Limits::default()).unwrap_err().to_string();
    assert_eq!(message, "File is empty: e.csv");
}

#[test]
fn binary() {
    assert_eq!(
        err(b"PK\x03\x04\x00\x00", "x.csv"),
        "x.csv looks like a binary file, not text (NUL byte at offset 4)"
    );
    // UTF-16 is binary to us as it is to pd.read_csv's default.
    let utf16: Vec<u8> = "a,b\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert!(err(&utf16, "x.csv").contains("NUL byte at offset 1"));
}

#[test]
fn no_columns() {
    assert_eq!(
        err(b"\xEF\xBB\xBF\n", "x.csv"),
        "CSV file contains no columns"
    );
}

#[test]
fn header_only() {
    let expected = "CSV file contains no data: x.csv has a header row but no data rows";
    assert_eq!(err(b"a,b,c", "x.csv"), expected);
    assert_eq!(err(b"a,b,c\n\n   \n", "x.csv"), expected);
}

#[test]
fn ragged_rows_report_pandas_line_numbers() {
    assert_eq!(
        err(b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10,11\n", "x.csv"),
        "Error parsing CSV: line 4 has 5 fields, but the header has 3 (x.csv)"
    );
    // Blank lines count; line breaks inside quotes do not (pandas: line 5).
    assert_eq!(
        err(b"a,b,c\n1,\"x\ny\",3\n\n4,5,6\n7,8,9,10,11\n", "x.csv"),
        "Error parsing CSV: line 5 has 5 fields, but the header has 3 (x.csv)"
    );
    assert_eq!(
        err(b"a,b\r1,2\r3,4,5\r", "x.csv"),
        "Error parsing CSV: line 3 has 3 fields, but the header has 2 (x.csv)"
    );
}

#[test]
fn too_many_cells() {
    let limits = Limits {
        max_cells: 5,
        ..Limits::default()
    };
    let message = load_bytes(b"a,b\n1,2\n3,4\n5,6\n", "x.csv", &limits)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "Dataset too large: 6 cells exceeds limit of 5 (MAX_DATAFRAME_SIZE)"
    );
    let e = LoadError::TooManyCells {
        cells: 120_000_000,
        limit: 100_000_000,
    };
    assert_eq!(
        e.to_string(),
        "Dataset too large: 120,000,000 cells exceeds limit of 100,000,000 (MAX_DATAFRAME_SIZE)"
    );
}

#[test]
fn unclosed_quote_is_a_parse_error() {
    let message = err(b"a,b\n1,\"x\n2,3\n", "x.csv");
    assert_eq!(
        message,
        "Error parsing CSV: a quoted field starting on line 2 is never closed (missing \")"
    );
}

#[test]
fn quotes_inside_unquoted_fields_are_literal() {
    let table = ok(b"h,n\n5'10\",1\n6'1\",2\n\"ab\"cd,3\n");
    assert_eq!(
        strings(&table, "h"),
        [
            Some("5'10\"".into()),
            Some("6'1\"".into()),
            Some("abcd".into())
        ]
    );
    assert_eq!(ints(&table, "n"), [1, 2, 3]);
}

// --- dialect ------------------------------------------------------------------

#[test]
fn line_endings_lf_crlf_cr() {
    for data in [
        &b"a,b\n1,x\n2,y\n"[..],
        b"a,b\r\n1,x\r\n2,y\r\n",
        b"a,b\r1,x\r2,y\r",
        b"a,b\r1,x\r2,y",
    ] {
        let table = ok(data);
        assert_eq!(names(&table), ["a", "b"], "{data:?}");
        assert_eq!(ints(&table, "a"), [1, 2], "{data:?}");
        assert_eq!(
            strings(&table, "b"),
            [Some("x".into()), Some("y".into())],
            "{data:?}"
        );
    }
}

#[test]
fn bom_is_stripped_from_first_name() {
    let table = ok(b"\xEF\xBB\xBFid,name\n1,x\n");
    assert_eq!(table.encoding, "utf-8-sig");
    assert_eq!(names(&table), ["id", "name"]);
    assert_eq!(ok(b"id\n1\n").encoding, "utf-8");
}

#[test]
fn latin1_is_transcoded() {
    let table = ok(b"name,city\nJos\xE9,Z\xFCrich\n");
    assert_eq!(table.encoding, "latin-1");
    assert_eq!(strings(&table, "name"), [Some("José".into())]);
    assert_eq!(strings(&table, "city"), [Some("Zürich".into())]);
}

#[test]
fn quoted_fields_with_separators_newlines_and_quotes() {
    let table = ok(b"a,b\n\"x,y\",1\n\"multi\nline\",2\n\"he said \"\"hi\"\"\",3\n");
    assert_eq!(
        strings(&table, "a"),
        [
            Some("x,y".into()),
            Some("multi\nline".into()),
            Some("he said \"hi\"".into())
        ]
    );
    assert_eq!(ints(&table, "b"), [1, 2, 3]);
}

#[test]
fn duplicate_and_empty_names_are_mangled() {
    let table = ok(b"a,a,a.1,a,b,,\n1,2,3,4,5,6,7\n");
    assert_eq!(
        names(&table),
        ["a", "a.2", "a.1", "a.3", "b", "Unnamed: 5", "Unnamed: 6"]
    );
}

#[test]
fn blank_lines_are_skipped() {
    let table = ok(b"\na,b\n\n1,2\n   \n3,4\n\t\n");
    assert_eq!(table.frame.height(), 2);
    assert_eq!(ints(&table, "a"), [1, 3]);
}

#[test]
fn short_rows_are_padded() {
    let table = ok(b"a,b,c\n1,2\n3,4,5\n");
    assert_eq!(table.pandas_dtypes[2], PandasDtype::Float64);
    let c: Vec<f64> = table
        .frame
        .column("c")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    assert!(c[0].is_nan());
    assert_eq!(c[1], 5.0);
}

#[test]
fn implicit_index_when_first_row_is_wider() {
    let table = ok(b"a,b\nr1,1,2\nr2,3,4\n");
    assert_eq!(table.index_columns, 1);
    assert_eq!(names(&table), ["__index_level_0__", "a", "b"]);
    assert_eq!(ints(&table, "b"), [2, 4]);
}

#[test]
fn dtypes_follow_pandas() {
    use PandasDtype::*;
    let table = ok(b"i,f,fi,b,bo,s,n\n1,1.5,1,True,True,x,\n2,2,NA,false,,y,NA\n");
    assert_eq!(
        table.pandas_dtypes,
        [Int64, Float64, Float64, Bool, Object, Str, Float64]
    );
}

#[test]
fn tsv_uses_tabs() {
    let table = load_bytes(b"a\tb\n1\tx y\n", "t.tsv", &Limits::default()).unwrap();
    assert_eq!(names(&table), ["a", "b"]);
    assert_eq!(strings(&table, "b"), [Some("x y".into())]);
}

#[test]
fn ten_thousand_columns_load_quickly() {
    let width = 10_000;
    let header: Vec<String> = (0..width).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..width).map(|i| i.to_string()).collect();
    let mut data = header.join(",");
    for _ in 0..50 {
        data.push('\n');
        data.push_str(&row.join(","));
    }
    let started = Instant::now();
    let table = ok(data.as_bytes());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(table.frame.shape(), (50, width));
    assert_eq!(ints(&table, "c9999"), vec![9999; 50]);
}

// --- output -------------------------------------------------------------------

#[test]
fn load_to_arrow_writes_the_same_table_and_leaves_nothing_on_error() {
    let dir = Scratch::new("to-arrow");
    let csv = dir.join("t.csv");
    std::fs::write(&csv, b"a,b,c\n1,x,0.5\n2,NA,\n3,y,1e3\n").unwrap();
    let out = dir.join("t.arrow");
    let (table, written) = load_to_arrow(&csv, &out, &Limits::default()).unwrap();
    assert_eq!(written, std::fs::metadata(&out).unwrap().len());
    let back = IpcReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(back.shape(), (3, 3));
    assert!(back.equals_missing(&table.frame));

    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, b"a,b\n1,2\n3,4,5,6\n").unwrap();
    let bad_out = dir.join("ragged.arrow");
    assert!(load_to_arrow(&ragged, &bad_out, &Limits::default()).is_err());
    assert!(!bad_out.exists(), "a failed load leaves no Arrow file");
}

#[test]
fn load_from_disk_and_write_arrow_ipc() {
    let dir = Scratch::new("ipc");
    let csv = dir.join("t.csv");
    std::fs::write(&csv, b"a,b\n1,x\n2,NA\n").unwrap();
    let mut table = load(&csv, &Limits::default()).unwrap();
    assert_eq!(table.source_bytes, 13);
    let out = dir.join("t.arrow");
    let written = write_arrow_ipc(&mut table, &out).unwrap();
    assert_eq!(written, std::fs::metadata(&out).unwrap().len());

    let back = IpcReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(back.shape(), (2, 2));
    assert_eq!(back.column("b").unwrap().null_count(), 1);
}

#[test]
fn cli_prints_a_summary_or_the_error() {
    let dir = Scratch::new("cli");
    let csv = dir.join("c.csv");
    std::fs::write(&csv, b"x,y\nr,1,2\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_csv2arrow"))
        .arg(&csv)
        .arg(dir.join("c.arrow"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(r#"{"rows":1,"columns":2,"encoding":"utf-8","index_columns":1,"#),
        "{stdout}"
    );

    std::fs::write(&csv, b"").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_csv2arrow"))
        .arg(&csv)
        .arg(dir.join("c.arrow"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "File is empty: c.csv\n"
    );
}

/// A column that looks numeric in the first rows (so polars parses it
/// typed) with `late` in row 1500; `g` is a plain int guard column.
fn late_value(first: &str, late: &str) -> LoadedTable {
    let mut csv = String::from("a,g\n");
    for i in 0..1600 {
        let cell = if i == 1500 { late } else { first };
        csv.push_str(&format!("{cell},{i}\n"));
    }
    ok(csv.as_bytes())
}

// Expectations checked against pandas 3.1 pd.read_csv.
#[test]
fn typed_fast_path_falls_back_where_pandas_differs() {
    use PandasDtype::*;
    let cases: [(&str, &str, PandasDtype); 16] = [
        ("1", "2", Int64),
        ("1", " 5", Int64),
        ("1", "+5", Int64),
        ("1", "\"5\"", Int64),
        ("1", "1.5", Float64),
        ("1", "NA", Float64),
        ("1", "", Float64),
        ("1", "  ", Str),
        ("1", "9223372036854775808", UInt64),
        ("1.5", " inf", Str),
        ("1.5", "inf", Float64),
        ("1.5", "NAN", Str),
        ("1.5", "nan", Float64),
        ("1.5", "18446744073709551616", Float64),
        ("1.5", "1e400", Float64),
        ("1.5", "x", Str),
    ];
    for (first, late, dtype) in cases {
        let table = late_value(first, late);
        assert_eq!(
            table.pandas_dtypes,
            [dtype, Int64],
            "{first:?} then {late:?}"
        );
        assert_eq!(table.frame.height(), 1600);
    }
    let floats = late_value("-0", "2.5");
    let a = floats.frame.column("a").unwrap().f64().unwrap();
    assert!(a.get(0).unwrap().is_sign_negative());
    assert_eq!(a.get(1500), Some(2.5));
    let ints = late_value("7", " 8");
    assert_eq!(
        ints.frame.column("a").unwrap().i64().unwrap().get(1500),
        Some(8)
    );
}

/// Every column kind the writer emits (int64, uint64, float64, bool,
/// nullable bool, text with nulls, huge ints as text), read back by polars
/// from a table big enough to come from several reader chunks.
#[test]
fn arrow_ipc_round_trips_every_column_kind() {
    let dir = Scratch::new("ipc-kinds");
    let csv = dir.join("k.csv");
    let mut data = String::from("i,u,f,b,bn,s,h\n");
    for r in 0..50_000u64 {
        let bn = if r % 3 == 0 { "NA" } else { "False" };
        let s = if r % 5 == 0 {
            "NA".to_string()
        } else {
            format!("text {r} é")
        };
        data.push_str(&format!(
            "{r},{},{}.5,{},{bn},{s},9999999999999999999999{r}\n",
            9_223_372_036_854_775_808u64 + r,
            r,
            r % 2 == 0,
        ));
    }
    std::fs::write(&csv, &data).unwrap();
    let mut table = load(&csv, &Limits::default()).unwrap();
    use PandasDtype::*;
    assert_eq!(
        table.pandas_dtypes,
        [Int64, UInt64, Float64, Bool, Object, Str, Object]
    );
    let out = dir.join("k.arrow");
    let written = write_arrow_ipc(&mut table, &out).unwrap();
    assert_eq!(written, std::fs::metadata(&out).unwrap().len());
    let back = IpcReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert!(back.equals_missing(&table.frame), "{back:?}");
    assert_eq!(back.column("bn").unwrap().null_count(), 16_667);
    assert_eq!(back.column("s").unwrap().null_count(), 10_000);
}

#[test]
fn typed_fast_path_with_nulls_in_every_column() {
    use PandasDtype::*;
    let mut csv = String::from("a,b,c\n");
    for i in 0..1500 {
        csv.push_str(&format!("{i},{i}.5,{i}\n"));
    }
    csv.push_str(",NA,\n7,,8\n");
    let table = ok(csv.as_bytes());
    assert_eq!(table.pandas_dtypes, [Float64, Float64, Float64]);
    assert_eq!(table.frame.height(), 1502);
    // A blank line among them is still skipped.
    csv.push_str("\n  \n9,1,2\n");
    let table = ok(csv.as_bytes());
    assert_eq!(table.frame.height(), 1503);
}

#[test]
fn typed_fast_path_still_reports_a_late_ragged_row() {
    let rows: String = (0..3000).map(|i| format!("{i},{i}.5\n")).collect();
    let csv = format!("a,b\n{rows}1,2,3\n{rows}");
    assert_eq!(
        err(csv.as_bytes(), "t.csv"),
        "Error parsing CSV: line 3002 has 3 fields, but the header has 2 (t.csv)"
    );
}
