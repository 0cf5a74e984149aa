"""Unit tests of the worker's Python runtime (the kernel/src/worker/runtime/ package), run in-process.

The package is imported by path and initialised with an `emit` that records events, so each
test sees exactly the (kind, payload) pairs the Rust worker would forward to the kernel.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

WORKER_DIR = Path(__file__).resolve().parents[2] / "kernel" / "src" / "worker"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_SETTINGS = {"MAX_OUTPUT_SIZE": 10_000, "MAX_SAMPLE_ROWS": 10, "DEFAULT_SAMPLE_ROWS": 5}
SCRIPT = "<script>alert(1)</script>"


def _import_by_path(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _import_package(name: str, folder: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its modules import each other relative to this name
    spec.loader.exec_module(module)
    return module


runtime = _import_package("llm_runtime_under_test", WORKER_DIR / "runtime")


class Recorder:
    """The `emit` callback plus helpers to look at what was emitted."""

    def __init__(self):
        self.events: list[tuple[str, dict]] = []
        self.streams: tuple = ()

    def __call__(self, kind: str, payload: dict) -> None:
        json.dumps(payload, allow_nan=False)  # the Rust side needs plain JSON
        self.events.append((kind, payload))

    def of(self, kind: str) -> list[dict]:
        return [payload for k, payload in self.events if k == kind]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def stdout(self) -> str:
        return "".join(p["text"] for p in self.of("stream") if p["name"] == "stdout")

    def clear(self) -> None:
        self.events.clear()

    def route_streams(self) -> None:
        """Reinstall the runtime's sys streams: pytest swaps in its capture for each test call."""
        sys.stdout, sys.stderr, sys.stdin = self.streams


@pytest.fixture
def rec(monkeypatch) -> Recorder:
    for stream in ("stdout", "stderr", "stdin"):  # init replaces them; restore after the test
        monkeypatch.setattr(sys, stream, getattr(sys, stream))
    recorder = Recorder()
    runtime.init(recorder)
    recorder.streams = (sys.stdout, sys.stderr, sys.stdin)
    runtime.configure(DEFAULT_SETTINGS)
    yield recorder
    runtime.output.plt.close("all")
    runtime.reset_question_state()


def _read_ipc(path: str) -> pd.DataFrame:
    with pa.OSFile(path, "rb") as source:
        return pa.ipc.open_file(source).read_all().to_pandas()


@pytest.fixture
def bridge(monkeypatch) -> types.ModuleType:
    """The real arrow_bridge once it exists, else a stand-in reading Arrow IPC files."""
    real = _import_by_path("arrow_bridge", WORKER_DIR / "arrow_bridge.py")
    if not hasattr(real, "read_ipc_to_pandas"):
        real = types.ModuleType("arrow_bridge")
        real.read_ipc_to_pandas = _read_ipc
    monkeypatch.setitem(sys.modules, "arrow_bridge", real)
    return real


@pytest.fixture
def write_ipc(tmp_path):
    def write(frame: pd.DataFrame, name: str = "data") -> str:
        path = tmp_path / f"{name}.arrow"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return str(path)

    return write


def sales_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["north", "south", "east", "west", "north", "south"],
            "price": [10.5, None, 7.25, 3.0, 8.0, 12.0],
            "units": [1, 2, 3, 4, 5, 6],
            "when": pd.to_datetime(["2024-01-0%d" % d for d in range(1, 7)]),
            "note": [SCRIPT, "ok", None, "x" * 100, "a", "b"],
        }
    )


@pytest.fixture
def sales(rec, bridge, write_ipc) -> dict:
    profile = runtime.load_dataset("sales", write_ipc(sales_frame()), True, "sales.csv")
    rec.clear()
    return profile


def run_ok(code: str, count: int = 1) -> None:
    assert runtime.run_cell(code, count) == {"status": "ok"}


def decode_png(b64: str) -> bytes:
    return base64.b64decode(b64)


# ---------------------------------------------------------------------------
# init, streams, settings


def test_init_namespace_has_the_base_names(rec):
    for name in ("pd", "np", "plt", "datetime", "display", "clear_output"):
        assert name in runtime.NS
    assert runtime.NS["__name__"] == "__main__"
    assert runtime.NS["datetime"].__name__ == "datetime"
    assert runtime.namespace_names() == sorted(
        ["pd", "np", "plt", "datetime", "display", "clear_output"]
    )
    assert "seaborn" not in runtime.NS


def test_init_uses_agg_and_pandas_defaults(rec):
    assert runtime.output.matplotlib.get_backend().lower() == "agg"
    assert pd.get_option("display.max_columns") == 50


