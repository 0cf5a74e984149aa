//! Column names resolved without the model, and printed answers read as the answer.

use super::answer::answer_text;
use super::fixes::{resolve_case, resolve_spacing};
use super::*;
use serde_json::json;

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn spaced_headers_are_resolved_and_stated() {
    let columns = cols(&["DATE TIME", " WINDSPEED", " BARO"]);
    let (code, notes) = resolve_spacing(
        "result = df['BARO'].mean() + df[\"WINDSPEED\"].max()",
        &columns,
    );
    assert_eq!(code, "result = df[' BARO'].mean() + df[' WINDSPEED'].max()");
    assert_eq!(notes.len(), 2);
    assert!(notes[0].contains("' BARO'"), "{notes:?}");
    // Exact names and unrelated strings are left alone.
    let (same, none) = resolve_spacing("result = df['DATE TIME'].min(); x = 'mean'", &columns);
    assert_eq!(same, "result = df['DATE TIME'].min(); x = 'mean'");
    assert!(none.is_empty());
}

#[test]
fn case_is_resolved_only_after_a_key_error() {
    let columns = cols(&["Revenue", "region"]);
    let err = json!({"ename": "KeyError", "evalue": "'revenue'"});
    let (code, note) = resolve_case("result = df['revenue'].sum()", &err, &columns).unwrap();
    assert_eq!(code, "result = df['Revenue'].sum()");
    assert!(note.contains("'Revenue'"));
    let ambiguous = cols(&["Revenue", "REVENUE"]);
    assert!(resolve_case("result = df['revenue'].sum()", &err, &ambiguous).is_none());
    let other = json!({"ename": "ValueError", "evalue": "'revenue'"});
    assert!(resolve_case("result = df['revenue'].sum()", &other, &columns).is_none());
}

#[test]
fn underscores_and_hyphens_read_as_spaces_after_a_key_error() {
    let columns = cols(&["wind speed", "Max-Temp", "date"]);
    let err = json!({"ename": "KeyError", "evalue": "'wind_speed'"});
    let (code, note) = resolve_case("result = df['wind_speed'].mean()", &err, &columns).unwrap();
    assert_eq!(code, "result = df['wind speed'].mean()");
    assert!(note.contains("'wind speed'"), "{note}");
    let err = json!({"ename": "KeyError", "evalue": "'max temp'"});
    let (code, _) = resolve_case("result = df['max temp'].max()", &err, &columns).unwrap();
    assert_eq!(code, "result = df['Max-Temp'].max()");
    // Separators are not letters: 'windspeed' is another name.
    let err = json!({"ename": "KeyError", "evalue": "'windspeed'"});
    assert!(resolve_case("result = df['windspeed'].mean()", &err, &columns).is_none());
}

#[test]
fn printed_answers_count_as_the_answer() {
    let outputs = vec![Output::Stream {
        name: "stdout".into(),
        text: "@mean[4.2]\n".into(),
    }];
    let value = json!({"result_type": "NoneType", "for_interpretation": "None"});
    assert_eq!(answer_text(&value, &outputs), "@mean[4.2]\n");
    assert_eq!(answer_text(&value, &[]), "");
}
