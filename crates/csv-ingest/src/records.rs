//! A small record scanner that follows pandas' C tokenizer rules.
//!
//! polars does the bulk parsing; this scanner reads the header and the first
//! data row, and handles the rare files polars reads differently from
//! pandas (blank lines, CR line endings, text after a closing quote, rows
//! with too many fields), by rewriting them into plain CSV.

use crate::LoadError;

const QUOTE: u8 = b'"';

/// The unquoted fields of one record, stored in one buffer.
#[derive(Default)]
pub(crate) struct Fields {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.get(i))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
    }
}

/// Walks records in `data`, tracking line numbers the way pandas reports
/// them: 1-based, counting line breaks outside quotes (blank lines count,
/// line breaks inside quoted fields do not).
pub(crate) struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    sep: u8,
}

impl<'a> Scanner<'a> {
    pub fn new(data: &'a [u8], sep: u8) -> Self {
        Scanner {
            data,
            pos: 0,
            line: 1,
            sep,
        }
    }

    /// Resume scanning at a byte offset previously returned by `position`.
    pub fn resume(data: &'a [u8], sep: u8, pos: usize, line: u64) -> Self {
        Scanner {
            data,
            pos,
            line,
            sep,
        }
    }

    /// Byte offset and line number of the next unread record (after
    /// skipping blank lines, so it is where that record really starts).
    pub fn position(&mut self) -> (usize, u64) {
        self.skip_blank_lines();
        (self.pos, self.line)
    }

    /// Read the next record into `fields`, returning the line it starts on,
    /// or `None` at the end of the data.
    pub fn next_record(&mut self, fields: &mut Fields) -> Result<Option<u64>, LoadError> {
        self.skip_blank_lines();
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let line = self.line;
        fields.clear();
        loop {
            if self.data.get(self.pos) == Some(&QUOTE) {
                self.read_quoted(fields, line)?;
            }
            self.read_unquoted(fields);
            fields.end_field();
            match self.data.get(self.pos) {
                Some(&b) if b == self.sep => self.pos += 1,
                Some(_) => {
                    self.eat_line_break();
                    return Ok(Some(line));
                }
                None => return Ok(Some(line)),
            }
        }
    }

    /// pandas (skip_blank_lines=True) drops empty lines and lines holding
    /// only spaces/tabs; a tab is not blank when it is the separator.
    fn skip_blank_lines(&mut self) {
        loop {
            let rest = &self.data[self.pos..];
            let blank = rest
                .iter()
                .take_while(|&&b| (b == b' ' || b == b'\t') && b != self.sep)
                .count();
            match rest.get(blank) {
                None => {
                    self.pos = self.data.len();
                    return;
                }
                Some(b'\n') | Some(b'\r') => {
                    self.pos += blank;
                    self.eat_line_break();
                }
                Some(_) => return,
            }
        }
    }

    /// `\n`, `\r\n` and a lone `\r` all end a line, as in pandas.
    fn eat_line_break(&mut self) {
        match self.data.get(self.pos) {
            Some(b'\n') => self.pos += 1,
            Some(b'\r') => {
                self.pos += 1;
                if self.data.get(self.pos) == Some(&b'\n') {
                    self.pos += 1;
                }
            }
            _ => return,
        }
        self.line += 1;
    }

