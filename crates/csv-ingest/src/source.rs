//! Checks on the raw bytes before any CSV parsing: extension, emptiness,
//! binary content, and the text encoding.

use std::borrow::Cow;

use crate::LoadError;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// How far to look for a NUL byte; text files never contain one.
const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// The field separator implied by the file name, or `WrongExtension`.
///
/// `.tsv` gets a tab: that is what the user means, even though plain
/// `pd.read_csv` would split on commas.
pub(crate) fn separator_for(name: &str) -> Result<u8, LoadError> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") | Some("txt") => Ok(b','),
        Some("tsv") => Ok(b'\t'),
        _ => Err(LoadError::WrongExtension {
            name: name.to_string(),
        }),
    }
}

/// Zero bytes, or nothing but whitespace.
pub(crate) fn check_not_empty(bytes: &[u8], name: &str) -> Result<(), LoadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::Empty {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// A NUL byte near the start means a spreadsheet, archive or UTF-16 file.
pub(crate) fn check_not_binary(bytes: &[u8], name: &str) -> Result<(), LoadError> {
    let head = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    match memchr::memchr(0, head) {
        Some(offset) => Err(LoadError::Binary {
            name: name.to_string(),
            offset,
        }),
        None => Ok(()),
    }
}

/// UTF-8 text ready for parsing, and the encoding it was found in.
pub(crate) struct Decoded<'a> {
    pub text: Cow<'a, [u8]>,
    pub encoding: &'static str,
}

/// UTF-8 (borrowed, no copy), UTF-8 with a BOM (BOM dropped so it does not
/// end up in the first column name), else latin-1 transcoded to UTF-8.
///
/// Latin-1 is the fallback because every byte sequence is valid latin-1, so
/// the load never fails on encoding; it is what `pd.read_csv(path,
/// encoding="latin-1")` would give.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        if is_utf8(rest) {
            return Decoded {
                text: Cow::Borrowed(rest),
                encoding: "utf-8-sig",
            };
        }
    } else if is_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(bytes),
            encoding: "utf-8",
        };
    }
    Decoded {
        text: Cow::Owned(latin1_to_utf8(bytes)),
        encoding: "latin-1",
    }
}

/// Big inputs are checked in two halves in parallel, split at a line break:
/// an ASCII byte never sits inside a multi-byte character, so the whole is
/// UTF-8 exactly when both halves are.
fn is_utf8(bytes: &[u8]) -> bool {
    const PARALLEL_FROM: usize = 1 << 20;
    let valid = |part: &[u8]| simdutf8::basic::from_utf8(part).is_ok();
    let split = (bytes.len() >= PARALLEL_FROM)
        .then(|| memchr::memchr(b'\n', &bytes[bytes.len() / 2..]))
        .flatten()
        .map(|i| bytes.len() / 2 + i);
    match split {
        Some(at) => {
            let (first, second) = rayon::join(|| valid(&bytes[..at]), || valid(&bytes[at..]));
            first && second
        }
        None => valid(bytes),
    }
}

/// Latin-1 byte `b` is code point `b`, so this is a fixed two-byte expansion
/// of the high half.
fn latin1_to_utf8(bytes: &[u8]) -> Vec<u8> {
    let high = bytes.iter().filter(|b| **b >= 0x80).count();
    let mut out = Vec::with_capacity(bytes.len() + high);
    for &b in bytes {
        if b < 0x80 {
            out.push(b);
        } else {
            out.push(0xC0 | (b >> 6));
            out.push(0x80 | (b & 0x3F));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_follows_extension_case_insensitively() {
        assert_eq!(separator_for("a.CSV").unwrap(), b',');
        assert_eq!(separator_for("a.txt").unwrap(), b',');
        assert_eq!(separator_for("a.Tsv").unwrap(), b'\t');
        assert!(separator_for("a.xlsx").is_err());
        assert!(separator_for("csv").is_err());
    }

    #[test]
    fn latin1_maps_each_byte_to_its_code_point() {
        let all: Vec<u8> = (1..=255).collect();
        let expected: String = all.iter().map(|&b| b as char).collect();
        assert_eq!(latin1_to_utf8(&all), expected.as_bytes());
    }

    #[test]
    fn big_inputs_are_checked_in_halves() {
        let mut text = "café,1\n".repeat(300_000).into_bytes();
        assert!(is_utf8(&text));
        let last = text.len() - 3;
        text[last] = 0xE9; // a latin-1 byte in the second half
        assert!(!is_utf8(&text));
    }

    #[test]
    fn decode_picks_encoding() {
        assert_eq!(decode(b"a,b\n").encoding, "utf-8");
        let bom = decode(b"\xEF\xBB\xBFa\n");
        assert_eq!((bom.encoding, &bom.text[..]), ("utf-8-sig", &b"a\n"[..]));
        let latin = decode(b"caf\xE9\n");
        assert_eq!(
            (latin.encoding, &latin.text[..]),
            ("latin-1", "café\n".as_bytes())
        );
    }
}
