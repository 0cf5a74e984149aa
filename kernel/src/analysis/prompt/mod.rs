//! Prompts, following the design document's wording, kept compact and bounded.
//!
//! The model sees structure (columns, dtypes, a few sample rows, null counts) and the last
//! few exchanges, never the data itself. Wide tables are summarised so the prompt stays
//! within a fixed budget whatever the column count, and it never depends on the row count.

mod dataset;
mod instructions;
mod text;

pub use dataset::{describe_dataset, is_sql_table};

use super::assumptions::Reading;
use dataset::sql_types;
use instructions::{instructions, Data};
use serde_json::Value;
use text::cut;

pub const CODE_SYSTEM: &str = "You are a data analyst. Generate only executable Python code.";
pub const RETRY_SYSTEM: &str = "You are a data analyst. Generate only valid, executable Python code that assigns result to 'result' variable.";
pub const INTERPRET_SYSTEM: &str =
    "You are a data analyst explaining results to a business user. Be concise and clear.";

/// One earlier exchange, as the prompt needs it.
#[derive(Debug, Clone)]
pub struct ContextItem {
    pub question: String,
    pub code: String,
    pub result_summary: String,
}

/// The design document's context block.
pub fn format_context(context: &[ContextItem]) -> String {
    if context.is_empty() {
        return String::new();
    }
    let mut s = String::from("Previous conversation context:\n");
    for (i, c) in context.iter().enumerate() {
        s.push_str(&format!("\n{}. Question: {}\n", i + 1, c.question));
        if c.code.chars().count() > 200 {
            s.push_str(&format!(
                "   Generated code snippet: {}...\n",
                cut(&c.code, 200).trim_end_matches('…')
            ));
        } else {
            s.push_str(&format!("   Generated code: {}\n", c.code));
        }
        s.push_str(&format!("   Result: {}\n", c.result_summary));
    }
    s.push_str("\nConsider this context when generating new code.\n");
    s
}

/// The code-generation prompt. `datasets` are (name, profile as the model may see it), the
/// current one last; `parameters` are the notebook's (papermill) parameters; `reading` is
/// the question's names read against the full profiles (`assumptions::read`), whose category
/// values are named only when `send_values`.
pub fn code_prompt(
    datasets: &[(String, Value)],
    parameters: &[code_guard::Parameter],
    question: &str,
    context: &[ContextItem],
    notes: &str,
    reading: &Reading,
    send_values: bool,
) -> String {
    let mut prompt =
        String::from("You are a data analyst writing Python code to analyze data.\n\n");
    let (current_name, current) = datasets.last().expect("a dataset is loaded");
    let frames = datasets.iter().filter(|(_, p)| !is_sql_table(p)).count();
    let mut sql_tables = vec![];
    let mut spark_tables = 0;
    for (i, (name, profile)) in datasets.iter().enumerate() {
        let intro = if dataset::is_spark_table(profile) {
            sql_tables.push(name.clone());
            spark_tables += 1;
            format!("A table called '{name}' on a Spark cluster, not loaded as a DataFrame, has the following structure:")
        } else if is_sql_table(profile) {
            sql_tables.push(name.clone());
            format!("A table called '{name}', too large for pandas and not loaded as a DataFrame, has the following structure:")
        } else if name == current_name {
            if frames == 1 {
                format!("You have a pandas DataFrame called 'df' (also available as '{name}') with the following structure:")
            } else {
                format!("The current pandas DataFrame 'df' (also '{name}') has the following structure:")
            }
        } else {
            format!("Another pandas DataFrame called '{name}' has the following structure:")
        };
        prompt.push_str(&describe_dataset(profile, &intro, &reading.columns_of(i)));
        if let Some(types) = sql_types(profile).filter(|_| is_sql_table(profile)) {
            prompt.push_str(&format!("\nSQL column types: {types}\n"));
        }
        prompt.push('\n');
    }
    let data = Data {
        df: !is_sql_table(current),
        sql_tables: &sql_tables,
        engine: match spark_tables {
            0 => "DuckDB",
            n if n == sql_tables.len() => "Spark SQL",
            _ => "DuckDB or Spark SQL",
        },
    };
    let params = super::parameters::prompt_text(parameters);
    if !params.is_empty() {
        prompt.push('\n');
        prompt.push_str(&params);
    }
    if !notes.is_empty() {
        prompt.push('\n');
        prompt.push_str(notes);
    }
    let ctx = format_context(context);
    if !ctx.is_empty() {
        prompt.push('\n');
        prompt.push_str(&ctx);
    }
    prompt.push_str(&format!("\nCurrent question: {question}\n"));
    for line in super::assumptions::model_lines(reading, send_values) {
        prompt.push_str(&line);
        prompt.push('\n');
    }
    prompt.push('\n');
    prompt.push_str(&instructions(question, !context.is_empty(), &data));
    prompt
}

/// The next attempt after one that did not answer: what happened, the last code, the
/// details, and what to do instead. Only the last attempt is shown, so the prompt stays
/// bounded whatever the number of rounds.
pub fn feedback_prompt(
    code_prompt: &str,
    problem: &str,
    code: &str,
    detail: &str,
    instruction: &str,
) -> String {
    let mut p = format!("{code_prompt}\n\n{problem}");
    if !code.trim().is_empty() {
        p.push_str(&format!("\n```python\n{code}\n```"));
    }
    if !detail.is_empty() {
        p.push_str(&format!("\n\n{detail}"));
    }
    p.push_str(&format!(
        "\n\n{instruction}\nReturn the complete corrected code in one ```python block."
    ));
    p
}

/// The design document's interpretation prompt; `notes` (the analyst's notes, a privacy
/// remark) go after the result.
pub fn interpretation_prompt(
    question: &str,
    code: &str,
    result_description: &str,
    notes: &str,
) -> String {
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("\n{}\n", notes.trim_end())
    };
    format!(
        "
The user asked: {question}

You generated and ran this code:
```python
{code}
```

The result was:
{result_description}
{notes}
Provide a clear, concise interpretation of these results in 2-3 sentences.
Focus on answering the user's original question directly.
If the result was truncated, mention that only a sample is shown.
Use business-friendly language and avoid technical jargon.
"
    )
}

#[cfg(test)]
mod tests;
