"""Re-encode videos to small H.264 MP4 files, in parallel and restartably.

NTU RGB+D ships ``<frame_dir>_rgb.avi`` at 1920x1080; the reference pipelines read
``<frame_dir>.mp4`` at 960x540 (docs/design.md section 3). :func:`compress_videos` does that
conversion for a whole folder tree:

* every decoded frame is re-encoded (no frame is dropped or duplicated), so an
  annotation's ``total_frames`` still matches the new file;
* each output is written atomically (:mod:`rgbpose_plugin.fileio`), so an existing
  ``<name>.mp4`` is always a finished file and a re-run skips it;
* a file that fails (corrupt, unreadable, fewer frames than its header promises) is
  reported and the others go on.

A wrong request (a missing source folder, no file matching the pattern, two sources
with one output name, an odd height) raises :class:`~rgbpose_plugin.errors.DataPrepError`
before any file is converted.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, List

from tqdm import tqdm

from rgbpose_plugin.errors import DataPrepError
from rgbpose_plugin.fileio import DEFAULT_FPS, open_video, write_h264


def output_size(width: int, height: int, out_height: int) -> tuple[int, int]:
    """(width, height) scaled to ``out_height``, aspect kept, width rounded to even."""
    if out_height <= 0 or out_height % 2:
        raise DataPrepError(f"output height must be a positive even number, got {out_height}")
    out_width = max(2, 2 * round(width * out_height / height / 2))
    return out_width, out_height


def output_name(src: Path, strip_suffix: str = "_rgb") -> str:
    """``S001C001P001R001A001_rgb.avi`` -> ``S001C001P001R001A001.mp4``."""
    stem = src.stem
    if strip_suffix and stem.endswith(strip_suffix):
        stem = stem[: -len(strip_suffix)]
    return stem + ".mp4"


@dataclass
class Job:
    """One file to convert."""

    src: Path
    dst: Path


@dataclass
class Result:
    """What happened to one file: status is "done", "skipped" or "failed"."""

    src: Path
    dst: Path
    status: str
    frames: int = 0
    error: str = ""


def find_jobs(src_dir: Path, dst_dir: Path, pattern: str = "*_rgb.avi",
              strip_suffix: str = "_rgb") -> List[Job]:
    """All files under ``src_dir`` (recursively) matching ``pattern``, sorted by name.

    NTU's archives unpack into several sub-folders; outputs go flat into ``dst_dir``, so
    two sources with the same name are an error rather than a silent overwrite. A folder
    where nothing matches is an error too (most likely the wrong folder or pattern).
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    if not src_dir.is_dir():
        raise DataPrepError(f"source folder {src_dir} does not exist")
    jobs, seen = [], {}
    for src in sorted(src_dir.rglob(pattern)):
        if not src.is_file():
            continue
        name = output_name(src, strip_suffix)
        if name in seen:
            raise DataPrepError(f"{src} and {seen[name]} would both be written to "
                                f"{dst_dir / name}")
        seen[name] = src
        jobs.append(Job(src, dst_dir / name))
    if not jobs:
        raise DataPrepError(f"no file under {src_dir} matches the pattern {pattern!r} "
                            f"(searched recursively)")
    return jobs


def transcode(src: Path, dst: Path, *, height: int = 540, crf: int = 23,
              preset: str = "medium", threads: int = 1,
              allow_frame_mismatch: bool = False) -> int:
    """Re-encode ``src`` to H.264 ``dst`` at ``height`` rows; return the frame count.

    ``dst`` appears only when complete (:func:`rgbpose_plugin.fileio.write_h264`).
    Raises ``RuntimeError`` naming the file when nothing decodes or, unless
    ``allow_frame_mismatch``, when fewer frames decode than the source's header states
    (a truncated file would otherwise silently shorten the video).
    """
    src, dst = Path(src), Path(dst)
    with open_video(src) as inp:
        in_stream = inp.streams.video[0]
        in_stream.thread_type = "AUTO"
        rate = Fraction(in_stream.average_rate or in_stream.guessed_rate or DEFAULT_FPS)
        expected = in_stream.frames  # 0 when the container does not say.
        with write_h264(dst, rate, crf=crf, preset=preset, threads=threads) as out:
            for frame in inp.decode(in_stream):
                width, out_height = output_size(frame.width, frame.height, height)
                out.write(frame.reformat(width=width, height=out_height, format="yuv420p",
                                         interpolation="AREA"))
            if expected and out.frames != expected and not allow_frame_mismatch:
                raise RuntimeError(f"{src}: decoded {out.frames} frames but its header says "
                                   f"{expected} (truncated or corrupt?)")
    return out.frames


def _run_job(job: Job, options: dict) -> Result:
    """Convert one file, turning any error into a failed :class:`Result`."""
    try:
        frames = transcode(job.src, job.dst, **options)
        return Result(job.src, job.dst, "done", frames)
    except Exception as exc:  # noqa: BLE001 -- one bad file must not stop the others.
        message = str(exc).removeprefix(f"{job.src}: ")  # The report names the file anyway.
        return Result(job.src, job.dst, "failed", error=f"{type(exc).__name__}: {message}")


def compress_videos(src_dir: Path, dst_dir: Path, *, workers: int = 1, height: int = 540,
                    crf: int = 23, preset: str = "medium", pattern: str = "*_rgb.avi",
                    strip_suffix: str = "_rgb", allow_frame_mismatch: bool = False,
                    progress: bool = True) -> List[Result]:
    """Convert every ``pattern`` file under ``src_dir`` into ``dst_dir``; return the results.

    Finished outputs are skipped, so an interrupted run can simply be started again.
    ``workers`` processes convert files in parallel (one encoder thread each).
    """
    output_size(16, 16, height)  # Validate the height before starting any work.
    dst_dir = Path(dst_dir)
    jobs = find_jobs(src_dir, dst_dir, pattern, strip_suffix)
    dst_dir.mkdir(parents=True, exist_ok=True)
    results = [Result(j.src, j.dst, "skipped") for j in jobs if j.dst.exists()]
    todo = [j for j in jobs if not j.dst.exists()]
    options = dict(height=height, crf=crf, preset=preset, threads=1,
                   allow_frame_mismatch=allow_frame_mismatch)
    bar = tqdm(total=len(todo), unit="video", disable=None if progress else True)  # None: on a tty only
    for result in _run_all(todo, options, workers):
        results.append(result)
        bar.update(1)
        if result.status == "failed":
            bar.write(f"FAILED {result.src}: {result.error}")
    bar.close()
    return sorted(results, key=lambda r: str(r.src))


def _run_all(jobs: List[Job], options: dict, workers: int) -> Iterable[Result]:
    """Yield each job's result as it finishes, in this process or in a pool."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _run_job(job, options)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_job, job, options): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool as exc:  # A worker crashed (e.g. a decoder segfault).
                yield Result(job.src, job.dst, "failed", error=f"worker crashed: {exc}")


def summarize(results: List[Result]) -> str:
    """A human-readable summary: counts, then one line per failed file."""
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    lines = [f"{counts['done']} converted, {counts['skipped']} already done (skipped), "
             f"{counts['failed']} failed"]
    lines += [f"  FAILED {r.src}: {r.error}" for r in results if r.status == "failed"]
    return "\n".join(lines)

