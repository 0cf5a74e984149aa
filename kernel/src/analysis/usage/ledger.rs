//! One question's ledger: its calls counted, held to the budgets, shown as a line and as metadata.

use super::prices::Price;
use super::{dollars, estimate, group, CallKind, Tally, Usage};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

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
