"""The DABench scoring rule on inline examples (no ../shared needed).

    python -m pytest bench/test_dabench.py
"""
import json

import pytest

import dabench


def test_extract_finds_all_answers_and_last_occurrence_wins():
    text = "first try @mean[1.0], then @std[2] ... corrected: @mean[1.5]"
    assert dabench.extract(text) == {"mean": "1.5", "std": "2"}


def test_extract_value_stops_at_first_bracket_and_never_spans_lines():
    assert dabench.extract("@a[x] and [y]") == {"a": "x"}
    assert dabench.extract("@a[1\n] @b[2]") == {"b": "2"}
    assert dabench.extract("@a[]") == {"a": ""}


def test_extract_names_are_word_characters_and_case_sensitive():
    found = dabench.extract("@Mean[1] @mean_2[2] @bad-name[3]")
    assert found == {"Mean": "1", "mean_2": "2"}  # "@bad-name[3]" is no answer at all
    assert dabench.score("@Mean[1]", {"mean": "1"})["ok"] is False


def test_extract_no_response():
    assert dabench.extract(None) == {} and dabench.extract("") == {}


@pytest.mark.parametrize(
    "got, want, ok",
    [
        ("34.65", "34.65", True),
        ("34.650", "34.65", True),  # both floats, equal
        ("34.6500001", "34.65", True),  # < 1e-6 apart
        ("34.651", "34.65", False),  # the rounding the format asks for matters
        ("34.6", "34.65", False),
        ("1e2", "100", True),
        ("Male", "Male", True),
        ("male", "Male", False),  # strings compare exactly
        ("nan", "nan", True),  # equal strings, although nan != nan as floats
        ("yes", "1", False),
    ],
)
def test_same(got, want, ok):
    assert dabench.same(got, want) is ok


def test_score_needs_every_sub_answer():
    labels = {"mean_fare_child": "31.09", "mean_fare_adult": "35.17"}
    full = dabench.score("@mean_fare_child[31.09], @mean_fare_adult[35.170]", labels)
    assert full["ok"] and full["missing"] == []
    half = dabench.score("@mean_fare_child[31.09]", labels)
    assert not half["ok"]
    assert half["parts"] == {"mean_fare_child": True, "mean_fare_adult": False}
    assert half["missing"] == ["mean_fare_adult"]
    assert dabench.score(None, labels)["ok"] is False


def test_extra_answers_do_not_hurt():
    assert dabench.score("@a[1] @b[2]", {"a": "1"})["ok"]


def test_question_text_is_question_constraints_format():
    q = {"question": "Mean fare? ", "constraints": "Round to 2 decimals.", "format": "@mean_fare[x]"}
    assert dabench.question_text(q) == "Mean fare?\nRound to 2 decimals.\n@mean_fare[x]"


QUESTIONS = [
    {"id": 0, "question": "q0", "constraints": "c", "format": "@a[x]", "file_name": "t.csv", "level": "easy"},
    {"id": 5, "question": "q5", "constraints": "c", "format": "@b[x]", "file_name": "t.csv", "level": "medium"},
    {"id": 9, "question": "q9", "constraints": "c", "format": "@c[x]", "file_name": "u.csv", "level": "hard"},
    {"id": 12, "question": "q12", "constraints": "c", "format": "@d[x]", "file_name": "u.csv", "level": "easy"},
]
LABELS = [
    {"id": 0, "common_answers": [["a", "1.00"]]},
    {"id": 5, "common_answers": [["b", "x"], ["b2", "2"]]},
    {"id": 9, "common_answers": [["c", "3"]]},
    {"id": 12, "common_answers": [["d", "4"]]},
]


@pytest.fixture
def eval_dir(tmp_path):
    for name, rows in (("questions.jsonl", QUESTIONS), ("labels.jsonl", LABELS)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_load_attaches_labels_in_file_order(eval_dir):
    qs = dabench.load(eval_dir)
    assert [q["id"] for q in qs] == [0, 5, 9, 12]
    assert qs[1]["labels"] == {"b": "x", "b2": "2"}


def test_select(eval_dir):
    qs = dabench.load(eval_dir)
    assert [q["id"] for q in dabench.select(qs, ids=[9, 0])] == [9, 0]
    assert [q["id"] for q in dabench.select(qs, level="easy")] == [0, 12]
    assert [q["id"] for q in dabench.select(qs, limit=2)] == [0, 5]
    with pytest.raises(KeyError):
        dabench.select(qs, ids=[7])


def test_abq_is_strict_and_per_level(eval_dir):
    qs = dabench.load(eval_dir)
    table = dabench.abq(qs, {0: True, 5: False, 9: True})  # 12 has no result: wrong
    assert table["all"] == {"right": 2, "n": 4, "abq": 0.5}
    assert table["easy"] == {"right": 1, "n": 2, "abq": 0.5}
    assert table["medium"]["abq"] == 0.0 and table["hard"]["abq"] == 1.0


def test_cli_score(eval_dir, tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    rows = [{"id": 0, "response": "@a[1]"}, {"id": 5, "response": "@b[x] @b2[2.0]"}, {"id": 9, "response": None}]
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert dabench.main(["--eval-dir", str(eval_dir), "score", str(results)]) == 0
    assert capsys.readouterr().out.startswith("all 2/4 (50.0%)")
    dabench.main(["--eval-dir", str(eval_dir), "score", "--only-listed", str(results)])
    assert capsys.readouterr().out.startswith("all 2/3 (66.7%)")
