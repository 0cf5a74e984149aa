//! Settings, named as in the design document, from the environment or a `.env` file.

use super::privacy::{self, Privacy};
use super::usage::Prices;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub openai_api_key: Option<String>,
    pub openai_model: String,
    pub openai_base_url: String,
    pub code_temperature: f32,
    pub interpretation_temperature: f32,
    pub request_timeout: Duration,
    pub max_execution_timeout: Duration,
    pub max_dataframe_size: u64,
    pub max_output_size: usize,
    pub max_upload_size: u64,
    pub default_sample_rows: usize,
    pub max_sample_rows: usize,
    pub max_conversation_history: usize,
    pub context_lookback: usize,
    pub mongodb_url: Option<String>,
    pub database_name: String,
    /// Rounds of execution feedback after the first attempt (error, no result, wrong format).
    pub max_repair_rounds: usize,
    /// Longest question accepted (the design document's 1 000 is too short for a notebook
    /// question that carries its own instructions and answer format).
    pub max_question_chars: usize,
    /// Completion-token caps per call kind, so a looping model cannot run to its context end.
    pub max_code_tokens: u32,
    pub max_interpretation_tokens: u32,
    /// Where the embedded history store and input history live.
    pub data_dir: PathBuf,
    /// `LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION=1`: generated code is not validated (the sandbox
    /// alone contains it). For the escape tests only.
    pub skip_validation: bool,
    /// Recorded answers replay (`LLM_ANALYTICS_REPLAY=0|off|false|no` turns it off).
    pub replay: bool,
    /// What of the data may be sent to the model, until `%privacy` changes it.
    pub privacy: Privacy,
    /// Per-model prices for the usage ledger (defaults plus LLM_ANALYTICS_PRICES).
    pub prices: Prices,
    /// Budgets (unset: no cap).
    pub max_tokens_per_question: Option<u64>,
    pub max_cost_per_session: Option<f64>,
    /// The Spark cluster `%load spark:...` uses when no `%connect spark` named one
    /// (`sc://HOST:PORT[/;token=...]`).
    pub spark_connect_url: Option<String>,
    /// How long one Spark query may run on the cluster (the reduction, not the Python).
    pub spark_query_timeout: Duration,
    /// Problems found while reading settings, shown once to the user.
    pub warnings: Vec<String>,
}

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Turns the AST validator off (escape tests of the sandbox alone).
pub const SKIP_VALIDATION_ENV: &str = "LLM_ANALYTICS_UNSAFE_SKIP_VALIDATION";

