"""Class-name lists ("label maps"): the NTU RGB+D ones shipped here, or your own file.

``load_label_map("ntu60")`` and ``load_label_map("ntu120")`` give the official NTU RGB+D
action names in class-index order (A001 is index 0). The texts follow the dataset
authors' list, with curly apostrophes written as plain ones.

Your own label map can be

* a ``.txt`` file: one class name per line, in index order (blank lines are ignored);
* a ``.csv`` file: either one column of names in index order, or two columns
  ``index,name`` (indices 0..C-1, each once, any row order). A header row is
  skipped: in two columns, a first row whose index cell is not a number; in one
  column, a first row reading ``name``.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path
from typing import List, Union

__all__ = ["BUILTIN_LABEL_MAPS", "load_label_map"]

# Names accepted by load_label_map besides a path.
BUILTIN_LABEL_MAPS = ("ntu60", "ntu120")


def load_label_map(name_or_path: Union[str, Path]) -> List[str]:
    """Class names in index order, from a built-in name or a ``.txt``/``.csv`` file.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the file
    and the line) for an empty map, a duplicate name or malformed indices.
    """
    if str(name_or_path).lower() in BUILTIN_LABEL_MAPS:
        name = str(name_or_path).lower()
        text = resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
        return _names_from_lines(text.splitlines(), f"built-in label map {name!r}")

    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"label map {str(path)!r} is neither a file nor one of {list(BUILTIN_LABEL_MAPS)}"
        )
    if path.suffix.lower() == ".csv":
        return _names_from_csv(path)
    if path.suffix.lower() == ".txt":
        return _names_from_lines(path.read_text(encoding="utf-8").splitlines(), str(path))
    raise ValueError(f"label map {str(path)!r}: expected a .txt or .csv file")


def _names_from_lines(lines: List[str], source: str) -> List[str]:
    names = [line.strip() for line in lines if line.strip()]
    _check_names(names, source)
    return names


def _names_from_csv(path: Path) -> List[str]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(n, [c.strip() for c in row]) for n, row in enumerate(csv.reader(f), 1)]
    rows = [(n, row) for n, row in rows if any(row)]
    if rows and len(rows[0][1]) >= 2 and not is_int(rows[0][1][0]):
        rows = rows[1:]  # Header such as "id,name".
    if not rows:
        raise ValueError(f"label map {str(path)!r} has no class names")

    if len(rows[0][1]) == 1:
        names = [row[0] for _, row in rows]
        if names[0].lower() == "name":
            names = names[1:]
        _check_names(names, str(path))
        return names

    by_index = {}
    for line_no, row in rows:
        if len(row) < 2 or not is_int(row[0]):
            raise ValueError(
                f"label map {str(path)!r}, line {line_no}: expected 'index,name', got {row}"
            )
        index = int(row[0])
        if index in by_index:
            raise ValueError(f"label map {str(path)!r}, line {line_no}: index {index} repeats")
        by_index[index] = row[1]
    if sorted(by_index) != list(range(len(by_index))):
        raise ValueError(
            f"label map {str(path)!r}: indices must be 0..{len(by_index) - 1}, each once; "
            f"got {sorted(by_index)[:5]}..."
        )
    names = [by_index[i] for i in range(len(by_index))]
    _check_names(names, str(path))
    return names


def _check_names(names: List[str], source: str) -> None:
    if not names:
        raise ValueError(f"label map {source} has no class names")
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"label map {source}: class name {name!r} appears twice")
        seen.add(name)


def is_int(text: str) -> bool:
    """True if ``text`` parses as an integer (a class index rather than a name)."""
    try:
        int(text)
    except ValueError:
        return False
    return True
