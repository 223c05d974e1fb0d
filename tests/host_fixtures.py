"""The stand-in PySlowFast host (tests/host_standin), set up as docs/hosts.md says.

A copy of the stand-in checkout gets ``tools/setup_pyslowfast.py`` (the fixes and the
detectron2 stub) and a copy of the shipped host config beside it, as a user's project does.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from trainer_fixtures import ROOT, TINY_CLASSES, tiny_opts

# The host's loops take top-1 and top-5 of every batch: at least 5 classes.
HOST_CLASSES = TINY_CLASSES + ["clap"]

STANDIN = Path(__file__).resolve().parent / "host_standin"
HOST_YAML = ROOT / "configs" / "pyslowfast" / "rgbpose_demo_host.yaml"
SETUP_SCRIPT = ROOT / "tools" / "setup_pyslowfast.py"
# What the stand-in imports from the checkout and the stub (removed again after a module).
HOST_MODULES = ("slowfast", "ava_evaluation", "detectron2")


def copy_standin(folder: Path) -> Path:
    """A fresh stand-in checkout, ``folder/SlowFast``."""
    checkout = Path(folder) / "SlowFast"
    shutil.copytree(STANDIN, checkout, ignore=shutil.ignore_patterns("__pycache__"))
    return checkout


def plugin_env(**extra: str) -> dict:
    """The environment of a command in the recipe: this tree's plugin on PYTHONPATH."""
    path = os.pathsep.join([*extra.pop("PYTHONPATH", "").split(os.pathsep), str(ROOT)])
    return dict(os.environ, PYTHONPATH=path.strip(os.pathsep), **extra)


def run_setup_script(*args: str) -> subprocess.CompletedProcess:
    """``python tools/setup_pyslowfast.py ARGS...``, as docs/hosts.md runs it."""
    return subprocess.run([sys.executable, str(SETUP_SCRIPT), *map(str, args)],
                          capture_output=True, text=True, env=plugin_env(), timeout=300)


@dataclass
class StandinHost:
    """The set-up stand-in: its checkout, the stub, the copied host config and the output of
    the setup script; attribute lookups fall through to the host's loops (``slowfast.engine``)."""

    engine: ModuleType
    checkout: Path
    stub_dir: Path
    config: Path
    setup_output: str

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def cfg(self, ann_file: Path, out_dir: Path, *extra):
        """The copied host config, shrunk like ``trainer_fixtures.tiny_cfg``, in the host's
        config."""
        from slowfast.config.defaults import load_config

        return load_config(self.config, recipe_opts(ann_file, out_dir) + list(extra))


def recipe_opts(ann_file: Path, out_dir: Path) -> list:
    """The ``--opts`` of the tests' host runs: the recipe's data, tiny sizes, 2 epochs."""
    return tiny_opts(ann_file, out_dir, len(HOST_CLASSES)) + [
        "SOLVER.MAX_EPOCH", 2, "NUM_GPUS", 0]


def standin_host(folder: Path):
    """Set up a stand-in checkout in ``folder`` with the setup script, import it and
    register the plugin in it (the plugin was imported before this host); yields a
    :class:`StandinHost`, removes the host's modules after."""
    checkout = copy_standin(folder)
    setup = run_setup_script(checkout)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    config = Path(shutil.copy(HOST_YAML, Path(folder) / HOST_YAML.name))
    stub_dir = Path(folder) / "stubs"
    sys.path[:0] = [str(checkout), str(stub_dir)]
    import slowfast.config.defaults  # noqa: F401  (runs add_custom_config -> add_rgbpose_config)
    import slowfast.engine as engine

    from rgbpose_plugin.host import register_with_host

    assert register_with_host()
    yield StandinHost(engine, checkout, stub_dir, config, setup.stdout)
    for path in (str(checkout), str(stub_dir)):
        sys.path.remove(path)
    for name in [m for m in sys.modules if m.split(".")[0] in HOST_MODULES]:
        del sys.modules[name]


def make_host_dataset(folder: Path) -> Path:
    from rgbpose_dataprep.demo_data import make_demo_dataset

    return make_demo_dataset(folder, seed=0, videos_per_class=3, num_frames=(16, 20),
                             classes=HOST_CLASSES, workers=1)


def native_twin(cfg):
    """The plugin's own config with every key ``cfg`` (a host config) shares with it."""
    from rgbpose_plugin.config import get_cfg
    from rgbpose_plugin.host import native_cfg_from_host

    return native_cfg_from_host(cfg, get_cfg())
