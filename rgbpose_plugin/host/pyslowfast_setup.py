"""Make a PySlowFast checkout (facebookresearch/SlowFast main) run the plugin's models.

PySlowFast main does not start outside Meta as it is published, and its training loop
needs CUDA. :func:`setup_pyslowfast` applies the fixes a user would otherwise make by
hand (docs/hosts.md), each found by its exact original text:

* ``tools/run_net.py``: ``from vision.fair.slowfast.tools.X import Y`` (Meta-internal
  paths) -> ``from X import Y`` (the modules beside it);
* ``slowfast/utils/ava_eval_helper.py``: ``vision.fair.slowfast.ava_evaluation`` ->
  ``ava_evaluation`` (the checkout's top-level package);
* ``tools/train_net.py``: the ``torch.cuda.synchronize()`` after every iteration runs only
  where CUDA is available;
* ``slowfast/config/custom_config.py``: ``add_custom_config`` calls
  ``add_rgbpose_config`` (the plugin's keys; importing the plugin registers its parts);

and writes a detectron2 stub: PySlowFast imports a few detectron2 names at module level
(:data:`STUB_NAMES`) that video classification never calls, and detectron2 is not on PyPI.
Running it again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from ..errors import UserError

__all__ = ["ALREADY", "APPLIED", "FIXES", "NOT_FOUND", "STUB_NAMES", "Fix", "SetupReport",
           "apply_fix", "setup_pyslowfast", "write_detectron2_stub"]

APPLIED, ALREADY, NOT_FOUND = "applied", "already applied", "text not found"


@dataclass(frozen=True)
class Fix:
    """One edit of a checkout file: every ``original`` becomes ``replacement``; ``done``
    says whether the file no longer needs it (ours, or the user's own equivalent edit)."""

    path: str
    summary: str
    original: str
    replacement: str
    done: Callable[[str], bool]
    by_hand: str


_BARE_SYNC = re.compile(r"^[ \t]*torch\.cuda\.synchronize\(\)[ \t]*$", re.M)
_GUARDED_SYNC = (
    "        if torch.cuda.is_available():  # a CPU-only run has nothing to wait for\n"
    "            torch.cuda.synchronize()\n"
    "        train_meter.iter_tic()\n")
_CUSTOM_HOOK = (
    "def add_custom_config(_C):\n"
    "    # Add your own customized configs.\n"
    "    pass\n")
_CUSTOM_HOOK_WITH_PLUGIN = (
    "from rgbpose_plugin import add_rgbpose_config\n"
    "\n"
    "\n"
    "def add_custom_config(_C):\n"
    "    add_rgbpose_config(_C)  # the plugin's keys; importing it registers its parts\n")

FIXES: Tuple[Fix, ...] = (
    Fix("tools/run_net.py", "local imports of train_net, test_net, demo_net, visualization",
        "from vision.fair.slowfast.tools.", "from ",
        lambda text: "vision.fair.slowfast" not in text,
        "replace `from vision.fair.slowfast.tools.X import Y` by `from X import Y`"),
    Fix("slowfast/utils/ava_eval_helper.py", "ava_evaluation imported from the checkout",
        "from vision.fair.slowfast.ava_evaluation import", "from ava_evaluation import",
        lambda text: "vision.fair.slowfast" not in text,
        "replace `from vision.fair.slowfast.ava_evaluation import` by "
        "`from ava_evaluation import`"),
    Fix("tools/train_net.py", "torch.cuda.synchronize() only where CUDA is available",
        "        torch.cuda.synchronize()\n        train_meter.iter_tic()\n", _GUARDED_SYNC,
        lambda text: _GUARDED_SYNC in text or not _BARE_SYNC.search(text),
        "guard the `torch.cuda.synchronize()` of the training loop with "
        "`if torch.cuda.is_available():`"),
    Fix("slowfast/config/custom_config.py", "add_custom_config calls add_rgbpose_config",
        _CUSTOM_HOOK, _CUSTOM_HOOK_WITH_PLUGIN,
        lambda text: "add_rgbpose_config(_C)" in text,
        "add `from rgbpose_plugin import add_rgbpose_config` and call "
        "`add_rgbpose_config(_C)` in `add_custom_config(_C)`"),
)

# What PySlowFast imports from detectron2 when tools/run_net.py starts (module level of
# slowfast/models/head_helper.py, ptv_model_builder.py and slowfast/visualization/*):
# module -> (classes, functions). Classification never calls them; AVA detection heads
# and the demo's person detector do.
STUB_NAMES: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "layers": (("ROIAlign",), ()),
    "config": ((), ("get_cfg",)),
    "engine": (("DefaultPredictor",), ()),
    "model_zoo": ((), ("get_config_file",)),
    "utils/visualizer": (("Visualizer",), ()),
}
STUB_MARK = "written by rgbpose-plugin's tools/setup_pyslowfast.py"
_STUB_INIT = f'''"""A detectron2 stub, {STUB_MARK}.

PySlowFast imports a few detectron2 names at module level (the AVA detection heads, the
demo's person detector and its visualizer); detectron2 is not on PyPI and video
classification never calls them. These names exist so that the imports succeed; using
one raises an error. For AVA or the demo, install detectron2 and leave this folder off
PYTHONPATH.
"""

MESSAGE = ("detectron2 is a stub here ({STUB_MARK}): install detectron2 "
           "for PySlowFast's AVA detection and demo")


class Missing:
    """A detectron2 class PySlowFast imports: it can be subclassed, not built."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(MESSAGE)


def missing(*args, **kwargs):
    """A detectron2 function PySlowFast imports: it cannot be called."""
    raise RuntimeError(MESSAGE)
'''


