//! What a failed call to the Spark engine says to people: Spark's own message, without the
//! Python frames and the JVM's stack trace.

use super::super::worker_client::CallError;

/// The exception at the end of a Python traceback (Spark's message, without the JVM's
/// plan dump), shortened.
pub(super) fn last_error(traceback: &str) -> String {
    let lines: Vec<&str> = traceback.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("  File ") || l.starts_with("Traceback"))
        .map_or(0, |i| i + 1);
    let tail: Vec<&str> = lines[start..]
        .iter()
        .copied()
        .filter(|l| !l.starts_with("    "))
        .collect();
    let text = tail.join(" ").trim().to_string();
    let text = text.split("JVM stacktrace").next().unwrap_or("").trim();
    text.chars().take(800).collect()
}

/// A failed call to the engine, for people.
pub fn why(error: &CallError) -> String {
    match error {
        CallError::Failed(tb) => last_error(tb),
        CallError::Died(why) => why.replace("Python process", "Spark engine process"),
        CallError::Timeout => "it did not answer in time".into(),
        CallError::Interrupted | CallError::Unresponsive => "interrupted".into(),
        CallError::Protocol(why) => why.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::last_error;

    #[test]
    fn spark_errors_read_as_their_message() {
        let tb = "Traceback (most recent call last):\n  File \"<llm_spark>\", line 80, in spark_run\n    table = x\npyspark.errors.exceptions.connect.AnalysisException: [UNRESOLVED_COLUMN] A column `farex` cannot be resolved. SQLSTATE: 42703\n\nJVM stacktrace:\norg.apache...";
        assert_eq!(
            last_error(tb),
            "pyspark.errors.exceptions.connect.AnalysisException: [UNRESOLVED_COLUMN] A column `farex` cannot be resolved. SQLSTATE: 42703"
        );
    }
}