def test_print_streams_stdout_and_stderr(rec):
    rec.route_streams()
    run_ok("import sys\nprint('hello')\nprint('oops', file=sys.stderr)")
    assert ("stream", {"name": "stdout", "text": "hello\n"}) in rec.events
    assert ("stream", {"name": "stderr", "text": "oops\n"}) in rec.events


def test_partial_line_is_flushed_at_end_of_cell(rec):
    rec.route_streams()
    run_ok("print('a', end='')\nprint('b', end='')")
    assert rec.stdout() == "ab"
    assert len(rec.of("stream")) == 1


def test_pending_text_is_sent_before_a_display(rec):
    rec.route_streams()
    run_ok("print('first', end='')\ndisplay(2)")
    assert rec.kinds() == ["stream", "display_data"]


def test_stream_writer_looks_like_a_text_file(rec):
    rec.route_streams()
    assert sys.stdout.isatty() is False
    assert sys.stdout.encoding == "utf-8"
    with pytest.raises(TypeError):
        sys.stdout.write(b"bytes")


def test_input_cannot_read_the_protocol_stdin(rec):
    rec.route_streams()
    result = runtime.run_cell("input()", 1)
    assert result["ename"] == "EOFError"


def test_configure_sets_limits_and_rejects_nonsense(rec):
    runtime.configure({"MAX_OUTPUT_SIZE": 123, "MAX_SAMPLE_ROWS": 3, "OTHER": 1})
    assert (runtime.state.MAX_OUTPUT_SIZE, runtime.state.MAX_SAMPLE_ROWS) == (123, 3)
    assert runtime.state.DEFAULT_SAMPLE_ROWS == 5
    with pytest.raises(ValueError):
        runtime.configure({"MAX_SAMPLE_ROWS": 0})


# ---------------------------------------------------------------------------
# run_cell results


def test_dataframe_last_expression_is_an_execute_result(rec):
    run_ok("pd.DataFrame({'a': [1, 2]})")
    (result,) = rec.of("execute_result")
    assert "<table" in result["data"]["text/html"]
    assert "a" in result["data"]["text/plain"]
    assert isinstance(runtime.NS["_"], pd.DataFrame)


def test_series_result_has_html_table(rec):
    run_ok("pd.Series([1, 2], name='s')")
    (result,) = rec.of("execute_result")
    assert "<table" in result["data"]["text/html"]


def test_run_cell_html_follows_pandas_options_not_the_sample_cap(rec):
    run_ok("pd.DataFrame({'a': range(30)})")
    html = rec.of("execute_result")[0]["data"]["text/html"]
    assert html.count("<tr") == 31  # header + all 30 rows (display.max_rows is 60)


def test_none_and_statements_produce_no_result(rec):
    run_ok("None")
    run_ok("x = 1")
    run_ok("x + 1;")  # IPython's trailing semicolon silences the value
    assert rec.of("execute_result") == []
    assert runtime.NS["x"] == 1


def test_scalar_and_string_results_are_plain_text(rec):
    run_ok("x = 41\nx + 1")
    run_ok("'<b>bold</b>'")
    first, second = rec.of("execute_result")
    assert first["data"] == {"text/plain": "42"}
    assert second["data"] == {"text/plain": "'<b>bold</b>'"}


def test_text_plain_is_capped(rec):
    runtime.configure({"MAX_OUTPUT_SIZE": 100})
    run_ok("'y' * 500")
    text = rec.of("execute_result")[0]["data"]["text/plain"]
    assert text.startswith("'yyy")
    assert text.endswith("... [truncated: 502 characters total]")
    assert len(text) < 150


def test_html_in_cell_values_is_escaped(rec):
    run_ok(f"pd.DataFrame({{'v': [{SCRIPT!r}]}})")
    html = rec.of("execute_result")[0]["data"]["text/html"]
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ---------------------------------------------------------------------------
# display, clear_output, mime bundles


def test_display_and_clear_output(rec):
    run_ok("display(1, 'two')\nclear_output(wait=True)")
    first, second = rec.of("display_data")
    assert first == {"data": {"text/plain": "1"}, "metadata": {}}
    assert second["data"] == {"text/plain": "'two'"}
    assert rec.of("clear_output") == [{"wait": True}]


def test_display_id_handle_updates_the_same_output(rec):
    run_ok("h = display('start', display_id=True)\nh.update('done')")
    (shown,) = rec.of("display_data")
    (updated,) = rec.of("update_display_data")
    display_id = shown["transient"]["display_id"]
    assert display_id == runtime.NS["h"].display_id
    assert updated["transient"] == {"display_id": display_id}
    assert updated["data"]["text/plain"] == "'done'"


