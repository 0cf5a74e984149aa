"""DABench dev split: the questions, and the benchmark's own scoring rule, in one place.

Every runner (the kernel, bench/plain_loop.py, anything later) imports this module, so they all
build the question text and score responses exactly the same way: the rule in
../shared/eval/dabench-dev/README.md.

    python bench/dabench.py show 0 6              # the question text a system is given
    python bench/dabench.py score results.jsonl   # ABQ of {"id", "response"} lines (strict)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT.parent / "shared" / "eval" / "dabench-dev"
TABLES_DIR = ROOT.parent / "shared" / "data" / "dabench-tables"
LEVELS = ("easy", "medium", "hard")

# The README's rule: @name[value], no newline inside a value, the last occurrence of a name wins.
ANSWER = re.compile(r"@(\w+)\[(.*?)\]")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load(eval_dir: Path = EVAL_DIR) -> list[dict]:
    """Questions in file order, each with its gold answers under "labels" ({name: value})."""
    labels = {r["id"]: dict(r["common_answers"]) for r in read_jsonl(eval_dir / "labels.jsonl")}
    questions = read_jsonl(eval_dir / "questions.jsonl")
    for q in questions:
        q["labels"] = labels[q["id"]]
    return questions


def select(questions: list[dict], ids=None, level=None, limit=None) -> list[dict]:
    """The subset a run asks: by ids (in the given order), by level, then the first `limit`."""
    if ids:
        by_id = {q["id"]: q for q in questions}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise KeyError(f"no such question ids: {missing}")
        questions = [by_id[i] for i in ids]
    if level:
        questions = [q for q in questions if q["level"] == level]
    return questions[:limit] if limit else questions


def question_text(q: dict) -> str:
    """What the system under test is asked: question, constraints and format, one per line."""
    return "\n".join(q[k].strip() for k in ("question", "constraints", "format"))


def table_path(q: dict, tables_dir: Path | None = None) -> Path:
    return (tables_dir or TABLES_DIR) / q["file_name"]


def extract(response: str | None) -> dict[str, str]:
    """All @name[value] answers in a free-text response; a later one replaces an earlier one."""
    return dict(ANSWER.findall(response or ""))


def same(got: str, want: str) -> bool:
    """Equal strings, or both floats less than 1e-6 apart."""
    if got == want:
        return True
    try:
        return abs(float(got) - float(want)) < 1e-6
    except ValueError:
        return False


def score(response: str | None, labels: dict[str, str]) -> dict:
    """Per sub-answer verdicts; ok only when every labelled sub-answer is right."""
    found = extract(response)
    parts = {name: name in found and same(found[name], want) for name, want in labels.items()}
    return {
        "ok": all(parts.values()),
        "parts": parts,
        "missing": [n for n in labels if n not in found],  # asked-for names absent: a format problem
        "found": found,
    }


def abq(questions: list[dict], ok_by_id: dict[int, bool]) -> dict:
    """Strict ABQ over `questions`, overall and per level: no result counts as wrong."""
    def share(qs):
        right = sum(bool(ok_by_id.get(q["id"])) for q in qs)
        return {"right": right, "n": len(qs), "abq": right / len(qs) if qs else None}

    out = {"all": share(questions)}
    for level in LEVELS:
        qs = [q for q in questions if q["level"] == level]
        if qs:
            out[level] = share(qs)
    return out


def format_abq(table: dict) -> str:
    return "  ".join(f"{k} {v['right']}/{v['n']} ({100 * v['abq']:.1f}%)" for k, v in table.items())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    sub = ap.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="print the question text for ids")
    show.add_argument("ids", type=int, nargs="+")
    sc = sub.add_parser("score", help='score a JSONL of {"id": .., "response": ..} (strict over the whole split)')
    sc.add_argument("results", type=Path)
    sc.add_argument("--only-listed", action="store_true", help="ABQ over the ids in the file, not all 120")
    args = ap.parse_args(argv)

    questions = load(args.eval_dir)
    if args.cmd == "show":
        for q in select(questions, ids=args.ids):
            print(f"# {q['id']} ({q['level']}, {q['file_name']})\n{question_text(q)}\n")
        return 0

    rows = read_jsonl(args.results)
    by_id = {q["id"]: q for q in questions}
    ok = {r["id"]: score(r.get("response"), by_id[r["id"]]["labels"])["ok"] for r in rows}
    if args.only_listed:
        questions = [by_id[i] for i in ok]
    print(format_abq(abq(questions, ok)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
