"""Skeletons made by other tools (COCO results, OpenPose, mmpose, rtmlib, NumPy) turned
into the annotation file training reads.

Quick use (the command line ``tools/import_skeletons.py`` does the same, with labels,
splits and the checks up front)::

    from rgbpose_dataprep.importers import create_reader, find_sources, import_skeletons

    reader = create_reader("openpose")
    result = import_skeletons(find_sources(["json/"], reader), "ann.pkl", reader, size=(1920, 1080))
    print(result.summary())

Modules: ``base`` (the reader interface), one module per format (``coco``, ``openpose``,
``mmpose``, ``rtmlib``, ``numpy_array``), ``convert`` (checks, person slots, the file).
"""

from .base import SkeletonFormatError, SkeletonReader, Skeletons
from .convert import (
    FORMATS,
    ImportResult,
    VideoInfo,
    convert_skeletons,
    create_reader,
    find_sources,
    import_skeletons,
    probe_video,
)

__all__ = ["FORMATS", "ImportResult", "SkeletonFormatError", "SkeletonReader", "Skeletons",
           "VideoInfo", "convert_skeletons", "create_reader", "find_sources", "import_skeletons",
           "probe_video"]
