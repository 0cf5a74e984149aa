//! The token ledger: every model call counted by kind (code, retry, repair,
//! interpretation), priced when the model's price is known, and held to the budgets
//! (`MAX_TOKENS_PER_QUESTION`, `MAX_COST_PER_SESSION`) before it is made.
//!
//! Endpoints that report no usage (some local servers, streams cut short) get an estimate of
//! four characters per token, marked as estimated wherever it is shown.

mod ledger;
mod prices;

pub use ledger::{Budget, Ledger};
pub use prices::Prices;

use std::collections::BTreeMap;

/// Characters per token for estimates (English and code both come close to it).
const CHARS_PER_TOKEN: usize = 4;

/// Token counts reported by the endpoint (when it reports them).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Why a model call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallKind {
    /// The first code of a question.
    Code,
    /// Code again after a refusal or an answer that was missing or not in the asked form.
    Retry,
    /// Code again after it raised or timed out.
    Repair,
    Interpretation,
}

impl CallKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Retry => "retry",
            Self::Repair => "repair",
            Self::Interpretation => "interpretation",
        }
    }
}

/// Calls and tokens of one kind (or in total).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub calls: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Some of the counts are estimates (the endpoint reported no usage).
    pub estimated: bool,
}

impl Tally {
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    fn add(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.estimated |= other.estimated;
    }
}

pub fn estimate(chars: usize) -> u64 {
    chars.div_ceil(CHARS_PER_TOKEN) as u64
}

/// 1240 → "1,240".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Small amounts keep four decimals ($0.0004); larger ones two.
pub fn dollars(x: f64) -> String {
    if x < 1.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// What this kernel session has spent, across questions.
#[derive(Debug, Clone, Default)]
pub struct SessionUsage {
    pub questions: u32,
    pub total: Tally,
    pub by_kind: BTreeMap<CallKind, Tally>,
    pub cost: f64,
    /// Some calls were to a model without a known price.
    pub unpriced: bool,
}

impl SessionUsage {
    pub fn add(&mut self, ledger: &Ledger) {
        self.questions += 1;
        for (k, t) in &ledger.by_kind {
            self.by_kind.entry(*k).or_default().add(t);
            self.total.add(t);
        }
        match ledger.cost() {
            Some(c) => self.cost += c,
            None => self.unpriced |= ledger.calls() > 0,
        }
    }
}

#[cfg(test)]
mod tests;