def test_display_update_by_explicit_id_and_raw_bundle(rec):
    run_ok("display({'text/plain': 'raw'}, raw=True, display_id='d1')\n"
           "display({'text/plain': 'new'}, raw=True, display_id='d1', update=True)")
    assert rec.of("display_data")[0] == {
        "data": {"text/plain": "raw"}, "metadata": {}, "transient": {"display_id": "d1"}}
    assert rec.of("update_display_data")[0]["data"] == {"text/plain": "new"}


def test_display_clear_flag_clears_first(rec):
    run_ok("display(1, clear=True)")
    assert rec.kinds() == ["clear_output", "display_data"]


def test_mime_bundle_uses_repr_methods(rec):
    class Rich:
        def _repr_html_(self):
            return "<b>rich</b>"

        def _repr_png_(self):
            return PNG_SIGNATURE

        def _repr_markdown_(self):
            return "*md*", {"meta": 1}

        def _repr_latex_(self):
            raise RuntimeError("broken reprs are skipped")

        def __repr__(self):
            return "Rich()"

    data, metadata = runtime.mime_bundle(Rich())
    assert data["text/html"] == "<b>rich</b>"
    assert decode_png(data["image/png"]) == PNG_SIGNATURE
    assert data["text/markdown"] == "*md*"
    assert metadata == {"text/markdown": {"meta": 1}}
    assert data["text/plain"] == "Rich()"
    assert "text/latex" not in data


def test_mime_bundle_reads_repr_mimebundle(rec):
    class Plotly:
        def _repr_mimebundle_(self, include=None, exclude=None):
            return {"application/vnd.test+json": {"x": 1}}

    data, _ = runtime.mime_bundle(Plotly())
    assert data["application/vnd.test+json"] == {"x": 1}


def test_mime_bundle_never_makes_html_from_strings_or_classes(rec):
    assert runtime.mime_bundle(SCRIPT)[0] == {"text/plain": repr(SCRIPT)}
    assert set(runtime.mime_bundle(pd.DataFrame)[0]) == {"text/plain"}


# ---------------------------------------------------------------------------
# figures


def test_figures_are_emitted_as_png_and_closed(rec):
    run_ok("plt.plot([1, 2, 3])\nplt.figure()\nplt.bar([1], [2]);")
    figures = rec.of("display_data")
    assert len(figures) == 2
    for figure in figures:
        assert decode_png(figure["data"]["image/png"]).startswith(PNG_SIGNATURE)
        assert figure["data"]["text/plain"].startswith("<Figure size")
    assert runtime.output.plt.get_fignums() == []
    assert rec.of("execute_result") == []


def test_figure_or_axes_as_last_value_is_shown_once(rec):
    run_ok("fig, ax = plt.subplots()\nax.plot([1, 2])\nfig")
    run_ok("fig, ax = plt.subplots()\nax")
    assert rec.of("execute_result") == []
    assert len(rec.of("display_data")) == 2


def test_closed_figure_as_last_value_is_still_shown(rec):
    run_ok("fig = plt.figure()\nplt.close(fig)\nfig")
    (result,) = rec.of("execute_result")
    assert decode_png(result["data"]["image/png"]).startswith(PNG_SIGNATURE)


def test_figures_are_flushed_after_an_error(rec):
    result = runtime.run_cell("plt.plot([1])\n1/0", 1)
    assert result["status"] == "error"
    assert rec.kinds()[-2:] == ["error", "display_data"]


# ---------------------------------------------------------------------------
# errors


def test_exception_gives_one_error_event_with_cell_frames_only(rec):
    result = runtime.run_cell("x = 1\ny = x / 0", 7)
    assert result == {"status": "error", "ename": "ZeroDivisionError", "evalue": "division by zero"}
    (error,) = rec.of("error")
    assert error["ename"] == "ZeroDivisionError"
    text = "\n".join(error["traceback"])
    assert "Cell In[7], line 2" in text
    assert "y = x / 0" in text
    assert "runtime" not in text and "_execute" not in text
    assert error["traceback"][-1] == "ZeroDivisionError: division by zero"


def test_traceback_follows_calls_into_earlier_cells(rec):
    run_ok("def explode():\n    return {}['missing']", 1)
    runtime.run_cell("explode()", 2)
    text = "\n".join(rec.of("error")[0]["traceback"])
    assert "Cell In[2], line 1" in text
    assert "Cell In[1], line 2, in explode" in text
    assert "return {}['missing']" in text
    assert text.endswith("KeyError: 'missing'")


