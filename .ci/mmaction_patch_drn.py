"""Make the mmaction2 1.2.0 wheel's broken ``drn`` import optional (run in its venv).

The wheel lacks ``mmaction/models/localizers/drn/`` (upstream issue mmaction2#2714), yet
``mmaction/models/localizers/__init__.py`` imports it, so ``import mmaction.models``
fails. We wrap that one import in ``try/except ImportError``; DRN (a temporal grounding
model) is not used by the plugin. The script is idempotent and fails loudly if the line moved.
"""

import importlib.util
import sys
from pathlib import Path

LINE = "from .drn.drn import DRN"
PATCHED = "try:  # patched by .ci/mmaction_patch_drn.py (drn/ missing from the wheel)\n" \
          "    from .drn.drn import DRN\nexcept ImportError:\n    DRN = None\n"


def main() -> int:
    spec = importlib.util.find_spec("mmaction")
    if spec is None or not spec.submodule_search_locations:
        print("mmaction is not installed in this environment", file=sys.stderr)
        return 1
    target = Path(spec.submodule_search_locations[0]) / "models" / "localizers" / "__init__.py"
    text = target.read_text()
    if "patched by .ci/mmaction_patch_drn.py" in text:
        return 0
    if text.count(LINE + "\n") != 1:
        print(f"{target}: expected one line {LINE!r}; the wheel changed, update this patch",
              file=sys.stderr)
        return 1
    target.write_text(text.replace(LINE + "\n", PATCHED))
    print(f"patched {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
