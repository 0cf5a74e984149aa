"""Build, execute and record the example notebooks.

No model was available when these notebooks were made, so their answers were written by hand:
each question below carries the pandas code a model would write and an interpretation template
filled in with numbers computed from the same data. This script serves those answers through
the local OpenAI-compatible test server (tests/fake_llm.py), executes each notebook with the
llm-analytics kernel, saves the executed notebook, and has the kernel export the exchanges as
the notebook's recorded answers (`<name>.answers.json`, labelled as hand-written), which later
runs replay without any model or network.

    python notebooks/build_notebooks.py          # needs ./install.sh first
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import pandas as pd
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from fake_llm import FakeLLM  # noqa: E402


@dataclass
class Question:
    text: str
    code: str
    # Computes the interpretation from the loaded data (hand-written template).
    interpret: Callable[[pd.DataFrame], str]


@dataclass
class Notebook:
    name: str
    title: str
    intro: str
    csv: str
    alias: str
    cells: list = field(default_factory=list)


def money(x: float) -> str:
    return f"${x:,.2f}"


# --- Tour: the design document's sales story -------------------------------------------
TOTAL_BY_CATEGORY = """# Check if required columns exist
if 'category' not in df.columns or 'revenue' not in df.columns:
    result = "Error: Required columns 'category' or 'revenue' not found"
else:
    # Calculate total revenue by category
    result = df.groupby('category')['revenue'].sum().sort_values(ascending=False)"""


def interpret_total(df: pd.DataFrame) -> str:
    s = df.groupby("category")["revenue"].sum().sort_values(ascending=False)
    share = s.iloc[0] / s.sum() * 100
    return (f"{s.index[0]} generates the highest revenue at {money(s.iloc[0])}, followed by "
            f"{s.index[1]} at {money(s.iloc[1])} and {s.index[2]} at {money(s.iloc[2])}. "
            f"{s.index[0]} accounts for {share:.0f}% of total revenue.")


AVG_ELECTRONICS = """# Filter for Electronics category based on previous analysis
electronics_df = df[df['category'] == 'Electronics']

if electronics_df.empty:
    result = "No data found for Electronics category"
else:
    # Calculate average order value (revenue per order)
    result = electronics_df['revenue'].mean()"""


def interpret_avg(df: pd.DataFrame) -> str:
    e = df[df["category"] == "Electronics"]
    return (f"The average Electronics order is worth {money(e['revenue'].mean())}, across "
            f"{len(e):,} orders. That is well above the store-wide average of "
            f"{money(df['revenue'].mean())}, so Electronics orders are the most valuable ones.")


MONTHLY_CHART = """# Total revenue per calendar month, as a line chart
monthly = (
    df.assign(month=pd.to_datetime(df['date']).dt.to_period('M').astype(str))
    .groupby('month')['revenue']
    .sum()
)
fig, ax = plt.subplots(figsize=(8, 4))
monthly.plot(ax=ax, marker='o')
ax.set_title('Monthly revenue')
ax.set_xlabel('Month')
ax.set_ylabel('Revenue ($)')
result = fig"""


def interpret_monthly(df: pd.DataFrame) -> str:
    m = df.assign(month=pd.to_datetime(df["date"]).dt.to_period("M").astype(str)).groupby("month")["revenue"].sum()
    return (f"Revenue peaked in {m.idxmax()} at {money(m.max())} and was lowest in {m.idxmin()} at "
            f"{money(m.min())}. Across the year monthly revenue averaged {money(m.mean())}.")


CORRELATION = """# Check if columns exist
required_cols = ['price', 'discount']
missing_cols = [col for col in required_cols if col not in df.columns]

if missing_cols:
    available_cols = df.columns.tolist()
    result = f"Missing columns: {missing_cols}. Available columns: {available_cols}"
