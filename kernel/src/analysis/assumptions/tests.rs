//! The assumption reader's tests (and its speed check, `--ignored`).

use super::words::{fold, key_of, words_of, COMMON};
use super::*;
use serde_json::json;

fn sales() -> Value {
    json!({
        "columns": ["date", "category", "product", "revenue", "price", "quantity",
                    "wind speed", "Name", "order_id"],
        "categories": {"category": ["Electronics", "Furniture", "Clothing"],
                       "product": ["Laptop", "Phone", "Desk"]},
    })
}

fn read1(q: &str) -> Reading {
    read(q, [&sales()])
}

fn lines(r: &Reading) -> Vec<String> {
    r.assumptions.iter().map(Assumption::user_line).collect()
}

#[test]
fn common_words_are_listed_as_compared() {
    for w in COMMON {
        assert_eq!(fold(w), *w, "COMMON holds folded words");
    }
}

#[test]
fn misspelled_values_and_columns_are_read_and_stated() {
    let r = read1("Average reveune for elektronics per month?");
    assert_eq!(
        lines(&r),
        [
            "Read 'reveune' as column 'revenue'.",
            "Read 'elektronics' as category 'Electronics' of column 'category'."
        ]
    );
    assert_eq!(r.columns_of(0), ["revenue", "category"]);
    assert!(r.missing.is_empty());
    let with = model_lines(&r, true);
    assert_eq!(
        with[1],
        "In the question, 'elektronics' means the value 'Electronics' of column 'category'."
    );
    let without = model_lines(&r, false);
    assert_eq!(
        without[1],
        "In the question, 'elektronics' refers to a value of column 'category'."
    );
    assert!(!without.concat().contains("Electronics"));
}

#[test]
fn exact_names_after_folding_are_silent_but_referenced() {
    let r = read1("Mean wind_speed and total Revenues by Category for Order-ID 3");
    assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
    assert_eq!(
        r.columns_of(0),
        ["wind speed", "order_id", "revenue", "category"]
    );
    // A value named exactly refers to its column.
    let r = read1("How many laptops were sold?");
    assert!(r.assumptions.is_empty());
    assert_eq!(r.columns_of(0), ["product"]);
}

#[test]
fn plain_words_are_never_corrected() {
    for q in [
        "Is the same product sold every day?", // same ~ Name
        "Describe the data",                   // data ~ date
        "What is the growth rate?",            // rate ~ date
        "Which order is the largest?",         // order is ~ order_id
        "Show the distribution of prices",     // common words
        "What changed in the states with pricey products?", // pricey ~ price: too short
    ] {
        let r = read1(q);
        assert!(r.assumptions.is_empty(), "{q}: {:?}", r.assumptions);
        assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
    }
}

#[test]
fn a_name_close_to_two_names_is_left_alone() {
    let p = json!({"columns": ["revenue_a", "revenue_b", "quantity"]});
    // "revenue_c" is one letter from both.
    let r = read("Sum of revenue_c", [&p]);
    assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
    let p = json!({"columns": ["recorded", "recorder"]});
    let r = read("How many recordes?", [&p]);
    assert!(r.assumptions.is_empty(), "{:?}", r.assumptions);
    // The same value in two columns is one reading (the first column is named).
    let p =
        json!({"columns": ["a", "b"], "categories": {"a": ["Electronics"], "b": ["Electronics"]}});
    let r = read("count elektronics", [&p]);
    assert_eq!(r.assumptions.len(), 1);
}

#[test]
fn a_quoted_column_that_does_not_exist_is_missing() {
    let r = read1("What is the mean of the 'reveneu_total_eur' column?");
    assert_eq!(r.missing.len(), 1, "{r:?}");
    assert_eq!(r.missing[0].said, "reveneu_total_eur");
    assert_eq!(r.missing[0].nearest.len(), 5);
    assert!(missing_message(&r.missing).contains("no column 'reveneu_total_eur'"));
    for q in [
        "Sum of column 'profit_margin'",
        "Plot df['profit_margin'] over time",
        "Use the column named \"profit_margin\".",
    ] {
        assert_eq!(read1(q).missing.len(), 1, "{q}");
    }
}

#[test]
fn created_names_and_answer_forms_are_not_missing() {
    // DABench 75, 688, 756, 759: a column the question creates, named again later, and
    // values or names inside the @name[...] answer form.
    let p = json!({"columns": ["Date", "Close", "obs_value"], "dtypes": {}});
    for q in [
        "Create a new column called \"Daily Return\" from \"Close\". Calculate the mean of the \"Daily Return\" column.",
        "If there is no correlation, output @correlation_status[\"No significant correlation\"]",
        "@@median_tmax[\"median_TMAX\"]\n@range_tmax[\"range_TMAX\"]",
    ] {
        let r = read(q, [&p]);
        assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
    }
    // A subscript and an explicit column reference still count.
    assert_eq!(read("mean of df['reveneu_total']", [&p]).missing.len(), 1);
    assert_eq!(read("the 'reveneu_total' column", [&p]).missing.len(), 1);
}

