"""Smoke test of load/model_memory.py: a short run on the keyword model prints its rows.

The script is a measuring tool (figures in docs/benchmarks.md, "Model memory"); this only
keeps it runnable: each mix and a threaded runner score every line and print one row per
`--every` lines, plus row 0 before anything is scored.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "load" / "model_memory.py"
sys.path.insert(0, str(SCRIPT.parent))  # its sibling scripts (soak_traffic's lines)


def load_tool() -> ModuleType:  # load/ is a folder of scripts, not a package
    spec = importlib.util.spec_from_file_location("model_memory", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("model_memory", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and glibc")
@pytest.mark.parametrize(("mix", "runner"), [("varied", "trio"), ("soak", "scatter")])
def test_a_short_run_prints_a_row_every_n_lines(
    mix: str, runner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = f"--model keyword --mix {mix} --runner {runner} --rotate 3 --lines 30 --every 10"
    load_tool().main([*args.split(), "--max-batch", "1"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [int(row[0]) for row in rows if row and row[0].isdigit()] == [0, 10, 20, 30]
