"""``%history --everywhere``: the audit listing across every notebook in the history store.

Two notebooks, each with its own model name, ask questions through real kernels and the
scripted model of tests/fake_llm.py: the first gets an answer and an error, the second an
answer and then a replay of it. A third notebook lists them, filters them (--model, --since,
--errors, --replayed, combined) and exports them to CSV, on the embedded SQLite store and on
MongoDB (a SecantusDB server). Expected rows come from what the test itself asked.
"""
from __future__ import annotations

import csv
import json
import sqlite3
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kernel_helpers import errors, execute, show, stream_text
from test_history import (  # noqa: F401  (mongo_servers, sales_csv: fixtures used below)
    CODE,
    Q_BROKEN,
    Q_ORDERS,
    Q_TOTAL,
    REPLAY_NOTE,
    ask,
    ask_ok,
    backend_settings,
    code_markdown,
    env_for,
    history,
    history_rows,
    load,
    mongo_servers,
    pymongo,
    sales_csv,
    script_model,
    wait_for_documents,
)

pytestmark = [pytest.mark.kernel]

MODEL_A, MODEL_B = "model-alpha", "model-beta"
# A notebook name is text from the store like any other: it must come out escaped.
NB_B_NAME = "two<b>bold</b>.ipynb"


def stop(km, kc) -> None:
    """Graceful shutdown (with MongoDB: sends what is still spooled)."""
    km.shutdown_kernel(now=False)
    kc.stop_channels()


def listing(kc, args: str = "") -> list[dict[str, str]]:
    """Rows of `%history --everywhere ARGS` ([] when the display says nothing matched)."""
    data, _, _ = history(kc, f"--everywhere {args}")
    if "text/html" not in data:
        assert data["text/plain"].startswith("0 exchange(s)"), data
        return []
    return history_rows(data)


def keys(rows) -> list[tuple[str, str]]:
    return [(r["notebook"], r["question"]) for r in rows]


def usage_error(kc, line: str) -> str:
    reply, out = execute(kc, line, timeout=30)
    assert reply["status"] == "error", f"{line}: {reply}\n{show(out)}"
    errs = errors(out)
    assert [e["content"]["ename"] for e in errs] == ["UsageError"], show(out)
    return errs[0]["content"]["evalue"]


@pytest.fixture
def two_notebooks(kernel_factory, fake_llm, tmp_path, sales_csv, mongo_servers, request):
    """Runs notebooks A and B; returns (env for a third notebook, A, B, the instant between
    A's exchanges and B's)."""
    csv_path, _ = sales_csv
    script_model(fake_llm)
    extra = backend_settings(request.param, mongo_servers)
    nb_a, nb_b = str(tmp_path / "one.ipynb"), str(tmp_path / NB_B_NAME)

    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="one.ipynb",
                                        OPENAI_MODEL=MODEL_A, **extra))
    load(kc, csv_path)
    ask_ok(kc, Q_TOTAL)
    reply, out, _ = ask(kc, Q_BROKEN)
    assert reply["status"] == "error", show(out)
    stop(km, kc)

    time.sleep(0.05)
    cut = datetime.now(timezone.utc)
    time.sleep(0.05)

    km, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook=NB_B_NAME,
                                        OPENAI_MODEL=MODEL_B, **extra))
    load(kc, csv_path)
    out, _ = ask_ok(kc, Q_ORDERS)
    assert REPLAY_NOTE not in code_markdown(out)
    out, _ = ask_ok(kc, Q_ORDERS)
    assert REPLAY_NOTE in code_markdown(out), "the second ask should replay"
    stop(km, kc)

    env = env_for(fake_llm.base_url, tmp_path, notebook="three.ipynb", **extra)
    if request.param == "mongo":
        # The third notebook runs elsewhere: what it lists can only come from MongoDB.
        if pymongo is not None:
            assert wait_for_documents(env["MONGODB_URL"], env["DATABASE_NAME"], "exchanges", 4) == 4
        env["LLM_ANALYTICS_DATA_DIR"] = str(tmp_path / "another-machine")
    return env, nb_a, nb_b, cut


BACKENDS = pytest.mark.parametrize("two_notebooks", ["sqlite", "mongo"], indirect=True)