@dataclass
class SetupReport:
    """What :func:`setup_pyslowfast` did: one line per fix and for the stub."""

    lines: List[str]
    changed: int
    not_found: int
    checkout: Path
    stub_dir: Path

    def pythonpath(self) -> str:
        """What PYTHONPATH needs for the checkout's tools: ``slowfast``, ``ava_evaluation``
        and the stub."""
        return f"{self.checkout}:{self.stub_dir}"


def _stub_module(classes: Tuple[str, ...], functions: Tuple[str, ...]) -> str:
    needed = ", ".join(name for name, used in (("Missing", classes), ("missing", functions))
                       if used)
    parts = [f'"""Stub ({STUB_MARK}): see detectron2/__init__.py."""\n\n',
             f"from detectron2 import {needed}\n"]
    parts += [f"\n\nclass {name}(Missing):\n    pass\n" for name in classes]
    parts += [f"\n{name} = missing\n" for name in functions]
    return "".join(parts)


def _stub_files() -> Dict[str, str]:
    files = {"__init__.py": _STUB_INIT, "utils/__init__.py": ""}
    for module, (classes, functions) in STUB_NAMES.items():
        files[f"{module}.py"] = _stub_module(classes, functions)
    return files


def write_detectron2_stub(stub_dir: Path) -> str:
    """Write ``stub_dir/detectron2``; returns what was done, in one line. A ``detectron2``
    folder there that this function did not write is left alone (a user error)."""
    package = Path(stub_dir) / "detectron2"
    init = package / "__init__.py"
    if init.is_file() and STUB_MARK not in init.read_text():
        raise UserError(f"{package} exists and is not this script's stub (a real detectron2?):"
                        f" give another --stub-dir")
    written = 0
    for name, text in _stub_files().items():
        path = package / name
        if path.is_file() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written += 1
    if not written:
        return f"{package}: detectron2 stub: already written"
    return f"{package}: detectron2 stub: wrote {written} file(s)"


def apply_fix(checkout: Path, fix: Fix) -> str:
    """Apply one fix to its file; returns APPLIED, ALREADY or NOT_FOUND."""
    path = checkout / fix.path
    if not path.is_file():
        return NOT_FOUND
    text = path.read_text()
    if fix.done(text):
        return ALREADY
    if fix.original not in text:
        return NOT_FOUND
    path.write_text(text.replace(fix.original, fix.replacement))
    return APPLIED


def _check_checkout(checkout: Path) -> None:
    if not (checkout / "slowfast" / "config" / "defaults.py").is_file():
        raise UserError(f"{checkout} is not a PySlowFast checkout (no "
                        f"slowfast/config/defaults.py): give the folder that holds "
                        f"slowfast/ and tools/")


def setup_pyslowfast(checkout: Path, stub_dir: Optional[Path] = None) -> SetupReport:
    """Apply :data:`FIXES` to the PySlowFast checkout ``checkout`` and write the detectron2
    stub into ``stub_dir`` (default: ``checkout/../stubs``)."""
    checkout = Path(checkout).resolve()
    _check_checkout(checkout)
    stub_dir = Path(stub_dir).resolve() if stub_dir else checkout.parent / "stubs"
    lines, changed, not_found = [], 0, 0
    for fix in FIXES:
        outcome = apply_fix(checkout, fix)
        changed += outcome == APPLIED
        not_found += outcome == NOT_FOUND
        if outcome == NOT_FOUND:
            lines.append(f"{fix.path}: {NOT_FOUND} (PySlowFast changed): apply by hand: "
                         f"{fix.by_hand}")
        else:
            lines.append(f"{fix.path}: {fix.summary}: {outcome}")
    stub_line = write_detectron2_stub(stub_dir)
    changed += not stub_line.endswith("already written")
    lines.append(stub_line)
    return SetupReport(lines, changed, not_found, checkout, stub_dir)
