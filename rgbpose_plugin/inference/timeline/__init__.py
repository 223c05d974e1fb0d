"""A long video to an action timeline: windows classified one by one, merged into segments.

Scene mode: every person in view together, as NTU models were trained. Per-person mode
(:mod:`.persons`): each person slot of the skeleton is a track, classified on the window
with that person's keypoints alone. Data flow::

    video.mp4 ──probe──> frames, fps ──> WindowPlan (windows.py: window, stride, covers)
        │                                      │ test views of each window
        │                                      v (the RGB frames each one samples)
        └──decode once──> FrameBuffer (reader.py: keeps only sampled frames still needed;
                                       skips packets that do not decode: gap windows)
                                               │ {frame index: RGB} per window
    skeleton.pkl ──slice per window──┐         v
                                     └──> WindowDataset (windows.py: the test pipeline,
                                          decode swapped for the buffered frames)
                                               │ predict(): p_rgb, p_pose, fused
                                               v
                           merge_segments (segments.py: threshold, merge, min duration)
                                               │
                  segments.csv, timeline.json (segments.py, run.py), timeline.png (plot.py),
                  timeline.mp4 (annotated.py: boxes, track ids, labels; a second pass)

:func:`run_timeline` does it all and returns a :class:`TimelineResult`; ``tools/demo_net.py
--window / --stride`` is its command line. The skeleton comes from an annotation file, or
is extracted over the whole video first (:mod:`..skeleton`). A stream (a pipe, a URL, a
camera, or a file with ``--stream``) goes through :func:`run_live_timeline` instead
(:mod:`.live`): read once, skeletons extracted as frames arrive, decoding, pose and model
in overlapping threads, late windows skipped; the same windows, merge rule and outputs.
"""

from .annotated import write_timeline_video
from .live import is_live_source, run_live_timeline
from .persons import person_annotation, track_ids
from .reader import FrameBuffer, probe_video
from .run import TimelineResult, format_timeline, format_window, run_timeline
from .segments import Segment, WindowScore, merge_segments, score_against_truth
from .windows import Window, WindowPlan, default_window, plan_windows

__all__ = ["FrameBuffer", "Segment", "TimelineResult", "Window", "WindowPlan", "WindowScore",
           "default_window", "format_timeline", "format_window", "is_live_source",
           "merge_segments", "run_live_timeline",
           "person_annotation", "plan_windows", "probe_video", "run_timeline",
           "score_against_truth", "track_ids", "write_timeline_video"]