@BACKENDS
def test_everywhere_lists_every_notebook_and_filters_combine(kernel_factory, two_notebooks):
    env, nb_a, nb_b, cut = two_notebooks
    _, kc = kernel_factory(env=env)

    data, _, _ = history(kc, "--everywhere")
    assert "<b>bold</b>" not in data["text/html"], "a notebook name was not escaped"
    assert "two&lt;b&gt;bold&lt;/b&gt;.ipynb" in data["text/html"]
    rows = history_rows(data)
    # newest first, every notebook, including B's replay
    assert keys(rows) == [(nb_b, Q_ORDERS), (nb_b, Q_ORDERS), (nb_a, Q_BROKEN), (nb_a, Q_TOTAL)]
    assert [r["replayed"] for r in rows] == ["yes", "", "", ""]
    assert [r["model"] for r in rows] == [MODEL_B, MODEL_B, MODEL_A, MODEL_A]
    assert rows[2]["result"].startswith("error:") and "discount" in rows[2]["result"], rows
    assert not rows[3]["result"].startswith("error:"), rows
    text = data["text/plain"]
    assert text.startswith("4 exchange(s)"), text
    assert nb_a in text and nb_b in text and Q_BROKEN in text

    assert keys(listing(kc, f"--model {MODEL_A}")) == [(nb_a, Q_BROKEN), (nb_a, Q_TOTAL)]
    assert keys(listing(kc, "--errors")) == [(nb_a, Q_BROKEN)]
    replayed = listing(kc, "--replayed")
    assert keys(replayed) == [(nb_b, Q_ORDERS)] and replayed[0]["replayed"] == "yes"
    assert keys(listing(kc, f"--since {cut.isoformat()}")) == [(nb_b, Q_ORDERS)] * 2
    z_form = cut.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert keys(listing(kc, f"--since {z_form}")) == [(nb_b, Q_ORDERS)] * 2
    yesterday = (cut - timedelta(days=1)).strftime("%Y-%m-%d")
    assert len(listing(kc, f"--since {yesterday}")) == 4
    tomorrow = (cut + timedelta(days=1)).strftime("%Y-%m-%d")
    assert listing(kc, f"--since {tomorrow}") == []
    # filters combine
    assert listing(kc, f"--errors --model {MODEL_B}") == []
    assert keys(listing(kc, f"--errors --model {MODEL_A} --since {yesterday}")) == [(nb_a, Q_BROKEN)]
    assert keys(listing(kc, f"--replayed --since {cut.isoformat()}")) == [(nb_b, Q_ORDERS)]
    assert listing(kc, "--replayed --errors") == []
    assert listing(kc, "--model no-such-model") == []


@BACKENDS
def test_everywhere_export_writes_the_filtered_exchanges_as_csv(
        kernel_factory, two_notebooks, tmp_path):
    env, nb_a, nb_b, _ = two_notebooks
    _, kc = kernel_factory(env=env)

    out_all = tmp_path / "audit all.csv"
    reply, out = execute(kc, f"%history --everywhere --export '{out_all}'", timeout=30)
    assert reply["status"] == "ok", show(out)
    assert f"Wrote 4 exchanges to {out_all}" in stream_text(out), show(out)
    with open(out_all, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for column in ("timestamp", "notebook", "question", "model", "endpoint_host", "error",
                   "replayed", "prompt_tokens", "completion_tokens", "code"):
        assert column in rows[0], f"no {column} column: {list(rows[0])}"
    assert [(r["notebook"], r["question"]) for r in rows] == [
        (nb_b, Q_ORDERS), (nb_b, Q_ORDERS), (nb_a, Q_BROKEN), (nb_a, Q_TOTAL)]
    assert [r["replayed"] for r in rows] == ["true", "false", "false", "false"]
    assert [r["model"] for r in rows] == [MODEL_B, MODEL_B, MODEL_A, MODEL_A]
    assert [bool(r["error"]) for r in rows] == [False, False, True, False]
    assert "discount" in rows[2]["error"]
    assert [r["code"] for r in rows] == [CODE[Q_ORDERS], CODE[Q_ORDERS], CODE[Q_BROKEN],
                                         CODE[Q_TOTAL]]
    assert all(r["endpoint_host"] == "127.0.0.1" for r in rows[1:]), rows
    assert all(int(r["prompt_tokens"]) > 0 and int(r["completion_tokens"]) > 0
               for r in rows[1:]), "a model-answered exchange has no token counts"
    stamps = [datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) for r in rows]
    assert stamps == sorted(stamps, reverse=True)

    # the export honours the filters
    out_b = tmp_path / "model-b.csv"
    reply, out = execute(kc, f"%history --everywhere --model {MODEL_B} --export {out_b}", timeout=30)
    assert reply["status"] == "ok", show(out)
    with open(out_b, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["notebook"], r["model"]) for r in rows] == [(nb_b, MODEL_B)] * 2
    out_err = tmp_path / "errors.csv"
    reply, out = execute(kc, f"%history --everywhere --errors --export {out_err}", timeout=30)
    assert reply["status"] == "ok", show(out)
    with open(out_err, newline="", encoding="utf-8") as f:
        assert [r["question"] for r in csv.DictReader(f)] == [Q_BROKEN]


