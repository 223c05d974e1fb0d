"""A run that fails ends in seconds with one line, leaving no process behind.

Each case runs tools/run_net.py on the tiny dataset with two loader workers, in its own
session: the processes of that session are the run's (main process, workers, spawned ranks).
The case fails, naming the hang, if the run outlives its bound; and it checks by PID that
nothing of the run is left once it ended.
"""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from trainer_fixtures import ROOT, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.engine.loader import _worker_init, batches, worker_error
from rgbpose_plugin.errors import SampleBug, VideoError

RUN_NET = ROOT / "tools" / "run_net.py"
BOUND_S = 90  # a failing tiny run takes ~10 s here; a hang is stopped at this bound


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("fail_fast_data"))


def tiny_yaml(tiny_data: Path, folder: Path, ann_file: Path = None) -> Path:
    """The tiny recipe as a config file, with two loader workers and long stages."""
    cfg = tiny_cfg(tiny_data, folder / "out", "DATA_LOADER.NUM_WORKERS", 2,
                   "SOLVER.MAX_EPOCH", 50, "RGBPOSE.RECIPE.POSE_ONLY.SOLVER.MAX_EPOCH", 50,
                   "RGBPOSE.RECIPE.RGB_ONLY.SOLVER.MAX_EPOCH", 50)
    if ann_file:
        cfg.DATA.ANN_FILE = str(ann_file)
    path = folder / "tiny.yaml"
    path.write_text(cfg.dump())
    return path


class Run:
    """tools/run_net.py in a new session; ``pids`` are the processes seen in it."""

    def __init__(self, cfg: Path, stage: str, *opts, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, str(RUN_NET), "--cfg", str(cfg), "--stage", stage, "--opts", *opts],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a shell
        self.pids = {self.proc.pid}

    def members(self) -> set:
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}

    def wait_for(self, text: str, timeout_s: float) -> str:
        """Poll the run's log until ``text`` appears (the log is read from the out folder)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pids |= self.members()
            if self.proc.poll() is not None:
                pytest.fail(f"ended before {text!r}: {self.proc.communicate()}")
            logs = "".join(p.read_text() for p in Path(self.out).glob("*/log.txt"))
            if text in logs:
                return logs
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"no {text!r} within {timeout_s} s")

    def finish(self, bound_s: float = BOUND_S) -> subprocess.CompletedProcess:
        deadline = time.monotonic() + bound_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pids |= self.members()
            time.sleep(0.1)
        if self.proc.poll() is None:
            self.kill()
            pytest.fail(f"still running after {bound_s} s")
        out, err = self.proc.communicate()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)

    def left_behind(self) -> set:
        """PIDs of the run still alive a few seconds after it ended (multiprocessing's
        resource tracker leaves on its own once its parent is gone)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = {p for p in self.pids if _alive(p)}
            if not alive:
                return alive
            time.sleep(0.2)
        for pid in alive:
            os.kill(pid, signal.SIGKILL)
        return alive


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def failed_run(cfg: Path, stage: str, *opts, out: Path):
    run = Run(cfg, stage, *opts, out=out)
    start = time.monotonic()
    res = run.finish()
    took = time.monotonic() - start
    assert run.left_behind() == set()
    return res, took


