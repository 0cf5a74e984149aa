//! What to tell the model so its next code is right: method notes for the question (before
//! the first attempt) and one instruction per failure class (after a refusal or an error).
//!
//! Every entry comes from misses measured with a real 1.5B model on DABench questions
//! (bench/RESULTS.md): p-values taken from `Series.corr`, `.round()` on a plain float, text
//! columns averaged, predictions compared with the wrong rows. They name the standard call,
//! never an answer.

use super::quote;
use serde_json::Value;

/// Method notes for the statistics a question names, one line each (none for most questions).
pub fn methods(question: &str) -> Vec<&'static str> {
    let q = question.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    let mut notes = vec![];
    let p_value = has(&["p-value", "p value", "pvalue", "p_value", "significan"]);
    if has(&["pearson", "correlation"]) && p_value {
        notes.push("Correlation with its p-value: `from scipy import stats; r, p = stats.pearsonr(x, y)` on rows where both values are present; Series.corr gives r only.");
    }
    if has(&["spearman"]) {
        notes.push("Spearman: `r, p = stats.spearmanr(x, y)` (scipy.stats).");
    }
    if has(&["shapiro"])
        || (has(&["normality", "normally distributed"]) && !has(&["kolmogorov", "ks test", "k-s"]))
    {
        notes.push("Normality test (Shapiro-Wilk): `stat, p = stats.shapiro(x.dropna())`; normal when p >= 0.05.");
    }
    if has(&["kolmogorov", "ks test", "k-s test", "kstest"]) {
        notes.push("Kolmogorov-Smirnov against a normal: `stat, p = stats.kstest(x.dropna(), 'norm', args=(x.mean(), x.std()))`.");
    }
    if has(&["t-test", "t test", "ttest", "two-sample", "two sample"]) {
        notes.push("Two-sample t-test: `t, p = stats.ttest_ind(a.dropna(), b.dropna())` with a and b the two groups' values.");
    }
    if has(&["anova"]) {
        notes.push("One-way ANOVA: `f, p = stats.f_oneway(*[g.dropna() for _, g in df.groupby(key)[col]])`.");
    }
    if has(&["chi-square", "chi square", "chi2", "chi-squared"]) {
        notes.push("Chi-square test of independence: `chi2, p, dof, expected = stats.chi2_contingency(pd.crosstab(df[a], df[b]))`.");
    }
    if has(&["population standard deviation", "population std"]) {
        notes.push("Population standard deviation: `x.std(ddof=0)` (pandas' `.std()` is the sample one, ddof=1).");
    }
    if has(&["z-score", "z score", "zscore"]) {
        notes.push("Z-scores: `z = (x - x.mean()) / x.std()`; outliers are rows with abs(z) > the threshold the question gives.");
    }
    if has(&["skew", "kurtosis"]) {
        notes.push("Skewness and kurtosis of a column: `df[col].skew()`, `df[col].kurt()` (one number per column, not a test).");
    }
    if has(&[
        "regression",
        "classifier",
        "random forest",
        "predict",
        "train",
    ]) && has(&["test", "split"])
    {
        notes.push("Models: `from sklearn.model_selection import train_test_split`; split X and y together (X_train, X_test, y_train, y_test), drop or fill missing values and encode text columns (pd.get_dummies) before fitting; score on X_test against y_test.");
    }
    notes
}

/// What the validator wants instead, for the model's next attempt.
pub fn instead_of(rule: &str) -> &'static str {
    match rule {
        "file-io" => "The data is already loaded as `df` (and under its own name): use it directly. Do not read or write any file.",
        "import" => "Use only pandas (pd), numpy (np), matplotlib.pyplot (plt), scipy, sklearn, statsmodels or seaborn; pd, np and plt are already imported.",
        "dunder" | "private" => "Do not use names with underscores at the start (no __name__ checks, no private attributes); write plain top-level code.",
        "builtin" | "string-eval" | "module-internals" => "Use plain pandas and numpy operations (boolean masks such as df[df['col'] > 0]); no eval, exec, query, getattr or system modules.",
        "length" => "Write shorter code.",
        "syntax" => "Return syntactically valid Python.",
        "sql" => "Query the tables only through sql(\"SELECT ...\") with the query written as one string literal: one read-only SELECT over the tables named above; no files, settings or other table functions.",
        _ => "Rewrite the code with plain pandas operations on `df`.",
    }
}

