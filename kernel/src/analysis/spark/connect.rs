//! The link to a Spark cluster: the engine process and the address it connected to,
//! opened by `%connect spark` or, at first use, from SPARK_CONNECT_URL, and reopened (with
//! the tables registered again) when the engine process died.

use super::super::services::Services;
use super::super::state::State;
use super::super::worker_client::{CallError, Request, Worker};
use crate::protocol::backend::{ErrorInfo, ExecuteOutcome, OutputSink};
use serde_json::Value;
use std::time::Duration;

/// How long connecting may take (the client retries an unreachable server for minutes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct SparkLink {
    /// The address as given, token included: only ever sent to the engine process.
    url: String,
    pub version: String,
    engine: Worker,
}

impl SparkLink {
    /// The address with its token hidden, for messages and the notebook.
    pub fn shown(&self) -> String {
        masked(&self.url)
    }

    /// One request to the engine with a deadline.
    pub async fn call(&mut self, request: Request, timeout: Duration) -> Result<Value, CallError> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.engine.call(request, None, Some(deadline)).await
    }

    pub async fn close(mut self) {
        self.engine.kill().await;
    }
}

/// `sc://host:port/;token=abc;x=y` with every parameter's value after `token=` hidden.
pub fn masked(url: &str) -> String {
    let mut out = String::new();
    for (i, part) in url.split(';').enumerate() {
        if i > 0 {
            out.push(';');
        }
        match part.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("token") => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(part),
        }
    }
    out
}

/// Open a link: start the engine process and connect it.
async fn open(svc: &Services, url: &str) -> Result<SparkLink, ErrorInfo> {
    let fail = |why: String| ErrorInfo::new("SparkConnectError", why);
    if !url.starts_with("sc://") {
        return Err(fail(format!(
            "{} is not a Spark Connect address: it starts with sc://, e.g. sc://localhost:15002 or sc://host:443/;token=...;use_ssl=true",
            masked(url)
        )));
    }
    let mut engine = svc
        .spawn_spark_engine()
        .map_err(|e| fail(format!("Could not start the Spark engine process: {e}")))?;
    let request = Request::SparkConnect { url: url.into() };
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let reply = engine.call(request, None, Some(deadline)).await;
    let shown = masked(url);
    let reply = match reply {
        Ok(v) => v,
        Err(e) => {
            engine.kill().await;
            return Err(fail(match e {
                CallError::Timeout => format!(
                    "No answer from the Spark Connect server at {shown} within {} s. Is it running, and is the address right?",
                    CONNECT_TIMEOUT.as_secs()
                ),
                CallError::Failed(tb) if tb.contains("No module named 'pyspark'") => "The Spark Connect client (pyspark-client) is not installed in the kernel's Python. Run ./install.sh to add it.".into(),
                other => format!("The Spark engine failed while connecting to {shown}: {}", super::errors::why(&other)),
            }));
        }
    };
    if let Some(error) = reply.get("error").and_then(Value::as_str) {
        engine.kill().await;
        return Err(fail(format!(
            "Could not connect to Spark at {shown}: {}. Check that the Spark Connect server is running and the address (and token) are right.",
            error.replace(url, &shown)
        )));
    }
    Ok(SparkLink {
        url: url.into(),
        version: reply["version"].as_str().unwrap_or("?").into(),
        engine,
    })
}

/// `%connect spark [sc://HOST:PORT[/;token=...]]`: attach the cluster (the address from
/// SPARK_CONNECT_URL when none is given). Tables loaded before are registered again.
pub async fn connect_cell(
    svc: &Services,
    state: &mut State,
    args: &str,
    sink: &OutputSink,
) -> ExecuteOutcome {
    let fail = |e: ErrorInfo| {
        sink.error(e.clone());
        ExecuteOutcome::error(e)
    };
    let mut words = args.split_whitespace();
    let usage = "Usage: %connect spark sc://HOST:PORT[/;token=TOKEN] (or set SPARK_CONNECT_URL and run %connect spark)";
    if !words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("spark"))
    {
        return fail(ErrorInfo::new("UsageError", usage));
    }
    let url = match (words.next(), words.next()) {
        (Some(url), None) => url.to_string(),
        (None, _) => match &svc.settings.spark_connect_url {
            Some(url) => url.clone(),
            None => return fail(ErrorInfo::new("UsageError", usage)),
        },
        _ => return fail(ErrorInfo::new("UsageError", usage)),
    };
    if let Some(old) = state.spark.take() {
        old.close().await;
    }
    let link = match open(svc, &url).await {
        Ok(link) => link,
        Err(e) => return fail(e),
    };
    sink.stream(
        "stdout",
        format!(
            "Connected to Spark {} at {}. Load a table with %load spark:TABLE_OR_PATH as NAME.\n",
            link.version,
            link.shown()
        ),
    );
    state.spark = Some(link);
    if let Err(e) = reregister(state).await {
        return fail(e);
    }
    ExecuteOutcome::ok()
}

/// The live link: opened from SPARK_CONNECT_URL at first use, reopened (tables registered
/// again) when the engine process died.
pub(super) async fn link<'a>(
    svc: &Services,
    state: &'a mut State,
) -> Result<&'a mut SparkLink, ErrorInfo> {
    let dead = match state.spark.as_mut() {
        Some(link) => link.engine.has_exited(),
        None => true,
    };
    if dead {
        let url = match state.spark.take() {
            Some(old) => {
                let url = old.url.clone();
                old.close().await;
                url
            }
            None => svc.settings.spark_connect_url.clone().ok_or_else(|| {
                ErrorInfo::new(
                    "SparkConnectError",
                    "No Spark cluster is attached: run %connect spark sc://HOST:PORT first (or set SPARK_CONNECT_URL).",
                )
            })?,
        };
        state.spark = Some(open(svc, &url).await?);
        reregister(state).await?;
    }
    Ok(state.spark.as_mut().expect("link just set"))
}

/// Register the session's Spark tables on a new link (a temporary view lives in one
/// Spark session).
async fn reregister(state: &mut State) -> Result<(), ErrorInfo> {
    let tables: Vec<(String, String)> = state
        .datasets
        .iter()
        .filter_map(|d| Some((d.name.clone(), d.spark.clone()?)))
        .collect();
    let link = state.spark.as_mut().expect("a link");
    for (name, source) in tables {
        let request = Request::SparkRegister {
            name: name.clone(),
            source,
        };
        let reply = link.call(request, CONNECT_TIMEOUT).await;
        let why = match reply {
            Ok(v) => v
                .get("load_error")
                .and_then(Value::as_str)
                .map(String::from),
            Err(e) => Some(super::errors::why(&e)),
        };
        if let Some(why) = why {
            return Err(ErrorInfo::new(
                "SparkConnectError",
                format!("The Spark table {name} could not be registered again: {why}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn tokens_are_hidden() {
        assert_eq!(
            masked("sc://h:443/;use_ssl=true;token=abc123;user_id=me"),
            "sc://h:443/;use_ssl=true;token=***;user_id=me"
        );
        assert_eq!(masked("sc://localhost:15002"), "sc://localhost:15002");
    }
}
