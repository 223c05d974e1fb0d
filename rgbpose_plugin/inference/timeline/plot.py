"""``timeline.png``: time across, one row per track, the segments as coloured bars.

Each class keeps one colour (tab20, cycled for more classes); a bar's opacity is its
segment's score, so a confident stretch stands out from a doubtful one. Gaps (no label:
uncertain, nobody in view, or a dropped short segment) stay white. Below the tracks,
a thin strip marks each window's status (grey: uncertain, black: nobody in view); in
per-person mode each track's windows have their own status, marked under its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Union

from matplotlib import colormaps
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state
from matplotlib.patches import Patch

from .segments import NOBODY, UNCERTAIN, Segment

__all__ = ["save_timeline_png", "class_colour"]

_STATUS_COLOURS = {UNCERTAIN: "#bbbbbb", NOBODY: "#222222"}


def class_colour(label: int):
    """The RGBA colour of class ``label``: tab20's strong colours first, then its pale ones
    (neighbouring classes never get a colour and its paler twin)."""
    return colormaps["tab20"]((2 * label) % 20 + (label // 10) % 2)


def _alpha(score: float) -> float:
    return 0.25 + 0.75 * min(max(score, 0.0), 1.0)


def _status_marks(ax, windows: Sequence[Dict], y: float, height: float) -> None:
    """Mark the unlabelled windows of one row (or of the scene strip) by their status."""
    for w in windows:
        colour = _STATUS_COLOURS.get(w["status"])
        if colour:
            ax.broken_barh([(w["cover_start_s"], w["cover_end_s"] - w["cover_start_s"])],
                           (y, height), facecolors=colour)


def save_timeline_png(path: Path, segments: Sequence[Segment],
                      windows: Union[Sequence[Dict], Dict[str, Sequence[Dict]]],
                      duration_s: float, title: str, tracks: Optional[Sequence[str]] = None
                      ) -> Path:
    """Draw the segments (rows by ``segment.track``) and the windows' status.

    ``windows`` are the JSON entries of the windows (``cover_start_s``, ``cover_end_s``,
    ``status``): a list (scene mode, one strip below the rows) or a dict track -> list
    (per-person mode, marks under each track's row). ``tracks``: the rows in order
    (default: the segments' tracks, sorted), so a track without segments keeps its row.
    """
    per_track = isinstance(windows, dict)
    if tracks is None:
        tracks = list(windows) if per_track else sorted({s.track for s in segments})
    tracks = list(tracks) or ["scene"]
    fig = Figure(figsize=(12, 1.6 + 0.6 * len(tracks)), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for row, track in enumerate(tracks):
        for s in (s for s in segments if s.track == track):
            ax.broken_barh([(s.start_s, s.end_s - s.start_s)], (row - 0.4, 0.8),
                           facecolors=class_colour(s.label), alpha=_alpha(s.score),
                           edgecolor="black", linewidth=0.5)
            if s.end_s - s.start_s > 0.06 * duration_s:  # room for the name
                ax.text((s.start_s + s.end_s) / 2, row, f"{s.name} {s.score:.2f}", ha="center",
                        va="center", fontsize=8, clip_on=True)
    strip = len(tracks) - 0.05
    if per_track:
        for row, track in enumerate(tracks):
            _status_marks(ax, windows.get(track, ()), row + 0.4, 0.1)
        ax.set_yticks(range(len(tracks)), [f"track {t}" for t in tracks])
    else:
        _status_marks(ax, windows, strip - 0.25, 0.2)
        ax.set_yticks([*range(len(tracks)), strip - 0.15], [*tracks, "windows"])
    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.set_ylim(len(tracks) - 0.45 if per_track else strip + 0.1, -0.6)
    ax.set_xlabel("time (s)")
    ax.set_title(title, fontsize=10)
    shown = {s.label: s.name for s in segments}
    handles = [Patch(facecolor=class_colour(k), label=shown[k]) for k in sorted(shown)]
    handles += [Patch(facecolor=c, label=n) for n, c in _STATUS_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    return path
