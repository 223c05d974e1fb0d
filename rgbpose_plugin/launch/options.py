"""SLURM job options: built-in defaults, a lab's cluster YAML, then the command line.

A cluster YAML holds what a lab writes once (``slurm/cluster.yaml`` is an example)::

    partition: gpu
    time: "72:00:00"
    cpus_per_task: 10
    mem: 256G
    setup: ["source ~/venvs/rgbpose/bin/activate"]

Its keys are the field names of :class:`SlurmOptions` (dashes or underscores). A value
given on the command line beats the YAML, which beats the built-in default.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

import yaml

from ..errors import UserError

__all__ = ["SlurmOptionError", "SlurmOptions", "load_cluster_yaml", "resolve_options", "parse_time_min",
           "parse_mem_gb"]


class SlurmOptionError(UserError, ValueError):
    """A job option (command line or cluster YAML) is wrong; the message names it."""


@dataclass
class SlurmOptions:
    """Everything about how the jobs are placed; see ``python slurm/submit.py --help``."""

    nodes: int = 1
    gpus_per_node: Optional[int] = None  # None: the config's NUM_GPUS; 0: CPU tasks
    cpu_tasks_per_node: int = 1  # tasks per node when gpus_per_node is 0 (gloo)
    partition: str = ""
    time: str = "24:00:00"  # minutes, HH:MM:SS or D-HH:MM:SS
    mem: str = ""  # e.g. 64G, 500M; empty: the partition's default
    cpus_per_task: Optional[int] = None  # None: DATA_LOADER.NUM_WORKERS + 1
    account: str = ""
    qos: str = ""
    constraint: str = ""
    comment: str = ""
    exclude: str = ""
    # USR2 comes this long before the time limit; the trainer must save and the job
    # requeue within it.
    signal_delay_s: int = 120
    stop_timeout_s: float = 60.0  # how long a stop request may take before requeueing anyway
    max_requeues: int = 10  # time-limit requeues per job (preemptions are not counted)
    setup: List[str] = field(default_factory=list)  # shell lines run before srun
    additional_parameters: Dict[str, Any] = field(default_factory=dict)  # extra #SBATCH flags
    folder: str = ""  # submitit's folder; default OUTPUT_DIR/slurm/%j

    def validate(self) -> None:
        if self.nodes < 1 or self.cpu_tasks_per_node < 1:
            raise SlurmOptionError("--nodes and --cpu-tasks-per-node must be at least 1")
        if self.gpus_per_node is not None and self.gpus_per_node < 0:
            raise SlurmOptionError("--gpus-per-node must be 0 (CPU) or more")
        if self.stop_timeout_s >= self.signal_delay_s:
            raise SlurmOptionError(f"stop_timeout_s ({self.stop_timeout_s}) must be below signal_delay_s "
                             f"({self.signal_delay_s}): the job must save and requeue before SLURM kills it")
        parse_time_min(self.time)
        if self.mem:
            parse_mem_gb(self.mem)


_FIELDS = {f.name for f in dataclasses.fields(SlurmOptions)}


def load_cluster_yaml(path: str) -> Dict[str, Any]:
    """The options in a cluster YAML; an unknown key is an error naming it and the file."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as err:
        raise SlurmOptionError(f"{path}: cannot read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise SlurmOptionError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise SlurmOptionError(f"{path}: expected a mapping of option: value")
    out = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(out) - _FIELDS)
    if unknown:
        raise SlurmOptionError(f"{path}: unknown option(s) {unknown}; known: {sorted(_FIELDS)}")
    return out


def resolve_options(cli: Mapping[str, Any], cluster: Mapping[str, Any] = ()) -> SlurmOptions:
    """Defaults, then ``cluster`` (YAML), then ``cli`` (None means: not given)."""
    values: Dict[str, Any] = dict(cluster)
    values.update({k: v for k, v in dict(cli).items() if v is not None})
    opts = SlurmOptions(**{k: v for k, v in values.items() if k in _FIELDS})
    opts.time = str(opts.time)
    opts.mem = str(opts.mem) if opts.mem else ""
    opts.validate()
    return opts


def parse_time_min(text: str) -> int:
    """SLURM time ("90", "72:00:00", "3-00:00:00", "1-12") in whole minutes (at least 1)."""
    text = str(text).strip()
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if not match:
        raise SlurmOptionError(f"bad time {text!r}: use minutes, HH:MM:SS or D-HH:MM:SS")
    days, a, b, c = (int(g) if g else None for g in match.groups())
    if days is None and b is None:  # "90": minutes
        return max(1, a)
    if c is not None:  # [D-]HH:MM:SS
        hours, minutes, seconds = a, b, c
    elif days is not None:  # D-HH[:MM]
        hours, minutes, seconds = a, b or 0, 0
    else:  # MM:SS
        hours, minutes, seconds = 0, a, b
    total = ((days or 0) * 24 + hours) * 60 + minutes + (1 if seconds else 0)
    return max(1, total)


def parse_mem_gb(text: str) -> float:
    """Memory per node ("64G", "64GB", "500M", "1T", or a number of GB) in GB."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)B?\s*", str(text).upper())
    if not match:
        raise SlurmOptionError(f"bad memory {text!r}: use e.g. 64G or 500M")
    scale = {"K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024, "": 1}[match.group(2)]
    return float(match.group(1)) * scale
