"""File input and output shared by every layer: iopath paths, atomic writes, PyAV video."""

from .atomic import PART_SUFFIX, atomic_path, atomic_pickle, atomic_write_bytes, atomic_write_text
from .hashing import file_sha256
from .paths import PATH_MANAGER, join, local_path, missing_local_files, open_binary
from .video import (
    DEFAULT_FPS,
    VideoDecodeError,
    VideoFrames,
    VideoProbe,
    add_h264_stream,
    open_video,
    probe_video,
    scaled_size,
    write_h264,
)

__all__ = ["DEFAULT_FPS", "PART_SUFFIX", "PATH_MANAGER", "VideoDecodeError", "VideoFrames", "VideoProbe",
           "add_h264_stream", "atomic_path", "atomic_pickle", "atomic_write_bytes",
           "atomic_write_text", "file_sha256", "join", "local_path", "missing_local_files", "open_binary",
           "open_video", "probe_video", "scaled_size", "write_h264"]