else:
    # Remove null values before correlation
    clean_df = df[['price', 'discount']].dropna()

    if len(clean_df) < 2:
        result = "Not enough data points for correlation calculation"
    else:
        result = clean_df['price'].corr(clean_df['discount'])"""


def interpret_corr(df: pd.DataFrame) -> str:
    return ("The data has no 'discount' column, so this correlation cannot be calculated. "
            "Price, quantity and revenue are available: asking how price relates to quantity "
            "would answer a similar question with the data at hand.")


TOUR = Notebook(
    name="tour",
    title="LLM Analytics tour: a year of online-shop sales",
    intro=("Each cell below is a plain-English question. The kernel sends the model only the data's "
           "structure, gets pandas code back, checks it, runs it on the data, and explains the result. "
           "The answers in this notebook were recorded (see `tour.answers.json`), so it re-runs offline; "
           "delete that file to ask your own model."),
    csv="data/sales.csv",
    alias="sales",
    cells=[
        Question("What's the total revenue by category?", TOTAL_BY_CATEGORY, interpret_total),
        Question("Now show me the average order value for Electronics", AVG_ELECTRONICS, interpret_avg),
        Question("Plot monthly revenue as a line chart", MONTHLY_CHART, interpret_monthly),
        ("md", "A question the data cannot answer is explained rather than guessed at:"),
        Question("Calculate the correlation between price and discount", CORRELATION, interpret_corr),
        ("md", "`%%python` cells run your own Python in the same namespace (`df` is the data):"),
        ("code", "%%python\nby_region = df.pivot_table(index='region', columns='category', values='revenue', aggfunc='sum').round(0)\nby_region"),
    ],
)

# --- Web traffic ---------------------------------------------------------------------------
CONVERSION = """# Conversion rate per channel over the whole period
totals = df.groupby('channel')[['sessions', 'conversions']].sum()
totals['conversion_rate'] = (totals['conversions'] / totals['sessions']).round(4)
result = totals.sort_values('conversion_rate', ascending=False)"""


def interpret_conversion(df: pd.DataFrame) -> str:
    t = df.groupby("channel")[["sessions", "conversions"]].sum()
    rate = (t["conversions"] / t["sessions"]).sort_values(ascending=False)
    return (f"{rate.index[0].capitalize()} converts best at {rate.iloc[0]:.1%} of sessions, while "
            f"{rate.index[-1]} converts worst at {rate.iloc[-1]:.1%}. {t['sessions'].idxmax().capitalize()} "
            f"still brings the most traffic, with {t['sessions'].max():,.0f} sessions.")


MISSING_DAYS = """# Rows where sessions or conversions were not recorded
missing = df[df[['sessions', 'conversions']].isna().any(axis=1)]
result = missing[['date', 'channel']].reset_index(drop=True)"""


def interpret_missing(df: pd.DataFrame) -> str:
    m = df[df[["sessions", "conversions"]].isna().any(axis=1)]
    return (f"{len(m)} days have no recorded sessions or conversions, all on the "
            f"{m['channel'].iloc[0]} channel between {m['date'].min()} and {m['date'].max()}. "
            "Totals for that channel are slightly understated for March.")


WEEKLY_CHART = """# Weekly sessions per channel
weekly = (
    df.assign(week=pd.to_datetime(df['date']).dt.to_period('W').dt.start_time)
    .pivot_table(index='week', columns='channel', values='sessions', aggfunc='sum')
)
fig, ax = plt.subplots(figsize=(9, 4))
weekly.plot(ax=ax)
ax.set_title('Weekly sessions by channel')
ax.set_ylabel('Sessions')
result = fig"""


def interpret_weekly(df: pd.DataFrame) -> str:
    first = df[df["date"] < "2024-02-01"].groupby("channel")["sessions"].sum()
    last = df[df["date"] >= "2024-06-01"].groupby("channel")["sessions"].sum()
    change = ((last / first) - 1).sort_values()
    return (f"Sessions grew on every channel except {change.index[0]}, which fell by {abs(change.iloc[0]):.0%} "
            f"from January to June; {change.index[-1]} grew fastest (+{change.iloc[-1]:.0%}). "
            "The dips each week are weekends.")


TRAFFIC = Notebook(
    name="web_traffic",
    title="Website traffic: which channels convert?",
    intro="Six months of daily sessions and conversions per marketing channel, with a gap in the tracking.",
    csv="data/web_traffic.csv",
    alias="traffic",
    cells=[
        Question("Which channel has the highest conversion rate?", CONVERSION, interpret_conversion),
        Question("Are there days with missing data?", MISSING_DAYS, interpret_missing),
        Question("Show weekly sessions per channel as a chart", WEEKLY_CHART, interpret_weekly),
    ],
)

# --- Support tickets -------------------------------------------------------------------------
MEDIAN_RESOLUTION = """# Median hours to resolve, by priority, most urgent first
order = ['urgent', 'high', 'medium', 'low']
result = (
    df.groupby('priority')['resolution_hours']
    .median()
    .reindex(order)
    .rename('median_resolution_hours')
)"""


def interpret_median(df: pd.DataFrame) -> str:
    m = df.groupby("priority")["resolution_hours"].median()
    return (f"Urgent tickets are resolved fastest, in a median of {m['urgent']:.1f} hours, against "
            f"{m['high']:.1f} h for high, {m['medium']:.1f} h for medium and {m['low']:.1f} h for low priority. "
            "The ordering matches the priorities, so triage is working.")


SATISFACTION = """from scipy import stats