# --- the cases ------------------------------------------------------------------------------
def test_missing_videos_are_all_named_before_training(tiny_data, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(tiny_data.parent / "videos", videos)
    gone = sorted(videos.glob("*.mp4"))[:3]
    for path in gone:
        path.unlink()
    cfg = tiny_yaml(tiny_data, tmp_path)
    res, took = failed_run(cfg, "rgb_only", "DATA.PATH_PREFIX", str(videos), out=tmp_path / "out")
    line = one_line(res.stderr)
    assert res.returncode == 2 and took < 60, (res.returncode, took, line)
    assert line.startswith("error: ") and "video(s) of the train split not found" in line
    for path in gone:  # each one in the train split is listed
        if path.stem in pickle.loads(tiny_data.read_bytes())["split"]["train"]:
            assert f"'{path.stem}' -> {path}" in line
    assert f"DATA.PATH_PREFIX '{videos}'" in line and "DATA.VIDEO_EXT '.mp4'" in line
    logs = "".join(p.read_text() for p in (tmp_path / "out").rglob("log.txt"))
    assert "===== stage rgb_only" in logs and "training RGBSlowOnly" not in logs


def test_a_missing_video_folder_is_said_in_the_issue_s_reproduction(tiny_data, tmp_path):
    cfg = tiny_yaml(tiny_data, tmp_path)
    res, took = failed_run(cfg, "rgb_only", "DATA.PATH_PREFIX", "no_such_folder",
                           out=tmp_path / "out")
    line = one_line(res.stderr)
    assert res.returncode == 2 and took < 30, (res.returncode, took)
    assert "there is no folder 'no_such_folder'" in line


def _with_corrupt_video(tiny_data: Path, tmp_path: Path) -> Path:
    videos = tmp_path / "videos"
    shutil.copytree(tiny_data.parent / "videos", videos)
    train = pickle.loads(tiny_data.read_bytes())["split"]["train"]
    (videos / f"{train[1]}.mp4").write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(3000))
    return videos


@pytest.mark.parametrize("processes", [1, 2])
def test_a_corrupt_video_read_in_a_worker_ends_the_run(tiny_data, tmp_path, processes):
    videos = _with_corrupt_video(tiny_data, tmp_path)
    cfg = tiny_yaml(tiny_data, tmp_path)
    res, took = failed_run(cfg, "rgb_only", "DATA.PATH_PREFIX", str(videos),
                           "RGBPOSE.CPU_PROCESSES", str(processes), out=tmp_path / "out")
    line = one_line(res.stderr)
    assert res.returncode == 2 and took < 60, (res.returncode, took, line)
    train = pickle.loads(tiny_data.read_bytes())["split"]["train"]
    assert line.startswith("error: ") and f"'{train[1]}'" in line and str(videos) in line
    assert "DataLoader worker" not in line


def test_an_annotation_error_found_in_a_worker_ends_the_run(tiny_data, tmp_path):
    data = pickle.loads(tiny_data.read_bytes())
    bad = data["split"]["train"][2]
    for ann in data["annotations"]:
        if ann["frame_dir"] == bad:  # portrait, for landscape frames: found when decoding
            ann["img_shape"] = tuple(reversed(ann["img_shape"]))
    ann_file = tmp_path / "annotations.pkl"
    ann_file.write_bytes(pickle.dumps(data))
    shutil.copy(tiny_data.parent / "labels.txt", tmp_path / "labels.txt")
    cfg = tiny_yaml(tiny_data, tmp_path, ann_file)
    res, took = failed_run(cfg, "rgb_only", "DATA.PATH_PREFIX", str(tiny_data.parent / "videos"),
                           out=tmp_path / "out")
    line = one_line(res.stderr)
    assert res.returncode == 2 and took < 60, (res.returncode, took, line)
    assert f"sample {bad!r}" in line and "img_shape" in line and "portrait" in line


