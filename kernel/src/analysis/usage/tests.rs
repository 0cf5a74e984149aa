//! The ledger's counts, prices, estimates and budgets.

use super::prices::Price;
use super::*;
use std::time::Duration;

fn usage(p: u32, c: u32) -> Usage {
    Usage {
        prompt_tokens: p,
        completion_tokens: c,
    }
}

#[test]
fn counts_by_kind_and_prices_known_models() {
    let (prices, _) = Prices::parse(None);
    let mut l = Ledger::new(Budget {
        price: prices.of("gpt-4o-mini-2024-07-18"),
        ..Budget::default()
    });
    l.add(
        CallKind::Code,
        Some(&usage(1000, 200)),
        Duration::ZERO,
        0,
        0,
    );
    l.add(
        CallKind::Interpretation,
        Some(&usage(30, 10)),
        Duration::ZERO,
        0,
        0,
    );
    assert_eq!(l.calls(), 2);
    assert_eq!(l.by_kind[&CallKind::Code].tokens(), 1200);
    // 1030 * 0.15 + 210 * 0.60 per million
    assert!((l.cost().unwrap() - 0.0002805).abs() < 1e-12);
    assert_eq!(l.line(), "2 calls · 1,240 tokens · $0.0003");
    assert_eq!(l.metadata("m")["by_kind"]["code"]["prompt_tokens"], 1000);
}

#[test]
fn unknown_models_show_tokens_only_and_missing_usage_is_estimated() {
    let (prices, _) = Prices::parse(None);
    assert!(prices.of("qwen2.5-coder-1.5b").is_none());
    let mut l = Ledger::default();
    l.add(CallKind::Code, None, Duration::ZERO, 400, 80);
    assert_eq!(l.total().tokens(), 120);
    assert!(l.line().starts_with("1 call · ~120 tokens (estimated"));
}

#[test]
fn custom_prices_override_and_bad_entries_warn() {
    let (prices, warnings) = Prices::parse(Some("gpt-4o=1/2, local=0/0, broken=x"));
    assert_eq!(prices.of("gpt-4o").unwrap().input, 1.0);
    assert_eq!(prices.of("local").unwrap().output, 0.0);
    assert_eq!(prices.of("gpt-4o-mini").unwrap().input, 0.15);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("broken=x"));
}

#[test]
fn budgets_stop_the_call_that_would_exceed_them() {
    let mut l = Ledger::new(Budget {
        max_tokens_per_question: Some(2_000),
        ..Budget::default()
    });
    assert!(l.allow(CallKind::Code, 4_000, 500).is_ok());
    l.add(
        CallKind::Code,
        Some(&usage(1000, 400)),
        Duration::ZERO,
        0,
        0,
    );
    let err = l.allow(CallKind::Repair, 4_000, 500).unwrap_err();
    assert!(err.contains("MAX_TOKENS_PER_QUESTION=2000") && err.contains("repair"));
    let l = Ledger::new(Budget {
        max_cost_per_session: Some(0.01),
        session_cost: 0.0099,
        price: Some(Price {
            input: 1.0,
            output: 1.0,
        }),
        ..Budget::default()
    });
    assert!(l
        .allow(CallKind::Code, 4_000, 500)
        .unwrap_err()
        .contains("MAX_COST_PER_SESSION"));
}

#[test]
fn groups_thousands() {
    assert_eq!(group(1_234_567), "1,234,567");
    assert_eq!(group(12), "12");
}
