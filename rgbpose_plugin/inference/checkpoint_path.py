"""Which checkpoint file ``--checkpoint`` means: a file, a stage or run folder, a zoo model.

The recipe writes ``OUTPUT_DIR/<stage>/DONE.json`` when a stage finishes, naming the
stage's final checkpoint; that is the file to use, whatever the schedule's last epoch:

* ``zoo:NAME`` is a published model, fetched and converted on first use
  (:mod:`rgbpose_plugin.zoo`);
* a ``.pyth`` file is taken as it is;
* a stage folder (``output/demo/rgbpose``) gives the checkpoint its ``DONE.json`` names;
* a run folder (``output/demo``) gives the fused model's (``rgbpose``) checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InferenceError
from ..recipe import DONE_FILE
from ..stage_graph import STAGES
from ..zoo import resolve_weights

__all__ = ["resolve_checkpoint"]

# The stages that train a model; a run folder stands for the last one's (the fused model).
_MODEL_STAGES = tuple(s.name for s in STAGES if s.action == "train")
RUN_STAGE = _MODEL_STAGES[-1]


def resolve_checkpoint(path: str) -> str:
    """The checkpoint file ``path`` stands for (see the module doc)."""
    path = resolve_weights(path)
    p = Path(path)
    if not p.is_dir():
        return path  # a file (or a missing path: loading it names it)
    if (p / DONE_FILE).is_file():
        return _from_done(p)
    if (p / RUN_STAGE / DONE_FILE).is_file():
        return _from_done(p / RUN_STAGE)
    done = [s for s in _MODEL_STAGES if (p / s / DONE_FILE).is_file()]
    hint = (f"; finished stages with a model: {', '.join(str(p / s) for s in done)}" if done
            else "; has the recipe finished? (tools/run_net.py writes it when a stage ends)")
    raise InferenceError(f"{path} is a folder without {DONE_FILE} and without "
                         f"{RUN_STAGE}/{DONE_FILE}{hint}")


def _from_done(stage_dir: Path) -> str:
    """The checkpoint named by ``stage_dir/DONE.json``; a relative name that does not exist
    from here (the run was started from another folder) is looked up in ``checkpoints/``."""
    done = stage_dir / DONE_FILE
    try:
        record = json.loads(done.read_text())
        name = record["checkpoint"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InferenceError(f"{done}: no readable 'checkpoint' entry ({err})") from err
    if Path(name).is_file():
        return str(name)
    for candidate in (stage_dir / "checkpoints" / Path(name).name, stage_dir / Path(name).name):
        if candidate.is_file():
            return str(candidate)
    raise InferenceError(f"{done} names the checkpoint {name}, which does not exist")
