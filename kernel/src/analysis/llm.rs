//! Chat-completion client for any OpenAI-compatible endpoint (`async-openai`).
//!
//! async-openai already retries 429 (honouring Retry-After), 5xx and connection errors with
//! exponential backoff; we add a request timeout and turn failures into messages that name
//! the endpoint and the status.

use super::settings::{endpoint_host, Settings};
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    FinishReason,
};
use async_openai::Client;
use futures::StreamExt;

pub use super::usage::Usage;

#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub usage: Option<Usage>,
    /// The reply stopped at the completion-token cap (finish_reason "length").
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LlmError(pub String);

/// What the question flow needs of a chat model: one streamed completion. `LlmClient` is the
/// real one; Rust tests of the flow script one (solve/).
#[async_trait::async_trait]
pub trait CodeModel: Send + Sync {
    async fn complete(
        &self,
        system: &str,
        user: &str,
        temperature: f32,
        max_tokens: u32,
        on_delta: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<Reply, LlmError>;
}

#[async_trait::async_trait]
impl CodeModel for LlmClient {
    async fn complete(
        &self,
        system: &str,
        user: &str,
        temperature: f32,
        max_tokens: u32,
        on_delta: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<Reply, LlmError> {
        self.stream(system, user, temperature, max_tokens, |text| on_delta(text))
            .await
    }
}

pub struct LlmClient {
    client: Client<OpenAIConfig>,
    model: String,
    endpoint: String,
}

fn messages(system: &str, user: &str) -> Vec<ChatCompletionRequestMessage> {
    vec![
        ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: system.into(),
            name: None,
        }),
        ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: user.into(),
            name: None,
        }),
    ]
}

impl LlmClient {
    pub fn new(settings: &Settings) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError(format!("could not build the HTTP client: {e}")))?;
        // Local servers ignore the key, but the header must still be well-formed.
        let key = settings
            .openai_api_key
            .clone()
            .unwrap_or_else(|| "no-key".into());
        let config = OpenAIConfig::new()
            .with_api_base(settings.openai_base_url.trim_end_matches('/'))
            .with_api_key(key);
        Ok(Self {
            client: Client::build(http, config),
            model: settings.openai_model.clone(),
            endpoint: settings.openai_base_url.clone(),
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn endpoint_host(&self) -> String {
        endpoint_host(&self.endpoint)
    }

    /// A request capped at `max_tokens` completion tokens. OpenAI's own endpoint wants
    /// `max_completion_tokens` (its reasoning models refuse `max_tokens`); the servers people
    /// run locally (llama.cpp, Ollama, vLLM, LM Studio) all read `max_tokens`.
    #[allow(deprecated)]
    fn request(
        &self,
        system: &str,
        user: &str,
        temperature: f32,
        max_tokens: u32,
    ) -> CreateChatCompletionRequest {
        let openai = self.endpoint_host().ends_with("openai.com");
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages(system, user),
            temperature: Some(temperature),
            max_completion_tokens: openai.then_some(max_tokens),
            max_tokens: (!openai).then_some(max_tokens),
            ..Default::default()
        }
    }

    /// A streamed completion; `on_delta` sees the text so far each time a chunk arrives.
    pub async fn stream(
        &self,
        system: &str,
        user: &str,
        temperature: f32,
        max_tokens: u32,
        mut on_delta: impl FnMut(&str),
    ) -> Result<Reply, LlmError> {
        let mut req = self.request(system, user, temperature, max_tokens);
        req.stream = Some(true);
        req.stream_options = Some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        });
        let mut stream = self
            .client
            .chat()
            .create_stream(req)
            .await
            .map_err(|e| self.describe(e))?;
        let mut text = String::new();
        let mut usage = None;
        let mut truncated = false;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.describe(e))?;
            if let Some(u) = chunk.usage {
                usage = Some(Usage {
                    prompt_tokens: u.prompt_tokens,
                    completion_tokens: u.completion_tokens,
                });
            }
            for choice in chunk.choices {
                truncated |= choice.finish_reason == Some(FinishReason::Length);
                match choice.delta.content {
                    Some(delta) if !delta.is_empty() => {
                        text.push_str(&delta);
                        on_delta(&text);
                    }
                    _ => {}
                }
            }
        }
        if text.trim().is_empty() {
            return Err(LlmError(format!(
                "The model at {} streamed no text.",
                self.endpoint
            )));
        }
        Ok(Reply {
            text,
            usage,
            truncated,
        })
    }

    /// Turn a client error into a sentence that names the endpoint and the status.
    fn describe(&self, e: OpenAIError) -> LlmError {
        let at = &self.endpoint;
        LlmError(match e {
            OpenAIError::ApiError(api) => {
                let status = api.status_code;
                let hint = match status.as_u16() {
                    401 | 403 => " Check OPENAI_API_KEY.",
                    404 => " Check OPENAI_MODEL and OPENAI_BASE_URL.",
                    429 => {
                        " The endpoint is rate-limiting; retried with backoff, try again shortly."
                    }
                    s if s >= 500 => " The model service is failing; retried 3 times.",
                    _ => "",
                };
                format!(
                    "The model endpoint {at} answered HTTP {status}: {}.{hint}",
                    api.api_error.message
                )
            }
            OpenAIError::Reqwest(re) if re.is_timeout() => {
                format!("The model endpoint {at} did not answer in time (OPENAI_REQUEST_TIMEOUT).")
            }
            OpenAIError::Reqwest(re) if re.is_connect() => {
                format!("Could not connect to the model endpoint {at}: {re}. Is OPENAI_BASE_URL right and the server running?")
            }
            OpenAIError::Reqwest(re) => match re.status() {
                Some(s) => format!("The model endpoint {at} answered HTTP {s}: {re}"),
                None => format!("The request to the model endpoint {at} failed: {re}"),
            },
            OpenAIError::JSONDeserialize(err, body) => {
                let snippet: String = body.chars().take(200).collect();
                format!("The model endpoint {at} sent a reply that is not valid OpenAI JSON ({err}): {snippet}")
            }
            other => format!("The model endpoint {at} failed: {other}"),
        })
    }
}
