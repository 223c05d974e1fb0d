"""Filter the chatter that native libraries write straight to file descriptor 2.

MediaPipe's C++ graph logs through absl/glog (``I0000 ...``, ``W0000 ...`` lines) and
TFLite (``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``), from its own
threads and at moments Python does not control, so silencing fd 2 around calls is racy.
:class:`NativeLogFilter` instead points fd 2 at a pipe for as long as it is active; a
thread copies every line to the real stderr except informational and warning lines of
those formats. Errors (``E``/``F`` lines, Python tracebacks, warnings, progress bars)
pass through unchanged. ``RGBPOSE_NATIVE_LOGS=1`` turns the filter off.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Optional

__all__ = ["NOISE", "NativeLogFilter"]

# absl/glog info and warning lines, TFLite's info lines, absl's pre-init notice.
NOISE = re.compile(rb"^([IW]\d{4} |INFO: |WARNING: All log messages before absl::InitializeLog)")


class NativeLogFilter:
    """While active (between :meth:`start` and :meth:`stop`), drop :data:`NOISE` lines
    written to fd 2 by anyone in the process. Nested starts are counted."""

    def __init__(self) -> None:
        self._active = 0
        self._saved: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._active += 1
            if self._active > 1 or os.environ.get("RGBPOSE_NATIVE_LOGS") == "1":
                return
            sys.stderr.flush()
            read_end, write_end = os.pipe()
            self._saved = os.dup(2)
            os.dup2(write_end, 2)
            os.close(write_end)
            self._thread = threading.Thread(target=_copy_lines, args=(read_end, self._saved),
                                            daemon=True, name="native-log-filter")
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)
            if self._active or self._saved is None:
                return
            sys.stderr.flush()
            os.dup2(self._saved, 2)  # closes the pipe's last write end: the thread ends
            self._thread.join(timeout=5)
            os.close(self._saved)
            self._saved, self._thread = None, None


def _copy_lines(read_end: int, out: int) -> None:
    """Copy lines from ``read_end`` to ``out``, dropping noise, until end of file."""
    pending = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            _write(out, b"".join(line + b"\n" for line in lines if not NOISE.match(line)))
            if pending and not NOISE.match(pending) and b"\r" in pending:
                _write(out, pending)  # a progress bar redraws its line without a newline
                pending = b""
    if pending and not NOISE.match(pending):
        _write(out, pending)


def _write(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:  # the real stderr went away (closed at shutdown): nothing to tell
        pass