def test_syntax_error_is_an_error_event(rec):
    result = runtime.run_cell("x = 1\n1 +* 2", 3)
    assert result["ename"] == "SyntaxError"
    (error,) = rec.of("error")
    text = "\n".join(error["traceback"])
    assert "Cell In[3], line 2" in text
    assert "File" not in text
    assert error["traceback"][-1].endswith("SyntaxError: invalid syntax")


def test_system_exit_does_not_end_the_worker(rec):
    rec.route_streams()
    result = runtime.run_cell("import sys\nsys.exit(3)", 1)
    assert result == {"status": "error", "ename": "SystemExit", "evalue": "3"}
    run_ok("print('still alive')", 2)
    assert "still alive" in rec.stdout()


def test_keyboard_interrupt_is_an_error(rec):
    result = runtime.run_cell("raise KeyboardInterrupt", 1)
    assert result == {"status": "error", "ename": "KeyboardInterrupt", "evalue": ""}
    (error,) = rec.of("error")
    assert error["traceback"][-1] == "KeyboardInterrupt"


def test_broken_repr_is_reported_as_the_cells_error(rec):
    code = "class Bad:\n    def __repr__(self):\n        raise ValueError('no repr')\nBad()"
    result = runtime.run_cell(code, 4)
    assert result["ename"] == "ValueError"
    assert "in __repr__" in "\n".join(rec.of("error")[0]["traceback"])


# ---------------------------------------------------------------------------
# datasets


def test_load_dataset_profile(rec, sales):
    assert json.dumps(sales, allow_nan=False)
    assert sales["name"] == "sales" and sales["source"] == "sales.csv"
    assert sales["rows"] == 6
    assert sales["columns"] == ["region", "price", "units", "when", "note"]
    assert sales["dtypes"]["units"] == "int64"
    assert sales["null_counts"] == {"region": 0, "price": 1, "units": 0, "when": 0, "note": 1}
    assert sales["numeric_columns"] == ["price", "units"]
    assert set(sales["categorical_columns"]) == {"region", "note"}
    assert sales["memory_bytes"] > 0


def test_profile_sample_is_json_safe_and_bounded(rec, sales):
    records = sales["sample_records"]
    assert len(records) == 5
    assert records[1]["price"] is None
    assert records[0]["when"] == "2024-01-01T00:00:00"
    assert records[2]["note"] is None
    assert isinstance(records[0]["units"], int)
    assert "x" * 41 not in sales["sample_text"]  # long cells are cut for the prompt
    assert "region" in sales["sample_text"]


def test_profile_categories_are_few_short_text_values(rec, sales, bridge, write_ipc):
    frame = sales_frame()
    # region has 4 values; note has a 100-character value, left out, and the rest kept.
    assert sales["categories"]["region"] == list(frame["region"].unique())
    kept = [v for v in frame["note"].dropna().unique() if len(v) <= runtime.datasets.CATEGORY_MAX_CHARS]
    assert sales["categories"]["note"] == kept
    assert "price" not in sales["categories"]  # numbers are not categories
    many = pd.DataFrame({"id": [f"id{i}" for i in range(runtime.datasets.CATEGORY_MAX_VALUES + 1)]})
    profile = runtime.load_dataset("many", write_ipc(many, "many"), False, "m.csv")
    assert profile["categories"] == {}


def test_profile_sample_records_cover_every_column(rec, bridge, write_ipc):
    wide = pd.DataFrame({f"c{i}": [i, i + 1] for i in range(runtime.datasets.PROFILE_MAX_COLUMNS + 10)})
    wide["long"] = ["y" * 500, "z"]
    profile = runtime.load_dataset("wide", write_ipc(wide, "wide"), False, "w.csv")
    last = f"c{runtime.datasets.PROFILE_MAX_COLUMNS + 9}"
    assert [r[last] for r in profile["sample_records"]] == list(wide[last])
    assert profile["sample_records"][0]["long"] == "y" * runtime.datasets.SAMPLE_RECORD_CHARS + "…"


def test_profile_html_and_text(rec, sales):
    assert SCRIPT not in sales["html"]
    assert "&lt;script&gt;" in sales["html"]
    assert sales["html"].count("<table") == 2
    assert "<h" not in sales["html"].replace("<head", "")
    assert "non-null" in sales["text"] and "region" in sales["text"]


def test_load_dataset_binds_names(sales, bridge, write_ipc):
    assert list(runtime.NS["df"].columns) == sales["columns"]
    assert runtime.NS["sales"] is runtime.NS["df"]
    runtime.load_dataset("my data", write_ipc(pd.DataFrame({"b": [1]}), "other"), False, "o.csv")
    assert runtime.dataset_names() == ["sales", "my data"]
    assert "my data" not in runtime.NS  # not an identifier
    assert list(runtime.NS["df"].columns) == sales["columns"]


