//! Model prices: the list prices of common models and the `LLM_ANALYTICS_PRICES` setting.

use super::Tally;

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