/// A hint for the next attempt, from the error the code raised.
pub fn for_error(value: &Value, columns: &[String]) -> String {
    let ename = value["ename"].as_str().unwrap_or("");
    let evalue = value["evalue"].as_str().unwrap_or("");
    let key = evalue.trim_matches(|c| c == '\'' || c == '"');
    if ename == "KeyError" && key.parse::<i64>().is_ok() && !columns.iter().any(|c| c == key) {
        // `df[df['x'].idxmax()]['name']`: a row label used as a column name.
        return format!(
            "df[{key}] looks up a column named {key}; to read a row by its index label use .loc, \
             e.g. df.loc[df['x'].idxmax(), 'name']."
        );
    }
    let says = |parts: &[&str]| parts.iter().any(|p| evalue.contains(p));
    if says(&["cannot unpack non-iterable"]) {
        return "That call returns one value, not a pair. For a correlation and its p-value use `r, p = stats.pearsonr(x, y)` (from scipy import stats).".into();
    }
    if says(&["has no attribute 'round'"]) {
        return "A plain float has no .round(): use the built-in round(value, 2). If the value is NaN, the selection it came from was empty: check the filter against the sample rows.".into();
    }
    if says(&[
        "with string dtype",
        "could not convert string to float",
        "unsupported operand type(s) for",
        "invalid literal for int()",
        "can only concatenate str",
        "Could not convert",
    ]) {
        return "A text column was used as a number. Use only numeric columns (df.select_dtypes('number')), convert with pd.to_numeric(df[col], errors='coerce') (pd.to_datetime for dates and times), or encode categories (pd.get_dummies) as the question asks.".into();
    }
    if says(&[
        "could not be broadcast",
        "Length of values",
        "inconsistent numbers of samples",
        "Found input variables with inconsistent",
    ]) {
        return "Two arrays of different lengths were combined: compare each prediction with the target of the same rows (y_test for X_test), and select columns from the same filtered frame.".into();
    }
    if says(&[
        "contains NaN",
        "Input contains NaN",
        "Found unknown categories",
    ]) {
        return "Prepare the features before splitting and fitting: drop or fill missing values and turn text columns into numbers (pd.get_dummies) on the whole frame, then split.".into();
    }
    if ename == "KeyError" || ename == "AttributeError" {
        let list: Vec<String> = columns.iter().take(60).map(|c| quote::py_str(c)).collect();
        return format!(
            "Use the column names exactly as they are: {}.",
            list.join(", ")
        );
    }
    "Fix the error and return the complete corrected code.".into()
}

/// Said when an attempt fails exactly as the one before it did.
pub const SAME_AGAIN: &str =
    "This is the same error as the attempt before: do not repeat that line; compute it another, simpler way.";

/// The instruction after an answer that came out NaN.
pub const NAN_ANSWER: &str = "A NaN usually means missing values reached the calculation or a filter selected no rows: drop missing values in the columns used (dropna), check filter values against the sample rows, and compute again.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn methods_follow_the_question() {
        assert!(methods("What is the mean fare?").is_empty());
        let corr = methods("Calculate the Pearson correlation coefficient (r) and the p-value.");
        assert_eq!(corr.len(), 1);
        assert!(corr[0].contains("pearsonr"));
        assert!(methods("Is the data normally distributed?")[0].contains("shapiro"));
        assert!(methods("Use the Kolmogorov-Smirnov test for normality")
            .iter()
            .all(|m| !m.contains("shapiro")));
    }

    #[test]
    fn errors_get_the_hint_of_their_class() {
        let hint = |ename: &str, evalue: &str| {
            for_error(&json!({"ename": ename, "evalue": evalue}), &["a b".into()])
        };
        assert!(hint(
            "TypeError",
            "cannot unpack non-iterable numpy.float64 object"
        )
        .contains("pearsonr"));
        assert!(
            hint("AttributeError", "'float' object has no attribute 'round'")
                .contains("round(value, 2)")
        );
        assert!(hint(
            "TypeError",
            "Cannot perform reduction 'mean' with string dtype"
        )
        .contains("pd.to_numeric"));
        assert!(hint(
            "ValueError",
            "operands could not be broadcast together with shapes (2527,) (5897,)"
        )
        .contains("y_test"));
        assert!(hint("KeyError", "'ab'").contains("'a b'"));
        assert!(hint("KeyError", "1153").contains(".loc"));
        assert_eq!(
            hint("ZeroDivisionError", "division by zero"),
            "Fix the error and return the complete corrected code."
        );
    }
}
