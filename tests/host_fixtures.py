"""The stand-in PySlowFast host (tests/host_standin) as a pytest fixture."""

import sys
from pathlib import Path

from trainer_fixtures import ROOT, TINY_CLASSES, tiny_opts

# The host's loops take top-1 and top-5 of every batch: at least 5 classes.
HOST_CLASSES = TINY_CLASSES + ["clap"]

STANDIN = Path(__file__).resolve().parent / "host_standin"
HOST_YAML = ROOT / "configs" / "pyslowfast" / "rgbpose_demo_host.yaml"


def standin_host():
    """Import the stand-in ``slowfast`` package and register the plugin in it (the plugin
    was imported before this host); yields its engine module, removes it after."""
    sys.path.insert(0, str(STANDIN))
    import slowfast.config.defaults  # noqa: F401  (runs add_custom_config -> add_rgbpose_config)
    import slowfast.engine as engine

    from rgbpose_plugin.host import register_with_host

    assert register_with_host()
    yield engine
    sys.path.remove(str(STANDIN))
    for name in [m for m in sys.modules if m == "slowfast" or m.startswith("slowfast.")]:
        del sys.modules[name]


def host_cfg(ann_file: Path, out_dir: Path, *extra):
    """The shipped host YAML, shrunk like ``trainer_fixtures.tiny_cfg``, in the host's config."""
    from slowfast.config.defaults import load_config

    opts = tiny_opts(ann_file, out_dir, len(HOST_CLASSES)) + ["SOLVER.MAX_EPOCH", 2, "NUM_GPUS", 0]
    return load_config(HOST_YAML, opts + list(extra))


def make_host_dataset(folder: Path) -> Path:
    from rgbpose_plugin.demo_data import make_demo_dataset

    return make_demo_dataset(folder, seed=0, videos_per_class=3, num_frames=(16, 20),
                             classes=HOST_CLASSES, workers=1)


def native_twin(cfg):
    """The plugin's own config with every key ``cfg`` (a host config) shares with it."""
    from rgbpose_plugin.config import get_cfg
    from rgbpose_plugin.host import native_cfg_from_host

    return native_cfg_from_host(cfg, get_cfg())