def test_non_string_column_names_become_strings(rec, monkeypatch, bridge):
    monkeypatch.setattr(bridge, "read_ipc_to_pandas", lambda path: pd.DataFrame({0: [1.5], 1: ["a"]}))
    profile = runtime.load_dataset("n", "unused.arrow", True, "n.csv")
    assert profile["columns"] == ["0", "1"]
    assert profile["dtypes"] == {"0": "float64", "1": "str"}
    assert profile["sample_records"] == [{"0": 1.5, "1": "a"}]


def test_restore_dataset_is_light(rec, bridge, write_ipc):
    restored = runtime.restore_dataset("sales", write_ipc(sales_frame()), True)
    assert restored == {"name": "sales", "rows": 6, "columns": 5}
    assert len(runtime.NS["df"]) == 6


def test_cells_cannot_change_the_registered_dataset(rec, sales):
    run_ok("df['extra'] = 1\ndf.loc[0, 'units'] = 100")
    assert "extra" not in runtime.DATASETS["sales"].columns
    assert runtime.DATASETS["sales"].loc[0, "units"] == 1


# ---------------------------------------------------------------------------
# run_question


def test_question_result_is_emitted_with_role_metadata(rec, sales):
    outcome = runtime.run_question("result = df['units'].sum()", 1)
    assert outcome["status"] == "ok"
    assert outcome["summary"] == "Numeric value: 21"
    assert outcome["full_result"] == 21
    assert outcome["result_type"] == "int"
    assert outcome["figures"] == 0
    (result,) = rec.events
    assert result == ("execute_result", {
        "data": {"text/plain": "21"}, "metadata": {"llm_analytics": {"role": "result"}}})


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_question_mutations_do_not_leak(rec, sales):
    code = (
        "df['x'] = 1\n"
        "df.drop(columns='price', inplace=True)\n"
        "df.loc[0, 'units'] = -5\n"
        "sales.loc[1, 'units'] = -6\n"
        "result = len(df.columns)"
    )
    assert runtime.run_question(code, 1)["status"] == "ok"
    check = "result = (list(df.columns), int(df.loc[0, 'units']), int(sales.loc[1, 'units']))"
    outcome = runtime.run_question(check, 2)
    assert outcome["full_result"] == [["region", "price", "units", "when", "note"], 1, 2]
    assert list(runtime.NS["df"].columns) == ["region", "price", "units", "when", "note"]
    assert runtime.NS["df"].loc[0, "units"] == 1


def test_question_sees_user_variables_but_cannot_change_them(rec, sales):
    run_ok("threshold = 3\nitems = [1, 2]\narr = np.arange(3)\nimport math\n_hidden = 1")
    outcome = runtime.run_question(
        "items.append(3)\nresult = (threshold, len(items), 'math' in dir(), '_hidden' in dir())", 1)
    assert outcome["full_result"] == [3, 3, False, False]
    assert runtime.NS["items"] == [1, 2]
    failed = runtime.run_question("arr[0] = 99\nresult = arr", 2)
    assert failed["ename"] == "ValueError"  # read-only view
    assert runtime.NS["arr"][0] == 0


def test_question_namespace_is_fresh_each_time(rec, sales):
    runtime.run_question("leftover = 1\nresult = 1", 1)
    outcome = runtime.run_question("result = 'leftover' in dir()", 2)
    assert outcome["full_result"] is False
    assert "leftover" not in runtime.NS


def test_question_stdout_streams(rec, sales):
    rec.route_streams()
    runtime.run_question("print('working')\nresult = 1", 1)
    assert ("stream", {"name": "stdout", "text": "working\n"}) in rec.events


def test_question_dataframe_result_is_capped(rec, sales):
    outcome = runtime.run_question("result = pd.DataFrame({'v': range(25), 'w': 1})", 1)
    (kind, payload), = rec.events
    assert kind == "execute_result"
    assert payload["metadata"]["llm_analytics"]["role"] == "result"
    html = payload["data"]["text/html"]
    assert html.count("<tr") == 11
    assert "<p>Showing 10 of 25 rows</p>" in html
    assert payload["data"]["text/plain"].endswith("Showing 10 of 25 rows")
    assert outcome["truncated"] is True
    assert outcome["summary"] == "DataFrame with 25 rows and 2 columns"
    assert outcome["for_interpretation"].startswith(
        "DataFrame with shape (25, 2) (showing first 10 rows):\n")
    assert outcome["for_interpretation"].count("\n") == 6  # header line + 5 preview rows
    full = outcome["full_result"]
    assert full["type"] == "dataframe" and full["total_rows"] == 25 and len(full["data"]) == 10


