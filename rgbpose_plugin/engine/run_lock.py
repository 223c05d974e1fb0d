"""One run per output folder: a lock file naming its holder (host, PID, SLURM job).

Two runs training into one stage folder would interleave their checkpoints. The first
run's rank 0 creates ``<folder>/.run.lock`` (``O_EXCL``, so exactly one creator wins, also
on NFS) holding its host, PID, process start time, SLURM job id and attempt; a second run
is refused with a message naming that holder. A lock whose holder is gone is taken over:

* the holder is an earlier attempt of this very SLURM job (requeued after a preemption
  or a lost node): it is gone, whatever else is true;
* the holder ran on this host: its PID is gone, or now belongs to another process;
* the holder ran elsewhere as a SLURM job: ``squeue`` no longer lists the job;
* otherwise: its heartbeat (the file's mtime, refreshed every ``HEARTBEAT_S``) is older
  than ``STALE_S``.

The lock works the same without SLURM (``tools/run_net.py``): then only the PID and the
heartbeat speak for the holder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Iterator, Optional, Tuple

from ..errors import UserError
from .distributed import is_main, main_decides

__all__ = ["OutputDirLocked", "Holder", "RunLock", "hold_folder", "LOCK_NAME"]

LOCK_NAME = ".run.lock"
HEARTBEAT_S = 20.0
STALE_S = 120.0
log = logging.getLogger("rgbpose_plugin")


class OutputDirLocked(UserError, RuntimeError):
    """Another live run holds the folder; the message names it."""


def _proc_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' if it does not exist)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    pid_start: str = ""
    job_id: str = ""
    attempt: int = 0
    started: str = ""
    token: str = ""

    @classmethod
    def me(cls) -> Holder:
        pid = os.getpid()
        return cls(host=socket.gethostname(), pid=pid, pid_start=_proc_start(pid),
                   job_id=os.environ.get("SLURM_JOB_ID", ""),
                   attempt=int(os.environ.get("SLURM_RESTART_COUNT", 0) or 0),
                   started=time.strftime("%Y-%m-%d %H:%M:%S"), token=uuid.uuid4().hex)

    def describe(self) -> str:
        job = f", SLURM job {self.job_id}" + (f" (attempt {self.attempt + 1})" if self.attempt else "")
        return f"host {self.host}, PID {self.pid}{job if self.job_id else ''}, since {self.started}"


_FINAL_STATES = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                 "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"}


def _slurm_job_active(job_id: str) -> Optional[bool]:
    """True/False from ``squeue``; None when it cannot tell (no SLURM client, no answer)."""
    if shutil.which("squeue") is None:
        return None
    try:
        proc = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:  # "Invalid job id": long gone from the controller
        return False if "Invalid job id" in proc.stderr else None
    states = set(proc.stdout.split())
    return bool(states - _FINAL_STATES)  # COMPLETING still has processes to kill


def holder_gone(holder: Holder, heartbeat_age_s: float) -> Tuple[bool, str]:
    """Whether the run that wrote ``holder`` is over, and how that was decided."""
    me = Holder.me()
    if holder.job_id and holder.job_id == me.job_id and holder.attempt != me.attempt:
        return True, f"it was attempt {holder.attempt + 1} of this job, now at attempt {me.attempt + 1}"
    if holder.host == me.host:
        start = _proc_start(holder.pid)
        if not start or (holder.pid_start and start != holder.pid_start):
            return True, f"PID {holder.pid} is no longer running on {me.host}"
        return False, f"PID {holder.pid} is running on {me.host}"
    if holder.job_id:
        active = _slurm_job_active(holder.job_id)
        if active is not None:
            return (not active), f"squeue {'lists' if active else 'no longer lists'} job {holder.job_id}"
    gone = heartbeat_age_s > STALE_S
    return gone, f"its heartbeat is {heartbeat_age_s:.0f} s old (stale after {STALE_S:.0f} s)"


class RunLock:
    """The lock on one folder while this process holds it (see :func:`hold_folder`)."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, LOCK_NAME)
        self.me = Holder.me()
        self._stop = threading.Event()
        self._beat: Optional[threading.Thread] = None

    def _read(self) -> Tuple[Optional[Holder], float]:
        try:
            age = time.time() - os.stat(self.path).st_mtime
            with open(self.path) as f:
                return Holder(**json.load(f)), age
        except FileNotFoundError:
            return None, 0.0
        except (OSError, ValueError, TypeError):  # half written, or not ours: judged by age
            return Holder(host="?", pid=-1, started="unknown"), age

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self.me), f)
            f.flush()
            os.fsync(f.fileno())
        return True

    def acquire(self) -> None:
        """Take the lock, or raise :class:`OutputDirLocked` naming the live holder."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        for _ in range(5):
            if self._create():
                self._start_heartbeat()
                return
            holder, age = self._read()
            if holder is None:
                continue  # released meanwhile
            gone, why = holder_gone(holder, age)
            if not gone:
                raise OutputDirLocked(
                    f"{os.path.dirname(self.path)} is in use by another run ({holder.describe()}; {why}). "
                    f"Wait for it to finish or stop it; if it is gone, delete {self.path}.")
            log.warning(f"taking over {self.path} from a run that is gone ({holder.describe()}): {why}")
            self._remove_if(holder)
        raise OutputDirLocked(f"could not take {self.path}: other runs keep taking it")

    def _remove_if(self, holder: Holder) -> None:
        """Remove the lock file if it still names ``holder`` (another taker may have won)."""
        aside = f"{self.path}.{uuid.uuid4().hex}.old"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        with contextlib.suppress(OSError, ValueError, TypeError):
            with open(aside) as f:
                if Holder(**json.load(f)) != holder:  # a new holder's file: put it back
                    os.rename(aside, self.path)
                    return
        with contextlib.suppress(FileNotFoundError):
            os.remove(aside)

    def _start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._stop.wait(HEARTBEAT_S):
                with contextlib.suppress(OSError):
                    os.utime(self.path)

        self._beat = threading.Thread(target=beat, name="rgbpose-run-lock", daemon=True)
        self._beat.start()

    def release(self) -> None:
        self._stop.set()
        holder, _ = self._read()
        if holder is not None and holder.token == self.me.token:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)


@contextlib.contextmanager
def hold_folder(folder: str) -> Iterator[None]:
    """Hold ``folder``'s run lock for the block: rank 0 takes it, every rank learns the outcome.

    All ranks raise the same :class:`OutputDirLocked` when the folder is taken, instead of
    rank 0 failing while the others wait for it in a collective.
    """
    lock = RunLock(folder) if is_main() else None

    def take() -> str:
        try:
            lock.acquire()
        except OutputDirLocked as err:
            return str(err)
        return ""

    refused = main_decides(take)
    if refused:
        raise OutputDirLocked(refused)
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
