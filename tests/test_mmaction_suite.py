"""Runs the MMAction2 tests (``test_mm_*.py``, marker ``mmaction``) in their own venv.

MMAction2 1.2.0 needs numpy < 2 (and mmcv-lite, decord): it lives in ``.venv-mmaction``
(``make mmaction-env`` / ``bash .ci/mmaction_env.sh``), not in the plugin's environment.
Where that venv could not be built this test is skipped with the installer's reason;
it never passes without running them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("RGBPOSE_MMACTION_VENV", ROOT / ".venv-mmaction"))


def _skip_reason() -> str:
    failed = VENV.parent / f"{VENV.name}.failed"
    if failed.is_file():
        return failed.read_text().strip()
    return (f"the MMAction2 environment {VENV} is not built: run `make mmaction-env` "
            f"(bash .ci/mmaction_env.sh)")


@pytest.mark.slow
def test_mmaction_tests_pass_in_their_venv():
    python = VENV / "bin" / "python"
    if not ((VENV / ".installed").is_file() and python.is_file()):
        pytest.skip(_skip_reason())
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_mm_*.py"))
    assert files, "no tests/test_mm_*.py files"
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this tree's package, whatever is installed
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny models: one thread is faster on 2 cores
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-m", "mmaction", "-q", "-rs", "-p", "no:cacheprovider",
         *files], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    output = proc.stdout + proc.stderr
    print(output[-4000:])
    assert proc.returncode == 0, f"MMAction2 tests failed in {VENV}:\n{output[-6000:]}"
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    # The venv is fully specified: a skip there is a broken environment, not a pass.
    assert "skipped" not in summary, f"MMAction2 tests skipped in {VENV}: {summary}"
