//! `%history`'s argument parsing and how hostile stored values stay inert.

use super::args::parse_since;
use super::export::{csv_row, spreadsheet_safe};
use super::table::plain;
use super::*;

#[test]
fn arguments_parse_or_say_what_to_do() {
    assert_eq!(
        parse_args("").unwrap(),
        HistoryArgs::Notebook {
            all: false,
            export: false
        }
    );
    assert_eq!(
        parse_args("--all --export").unwrap(),
        HistoryArgs::Notebook {
            all: true,
            export: true
        }
    );
    let HistoryArgs::Everywhere { query, export } = parse_args(
        "--everywhere --model m --since 2024-03-01 --errors --replayed --export 'a b.csv'",
    )
    .unwrap() else {
        panic!("not everywhere")
    };
    assert_eq!(query.model.as_deref(), Some("m"));
    assert_eq!(
        query.since,
        Some(parse_since("2024-03-01T00:00:00Z").unwrap())
    );
    assert!(query.errors_only && query.replayed_only);
    assert_eq!(export.as_deref(), Some("a b.csv"));
    for (bad, says) in [
        ("--everywhere --bogus", "Unknown"),
        ("--everywhere --since yesterday", "--since needs a date"),
        ("--everywhere --since", "--since needs a date"),
        ("--everywhere --model --errors", "--model needs"),
        ("--errors", "with --everywhere"),
        ("--export x.csv", "only with --everywhere"),
        ("--everywhere --export", "needs a file name"),
        ("--all --everywhere", "exclude each other"),
        ("--everywhere --export 'x.csv", "not closed"),
    ] {
        let e = parse_args(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn since_takes_dates_and_iso_datetimes() {
    let t = |s| parse_since(s).unwrap().to_rfc3339();
    assert_eq!(t("2024-03-01"), "2024-03-01T00:00:00+00:00");
    assert_eq!(t("2024-03-01T14:30"), "2024-03-01T14:30:00+00:00");
    assert_eq!(t("2024-03-01T14:30:00+02:00"), "2024-03-01T12:30:00+00:00");
    assert_eq!(t("2024-03-01 14:30:05.5"), "2024-03-01T14:30:05.500+00:00");
    assert!(parse_since("2024-13-01").is_err());
}

#[test]
fn hostile_values_stay_inert() {
    assert_eq!(plain("a\nb\x1b[31mc", 100), "a b [31mc");
    assert_eq!(plain("abcdef", 3), "abc…");
    assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    assert_eq!(spreadsheet_safe("plain"), "plain");
    assert_eq!(
        csv_row(["a,b".into(), "q\"x".into(), "l1\nl2".into(), "n".into()]),
        "\"a,b\",\"q\"\"x\",\"l1\nl2\",n\r\n"
    );
}
