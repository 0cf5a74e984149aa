//! pandas string dispatch: dispatching methods, safe aggregations, reading calls, estimators.

use super::imports::is_submodule_of;
use super::settings::is_checked_setting;

/// pandas methods that call a method named by a string argument
/// (`df.agg('sum')` is `df.sum()`). `map` is not one: pandas 3 only maps
/// through callables, dicts and Series.
const DISPATCH_METHODS: &[&str] = &["agg", "aggregate", "apply", "transform"];

/// Keywords whose value is an aggregation, wherever they appear
/// (`pivot_table(aggfunc=...)`, `pd.NamedAgg(aggfunc=...)`, seaborn's
/// `estimator=`, which calls `getattr(series, name)`).
const DISPATCH_KEYWORDS: &[&str] = &["aggfunc", "estimator"];

/// Method names a string may name in a dispatching call: pure computations
/// that neither write, evaluate nor take further method names.
const SAFE_AGGREGATIONS: &[&str] = &[
    "sum",
    "mean",
    "median",
    "min",
    "max",
    "count",
    "size",
    "std",
    "var",
    "sem",
    "first",
    "last",
    "nunique",
    "prod",
    "product",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "cumcount",
    "ngroup",
    "idxmax",
    "idxmin",
    "argmax",
    "argmin",
    "any",
    "all",
    "describe",
    "quantile",
    "mode",
    "skew",
    "kurt",
    "kurtosis",
    "abs",
    "rank",
    "unique",
    "value_counts",
    "diff",
    "pct_change",
    "shift",
    "ffill",
    "bfill",
    "round",
    "head",
    "tail",
    "nth",
    "ohlc",
    "corr",
    "cov",
    "nlargest",
    "nsmallest",
    "sort_values",
    "is_monotonic_increasing",
    "is_monotonic_decreasing",
    "tolist",
    "to_list",
];

/// Calls that only read their arguments: a name passed to them keeps its
/// literal status (see `scope.rs`).
const READING_CALLS: &[&str] = &[
    "agg",
    "aggregate",
    "apply",
    "transform",
    "pipe",
    "filter",
    "pivot_table",
    "crosstab",
    "NamedAgg",
    "Agg",
    "Est",
    "format",
    "StrMethodFormatter",
    "bar_label",
    "print",
    "len",
    "from_formula",
    "ols",
    "wls",
    "gls",
    "glsar",
    "logit",
    "probit",
    "mnlogit",
    "poisson",
    "negativebinomial",
    "glm",
    "gee",
    "ordinal_gee",
    "nominal_gee",
    "mixedlm",
    "quantreg",
    "rlm",
    "phreg",
];

pub fn is_dispatch_method(name: &str) -> bool {
    DISPATCH_METHODS.contains(&name)
}

pub fn is_dispatch_keyword(name: &str) -> bool {
    DISPATCH_KEYWORDS.contains(&name)
}

pub fn is_safe_aggregation(name: &str) -> bool {
    SAFE_AGGREGATIONS.contains(&name)
}

pub fn is_reading_call(name: &str) -> bool {
    READING_CALLS.contains(&name)
}

/// Packages whose objects have `transform`/`apply`-named methods that are
/// not pandas' string dispatch (`scaler.transform(X)`).
pub fn is_model_library(path: &str) -> bool {
    ["sklearn", "scipy", "statsmodels"]
        .iter()
        .any(|root| path == *root || is_submodule_of(path, root))
}

/// Methods that return the estimator itself (`StandardScaler().fit(X)`).
pub fn is_estimator_method(name: &str) -> bool {
    matches!(name, "fit" | "set_params" | "set_output")
}

/// Functions whose arguments the checker inspects: they must be called
/// where they are named.
pub fn is_checked_callable(name: &str) -> bool {
    matches!(
        name,
        "pivot_table"
            | "crosstab"
            | "NamedAgg"
            | "Agg"
            | "Est"
            | "StrMethodFormatter"
            | "from_formula"
    ) || is_checked_setting(name)
}
