#!/usr/bin/env python
"""The up-front check that every video of a split exists: seconds for NTU's 114,480 files.

    python benchmarks/bench_video_check.py [--videos 114480] [--threads 1 16] [--folder DIR]

Creates ``--videos`` empty files named like NTU RGB+D 120's videos
(``S001C001P001R001A001_rgb.avi``) in one folder (a temporary one, or ``--folder``, e.g. on
the network file system your cluster reads videos from), then times
``rgbpose_plugin.fileio.missing_local_files`` over all of them with each thread count:
warm (right after creating them) and, where this process may write
/proc/sys/vm/drop_caches (root on a machine of your own), with the page cache dropped.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import List

from rgbpose_plugin.fileio import missing_local_files


def ntu_names(count: int) -> List[str]:
    """``count`` NTU-style video names: setup, camera, performer, replication, action."""
    names = []
    for i in range(count):
        s, c, p, r, a = i // 3960 + 1, i % 3 + 1, i // 9 % 40 + 1, i // 3 % 2 + 1, i // 360 % 120 + 1
        names.append(f"S{s:03d}C{c:03d}P{p:03d}R{r:03d}A{a:03d}_{i:06d}_rgb.avi")
    return names


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=114_480)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--folder", default="", help="where to create the files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder or None) as tmp:
        start = time.perf_counter()
        paths = [os.path.join(tmp, name) for name in ntu_names(args.videos)]
        for path in paths:
            open(path, "wb").close()
        print(f"created {len(paths)} files in {tmp} in {time.perf_counter() - start:.1f} s")
        paths.append(os.path.join(tmp, "S999C001P001R001A001_rgb.avi"))  # one missing
        for threads in args.threads:
            for cache in ("warm", "cold"):
                if cache == "cold" and not drop_caches():
                    print(f"threads {threads:>2}  cold: not measured (cannot drop the page cache)")
                    continue
                start = time.perf_counter()
                missing = missing_local_files(paths, threads=threads)
                took = time.perf_counter() - start
                assert missing == paths[-1:], missing
                print(f"threads {threads:>2}  {cache}: {took:.2f} s for {len(paths)} files "
                      f"({1e6 * took / len(paths):.1f} us each)")


if __name__ == "__main__":
    main()