def test_question_figures_follow_the_result(rec, sales):
    outcome = runtime.run_question("plt.plot([1, 2])\nresult = 5", 1)
    assert [kind for kind, _ in rec.events] == ["execute_result", "display_data"]
    figure = rec.events[1][1]
    assert figure["metadata"] == {"llm_analytics": {"role": "result"}}
    assert decode_png(figure["data"]["image/png"]).startswith(PNG_SIGNATURE)
    assert outcome["figures"] == 1
    assert runtime.output.plt.get_fignums() == []


def test_question_figure_result_is_shown_once(rec, sales):
    outcome = runtime.run_question("fig, ax = plt.subplots()\nax.plot([1])\nresult = ax", 1)
    assert [kind for kind, _ in rec.events] == ["display_data"]
    assert outcome["figures"] == 1
    assert outcome["result_type"] == "Axes"


def test_question_without_result_emits_nothing(rec, sales):
    outcome = runtime.run_question("x = df['units'].mean()", 1)
    assert rec.events == []
    assert outcome["summary"] == "No result"
    assert outcome["full_result"] is None


def test_question_style_changes_do_not_persist(rec, sales):
    before = runtime.output.matplotlib.rcParams["lines.linewidth"]
    runtime.run_question("plt.rcParams['lines.linewidth'] = 9\nresult = 1", 1)
    assert runtime.output.matplotlib.rcParams["lines.linewidth"] == before


@pytest.mark.parametrize(
    ("code", "ename", "friendly"),
    [
        ("result = missing_name", "NameError",
         "Variable or function not found: name 'missing_name' is not defined"),
        ("result = df['nope']", "KeyError", "Column not found in DataFrame: 'nope'"),
        ("result = 'a' + 1", "TypeError", "Type error in operation: can only concatenate str"),
        ("result = int('x')", "ValueError", "Invalid value or operation: invalid literal"),
        ("result = 1 / 0", "ZeroDivisionError", "ZeroDivisionError: division by zero"),
    ],
)
def test_question_errors_are_reported_not_emitted(rec, sales, code, ename, friendly):
    outcome = runtime.run_question("x = 1\n" + code, 1)
    assert outcome["status"] == "error"
    assert outcome["ename"] == ename
    assert outcome["friendly"].startswith(friendly)
    assert outcome["lineno"] == 2
    assert outcome["line"] == code
    assert rec.events == []


def test_question_error_inside_a_function_points_at_its_line(rec, sales):
    outcome = runtime.run_question("def f(v):\n    return v['gone']\nresult = f({})", 1)
    assert (outcome["lineno"], outcome["line"]) == (2, "return v['gone']")


def test_question_syntax_error_has_its_line(rec, sales):
    outcome = runtime.run_question("x = 1\nresult = (", 1)
    assert outcome["ename"] == "SyntaxError"
    assert outcome["lineno"] == 2
    assert outcome["line"] == "result = ("


def test_question_failure_discards_figures(rec, sales):
    runtime.run_question("plt.plot([1])\nraise SystemExit(1)", 1)
    assert rec.events == []
    assert runtime.output.plt.get_fignums() == []


def test_question_keyboard_interrupt_is_reported(rec, sales):
    outcome = runtime.run_question("raise KeyboardInterrupt", 1)
    assert (outcome["ename"], outcome["friendly"]) == ("KeyboardInterrupt", "KeyboardInterrupt")


def test_question_without_datasets_still_runs(rec):
    outcome = runtime.run_question("result = 'df' in dir()", 1)
    assert outcome["full_result"] is False


# ---------------------------------------------------------------------------
# format_result, summaries, interpretation


def test_format_series_keeps_name_and_index(rec):
    series = pd.Series(range(12), index=[f"k{i}" for i in range(12)], name="total")
    data, extra, truncated = runtime.format_result(series)
    assert truncated is True and extra == {"shape": [12]}
    assert "total" in data["text/html"] and "k9" in data["text/html"]
    assert "k10" not in data["text/plain"]
    assert data["text/plain"].endswith("Showing 10 of 12 rows")


def test_format_small_frame_has_no_caption(rec):
    data, extra, truncated = runtime.format_result(pd.DataFrame({"a": [1]}))
    assert truncated is False and extra == {"shape": [1, 1]}
    assert "Showing" not in data["text/html"] + data["text/plain"]


