//! The code prompt's closing instructions: what the code has to work with and must do.

use super::text::sql_ident;

/// What the code has to work with: `df` (the current dataset is a DataFrame) and the
/// tables it must query with `sql()`.
pub(super) struct Data<'a> {
    pub(super) df: bool,
    pub(super) sql_tables: &'a [String],
    /// Whose SQL `sql()` runs: "DuckDB", "Spark SQL" or both.
    pub(super) engine: &'static str,
}

/// What the code must do, short enough for a small local model to keep in view: the
/// measured misses of a 1.5B model came from re-reading files, misspelled column names and
/// answers that ignored the requested format, so those lines are specific; when the question
/// names its answer fields (`@name[value]`), the exact final line is spelled out with them.
pub(super) fn instructions(question: &str, with_context: bool, data: &Data) -> String {
    let mut lines = vec!["Write Python code that answers the question:".to_string()];
    if data.df {
        lines.push(
            "- `df` is the DataFrame described above, already loaded: never read a file.".into(),
        );
    }
    if !data.sql_tables.is_empty() {
        let names: Vec<String> = data.sql_tables.iter().map(|n| sql_ident(n)).collect();
        lines.push(format!(
            "- Query the table{} {} only with sql(\"SELECT ...\"): it runs one {} SELECT and returns a pandas DataFrame. Filter, group and aggregate in the SQL (at most 1,000,000 rows come back), then use pandas on the small result. Put column names in double quotes; never read a file.",
            if names.len() > 1 { "s" } else { "" },
            names.join(", "),
            data.engine
        ));
        // A 1.5B model wrote `data['Fare'].mean()` on 10 of 10 DABench questions with the line
        // above alone; an example in its own words is what small models copy.
        let table = &data.sql_tables[0];
        lines.push(format!(
            "- The table is not a DataFrame: write sql('SELECT AVG(\"col\") AS mean_col FROM {table}').iloc[0, 0] for one number, sql('SELECT \"col\", COUNT(*) AS n FROM {table} GROUP BY \"col\"') for a table (with the real column names)."
        ));
    }
    lines.extend([

        "- pandas is imported as pd, numpy as np, matplotlib.pyplot as plt; you may import scipy, sklearn, statsmodels or seaborn.".to_string(),
        "- Write column names exactly as listed above, in quotes: spaces and case matter.".into(),
        "- Store the final answer in a variable named `result` (a number, text, Series or DataFrame; for a chart, the figure: result = plt.gcf()).".into(),
    ]);
    let names = crate::analysis::checks::required_answer_names(question);
    if !names.is_empty() {
        let fields: Vec<String> = names.iter().map(|n| format!("@{n}[...]")).collect();
        let example: Vec<String> = names.iter().map(|n| format!("@{n}[{{{n}}}]")).collect();
        lines.push(format!(
            "- The answer must be given as {}: end the code with result = f\"{}\", each value computed and rounded as the question asks.",
            fields.join(", "),
            example.join(" ")
        ));
    }
    lines.push("- Do not read or write files; do not use eval, exec or DataFrame.query.".into());
    // The standard call for each statistic the question names (see hints.rs for why).
    lines.extend(
        crate::analysis::hints::methods(question)
            .iter()
            .map(|m| format!("- {m}")),
    );
    if with_context {
        lines.push("- Consider the previous questions and their code if relevant.".into());
    }
    lines.push(String::new());
    lines.push("Return only the code, in one ```python block.".into());
    lines.join("\n") + "\n"
}