#[test]
fn new_columns_and_other_quotes_are_not_missing() {
    for q in [
        "Create a new column 'Title' from the name",
        "Add a feature named 'price_per_unit' and show its mean",
        "Save the ratio as column 'ratio'",
        "Rename column 'price' to 'unit_price'",
        "What's the users' total for 'Q3 2024'?", // not called a column
        "Mean of the 'price' column",             // exists
    ] {
        let r = read1(q);
        assert!(r.missing.is_empty(), "{q}: {:?}", r.missing);
    }
    // Typographic quotes are quotes too.
    let r = read1("Mean of the “profit_margin” column, please");
    assert_eq!(r.missing[0].said, "profit_margin");
    // A quoted near miss is an assumption, not a refusal.
    let r = read1("the 'quantitty' column");
    assert!(r.missing.is_empty());
    assert_eq!(lines(&r), ["Read 'quantitty' as column 'quantity'."]);
}

#[test]
fn several_datasets_keep_their_columns_apart() {
    let other = json!({"columns": ["customer_segment", "date"]});
    let r = read("revenue by custommer_segment", [&sales(), &other]);
    assert_eq!(r.columns_of(0), ["revenue"]);
    assert_eq!(r.columns_of(1), ["customer_segment"]);
    assert_eq!(r.assumptions.len(), 1);
}

// ---- speed: `cargo test --release -p llm-analytics-kernel assumptions -- --ignored --nocapture`

fn wide(n: usize) -> Value {
    let words = [
        "revenue",
        "price",
        "quantity",
        "margin",
        "region",
        "channel",
        "discount",
        "segment",
        "weight",
        "height",
        "temperature",
        "pressure",
        "humidity",
        "velocity",
        "latency",
    ];
    let cols: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{}_{}_{i}",
                words[i % words.len()],
                words[(i / 7) % words.len()]
            )
        })
        .collect();
    let cats: serde_json::Map<String, Value> = (0..40)
        .map(|c| {
            let values: Vec<String> = (0..50).map(|v| format!("Group {c} item {v}")).collect();
            (cols[c].clone(), json!(values))
        })
        .collect();
    json!({"columns": cols, "categories": cats})
}

/// The obvious alternative: every phrase against every name, no sorting or prefilter.
fn naive(question: &str, profile: &Value) -> usize {
    let names: Vec<String> = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .chain(
            profile["categories"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|v| v.as_array().unwrap().iter())
                .map(|v| v.as_str().unwrap().to_string()),
        )
        .collect();
    let keys: Vec<String> = names.iter().map(|n| key_of(n)).collect();
    let toks = tokens(question);
    let mut hits = 0;
    for said in candidates(question, &toks) {
        for key in &keys {
            let n = said.key.chars().count().min(key.chars().count());
            let allowed = if n >= 10 { 2 } else { usize::from(n >= 6) };
            if strsim::damerau_levenshtein(&said.key, key) <= allowed {
                hits += 1;
            }
        }
    }
    hits
}

#[test]
fn keys_fold_like_words() {
    for name in [
        "Wind_Speeds",
        "Order-ID",
        "Statuses",
        "Price ($)",
        "class",
        "İstanbul",
    ] {
        assert_eq!(key_of(name), words_of(name).concat(), "{name}");
    }
}

#[test]
#[ignore]
fn speed_at_2000_columns() {
    let profile = wide(2_000);
    let cols = profile["columns"].as_array().unwrap();
    let named = cols[1499].as_str().unwrap().to_string();
    // A transposition in the first word of the 31st column's name.
    let mut typo: Vec<char> = cols[30].as_str().unwrap().chars().collect();
    typo.swap(2, 3);
    let typo: String = typo.into_iter().collect();
    let questions = [
        format!("What is the average {named} by region for the last quarter?"),
        format!("Compare the mean {typo} across Group 3 item 7 and group 3 item 8"),
        "Which channel has the highest total revenue and how does the discount relate to margin?"
            .to_string(),
    ];
    let rounds = 300;
    let t = std::time::Instant::now();
    let mut found = 0;
    for _ in 0..rounds {
        for q in &questions {
            let r = read(q, [&profile]);
            found += r.referenced.len() + r.assumptions.len();
        }
    }
    let ours = t.elapsed().as_secs_f64() * 1e6 / (rounds * questions.len()) as f64;
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(Index::build([&profile]));
    }
    let build = t.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let t = std::time::Instant::now();
    let naive_rounds = 10;
    let mut hits = 0;
    for _ in 0..naive_rounds {
        for q in &questions {
            hits += naive(q, &profile);
        }
    }
    let all_pairs = t.elapsed().as_secs_f64() * 1e6 / (naive_rounds * questions.len()) as f64;
    println!(
        "assumption matcher: {ours:.0} µs per question at 2,000 columns + 2,000 category values \
         (of which {build:.0} µs building the name index); naive all-pairs Damerau-Levenshtein: \
         {all_pairs:.0} µs per question ({found} names read / {hits} pairs within distance)"
    );
    let r = read(&questions[1], [&profile]);
    assert_eq!(r.assumptions.len(), 1, "{:?}", r.assumptions);
    assert!(read(&questions[0], [&profile])
        .columns_of(0)
        .contains(&named));
}