/// Reads settings through a lookup function so tests need not touch the process env.
struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn string(&self, key: &str) -> Option<String> {
        (self.get)(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A number within `min..=max`; anything else (not a number, NaN, out of range) keeps the
    /// default and leaves one warning naming the setting, the value and the allowed range.
    /// Like `parse`, but unset means None (no cap) rather than a default.
    fn cap<T>(&mut self, key: &str, min: T, max: T) -> Option<T>
    where
        T: FromStr + std::fmt::Display + Copy + PartialOrd,
    {
        self.string(key)?;
        let before = self.warnings.len();
        let v = self.parse(key, min, min, max);
        (self.warnings.len() == before).then_some(v)
    }

    fn parse<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: FromStr + std::fmt::Display + Copy + PartialOrd,
    {
        let raw = match self.string(key) {
            None => return default,
            Some(raw) => raw,
        };
        match raw.parse::<T>() {
            // NaN fails both comparisons, so it is refused here too.
            Ok(v) if v >= min && v <= max => v,
            _ => {
                self.warnings.push(format!(
                    "Setting {key}={raw:?} is not allowed (expected a number from {min} to {max}); \
                     using the default {default}."
                ));
                default
            }
        }
    }
}

fn default_data_dir(get: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(xdg) = get("XDG_DATA_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(xdg).join("llm-analytics");
    }
    let home = get("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/llm-analytics")
}

impl Settings {
    /// Load `.env` from the working directory (without overriding the environment), then read.
    pub fn from_env() -> Self {
        let _ = dotenvy::dotenv();
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut r = Reader {
            get,
            warnings: vec![],
        };
        let data_dir = r
            .string("LLM_ANALYTICS_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| default_data_dir(get));
        let base_url = r
            .string("OPENAI_BASE_URL")
            .unwrap_or_else(|| DEFAULT_BASE_URL.into());
        // A model on this machine (CPU) streams a long reply for minutes: the request
        // timeout covers the whole stream, so local endpoints get a longer default.
        let local = is_local(&base_url);
        let privacy = match r.string(privacy::SETTING) {
            None => Privacy::default(),
            Some(v) => Privacy::parse(&v).unwrap_or_else(|| {
                r.warnings.push(format!(
                    "Setting {}={v:?} is not a privacy mode (schema, sample or masked); using the default sample.",
                    privacy::SETTING
                ));
                Privacy::default()
            }),
        };
        let (prices, price_warnings) = Prices::parse(r.string("LLM_ANALYTICS_PRICES").as_deref());
        r.warnings.extend(price_warnings);
        let max_tokens_per_question = r.cap("MAX_TOKENS_PER_QUESTION", 1, u64::MAX);
        let max_cost_per_session = r.cap("MAX_COST_PER_SESSION", 0.0, 1e9);
        let s = Settings {
            openai_api_key: r.string("OPENAI_API_KEY"),
            openai_model: r
                .string("OPENAI_MODEL")
                .unwrap_or_else(|| "gpt-4o-mini".into()),
            openai_base_url: base_url,
            code_temperature: r.parse("OPENAI_CODE_GENERATION_TEMPERATURE", 0.1, 0.0, 2.0),
            interpretation_temperature: r.parse("OPENAI_INTERPRETATION_TEMPERATURE", 0.3, 0.0, 2.0),
            request_timeout: Duration::from_secs_f64(r.parse(
                "OPENAI_REQUEST_TIMEOUT",
                if local { 600.0 } else { 60.0 },
                1.0,
                3600.0,
            )),
            max_execution_timeout: Duration::from_secs_f64(r.parse(
                "MAX_EXECUTION_TIMEOUT",
                5.0,
                0.1,
                86_400.0,
            )),
            max_dataframe_size: r.parse("MAX_DATAFRAME_SIZE", 100_000_000, 1, 1 << 40),
            max_output_size: r.parse("MAX_OUTPUT_SIZE", 10_000, 100, 100_000_000),
            max_upload_size: r.parse("MAX_UPLOAD_SIZE", 104_857_600, 1, 1 << 42),
            default_sample_rows: r.parse("DEFAULT_SAMPLE_ROWS", 5, 1, 1_000),
            max_sample_rows: r.parse("MAX_SAMPLE_ROWS", 10, 1, 100_000),
            max_conversation_history: r.parse("MAX_CONVERSATION_HISTORY", 10, 1, 100_000),
            context_lookback: r.parse("CONTEXT_LOOKBACK", 3, 0, 100),
            max_repair_rounds: r.parse("MAX_REPAIR_ROUNDS", 3, 0, 10),
            max_question_chars: r.parse("MAX_QUESTION_CHARS", 8_000, 10, 1_000_000),
            max_code_tokens: r.parse("MAX_CODE_TOKENS", 1_024, 64, 100_000),
            max_interpretation_tokens: r.parse("MAX_INTERPRETATION_TOKENS", 400, 32, 100_000),
            mongodb_url: r.string("MONGODB_URL"),
            database_name: r
                .string("DATABASE_NAME")
                .unwrap_or_else(|| "llm_analytics".into()),
            data_dir,
            skip_validation: r.string(SKIP_VALIDATION_ENV).as_deref() == Some("1"),
            replay: !matches!(
                r.string("LLM_ANALYTICS_REPLAY")
                    .map(|v| v.to_ascii_lowercase())
                    .as_deref(),
                Some("0" | "off" | "false" | "no")
            ),
            privacy,
            prices,
            max_tokens_per_question,
            max_cost_per_session,
            spark_connect_url: r.string("SPARK_CONNECT_URL"),
            spark_query_timeout: Duration::from_secs_f64(r.parse(
                "SPARK_QUERY_TIMEOUT",
                300.0,
                1.0,
                86_400.0,
            )),
            warnings: vec![],
        };
        if s.max_cost_per_session.is_some() && s.prices.of(&s.openai_model).is_none() {
            r.warnings.push(format!(
                "MAX_COST_PER_SESSION is set, but no price is known for the model {:?}, so it cannot be held to it \
                 (tokens are still counted). Give its price as LLM_ANALYTICS_PRICES={}=INPUT/OUTPUT (USD per million tokens).",
                s.openai_model, s.openai_model
            ));
        }
        Settings {
            warnings: r.warnings,
            ..s
        }
    }

    /// Local servers (Ollama, llama.cpp, vLLM on localhost) usually need no key. Decided on
    /// the parsed host: a loopback address or `localhost`, never a name that merely starts
    /// with "127." (`127.evil.com`).
    pub fn endpoint_is_local(&self) -> bool {
        is_local(&self.openai_base_url)
    }

    /// The values the Python worker needs for result formatting.
    pub fn worker_config(&self) -> serde_json::Value {
        serde_json::json!({
            "MAX_OUTPUT_SIZE": self.max_output_size,
            "MAX_SAMPLE_ROWS": self.max_sample_rows,
            "DEFAULT_SAMPLE_ROWS": self.default_sample_rows,
            "MAX_DATAFRAME_SIZE": self.max_dataframe_size,
        })
    }
}

/// Whether a URL's parsed host is this machine (loopback or `localhost`).
fn is_local(url: &str) -> bool {
    let host = endpoint_host(url);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Host part of a URL, for messages and the local-endpoint check.
pub fn endpoint_host(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_port.starts_with('[') {
        return host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default();
    }
    host_port.split(':').next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_design_document() {
        let s = settings(&[("HOME", "/home/u")]);
        assert_eq!(s.openai_model, "gpt-4o-mini");
        assert_eq!(s.max_execution_timeout, Duration::from_secs(5));
        assert_eq!(s.max_output_size, 10_000);
        assert_eq!(s.max_upload_size, 104_857_600);
        assert_eq!(s.context_lookback, 3);
        assert_eq!(s.database_name, "llm_analytics");
        assert!(s.mongodb_url.is_none());
        assert_eq!(
            s.data_dir,
            PathBuf::from("/home/u/.local/share/llm-analytics")
        );
        assert!(!s.endpoint_is_local());
    }

    #[test]
    fn bad_numbers_warn_and_fall_back() {
        let s = settings(&[("MAX_EXECUTION_TIMEOUT", "soon"), ("MAX_SAMPLE_ROWS", "20")]);
        let negative = settings(&[("MAX_EXECUTION_TIMEOUT", "-1")]);
        assert_eq!(negative.max_execution_timeout, Duration::from_secs(5));
        assert_eq!(s.max_execution_timeout, Duration::from_secs(5));
        assert_eq!(s.max_sample_rows, 20);
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].contains("MAX_EXECUTION_TIMEOUT"));
    }

    #[test]
    fn local_endpoints() {
        for url in [
            "http://localhost:11434/v1",
            "http://127.0.0.1:8000/v1",
            "http://[::1]:8080/v1",
        ] {
            let s = settings(&[("OPENAI_BASE_URL", url)]);
            assert!(s.endpoint_is_local(), "{url}");
        }
        assert_eq!(endpoint_host("https://api.openai.com/v1"), "api.openai.com");
        for url in [
            "http://127.evil.com/v1",
            "http://localhost.evil.com/v1",
            "http://evil.com/127.0.0.1/v1",
            "http://127.0.0.1@evil.com/v1",
        ] {
            let s = settings(&[("OPENAI_BASE_URL", url)]);
            assert!(!s.endpoint_is_local(), "{url}");
        }
    }

    #[test]
    fn every_numeric_setting_is_range_checked() {
        let names = [
            "OPENAI_CODE_GENERATION_TEMPERATURE",
            "OPENAI_INTERPRETATION_TEMPERATURE",
            "OPENAI_REQUEST_TIMEOUT",
            "MAX_EXECUTION_TIMEOUT",
            "MAX_DATAFRAME_SIZE",
            "MAX_OUTPUT_SIZE",
            "MAX_UPLOAD_SIZE",
            "DEFAULT_SAMPLE_ROWS",
            "MAX_SAMPLE_ROWS",
            "MAX_CONVERSATION_HISTORY",
            "CONTEXT_LOOKBACK",
            "MAX_REPAIR_ROUNDS",
            "MAX_QUESTION_CHARS",
            "MAX_CODE_TOKENS",
            "MAX_INTERPRETATION_TOKENS",
        ];
        let defaults = settings(&[]);
        for name in names {
            for bad in [
                "-1",
                "0",
                "1e30",
                "99999999999999999999999",
                "abc",
                "NaN",
                "inf",
            ] {
                let s = settings(&[(name, bad)]);
                // Zero is allowed only where the range starts at zero.
                if bad == "0" && ["CONTEXT_LOOKBACK", "MAX_REPAIR_ROUNDS"].contains(&name) {
                    continue;
                }
                if bad == "0" && name.contains("TEMPERATURE") {
                    continue;
                }
                assert_eq!(s.warnings.len(), 1, "{name}={bad} gave {:?}", s.warnings);
                assert!(
                    s.warnings[0].contains(name) && s.warnings[0].contains(bad),
                    "{:?}",
                    s.warnings
                );
                assert_eq!(
                    format!("{:?}", strip(&s)),
                    format!("{:?}", strip(&defaults))
                );
            }
        }
    }

    /// Settings without their warnings, to compare values.
    fn strip(s: &Settings) -> Settings {
        Settings {
            warnings: vec![],
            ..s.clone()
        }
    }
}
