"""What runs inside a SLURM job: one task per GPU (or CPU process), all running the recipe.

submitit starts every task of the job (``srun``) with the pickled :class:`RecipeJob` and
calls it. Each task

1. takes its rank, local rank, world size and master address from submitit
   (``JobEnvironment`` / ``TorchDistributedEnvironment``) and exports them as RANK,
   WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT;
2. runs :func:`~rgbpose_plugin.engine.distributed.launch`, which joins the process group
   from those variables (NCCL on GPUs, gloo on the CPU), and the job's stages in it.

Preemption and time limits: SLURM sends USR2 (``--signal``) to every task; submitit's
handler calls :meth:`RecipeJob.checkpoint` on rank 0 only. That asks the trainer to save at
the next iteration boundary (all ranks agree through an all_reduce and stop together),
waits for the save, and hands submitit a fresh copy of the job to requeue. The requeued
job reruns the same stages: finished ones are skipped (``DONE.json``) and the interrupted
one resumes from its newest checkpoint (``TRAIN.AUTO_RESUME``), so no finished iteration
is lost.

The stages run in a worker thread while the main thread waits on it in short joins:
Python runs signal handlers only in the main thread, between bytecodes, so a main thread
busy in training could not hand the checkpoint request over and then wait for the save.
That thread blocks SIGTERM and SIGUSR2, and so do the DataLoader workers it forks (they
also ignore both, see ``engine/loader.py``): SLURM signals every process of the step, and
a worker must neither run submitit's handler nor die before the trainer saved.

A task whose peer vanished (a node lost) requeues the job instead of failing it; see
:mod:`.node_loss`.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import signal
import threading
import time
import zlib
from typing import Any, Callable, Dict, Optional, Sequence

import submitit
from fvcore.common.config import CfgNode

from ..engine.distributed import launch, processes_per_shard
from ..engine.stopping import StopRequested, request_stop
from ..recipe import run_recipe, run_stage, stage_record
from .node_loss import peer_left_an_error, peer_lost, requeue_job

__all__ = ["RecipeJob", "run_stages", "distributed_cfg", "job_port"]

log = logging.getLogger("rgbpose_plugin.slurm")


def run_stages(cfg: CfgNode, stages: Sequence[str], summarize: bool = True) -> Dict[str, Any]:
    """Run ``stages`` (each unless done) in this process; their records, and the summary.

    ``summarize=False`` runs them with :func:`run_stage` only, so that two jobs running side
    by side (rgb_only and pose_only) do not both write ``summary.json``.
    """
    out: Dict[str, Any] = {}
    if summarize:
        out["summary"] = run_recipe(cfg, stages)
    else:
        for stage in stages:
            run_stage(cfg, stage)
    out["stages"] = {stage: stage_record(cfg, stage) for stage in stages}
    return out


def job_port(job_id: str, attempt: int) -> int:
    """The rendezvous port of one attempt of one job, in [20000, 60000).

    Not the submitting shell's MASTER_PORT (sbatch exports it into every job, so parallel
    jobs on one node would collide), and new on each requeue, so a rerun never meets a
    store left from the previous attempt.
    """
    return 20000 + zlib.crc32(f"{job_id}.{attempt}".encode()) % 40000


def distributed_cfg(cfg: CfgNode) -> CfgNode:
    """Export this task's rank variables from submitit; ``cfg`` with SHARD_ID set.

    The task count SLURM started must be what the config expects (NUM_SHARDS nodes times
    NUM_GPUS, or RGBPOSE.CPU_PROCESSES on the CPU); a mismatch would silently train with a
    different batch size, so it stops the job instead.
    """
    job_env = submitit.JobEnvironment()
    # CUDA_VISIBLE_DEVICES is left as SLURM set it: all the node's GPUs (the task takes
    # cuda:LOCAL_RANK) or, where the site binds one GPU per task, that one (see cuda_index).
    # overwrite: the submitting shell's RANK etc.
    # (e.g. submitted from inside torchrun) are exported into the job and would be wrong.
    submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False,
                                                          overwrite=True)
    os.environ["MASTER_PORT"] = str(job_port(job_env.job_id, int(os.environ.get("SLURM_RESTART_COUNT", 0))))
    out = cfg.clone()
    out.defrost()
    out.SHARD_ID = job_env.node
    expected = out.NUM_SHARDS * processes_per_shard(out)
    if job_env.num_tasks != expected or job_env.num_nodes != out.NUM_SHARDS:
        raise RuntimeError(
            f"SLURM started {job_env.num_tasks} task(s) on {job_env.num_nodes} node(s), but the config "
            f"expects {expected} on {out.NUM_SHARDS} (NUM_SHARDS x NUM_GPUS, or RGBPOSE.CPU_PROCESSES "
            "without GPUs); submit with slurm/submit.py, which sets them consistently")
    out.freeze()
    return out


class _Worker(threading.Thread):
    """Runs ``target()`` and keeps its result or exception for the main thread.

    A daemon thread: when submitit exits the process after requeueing, a worker still
    busy (e.g. in a long evaluation) must not keep it alive.
    """

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(name="rgbpose-recipe", daemon=True)
        self._target_fn = target
        self.result: Any = None
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        # Signals go to the main thread; processes forked from here start with them blocked.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR2})
        try:
            self.result = self._target_fn()
        except BaseException as err:  # noqa: B036  (handed over to the main thread)
            self.error = err


class RecipeJob(submitit.helpers.Checkpointable):
    """The callable submitted to SLURM: runs ``stages`` of the recipe in every task.

    Args:
        cfg: the full config, with NUM_SHARDS / NUM_GPUS / RGBPOSE.CPU_PROCESSES matching
            the job's nodes and tasks (slurm/submit.py sets them).
        stages: stages to run, in recipe order; done stages are skipped.
        summarize: write the recipe summary at the end (False for jobs running in parallel).
        stop_timeout_s: how long :meth:`checkpoint` waits for the trainer to save before
            requeueing anyway (keep it below the job's signal delay).
    """

    def __init__(self, cfg: CfgNode, stages: Sequence[str], summarize: bool = True,
                 stop_timeout_s: float = 60.0, max_requeues: int = 10) -> None:
        self.cfg = cfg
        self.stages = tuple(stages)
        self.summarize = summarize
        self.stop_timeout_s = stop_timeout_s
        self.max_requeues = max_requeues
        self._started = 0.0  # when this attempt started (time.time())
        self._worker: Optional[_Worker] = None

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_worker"] = None  # a thread neither pickles nor survives a requeue
        return state

    def __call__(self) -> Dict[str, Any]:
        self._started = time.time()
        cfg = distributed_cfg(self.cfg)
        job_env = submitit.JobEnvironment()
        result: Dict[str, Any] = {}

        def body(task_cfg: CfgNode) -> None:
            result.update(self.run_in_task(task_cfg))

        self._worker = _Worker(functools.partial(launch, cfg, body))
        self._worker.start()
        while self._worker.is_alive():
            self._worker.join(timeout=1.0)  # short joins: USR2 is handled between them
        error = self._worker.error
        if isinstance(error, StopRequested) and job_env.global_rank != 0:
            self._wait_for_requeue()
        if error is not None and peer_lost(error):
            first = self._first_failure(job_env)
            if first:  # another task failed first: report its error, not the broken link
                raise RuntimeError(f"{first} (this task then lost its connection to it)") from error
            if self._requeue_after_peer_loss(job_env):
                self._wait_for_requeue()
        if error is not None:
            raise error
        result.update(job_id=job_env.job_id, rank=job_env.global_rank, world_size=job_env.num_tasks,
                      restart_count=int(os.environ.get("SLURM_RESTART_COUNT", 0)),
                      host=os.uname().nodename, cpus_per_task=os.environ.get("SLURM_CPUS_PER_TASK", ""))
        return result

    def _first_failure(self, job_env: submitit.JobEnvironment) -> Optional[str]:
        """The error another task of this attempt left (see :func:`peer_left_an_error`)."""
        others = [r for r in range(job_env.num_tasks) if r != job_env.global_rank]
        return peer_left_an_error(str(job_env.paths.folder), job_env.job_id, others,
                                  since=self._started) if others else None

    def _requeue_after_peer_loss(self, job_env: submitit.JobEnvironment) -> bool:
        """A peer vanished without an error (node lost): requeue; True if SLURM took it."""
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", 0))
        return requeue_job(job_env.job_id, restarts, self.max_requeues)

    def run_in_task(self, cfg: CfgNode) -> Dict[str, Any]:
        """The work of one task, inside its process group (override to run something else)."""
        return run_stages(cfg, self.stages, self.summarize)

    def _wait_for_requeue(self) -> None:
        """Rank > 0 after a coordinated stop: rank 0 is requeueing the job, which kills us.

        Exiting now would end this task with an error (and with KillOnBadExit, kill rank 0
        before it requeues), so wait; if no requeue came, the StopRequested is reported.
        """
        deadline = time.monotonic() + max(120.0, 2 * self.stop_timeout_s)
        while time.monotonic() < deadline:
            time.sleep(1.0)

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on rank 0 at USR2: save at the next iteration, then requeue."""
        log.warning("preemption or time limit: asking the trainer to save at the next iteration")
        request_stop()
        worker = self._worker
        if worker is not None:
            worker.join(timeout=self.stop_timeout_s)
            if worker.is_alive():
                log.warning(f"no stop within {self.stop_timeout_s:.0f} s (not in a training loop?); "
                            "requeueing anyway: the stage resumes from its last checkpoint")
            elif isinstance(worker.error, StopRequested):
                log.warning(f"state saved to {worker.error.checkpoint}; requeueing")
        fresh = copy.copy(self)
        fresh._worker = None
        return submitit.helpers.DelayedSubmission(fresh)
