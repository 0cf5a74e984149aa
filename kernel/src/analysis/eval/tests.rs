//! `%eval`'s scoring, argument parsing and summary table.

use super::scoring::score;
use super::*;

fn answers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn scoring_follows_dabench() {
    let want = answers(&[("mean_fare", "34.65"), ("n", "891")]);
    assert!(score("@mean_fare[34.65]\n@n[891]", &want));
    assert!(score("@mean_fare[34.650000] @n[891.0]", &want));
    assert!(!score("@mean_fare[34.66] @n[891]", &want));
    assert!(
        !score("@mean_fare[34.65]", &want),
        "every sub-answer is needed"
    );
    // The last occurrence of a name wins.
    assert!(score("@n[1] @mean_fare[34.65]\n@n[891]", &want));
    assert!(!score("@n[891] @mean_fare[34.65]\n@n[1]", &want));
    assert!(score(
        "@name[Mr. Smith]",
        &answers(&[("name", "Mr. Smith")])
    ));
    assert!(!score("", &want));
}

#[test]
fn arguments_parse_with_clear_errors() {
    let a = parse_args("q.jsonl --labels l.jsonl --tables t --ids 1,2 --limit 5").unwrap();
    assert_eq!(a.ids, Some(vec![1, 2]));
    assert_eq!(a.limit, Some(5));
    assert!(parse_args("q.jsonl --tables t")
        .unwrap_err()
        .contains("--labels"));
    assert!(parse_args("q.jsonl --labels l --tables t --ids x")
        .unwrap_err()
        .contains("--ids"));
    assert!(parse_args("").unwrap_err().starts_with("Usage"));
}

#[test]
fn summary_reports_levels_and_misses() {
    let row = |id, level: &str, ok| Scored {
        id,
        level: level.into(),
        ok,
        calls: 2,
        tokens: 1000,
        seconds: 10.0,
        why: String::new(),
        code: String::new(),
        answer: String::new(),
    };
    let s = summary(
        &[
            row(1, "easy", true),
            row(2, "easy", false),
            row(3, "hard", true),
        ],
        "m",
    );
    assert!(s.contains("easy            2      1       50.0%"), "{s}");
    assert!(s.contains("all             3      2       66.7%"), "{s}");
    assert!(s.contains("missed ids: 2"), "{s}");
    assert!(s.contains("2.00 model calls"), "{s}");
}
