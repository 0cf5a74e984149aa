"""The kernel as a user gets it: no test overrides of the data directory.

Regression: the worker sandbox hid the kernel's data directory from Python, and install.sh puts
the worker's own Python environment inside that directory by default, so numpy went missing.
"""
import os

import pytest

from kernel_helpers import execute, start_kernel, stop_kernel

pytestmark = pytest.mark.kernel


def test_default_data_dir_keeps_the_python_environment_importable(kernel_spec, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("LLM_ANALYTICS_DATA_DIR", "XDG_DATA_HOME", "OPENAI_API_KEY", "MONGODB_URL")}
    csv = tmp_path / "tiny.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    km, kc = start_kernel(env=env, cwd=str(tmp_path))
    try:
        reply, outputs = execute(kc, "%%python\nimport numpy, pandas, matplotlib\nprint('imports ok')", timeout=60)
        assert reply["status"] == "ok", outputs
        assert any("imports ok" in o["content"].get("text", "") for o in outputs)
        reply, outputs = execute(kc, f"%load {csv}", timeout=60)
        assert reply["status"] == "ok", outputs
        reply, outputs = execute(kc, "%%python\nint(df['a'].sum())", timeout=60)
        assert [o["content"]["data"]["text/plain"] for o in outputs if o["msg_type"] == "execute_result"] == ["3"]
    finally:
        stop_kernel(km, kc)