def test_a_bug_in_a_worker_is_one_line_with_the_traceback_in_the_log(tiny_data, tmp_path):
    cfg = tiny_yaml(tiny_data, tmp_path)
    code = ("import sys; sys.argv[0] = 'run_net'; sys.path.insert(0, sys.argv.pop(1));"
            "import run_net; from rgbpose_plugin.cli import report_errors;"
            "from rgbpose_plugin.data.dataset import RGBPoseDataset;"
            "RGBPoseDataset._rgb = lambda *a: 1 / 0;"
            "sys.exit(report_errors(run_net.main))")
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools"), "--cfg", str(cfg),
                           "--stage", "rgb_only"], capture_output=True, text=True, timeout=BOUND_S)
    line = one_line(proc.stderr)
    log = tmp_path / "out" / "rgb_only" / "log.txt"
    assert proc.returncode == 1, proc.stderr
    assert line.startswith("error: SampleBug: ") and "unexpected ZeroDivisionError" in line
    assert f"(a bug: the traceback is in {log})" in line
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError: division by zero" in text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_mid_epoch_says_where_to_resume(tiny_data, tmp_path, signum):
    cfg = tiny_yaml(tiny_data, tmp_path)
    run = Run(cfg, "pose_only", "DATA.REPEAT", "30", out=tmp_path / "out")  # 90 iterations an epoch
    run.wait_for("checkpoint_epoch_00001.pyth", 120)
    run.wait_for("epoch 2/50 iter 20/", 60)
    assert len(run.members()) >= 3  # the main process and its two loader workers
    # Ctrl-C reaches every process of the foreground group; SIGTERM here only the main one.
    os.killpg(run.proc.pid, signum) if signum == signal.SIGINT else run.proc.send_signal(signum)
    start = time.monotonic()
    res = run.finish(30)
    took = time.monotonic() - start
    line = one_line(res.stderr)
    verb = "interrupted" if signum == signal.SIGINT else "terminated by SIGTERM"
    assert res.returncode == 128 + signum and took < 15, (res.returncode, took, line)
    assert line.startswith(f"{verb} at epoch ") and ", iteration " in line
    assert line.startswith(f"{verb} at epoch 2, iteration "), line
    assert line.endswith(f"({tmp_path / 'out' / 'pose_only'}); rerun the same command to "
                         f"resume from epoch 2"), line
    assert run.left_behind() == set()


# --- the parts ------------------------------------------------------------------------------
class _Items(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        if i == 40:
            raise VideoError(f"sample 'v{i}', video /data/v{i}.mp4: cannot open", frame_dir=f"v{i}")
        time.sleep(0.02)
        return i


def _loader():
    return torch.utils.data.DataLoader(_Items(), batch_size=4, num_workers=2,
                                       worker_init_fn=_worker_init)


def test_a_worker_s_error_arrives_as_itself():
    seen = []
    with pytest.raises(VideoError) as info:
        with batches(_loader()) as it:
            workers = list(it._workers)
            for batch in it:
                seen += batch.tolist()
    assert str(info.value) == "sample 'v40', video /data/v40.mp4: cannot open"
    assert "Caught VideoError in DataLoader worker" in str(info.value.__cause__)
    assert not any(w.is_alive() for w in workers) and 40 not in seen


def test_workers_end_when_the_loop_is_left_early():
    with pytest.raises(KeyboardInterrupt):
        with batches(_loader()) as it:
            workers = list(it._workers)
            next(it)
            raise KeyboardInterrupt
    assert not any(w.is_alive() for w in workers)


def test_worker_error_leaves_other_errors_alone():
    assert worker_error(ValueError("plain")) is None
    wrapped = SampleBug("Caught SampleBug in DataLoader worker process 1.\nOriginal Traceback "
                        "(most recent call last):\n  File \"x.py\", line 1\n"
                        "rgbpose_plugin.errors.SampleBug: two\nlines\n")
    assert str(worker_error(wrapped)) == "two\nlines" and type(worker_error(wrapped)) is SampleBug


def test_leftover_workers_do_not_hold_the_exit():
    """A loader abandoned mid-pass (no ``batches``): the interpreter still exits at once."""
    code = ("import torch, time; from rgbpose_plugin.engine.loader import _worker_init\n"
            "class D(torch.utils.data.Dataset):\n"
            "    def __len__(self): return 100\n"
            "    def __getitem__(self, i): time.sleep(0.05); return i\n"
            "it = iter(torch.utils.data.DataLoader(D(), num_workers=2, worker_init_fn=_worker_init))\n"
            "next(it); keep = [it, [it]]; keep[1].append(keep)\n"  # a cycle: no timely __del__
            "raise SystemExit(3)\n")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and time.monotonic() - start < 30, proc.stderr
