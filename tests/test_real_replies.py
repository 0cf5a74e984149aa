"""Replies a real model gave, replayed through the kernel: each habit has a fixture.

The fixtures in tests/fixtures/real_replies/ were recorded from Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M, llama.cpp's llama-server, CPU) asking the kernel's own prompts through
bench/record_replies.py; each holds the table the question was about, the question and the
model's replies in order. The scripted server (tests/fake_llm.py) serves them back, so the
kernel meets exactly what a small local model writes: a re-read of the data under a guessed
file name, printed answers, names without the header's spaces, prose around the code.
Expected answers are computed here with pandas from the same table; fixtures that say
`synthetic` were written by hand in the format of models we cannot run here, and say why.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fake_llm import FakeLLM
from kernel_helpers import execute, show

pytestmark = [pytest.mark.kernel]

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "real_replies").glob("*.json"))
INTERPRETATION = "The answer is shown above."


def _fixture(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_real_reply_is_answered(path: Path, kernel_factory, fake_llm: FakeLLM, tmp_path: Path):
    fx = _fixture(path)
    table = tmp_path / fx["file_name"]
    table.write_text(fx["csv"])
    frame = pd.read_csv(table)
    fake_llm.script(
        replies=[{"content": r} for r in fx["replies"]],
        rules=[{"match_regex": r"\A\s*The user asked:", "reply": {"content": INTERPRETATION}}],
    )
    _, kc = kernel_factory()
    reply, outputs = execute(kc, f"%load {fx['file_name']}", timeout=60)
    assert reply["status"] == "ok", show(outputs)
    reply, outputs = execute(kc, fx["question"], timeout=240)
    code_requests = [r for r in fake_llm.chat_requests
                     if "explaining results" not in json.dumps(r["json"]["messages"][0])]
    notes = [o for o in outputs if (o["content"].get("metadata") or {}).get("llm_analytics", {}).get("role") == "code"]
    final = notes[-1]["content"]["data"].get("text/markdown", "") if notes else ""
    if fx.get("expect_error"):
        # The model never got it right: the cell says what failed, once, with one line per
        # earlier attempt, after every recorded reply was tried.
        assert reply["status"] == "error" and reply["ename"] == fx["expect_error"], show(outputs)
        assert len(code_requests) == fx["code_requests"], show(outputs)
        assert "Attempt 1" in final, final
        return
    assert reply["status"] == "ok", f"{fx['habit']}: {show(outputs)}"
    answer = "".join(
        (o["content"].get("text") or "") + ((o["content"].get("data") or {}).get("text/plain") or "")
        for o in outputs if o["msg_type"] in ("stream", "execute_result"))
    expected = eval(fx["expected"], {"df": frame, "pd": pd})  # noqa: S307 - our own fixture
    if isinstance(expected, str):
        assert expected in answer, f"expected {expected!r} in the answer:\n{show(outputs)}"
    else:
        numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", answer)]
        assert any(abs(n - float(expected)) <= 1e-6 + 1e-9 * abs(float(expected)) for n in numbers), (
            f"expected {expected!r} among the numbers {numbers[:20]} of the answer:\n{show(outputs)}")
    assert len(code_requests) == fx.get("code_requests", 1), show(outputs)
    for fragment in fx.get("notes", []):
        assert fragment in final, f"note {fragment!r} missing from the code display:\n{final}"
