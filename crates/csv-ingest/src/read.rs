//! Reading the CSV body into all-string columns with polars' multi-threaded
//! reader, falling back to a pandas-faithful rewrite when polars would read
//! the file differently.

use std::io::Cursor;

use polars::prelude::*;

use crate::records::{Fields, Rewrite, Scanner};
use crate::LoadError;

/// Where the header and data are, found by scanning only the first two
/// records.
pub(crate) struct Layout {
    pub header: Vec<String>,
    /// Field count of the first data row; more than the header means
    /// pandas' implicit index.
    pub first_row_fields: usize,
    /// Byte offset and line number of the first data row.
    pub body_start: usize,
    pub body_line: u64,
}

pub(crate) fn read_layout(text: &[u8], sep: u8, name: &str) -> Result<Layout, LoadError> {
    let mut scanner = Scanner::new(text, sep);
    let mut fields = Fields::default();
    if scanner.next_record(&mut fields)?.is_none() {
        return Err(LoadError::NoColumns);
    }
    let header = fields
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let (body_start, body_line) = scanner.position();
    if scanner.next_record(&mut fields)?.is_none() {
        return Err(LoadError::HeaderOnly {
            name: name.to_string(),
        });
    }
    Ok(Layout {
        header,
        first_row_fields: fields.len(),
        body_start,
        body_line,
    })
}

/// What `read_strings` needs besides the text.
pub(crate) struct Body<'a> {
    pub text: &'a [u8],
    pub layout: &'a Layout,
    pub sep: u8,
    /// Frame column names (index columns first); also the allowed width.
    pub names: &'a [String],
    pub index_columns: usize,
    pub name: &'a str,
}

impl Body<'_> {
    /// All columns as nullable strings (empty fields are null).
    ///
    /// The fast path hands the bytes to polars untouched. When polars fails
    /// (e.g. a row too wide) or the input has features polars reads
    /// differently from pandas (lone `\r` line ends, quotes inside unquoted
    /// fields, blank lines), the body is rewritten record by record with
    /// pandas' tokenizer rules and read again; that rewrite is also what
    /// reports ragged rows with a line number.
    pub fn read_strings(&self) -> Result<DataFrame, LoadError> {
        let body = &self.text[self.layout.body_start..];
        if self.polars_reads_like_pandas(body) {
            if let Ok(frame) = self.polars_read(body) {
                if !has_blank_line_rows(&frame) {
                    return Ok(frame);
                }
            }
        }
        let rewritten = self.rewrite()?;
        self.polars_read(&rewritten)
            .map_err(|e| LoadError::Parse(format!("{e} ({})", self.name)))
    }

    /// Input features polars reads differently from pandas, found without
    /// tokenizing: lone `\r` line ends, stray quotes, and a final line
    /// ending in a separator with no line break after it (polars drops that
    /// empty last field, so a too-wide row would go unnoticed).
    fn polars_reads_like_pandas(&self, body: &[u8]) -> bool {
        if body.last() == Some(&self.sep) {
            return false;
        }
        // Two independent scans of the whole body: one per core.
        let (lone_cr, irregular) = rayon::join(
            || has_lone_cr(body),
            || has_irregular_quotes(body, self.sep),
        );
        !lone_cr && !irregular
    }

    fn rewrite(&self) -> Result<Vec<u8>, LoadError> {
        Rewrite {
            data: self.text,
            sep: self.sep,
            start: self.layout.body_start,
            start_line: self.layout.body_line,
            width: self.names.len(),
            index_columns: self.index_columns,
            name: self.name,
        }
        .run()
    }

    fn polars_read(&self, bytes: &[u8]) -> PolarsResult<DataFrame> {
        let types = vec![DataType::String; self.names.len()];
        self.polars_read_as(bytes, &types, None)
    }

    /// The body read with polars as `types` (one per frame column). Typed
    /// cells polars cannot parse become null (`ignore_errors`), so the
    /// caller must check typed columns for nulls. `projection` limits the
    /// columns built.
    pub fn polars_read_as(
        &self,
        bytes: &[u8],
        types: &[DataType],
        projection: Option<Vec<usize>>,
    ) -> PolarsResult<DataFrame> {
        let schema: Schema = self
            .names
            .iter()
            .zip(types)
            .map(|(n, t)| Field::new(n.as_str().into(), t.clone()))
            .collect();
        let sep = self.sep;
        let typed = types.iter().any(|t| *t != DataType::String);
        // Without quotes in the data, polars' faster unquoted splitter
        // gives the same records.
        let quote = memchr::memchr(b'"', bytes).map(|_| b'"');
        CsvReadOptions::default()
            .with_has_header(false)
            .with_schema(Some(Arc::new(schema)))
            .with_infer_schema_length(Some(0))
            .with_raise_if_empty(false)
            .with_ignore_errors(typed)
            .with_projection(projection.map(Arc::new))
            .map_parse_options(|p| {
                p.with_separator(sep)
                    .with_quote_char(quote)
                    .with_missing_is_null(true)
            })
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    }

    /// The body as-is, when polars reads it like pandas (see
    /// `polars_reads_like_pandas`); `None` when it needs the rewrite.
    pub fn plain_body(&self) -> Option<&[u8]> {
        let body = &self.text[self.layout.body_start..];
        self.polars_reads_like_pandas(body).then_some(body)
    }
}