def test_format_escapes_html_in_values_and_names(rec):
    frame = pd.DataFrame({SCRIPT: [SCRIPT]})
    data, _, _ = runtime.format_result(frame)
    assert SCRIPT not in data["text/html"]
    assert data["text/html"].count("&lt;script&gt;") == 2


def test_format_scalars(rec):
    assert runtime.format_result(3) == ({"text/plain": "3"}, {}, False)
    assert runtime.format_result(0.1 + 0.2) == ({"text/plain": "0.30000000000000004"}, {}, False)
    assert runtime.format_result(np.float64(2.5)) == ({"text/plain": "2.5"}, {}, False)
    assert runtime.format_result(np.bool_(True)) == ({"text/plain": "True"}, {}, False)


def test_format_strings_are_plain_and_capped(rec):
    assert runtime.format_result(SCRIPT) == ({"text/plain": SCRIPT}, {}, False)
    runtime.configure({"MAX_OUTPUT_SIZE": 10})
    data, _, truncated = runtime.format_result("z" * 50)
    assert truncated is True
    assert data == {"text/plain": "z" * 10 + "... [truncated: 50 characters total]"}


def test_format_containers_are_pretty_and_capped(rec):
    data, _, truncated = runtime.format_result({"b": 1, "a": [1, 2]})
    assert data == {"text/plain": "{'b': 1, 'a': [1, 2]}"} and truncated is False
    data, _, truncated = runtime.format_result(list(range(5000)))
    assert truncated is True
    assert data["text/plain"].endswith("characters total]")


def test_format_arrays(rec):
    data, extra, truncated = runtime.format_result(np.array([[1, 2], [3, 4]]))
    assert data == {"text/plain": "Array with shape (2, 2):\n[[1, 2], [3, 4]]"}
    assert (extra, truncated) == ({"shape": [2, 2]}, False)
    data, _, truncated = runtime.format_result(np.arange(100_000))
    assert truncated is True
    assert "..." in data["text/plain"] and len(data["text/plain"]) < 200


def test_format_other_objects_use_str(rec):
    data, _, _ = runtime.format_result(pd.Timestamp("2024-05-01"))
    assert data == {"text/plain": "2024-05-01 00:00:00"}


@pytest.mark.parametrize(
    ("value", "summary"),
    [
        (None, "No result"),
        (pd.DataFrame({"a": [1, 2], "b": [3, 4]}), "DataFrame with 2 rows and 2 columns"),
        (pd.Series(range(30)), "Series with 30 values"),
        ({"a": 1}, "Dictionary with 1 keys"),
        ([1, 2, 3], "List with 3 items"),
        ((1, 2), "List with 2 items"),
        (2.5, "Numeric value: 2.5"),
        (np.int64(7), "Numeric value: 7"),
        (True, "Numeric value: True"),
        ("short", "String: short"),
        ("s" * 150, f"String (length: 150): {'s' * 100}..."),
        (np.arange(3), "Result of type: ndarray"),
    ],
)
def test_summaries(value, summary):
    assert runtime.summarize_result(value) == summary


def test_interpretation_texts(rec):
    small = pd.DataFrame({"a": [1, 2]})
    assert runtime.format_result_for_interpretation(small) == f"DataFrame with shape (2, 1):\n{small.to_string()}"
    long_series = pd.Series(range(20))
    assert runtime.format_result_for_interpretation(long_series) == (
        "Series with 20 values (showing first 10):\n" + str({i: i for i in range(10)}))
    assert runtime.format_result_for_interpretation(pd.Series([5])) == "Series:\n{0: 5}"
    assert runtime.format_result_for_interpretation(np.zeros((2, 3))) == "Array with shape (2, 3)"
    assert runtime.format_result_for_interpretation("q" * 1200) == "q" * 1000 + "... (truncated)"
    wide = pd.DataFrame({f"column_{i}": ["v" * 30] * 5 for i in range(20)})
    assert len(runtime.format_result_for_interpretation(wide)) <= 1500


def test_full_result_is_bounded_json(rec):
    huge = pd.DataFrame({f"c{i}": ["w" * 500] * 20 for i in range(10)})
    full, truncated = runtime.results.full_result(huge)
    assert truncated is True
    assert len(json.dumps(full, ensure_ascii=False).encode()) <= runtime.results.FULL_RESULT_BYTES
    series, _ = runtime.results.full_result(pd.Series([1.5, np.nan], index=["a", "b"], name="s"))
    assert series == {"type": "series", "name": "s", "index": ["a", "b"], "data": [1.5, None],
                      "length": 2, "truncated": False}
    assert runtime.results.full_result({"k": (np.int64(1), float("inf"))}) == ({"k": [1, None]}, False)