# Rank correlation: robust to the skewed resolution times; unanswered surveys dropped
clean = df[['resolution_hours', 'satisfaction']].dropna()
rho, p_value = stats.spearmanr(clean['resolution_hours'], clean['satisfaction'])
result = {'spearman_rho': round(float(rho), 3), 'p_value': round(float(p_value), 4), 'tickets': len(clean)}"""


def interpret_satisfaction(df: pd.DataFrame) -> str:
    from scipy import stats

    clean = df[["resolution_hours", "satisfaction"]].dropna()
    rho, p = stats.spearmanr(clean["resolution_hours"], clean["satisfaction"])
    verdict = ("no meaningful link" if p >= 0.05 else
               ("a real but weak link" if abs(rho) < 0.3 else "a clear link"))
    return (f"Across {len(clean)} rated tickets the rank correlation is {rho:.3f} (p = {p:.2f}): "
            f"{verdict} between how long a ticket takes and how satisfied the customer is. "
            "About a quarter of customers did not answer the survey, so those tickets are left out.")


URGENT_TEAM = """urgent = df[df['priority'] == 'urgent']
result = urgent['team'].value_counts().rename('urgent_tickets')"""


def interpret_urgent(df: pd.DataFrame) -> str:
    c = df[df["priority"] == "urgent"]["team"].value_counts()
    return (f"The {c.index[0]} team handles the most urgent tickets ({c.iloc[0]} of {c.sum()}), "
            f"ahead of {c.index[1]} ({c.iloc[1]}).")


TICKETS = Notebook(
    name="support_tickets",
    title="Support desk: resolution times and satisfaction",
    intro="A quarter of support tickets with priority, team, resolution time and an optional satisfaction score.",
    csv="data/support_tickets.csv",
    alias="tickets",
    cells=[
        Question("What is the median resolution time by priority?", MEDIAN_RESOLUTION, interpret_median),
        Question("Does satisfaction drop when tickets take longer to resolve?", SATISFACTION, interpret_satisfaction),
        Question("Which team has the most urgent tickets?", URGENT_TEAM, interpret_urgent),
    ],
)

NOTEBOOKS = [TOUR, TRAFFIC, TICKETS]


def to_ipynb(nb: Notebook) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell(f"# {nb.title}\n\n{nb.intro}"),
             nbformat.v4.new_code_cell(f"%load {nb.csv} as {nb.alias}")]
    for c in nb.cells:
        if isinstance(c, Question):
            cells.append(nbformat.v4.new_code_cell(c.text))
        elif c[0] == "md":
            cells.append(nbformat.v4.new_markdown_cell(c[1]))
        else:
            cells.append(nbformat.v4.new_code_cell(c[1]))
    doc = nbformat.v4.new_notebook(cells=cells)
    doc.metadata["kernelspec"] = {"name": "llm-analytics", "display_name": "LLM Analytics", "language": "llm-analytics"}
    doc.metadata["language_info"] = {"name": "llm-analytics", "file_extension": ".py", "mimetype": "text/x-python"}
    return doc


def script_answers(llm: FakeLLM, nb: Notebook) -> None:
    df = pd.read_csv(HERE / nb.csv)
    rules = []
    for q in (c for c in nb.cells if isinstance(c, Question)):
        rules.append({"match": f"The user asked: {q.text}\n", "reply": {"content": q.interpret(df), "chunk_delay": 0.0}})
        rules.append({"match": f"Current question: {q.text}\n", "reply": {"content": f"```python\n{q.code}\n```"}})
    llm.script(rules=rules, reset=True)


def build(nb: Notebook, llm: FakeLLM) -> None:
    path = HERE / f"{nb.name}.ipynb"
    answers = HERE / f"{nb.name}.answers.json"
    answers.unlink(missing_ok=True)
    doc = to_ipynb(nb)
    script_answers(llm, nb)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "recording", "OPENAI_MODEL": "hand-written",
               "LLM_ANALYTICS_DATA_DIR": data_dir, "JPY_SESSION_NAME": str(path)}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            doc.cells.append(nbformat.v4.new_code_cell("%history --all --export"))
            client = NotebookClient(doc, kernel_name="llm-analytics", timeout=120,
                                    resources={"metadata": {"path": str(HERE)}})
            client.execute()
            doc.cells.pop()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    nbformat.write(doc, path)
    # Label the records as hand-written, as they are.
    rec = json.loads(answers.read_text())
    rec["about"] = ("HAND-WRITTEN ANSWERS, not model output: no model was available when this notebook was "
                    "made, so the code and interpretations were written by hand (notebooks/build_notebooks.py). "
                    + rec["about"])
    answers.write_text(json.dumps(rec, indent=2) + "\n")
    print(f"built {path.name} and {answers.name} ({len(rec['records'])} answers)")


def main() -> None:
    with FakeLLM() as llm:
        for nb in NOTEBOOKS:
            build(nb, llm)


if __name__ == "__main__":
    main()
