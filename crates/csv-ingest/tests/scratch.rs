use polars::prelude::*;
use std::io::Cursor;

fn read(s: &str, ncols: usize) {
    let fields: Vec<Field> = (0..ncols).map(|i| Field::new(format!("c{i}").into(), DataType::String)).collect();
    let schema = Arc::new(Schema::from_iter(fields));
    let nulls: Vec<PlSmallStr> = ["NA", "\"NA\"", ""].iter().map(|s| (*s).into()).collect();
    let opts = CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(schema))
        .map_parse_options(|p| p.with_null_values(Some(NullValues::AllColumns(nulls.clone()))));
    let r = opts.into_reader_with_file_handle(Cursor::new(s.as_bytes())).finish();
    match r {
        Ok(df) => { println!("{s:?} =>"); for c in df.columns() { let v: Vec<String> = (0..df.height()).map(|i| format!("{:?}", c.get(i).unwrap())).collect(); println!("   {}: {}", c.name(), v.join(" | ")); } },
        Err(e) => println!("{s:?} => ERR {e}"),
    }
}

#[test]
fn scratch() {
    read("1,2\n\n3,4\n", 2);
    read("1,2\n   \n3,4\n", 2);
    read("1,2\n,\n3,4\n", 2);
    read("1,2\r\n3,4\r\n", 2);
    read("1,2\r\n3,\r\n", 2);
    read("\"NA\",2\n\"\",4\n", 2);
    read("ab\"cd,1\n\"ab\"cd,2\n", 2);
    read("\"x\ny\",1\n2,3\n", 2);
    read("1,2,3\n4,5\n", 2);
    read("1,2\n4,5,\n", 2);
    read("1,2\n4\n", 2);
    read("1,2\n4,5", 2);
    read("\"he said \"\"hi\"\"\",1\n", 2);
    read("\n\n1,2\n", 2);
    read("1,2\n\n", 2);
    read("\n", 2);
    read("1,2,3\n4,5\n6,7,8,9\n", 3);
    read("1\n2,3\n", 3);
    read("1,2\r\n\r\n3,4\r\n", 2);
    read("1\n\n2\n", 1);
    read("\"a\"\"\",1\n", 2);
    read("\"x\r\ny\",1\r\n2,3\r\n", 2);
    let s = Series::new("a".into(), &[" 1", "+1", "1.5", "nan", "NAN", "inf", " inf", "1e5", "-0", "0x10", "1_000", "Infinity", "1.", ".5", "1e", "9223372036854775808", "007"]);
    for dt in [DataType::Int64, DataType::Float64, DataType::UInt64] { let c = s.cast(&dt).unwrap(); let v: Vec<String> = (0..c.len()).map(|i| format!("{:?}={:?}", s.get(i).unwrap(), c.get(i).unwrap())).collect(); println!("{dt:?}: {}", v.join(" ")); }
}