# ---------------------------------------------------------------------------
# reset_question_state and names


def test_reset_question_state_restores_options_and_closes_figures(rec):
    pd.set_option("display.max_rows", 3)
    pd.set_option("display.max_columns", 2)
    runtime.output.plt.figure()
    runtime.reset_question_state()
    assert pd.get_option("display.max_rows") == 60
    assert pd.get_option("display.max_columns") == 50
    assert runtime.output.plt.get_fignums() == []


def test_namespace_names_lists_user_names(rec):
    run_ok("alpha = 1\n_private = 2")
    assert "alpha" in runtime.namespace_names()
    assert "_private" not in runtime.namespace_names()


# ---------------------------------------------------------------------------
# complete, is_complete, inspect


def test_complete_names_and_builtins(rec):
    run_ok("my_value = 1")
    reply = runtime.complete("x = my_v", 8)
    assert reply == {"matches": ["my_value"], "cursor_start": 4, "cursor_end": 8}
    assert "print" in runtime.complete("pri", 3)["matches"]
    assert "while" in runtime.complete("whi", 3)["matches"]


def test_complete_attributes(rec, sales):
    reply = runtime.complete("df.gr", 5)
    assert "groupby" in reply["matches"]
    assert reply["cursor_start"] == 3
    assert all(not m.startswith("_") for m in runtime.complete("df.", 3)["matches"])
    assert "__len__" in runtime.complete("df.__l", 6)["matches"]
    assert "mean" in runtime.complete("df.units.me", 11)["matches"]


def test_complete_column_keys(rec, sales):
    for code in ("df['pr", 'df["pr'):
        reply = runtime.complete(code, len(code))
        assert reply == {"matches": ["price"], "cursor_start": 4, "cursor_end": len(code)}
    assert len(runtime.complete("df['", 4)["matches"]) == 5


def test_complete_never_calls_code(rec):
    run_ok("calls = []\nclass Spy:\n    def __getitem__(self, key):\n        calls.append(key)\n"
           "spy = Spy()")
    runtime.complete("spy()['a", 8)
    runtime.complete("spy['a'].x", 10)
    assert runtime.NS["calls"] == []


@pytest.mark.parametrize(
    ("code", "status", "indent"),
    [
        ("x = 1", "complete", ""),
        ("", "complete", ""),
        ("for i in range(3):", "incomplete", "    "),
        ("for i in range(3):\n    x = i", "incomplete", "    "),
        ("for i in range(3):\n    x = i\n\n", "complete", ""),
        ("x = 1\n   ", "complete", ""),
        ("def f():\n    return 1", "incomplete", ""),
        ("x = (", "incomplete", ""),
        ("1 +* 2", "invalid", ""),
        ("'''open", "incomplete", ""),
    ],
)
def test_is_complete(code, status, indent):
    assert runtime.is_complete(code) == {"status": status, "indent": indent}


def test_inspect_function_signature_and_doc(rec):
    run_ok('def area(w, h=2):\n    """Area of a box."""\n    return w * h')
    reply = runtime.inspect("area(3)", 2, 0)
    assert reply["found"] is True
    text = reply["data"]["text/plain"]
    assert "Type: function" in text
    assert "Signature: area(w, h=2)" in text
    assert "Area of a box." in text
    assert "Source" not in text
    detailed = runtime.inspect("area", 4, 1)["data"]["text/plain"]
    assert "return w * h" in detailed


def test_inspect_inside_a_call_looks_at_the_callee(rec):
    reply = runtime.inspect("len(", 4, 0)
    assert reply["found"] and "Type: builtin_function_or_method" in reply["data"]["text/plain"]


def test_inspect_columns(rec, sales):
    code = "df['price'].mean()"
    for cursor in (5, 10):
        text = runtime.inspect(code, cursor, 0)["data"]["text/plain"]
        assert text.startswith("Column: price\nDtype: float64\nNon-null: 5 of 6")
        assert "mean" in text
    bare = runtime.inspect("units", 2, 0)["data"]["text/plain"]
    assert bare.startswith("Column: units")


def test_inspect_unknown_name(rec):
    assert runtime.inspect("nothing_here", 3, 0) == {"found": False, "data": {}}
    assert runtime.inspect("   ", 1, 0) == {"found": False, "data": {}}


def test_inspect_value_shows_string_form(rec):
    run_ok("n = 42")
    text = runtime.inspect("n", 1, 0)["data"]["text/plain"]
    assert "Type: int" in text and "String form: 42" in text