def test_bad_usage_says_what_to_do(kernel_factory, fake_llm, tmp_path):
    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path))
    assert "--since needs a date like 2024-03-01" in usage_error(
        kc, "%history --everywhere --since yesterday")
    assert "--since needs a date" in usage_error(kc, "%history --everywhere --since 2024-02-30")
    assert "Unknown %history option" in usage_error(kc, "%history --everywhere --bogus")
    assert "--model needs a model name" in usage_error(kc, "%history --everywhere --model")
    assert "use it with --everywhere" in usage_error(kc, "%history --errors")
    assert "only with --everywhere" in usage_error(kc, "%history --export x.csv")
    assert "needs a file name" in usage_error(kc, "%history --everywhere --export")
    assert "exclude each other" in usage_error(kc, "%history --all --everywhere")
    missing = tmp_path / "no-such-folder" / "audit.csv"
    msg = usage_error(kc, f"%history --everywhere --export {missing}")
    assert f"Cannot write {missing}" in msg and "folder you can write to" in msg, msg
    assert not missing.parent.exists()


def test_listing_is_bounded_and_export_is_not(kernel_factory, fake_llm, tmp_path, sales_csv):
    """Stored exchanges beyond the shown 200 are counted and exported. The extra rows are
    written straight into the SQLite store (copies of a real exchange with other ids, times,
    a hostile question and a formula-looking model name)."""
    csv_path, _ = sales_csv
    script_model(fake_llm)
    env = env_for(fake_llm.base_url, tmp_path, notebook="one.ipynb")
    km, kc = kernel_factory(env=env)
    load(kc, csv_path)
    ask_ok(kc, Q_TOTAL)
    stop(km, kc)

    extra = 230
    db = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    with db:
        row = db.execute("SELECT * FROM exchanges").fetchone()
        cols = [d[0] for d in db.execute("SELECT * FROM exchanges").description]
        base = dict(zip(cols, row))
        record = json.loads(base["record"])
        for i in range(extra):
            rec = dict(record, id=str(uuid.uuid4()), question=f"<i>q{i}</i>\n\x1b[31mforged",
                       model="=cmd|' /C calc'!A0")
            rec["timestamp"] = (datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
                                - timedelta(minutes=i + 1)).isoformat()
            db.execute(
                f"INSERT INTO exchanges ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [dict(base, id=rec["id"], position=base["position"] + i + 1,
                      timestamp=base["timestamp"] - (i + 1) * 60_000, question=rec["question"],
                      record=json.dumps(rec))[c] for c in cols])
    db.close()

    _, kc = kernel_factory(env=env_for(fake_llm.base_url, tmp_path, notebook="other.ipynb"))
    data, _, _ = history(kc, "--everywhere")
    rows = history_rows(data)
    assert len(rows) == 200
    assert rows[0]["question"] == Q_TOTAL
    assert f"{extra + 1 - 200} more matched" in data["text/plain"], data["text/plain"][:400]
    assert "<i>" not in data["text/html"] and "\x1b" not in data["text/plain"]
    assert "\nforged" not in data["text/plain"]

    out_file = tmp_path / "all.csv"
    reply, out = execute(kc, f"%history --everywhere --export {out_file}", timeout=30)
    assert reply["status"] == "ok", show(out)
    with open(out_file, newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == extra + 1
    assert exported[1]["question"] == "<i>q0</i>\n\x1b[31mforged"  # the CSV keeps the full text
    # a spreadsheet must not run a stored value as a formula
    assert exported[1]["model"] == "'=cmd|' /C calc'!A0"