/// polars only knows `\n`; pandas also ends lines at a lone `\r` (old Mac
/// files). CRLF is fine for polars.
fn has_lone_cr(body: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', body).any(|i| body.get(i + 1) != Some(&b'\n'))
}

/// True unless every quote opens a field, closes it (followed by a
/// separator or line end), or is doubled inside it. Other quotes (`5'10"`
/// in an unquoted field, text after a closing quote, an unclosed quote) are
/// literal text to pandas, but polars' line splitter treats every quote as
/// a toggle, which can merge or shift rows.
///
/// Big inputs are scanned in two halves in parallel, the second half
/// assuming it starts outside quotes; if the first half ends inside a
/// quoted field that guess was wrong and the whole body is rescanned.
fn has_irregular_quotes(body: &[u8], sep: u8) -> bool {
    const PARALLEL_FROM: usize = 1 << 20;
    let split = (body.len() >= PARALLEL_FROM)
        .then(|| memchr::memchr(b'\n', &body[body.len() / 2..]))
        .flatten()
        .map(|i| body.len() / 2 + i + 1);
    let Some(split) = split else {
        return scan_quotes(body, sep) != QuoteScan::Regular;
    };
    let (first, second) = rayon::join(
        || scan_quotes(&body[..split], sep),
        || scan_quotes(&body[split..], sep),
    );
    match first {
        QuoteScan::Regular => second != QuoteScan::Regular,
        QuoteScan::Irregular => true,
        QuoteScan::Unclosed => scan_quotes(body, sep) != QuoteScan::Regular,
    }
}

#[derive(Debug, PartialEq)]
enum QuoteScan {
    Regular,
    Irregular,
    /// The data ends inside a quoted field.
    Unclosed,
}

/// Jumps from quote to quote, so data without quotes costs one memchr pass.
fn scan_quotes(data: &[u8], sep: u8) -> QuoteScan {
    let ends_field = |b: u8| b == sep || b == b'\n' || b == b'\r';
    let mut pos = 0;
    while let Some(found) = memchr::memchr(b'"', &data[pos..]) {
        let open = pos + found;
        if open > 0 && !ends_field(data[open - 1]) {
            return QuoteScan::Irregular;
        }
        let mut search = open + 1;
        loop {
            let Some(found) = memchr::memchr(b'"', &data[search..]) else {
                return QuoteScan::Unclosed;
            };
            let close = search + found;
            match data.get(close + 1) {
                Some(b'"') => search = close + 2,
                Some(&b) if !ends_field(b) => return QuoteScan::Irregular,
                _ => {
                    pos = close + 1;
                    break;
                }
            }
        }
    }
    QuoteScan::Regular
}

/// polars turns a blank (or whitespace-only) line into a row; pandas skips
/// it. Such a row is null everywhere except perhaps a blank first cell.
/// Cheap in the usual case: any column without nulls rules it out.
fn has_blank_line_rows(frame: &DataFrame) -> bool {
    let Some((first, rest)) = frame.columns().split_first() else {
        return false;
    };
    if rest.iter().any(|c| c.null_count() == 0) {
        return false;
    }
    let first = first.str().expect("string schema");
    let is_blank = |cell: Option<&str>| {
        cell.is_none_or(|s| s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')))
    };
    let Some((head, tail)) = rest.split_first() else {
        return first.iter().any(is_blank);
    };
    let mut rest_null = head.is_null();
    for column in tail {
        rest_null = &rest_null & &column.is_null();
    }
    let found = rest_null
        .iter()
        .zip(first.iter())
        .any(|(null, cell)| null == Some(true) && is_blank(cell));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_cr_detection() {
        assert!(!has_lone_cr(b"a,b\r\n1,2\r\n"));
        assert!(has_lone_cr(b"a,b\r1,2\r"));
        assert!(has_lone_cr(b"a,b\n1,x\ry\n"));
    }

    #[test]
    fn irregular_quote_detection() {
        let regular: [&[u8]; 4] = [
            b"1,2\n",
            b"\"a\",\"b,c\"\n\"x\ny\",\"\"\n",
            b"\"he said \"\"hi\"\"\",1\r\n",
            b"\"a\"",
        ];
        for body in regular {
            assert!(!has_irregular_quotes(body, b','), "{body:?}");
        }
        let irregular: [&[u8]; 4] = [b"5'10\",x\n", b"\"ab\"cd,1\n", b"\"x\" ,1\n", b"1,\"open\n"];
        for body in irregular {
            assert!(has_irregular_quotes(body, b','), "{body:?}");
        }
    }

    #[test]
    fn parallel_quote_scan_handles_a_split_inside_quotes() {
        // One quoted field spanning the middle, with a line break inside.
        let mut body = b"1,2\n".repeat(200_000);
        body.extend_from_slice(b"\"multi\nline\",3\n");
        body.extend_from_slice(&b"1,\"x\n\n\ny\"\n".repeat(100_000));
        assert!(!has_irregular_quotes(&body, b','));
        body.extend_from_slice(b"5'10\",4\n");
        assert!(has_irregular_quotes(&body, b','));
    }

    #[test]
    fn layout_skips_leading_blank_lines() {
        let layout = read_layout(b"\n\na,b\n\n1,2,3\n", b',', "t.csv").unwrap();
        assert_eq!(layout.header, ["a", "b"]);
        assert_eq!(layout.first_row_fields, 3);
        assert_eq!((layout.body_start, layout.body_line), (7, 5));
    }
}
