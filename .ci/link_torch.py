"""Hard-link torch, torchvision and what they need from one venv into another.

The MMAction2 test venv uses the same torch and torchvision as the plugin's venv; linking
their installed files instead of unpacking the wheels again saves about 6 GB of disk and a
minute. pip then finds them installed and leaves them alone. numpy is left out: the
MMAction2 venv needs its own (numpy < 2). Linked files are never written in place (pip
replaces a file by unlinking it), so neither venv can change the other's copy.

    SRC_VENV/bin/python .ci/link_torch.py DST_SITE_PACKAGES

Exits 1 (and the caller installs from wheels as usual) when anything is missing or the two
folders are on different file systems.
"""

import os
import re
import sys
from importlib import metadata
from pathlib import Path

ROOTS = ("torch", "torchvision")
LEFT_OUT = {"numpy"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _needed(roots) -> list:
    """The installed distributions of roots and of everything they require (no extras)."""
    seen, todo, found = set(), [_norm(r) for r in roots], []
    while todo:
        name = todo.pop()
        if name in seen or name in LEFT_OUT:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a marker-guarded requirement for another platform
        found.append(dist)
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(_norm(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0]))
    return found


def main(dst: str) -> int:
    dst_root = Path(dst)
    count = 0
    for dist in _needed(ROOTS):
        base = Path(dist.locate_file(""))
        for rel in dist.files or []:
            src = base / rel
            target = dst_root / rel
            if ".." in rel.parts or not src.is_file() or target.exists():
                continue  # console scripts live outside site-packages: not needed here
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, target)
            count += 1
    print(f"linked {count} files of torch, torchvision and their requirements into {dst}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except (OSError, IndexError) as err:
        print(f"not linked ({err}); pip installs them instead", file=sys.stderr)
        sys.exit(1)
