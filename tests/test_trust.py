"""Trust and control (issue 14): privacy modes, the exact prompt preview, the token
ledger and budgets, the analyst's notes.

Real Jupyter clients against the installed kernel and a scripted OpenAI-compatible
server (tests/fake_llm.py). Privacy is checked the strict way: every request body the
server received is searched for every value of the loaded table.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fake_llm import FakeLLM, _count_tokens, all_messages_text, last_user_message
from kernel_helpers import all_text, errors, execute, make_kernel_env, role, stream_text

pytestmark = [pytest.mark.kernel]

CODE_SYSTEM = "You are a data analyst. Generate only executable Python code."
INTERPRET_SYSTEM = "You are a data analyst explaining results to a business user. Be concise and clear."
CELL = 90

# Every value is distinctive: found in a request body, it can only have come from the table.
TABLE = """\
store_city,manager,opened,turnover,staff
Quahogville,Zelda Fitzwarren,2011-04-17,918273.65,417
Brisketon,Orrin Vantablack,2013-09-02,726354.15,382
Yarrowmere,Pippa Quenneville,2016-12-23,635241.95,293
Fennimoor,Ulric Drachenfels,2019-06-08,574839.25,358
Glimmerdale,Hesper Wainwright,2020-02-29,463728.85,271
Tarnwick,Benedikt Oyelaran,2022-11-11,352617.45,339
"""


def table_values(path: Path) -> set[str]:
    """Every cell as text, in the forms it could take in a prompt (as read and as parsed)."""
    raw = pd.read_csv(path, dtype=str)
    parsed = pd.read_csv(path)
    values = {str(v) for v in raw.to_numpy().ravel()}
    values |= {str(v) for v in parsed.to_numpy().ravel()}
    values |= {repr(v) for v in parsed.select_dtypes("number").to_numpy().ravel()}
    return {v for v in values if len(v) >= 3}


def leaks(fake: FakeLLM, values: set[str]) -> list[tuple[int, str]]:
    found = []
    for i, req in enumerate(fake.requests):
        body = json.dumps(req["json"], ensure_ascii=False)
        found += [(i, v) for v in values if v in body]
    return found


def snippet(req, value: str) -> str:
    body = json.dumps(req["json"], ensure_ascii=False)
    at = body.find(value)
    return body[max(0, at - 150):at + 50]


def usage_outputs(outputs):
    return [o for o in outputs if role(o) == "usage"]


def chat_bodies(fake: FakeLLM) -> list[dict]:
    return [r["json"] for r in fake.requests if isinstance(r.get("json"), dict) and "messages" in r["json"]]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "stores.csv"
    path.write_text(TABLE)
    return path


def start(kernel_factory, fake_llm, tmp_path, **env):
    km, kc = kernel_factory(env=make_kernel_env(fake_llm.base_url, tmp_path, **env))
    return kc


def interpretation_rule(text="The figures are shown above."):
    return {"match_any": INTERPRET_SYSTEM, "reply": {"content": text}}


def test_schema_mode_sends_no_value_in_any_request(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path, LLM_ANALYTICS_PRIVACY="schema")
    reply, out = execute(kc, f"%load {table}", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    reply, out = execute(kc, "%privacy", timeout=CELL)
    assert "Privacy mode: schema" in stream_text(out)
    fake_llm.script(
        rules=[interpretation_rule()],
        replies=[
            # Raises with a cell value in the message, then prints an answer without the
            # requested form (the printed text holds values), then answers.
            {"content": "```python\nresult = float(df['store_city'].iloc[0])\n```"},
            {"content": "```python\nprint(df['manager'].tolist())\n```"},
            {"content": "```python\nbest = df.loc[df['turnover'].idxmax()]\nresult = f\"@best_city[{best['store_city']}] @turnover[{best['turnover']}]\"\n```"},
            # A follow-up: the previous result's summary is context now.
            {"content": "```python\nresult = df['turnover'].max()\n```"},
        ],
    )
    question = "Which store has the highest turnover? Answer as @best_city[name] @turnover[value]."
    reply, out = execute(kc, question, timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert "Quahogville" in all_text(out)  # the user sees the answer
    reply, out = execute(kc, "And the highest turnover alone?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    interpretation = [o for o in out if role(o) == "interpretation"]
    assert interpretation and "shape and types only" in all_text(interpretation)
    bodies = chat_bodies(fake_llm)
    assert len(bodies) == 6, [last_user_message(b)[:80] for b in bodies]
    found = leaks(fake_llm, table_values(table))
    assert found == [], [snippet(fake_llm.requests[i], v) for i, v in found]
    # The structure still goes: names, dtypes, row count.
    first = last_user_message(bodies[0])
    assert "'turnover'" in first and "float64" in first and "6 rows" in first


def test_masked_mode_sends_stand_ins_of_the_same_shape(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path)
    execute(kc, f"%load {table}", timeout=CELL)
    reply, out = execute(kc, "%privacy masked", timeout=CELL)
    assert "Privacy mode: masked" in stream_text(out)
    fake_llm.script(rules=[interpretation_rule()], replies=[{"content": "```python\nresult = len(df)\n```"}])
    reply, out = execute(kc, "How many stores are there?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    code_request = last_user_message(chat_bodies(fake_llm)[0])
    assert "Xxxxxxxxxxx" in code_request  # Quahogville's stand-in
    assert "1111-11-11" in code_request  # a date keeps its format
    for value in ("Quahogville", "Zelda Fitzwarren", "2011-04-17", "918273.65"):
        assert value not in code_request
    found = leaks(fake_llm, table_values(table))
    assert found == [], [snippet(fake_llm.requests[i], v) for i, v in found]


def test_sample_mode_is_the_design_behaviour(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path)
    execute(kc, f"%load {table}", timeout=CELL)
    reply, out = execute(kc, "%privacy", timeout=CELL)
    assert "Privacy mode: sample" in stream_text(out)
    reply, out = execute(kc, "%privacy everything", timeout=CELL)
    assert reply["status"] == "error" and "schema, %privacy sample or %privacy masked" in all_text(out)
    fake_llm.script(rules=[interpretation_rule()], replies=[{"content": "```python\nresult = len(df)\n```"}])
    execute(kc, "How many stores are there?", timeout=CELL)
    assert "Quahogville" in last_user_message(chat_bodies(fake_llm)[0])


def test_show_prompt_prints_exactly_what_is_sent_and_sends_nothing(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path)
    execute(kc, f"%load {table}", timeout=CELL)
    question = "What is the mean staff count\nper store?"
    reply, out = execute(kc, f"%show_prompt {question}", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    assert chat_bodies(fake_llm) == []
    shown = [o for o in out if role(o) == "prompt"]
    assert len(shown) == 1
    messages = shown[0]["content"]["data"]["application/json"]["messages"]
    assert "Nothing was sent" in shown[0]["content"]["data"]["text/plain"]
    fake_llm.script(rules=[interpretation_rule()], replies=[{"content": "```python\nresult = df['staff'].mean()\n```"}])
    reply, out = execute(kc, question, timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    sent = chat_bodies(fake_llm)[0]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [(m["role"], m["content"]) for m in messages]
    reply, out = execute(kc, "%show_prompt", timeout=CELL)
    assert reply["status"] == "error" and "%show_prompt QUESTION" in all_text(out)


def test_every_question_carries_its_usage_and_percent_usage_adds_up(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path, OPENAI_MODEL="gpt-4o-mini")
    execute(kc, f"%load {table}", timeout=CELL)
    fake_llm.script(
        rules=[interpretation_rule()],
        replies=[
            {"content": "```python\nresult = df['no_such_column'].sum()\n```", "model": "gpt-4o-mini"},
            {"content": "```python\nresult = df['staff'].sum()\n```", "model": "gpt-4o-mini"},
        ],
    )
    reply, out = execute(kc, "Total staff?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    lines = usage_outputs(out)
    assert len(lines) == 1
    usage = lines[0]["content"]["metadata"]["llm_analytics"]["usage"]
    bodies = chat_bodies(fake_llm)
    assert usage["calls"] == 3 == len(bodies)
    assert set(usage["by_kind"]) == {"code", "repair", "interpretation"}
    assert usage["by_kind"]["repair"]["calls"] == 1
    # The fake server reports usage (its own count); the ledger adds exactly what it reported.
    assert usage["prompt_tokens"] == sum(_count_tokens(all_messages_text(b)) for b in bodies)
    assert usage["estimated"] is False and usage["cost_usd"] > 0
    text = lines[0]["content"]["data"]["text/plain"]
    assert text.startswith("3 calls · ") and "tokens · $" in text
    interp = [o for o in out if role(o) == "interpretation" and "usage" in o["content"]["metadata"]["llm_analytics"]]
    assert interp, "the interpretation carries the usage too"
    reply, out = execute(kc, "%usage", timeout=CELL)
    report = stream_text(out)
    assert "This session (1 questions): 3 calls" in report
    assert f"{usage['total_tokens']:,} tokens" in report
    assert "This notebook" in report and "Budgets: none set" in report


def test_a_call_over_the_token_budget_is_not_made(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path, MAX_TOKENS_PER_QUESTION="200")
    execute(kc, f"%load {table}", timeout=CELL)
    fake_llm.script(replies=[{"content": "```python\nresult = 1\n```"}])
    reply, out = execute(kc, "Total staff?", timeout=CELL)
    assert reply["status"] == "error"
    err = errors(out)[0]["content"]
    assert err["ename"] == "BudgetExceeded"
    assert "MAX_TOKENS_PER_QUESTION=200" in err["evalue"] and "Raise MAX_TOKENS_PER_QUESTION" in err["evalue"]
    assert chat_bodies(fake_llm) == []


def test_a_bad_privacy_setting_is_named_and_the_default_kept(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path, LLM_ANALYTICS_PRIVACY="secret")
    reply, out = execute(kc, f"%load {table}", timeout=CELL)
    assert "LLM_ANALYTICS_PRIVACY" in stream_text(out, "stderr")
    reply, out = execute(kc, "%privacy", timeout=CELL)
    assert "Privacy mode: sample" in stream_text(out)


def test_the_analysts_notes_reach_every_prompt_and_outlive_the_kernel(kernel_factory, fake_llm, tmp_path, table):
    (tmp_path / "stores.context.md").write_text("Turnover is net of refunds, in CHF.\n")
    kc = start(kernel_factory, fake_llm, tmp_path)
    reply, out = execute(kc, f"%load {table}", timeout=CELL)
    assert "Notes from stores.context.md" in stream_text(out)
    reply, out = execute(kc, "%%context\nThe fiscal year starts in April.", timeout=CELL)
    assert reply["status"] == "ok" and "fiscal year starts in April" in all_text(out)
    reply, out = execute(kc, "%%context\nThe fiscal year starts in April.", timeout=CELL)
    assert "already in the prompts" in all_text(out)
    fake_llm.script(rules=[interpretation_rule()], replies=[{"content": "```python\nresult = df['turnover'].sum()\n```"}])
    reply, out = execute(kc, "Total turnover?", timeout=CELL)
    bodies = chat_bodies(fake_llm)
    code_prompt, interpretation_prompt = last_user_message(bodies[0]), last_user_message(bodies[1])
    for prompt in (code_prompt, interpretation_prompt):
        assert "Turnover is net of refunds, in CHF." in prompt
        assert prompt.count("The fiscal year starts in April.") == 1
    # A new kernel for the same notebook has the notes without re-running the cells.
    kc2 = start(kernel_factory, fake_llm, tmp_path)
    reply, out = execute(kc2, "%context", timeout=CELL)
    text = all_text(out)
    assert "The fiscal year starts in April." in text and "stores.context.md" in text
    reply, out = execute(kc2, "%context clear", timeout=CELL)
    assert "Removed 2 notes" in stream_text(out)
    reply, out = execute(kc2, "%%context", timeout=CELL)
    assert reply["status"] == "error" and "%%context" in all_text(out)


def test_usage_without_a_reported_count_is_estimated_and_says_so(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path)
    execute(kc, f"%load {table}", timeout=CELL)
    fake_llm.script(
        rules=[{"match_any": INTERPRET_SYSTEM, "reply": {"content": "Six stores.", "no_usage": True}}],
        replies=[{"content": "```python\nresult = len(df)\n```", "no_usage": True}],
    )
    reply, out = execute(kc, "How many stores are there?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    line = usage_outputs(out)[0]
    usage = line["content"]["metadata"]["llm_analytics"]["usage"]
    assert usage["estimated"] is True and usage["calls"] == 2
    # About four characters per token of what was sent.
    sent = sum(len(m["content"]) for b in chat_bodies(fake_llm) for m in b["messages"])
    assert abs(usage["prompt_tokens"] - sent / 4) <= 4
    text = line["content"]["data"]["text/plain"]
    assert text.startswith("2 calls · ~") and "estimated" in text
    assert usage["cost_usd"] is None  # fake-model has no known price: tokens only
    assert "$" not in text


def test_a_call_over_the_session_cost_cap_is_not_made(kernel_factory, fake_llm, tmp_path, table):
    kc = start(kernel_factory, fake_llm, tmp_path, OPENAI_MODEL="gpt-4o-mini", MAX_COST_PER_SESSION="0.0001")
    execute(kc, f"%load {table}", timeout=CELL)
    fake_llm.script(replies=[{"content": "```python\nresult = 1\n```"}])
    reply, out = execute(kc, "Total staff?", timeout=CELL)
    err = errors(out)[0]["content"]
    assert err["ename"] == "BudgetExceeded" and "MAX_COST_PER_SESSION=0.0001" in err["evalue"]
    assert chat_bodies(fake_llm) == []
    reply, out = execute(kc, "%usage", timeout=CELL)
    assert "MAX_COST_PER_SESSION=0.0001" in stream_text(out)


@pytest.mark.parametrize("mode", ["schema", "masked"])
def test_a_misspelled_value_is_read_but_not_named_to_the_model(kernel_factory, fake_llm, tmp_path, table, mode):
    kc = start(kernel_factory, fake_llm, tmp_path, LLM_ANALYTICS_PRIVACY=mode)
    execute(kc, f"%load {table}", timeout=CELL)
    fake_llm.script(rules=[interpretation_rule()],
                    replies=[{"content": "```python\nresult = df['turnover'].max()\n```"}])
    reply, out = execute(kc, "What is the turnover of quahogvile?", timeout=CELL)
    assert reply["status"] == "ok", all_text(out)
    # The user is told how the word was read; the model only that it is a store_city value.
    assert "Quahogville" in all_text([o for o in out if role(o) == "code"])
    code_request = last_user_message(chat_bodies(fake_llm)[0])
    assert "In the question, 'quahogvile' refers to a value of column 'store_city'." in code_request
    assert "Quahogville" not in code_request
    if mode == "schema":  # masked still lets the interpretation see the result's values
        found = leaks(fake_llm, table_values(table))
        assert found == [], [snippet(fake_llm.requests[i], v) for i, v in found]
