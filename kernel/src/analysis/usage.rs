//! The token ledger: every model call counted by kind (code, retry, repair,
//! interpretation), priced when the model's price is known, and held to the budgets
//! (`MAX_TOKENS_PER_QUESTION`, `MAX_COST_PER_SESSION`) before it is made.
//!
//! Endpoints that report no usage (some local servers, streams cut short) get an estimate of
//! four characters per token, marked as estimated wherever it is shown.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

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

/// Dollars per million tokens, input and output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, t: &Tally) -> f64 {
        (t.prompt_tokens as f64 * self.input + t.completion_tokens as f64 * self.output) / 1e6
    }
}

/// List prices of common OpenAI models (USD per 1M tokens, input/output), checked 2026-12.
/// Dated snapshots (`gpt-4o-mini-2024-07-18`) match by the longest listed prefix.
const DEFAULT_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-4", 30.00, 60.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o4-mini", 1.10, 4.40),
    ("o3-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
];

/// Per-model prices: the defaults, overridden or extended by the `LLM_ANALYTICS_PRICES`
/// setting (`model=input/output[,model=input/output]`, USD per million tokens).
#[derive(Debug, Clone, Default)]
pub struct Prices {
    custom: Vec<(String, Price)>,
}

impl Prices {
    /// Parses the setting; returns the prices and a warning for each entry it cannot read.
    pub fn parse(setting: Option<&str>) -> (Self, Vec<String>) {
        let mut custom = vec![];
        let mut warnings = vec![];
        for entry in setting.unwrap_or("").split([',', ';']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let parsed = entry.split_once('=').and_then(|(model, p)| {
                let (i, o) = p.split_once('/')?;
                let (i, o) = (i.trim().parse::<f64>().ok()?, o.trim().parse::<f64>().ok()?);
                (i.is_finite() && o.is_finite() && i >= 0.0 && o >= 0.0).then(|| {
                    (
                        model.trim().to_string(),
                        Price {
                            input: i,
                            output: o,
                        },
                    )
                })
            });
            match parsed {
                Some(p) => custom.push(p),
                None => warnings.push(format!(
                    "Setting LLM_ANALYTICS_PRICES: cannot read {entry:?} (expected model=INPUT/OUTPUT in USD per million tokens, e.g. gpt-4o-mini=0.15/0.60); it is ignored."
                )),
            }
        }
        (Self { custom }, warnings)
    }

    /// The price of `model`: the longest listed name that starts it (a custom entry wins
    /// over a default of the same name). None: tokens only.
    pub fn of(&self, model: &str) -> Option<Price> {
        let custom = self.custom.iter().map(|(m, p)| (m.as_str(), *p, 1));
        let defaults = DEFAULT_PRICES.iter().map(|(m, i, o)| {
            (
                *m,
                Price {
                    input: *i,
                    output: *o,
                },
                0,
            )
        });
        custom
            .chain(defaults)
            .filter(|(m, _, _)| model.starts_with(m))
            .max_by_key(|(m, _, custom)| (m.len(), *custom))
            .map(|(_, p, _)| p)
    }
}

/// The caps a question's calls are held to.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub max_tokens_per_question: Option<u64>,
    pub max_cost_per_session: Option<f64>,
    /// What this session spent before this question.
    pub session_cost: f64,
    pub price: Option<Price>,
}

/// Calls, tokens and time spent on one question.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    pub by_kind: BTreeMap<CallKind, Tally>,
    pub llm: Duration,
    pub exec: Duration,
    pub budget: Budget,
}

impl Ledger {
    pub fn new(budget: Budget) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for k in self.by_kind.values() {
            t.add(k);
        }
        t
    }

    pub fn calls(&self) -> u32 {
        self.total().calls
    }

    /// Counts one call. `sent` is the text sent (system + user) and `reply` the text that
    /// came back, for the estimate when the endpoint reported no usage.
    pub fn add(
        &mut self,
        kind: CallKind,
        usage: Option<&Usage>,
        took: Duration,
        sent: usize,
        reply: usize,
    ) {
        self.llm += took;
        let t = self.by_kind.entry(kind).or_default();
        t.calls += 1;
        match usage {
            Some(u) => {
                t.prompt_tokens += u64::from(u.prompt_tokens);
                t.completion_tokens += u64::from(u.completion_tokens);
            }
            None => {
                t.prompt_tokens += estimate(sent);
                t.completion_tokens += estimate(reply);
                t.estimated = true;
            }
        }
    }

    /// Whether a call sending `sent` characters and allowed `max_tokens` of reply may be
    /// made: its worst case must stay within every cap. Err says which cap and how to raise it.
    pub fn allow(&self, kind: CallKind, sent: usize, max_tokens: u32) -> Result<(), String> {
        let worst = Tally {
            calls: 1,
            prompt_tokens: estimate(sent),
            completion_tokens: u64::from(max_tokens),
            estimated: true,
        };
        let spent = self.total();
        if let Some(cap) = self.budget.max_tokens_per_question {
            if spent.tokens() + worst.tokens() > cap {
                return Err(format!(
                    "The {} call was not made: it could use up to {} tokens and this question has already used {}, \
                     over MAX_TOKENS_PER_QUESTION={cap}. Raise MAX_TOKENS_PER_QUESTION (environment or .env, then \
                     restart the kernel), or ask a narrower question.",
                    kind.name(),
                    group(worst.tokens()),
                    group(spent.tokens()),
                ));
            }
        }
        if let (Some(cap), Some(price)) = (self.budget.max_cost_per_session, self.budget.price) {
            let after = self.budget.session_cost + price.cost(&spent) + price.cost(&worst);
            if after > cap {
                return Err(format!(
                    "The {} call was not made: it could bring this session's model cost to ${after:.4}, over \
                     MAX_COST_PER_SESSION={cap}. Raise MAX_COST_PER_SESSION (environment or .env, then restart \
                     the kernel); %usage shows what was spent.",
                    kind.name()
                ));
            }
        }
        Ok(())
    }

    /// Estimated cost of this question, when the price is known.
    pub fn cost(&self) -> Option<f64> {
        self.budget.price.map(|p| p.cost(&self.total()))
    }

    /// The cell's one line, e.g. "2 calls · 1,240 tokens · $0.0004".
    pub fn line(&self) -> String {
        let t = self.total();
        let mut parts = vec![
            format!("{} call{}", t.calls, if t.calls == 1 { "" } else { "s" }),
            format!(
                "{}{} tokens",
                if t.estimated { "~" } else { "" },
                group(t.tokens())
            ),
        ];
        if let Some(c) = self.cost() {
            parts.push(dollars(c));
        }
        let mut line = parts.join(" · ");
        if t.estimated {
            line.push_str(" (estimated: the endpoint reported no usage)");
        }
        line
    }

    /// `metadata.llm_analytics.usage` of the cell's outputs.
    pub fn metadata(&self, model: &str) -> Value {
        let t = self.total();
        let kinds: serde_json::Map<String, Value> = self
            .by_kind
            .iter()
            .map(|(k, v)| (k.name().to_string(), tally_json(v)))
            .collect();
        json!({
            "model": model,
            "calls": t.calls,
            "prompt_tokens": t.prompt_tokens,
            "completion_tokens": t.completion_tokens,
            "total_tokens": t.tokens(),
            "estimated": t.estimated,
            "by_kind": kinds,
            "cost_usd": self.cost(),
        })
    }
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "calls": t.calls,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "estimated": t.estimated,
    })
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
mod tests {
    use super::*;

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
}