    /// From an opening quote up to its closing quote; `""` is a literal quote.
    fn read_quoted(&mut self, fields: &mut Fields, line: u64) -> Result<(), LoadError> {
        self.pos += 1;
        loop {
            let rest = &self.data[self.pos..];
            let Some(q) = memchr::memchr(QUOTE, rest) else {
                return Err(LoadError::Parse(format!(
                    "a quoted field starting on line {line} is never closed (missing \")"
                )));
            };
            fields.bytes.extend_from_slice(&rest[..q]);
            self.pos += q + 1;
            if self.data.get(self.pos) == Some(&QUOTE) {
                fields.bytes.push(QUOTE);
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }

    /// Up to the next separator or line break; quotes here are literal,
    /// which is also how pandas treats text after a closing quote.
    fn read_unquoted(&mut self, fields: &mut Fields) {
        let rest = &self.data[self.pos..];
        let end = memchr::memchr3(self.sep, b'\n', b'\r', rest).unwrap_or(rest.len());
        fields.bytes.extend_from_slice(&rest[..end]);
        self.pos += end;
    }
}

/// Re-emit the records from `start` on as plain CSV polars reads exactly as
/// pandas would: `\n` line ends, no blank lines, quotes only where needed.
/// Fails with `Ragged` on the first record wider than `width`.
pub(crate) struct Rewrite<'a> {
    pub data: &'a [u8],
    pub sep: u8,
    pub start: usize,
    pub start_line: u64,
    pub width: usize,
    pub index_columns: usize,
    pub name: &'a str,
}

impl Rewrite<'_> {
    pub fn run(&self) -> Result<Vec<u8>, LoadError> {
        let mut out = Vec::with_capacity(self.data.len() - self.start + 1024);
        let mut scanner = Scanner::resume(self.data, self.sep, self.start, self.start_line);
        let mut fields = Fields::default();
        while let Some(line) = scanner.next_record(&mut fields)? {
            if fields.len() > self.width {
                return Err(LoadError::Ragged {
                    line,
                    found: fields.len(),
                    expected: self.width,
                    index_columns: self.index_columns,
                    name: self.name.to_string(),
                });
            }
            self.write_record(&fields, &mut out);
        }
        Ok(out)
    }

    fn write_record(&self, fields: &Fields, out: &mut Vec<u8>) {
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(self.sep);
            }
            write_field(field, self.sep, out);
        }
        out.push(b'\n');
    }
}

fn write_field(field: &[u8], sep: u8, out: &mut Vec<u8>) {
    let needs_quotes = field
        .iter()
        .any(|&b| b == sep || b == QUOTE || b == b'\n' || b == b'\r');
    if !needs_quotes {
        out.extend_from_slice(field);
        return;
    }
    out.push(QUOTE);
    for &b in field {
        if b == QUOTE {
            out.push(QUOTE);
        }
        out.push(b);
    }
    out.push(QUOTE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(data: &str) -> Vec<(u64, Vec<String>)> {
        let mut scanner = Scanner::new(data.as_bytes(), b',');
        let mut fields = Fields::default();
        let mut out = Vec::new();
        while let Some(line) = scanner.next_record(&mut fields).unwrap() {
            let row = fields
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((line, row));
        }
        out
    }

    #[test]
    fn splits_quoted_fields_like_pandas() {
        let got = records("a,\"b,c\",\"he said \"\"hi\"\"\"\n\"x\ny\",\"ab\"cd,e\"f\n");
        assert_eq!(
            got[0],
            (1, vec!["a".into(), "b,c".into(), "he said \"hi\"".into()])
        );
        assert_eq!(
            got[1],
            (2, vec!["x\ny".into(), "abcd".into(), "e\"f".into()])
        );
    }

    #[test]
    fn skips_blank_lines_but_counts_them() {
        let got = records("\n\na,b\r\n  \r\n\t\n1,2\r3,4");
        let lines: Vec<u64> = got.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![3, 6, 7]);
        assert_eq!(got[2].1, vec!["3", "4"]);
    }

    #[test]
    fn keeps_leading_whitespace_of_a_real_record() {
        assert_eq!(records("  ,1\n")[0].1, vec!["  ", "1"]);
    }

    #[test]
    fn trailing_separator_adds_an_empty_field() {
        assert_eq!(records("1,2,\n")[0].1, vec!["1", "2", ""]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let mut scanner = Scanner::new(b"a\n\"x,1\n", b',');
        let mut fields = Fields::default();
        scanner.next_record(&mut fields).unwrap();
        let err = scanner.next_record(&mut fields).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn rewrite_normalises_and_reports_ragged_lines() {
        let data = b"a,b\r\r1,\"x\r\ny\"\r\r3,4\r";
        let rewrite = Rewrite {
            data,
            sep: b',',
            start: 4,
            start_line: 2,
            width: 2,
            index_columns: 0,
            name: "t.csv",
        };
        assert_eq!(rewrite.run().unwrap(), b"1,\"x\r\ny\"\n3,4\n");
        let narrow = Rewrite {
            width: 1,
            ..rewrite
        };
        let err = narrow.run().unwrap_err().to_string();
        assert_eq!(
            err,
            "Error parsing CSV: line 3 has 2 fields, but the header has 1 (t.csv)"
        );
    }
}
