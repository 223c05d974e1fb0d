"""Everything that makes the plugin's parts work inside a PySlowFast-style host project.

With ``RGBPOSE.HOST_MODE`` (the default when ``add_rgbpose_config`` extends a host's
config) the registered builders wrap their products here:

* :mod:`.dataset`: items as ``(inputs, label, index, time, meta)``, one test item per
  (video, view), padding for the host's ``DistributedSampler``;
* :mod:`.model_io`: one ``(N, C)`` output tensor (fused probability in eval, fused
  log-probability carrying both streams in training), the host's FLOP-count input;
* :mod:`.loss`: ``rgbpose_ce`` in the host's loss table;
* :mod:`.config`: a host checkpoint's config read by the plugin's own tools.

The plugin's own trainer, tester and tools never take this path (``get_cfg()`` sets
``RGBPOSE.HOST_MODE: False``).
"""

from ..registry import mirror_to_host, set_host_adapter
from .config import merge_known_keys, native_cfg_from_host
from .dataset import HostClips, HostViews, wrap_for_host
from .loss import LOSS_NAME, RGBPoseCrossEntropy, register_host_loss
from .model_io import HostModelIO, StreamScores, attach_host_io

__all__ = ["HostClips", "HostModelIO", "HostViews", "LOSS_NAME", "RGBPoseCrossEntropy",
           "StreamScores", "attach_host_io", "is_host_mode", "merge_known_keys",
           "native_cfg_from_host", "register_host_loss", "register_with_host",
           "wrap_for_host"]


def is_host_mode(cfg) -> bool:
    """Whether ``cfg`` asks for the host's item and output shapes."""
    return bool(cfg.get("RGBPOSE", {}).get("HOST_MODE", False))


def register_with_host() -> bool:
    """Put the models, datasets and ``rgbpose_ce`` into a host imported after the plugin
    (importing the plugin inside a host does this by itself); True when a host was found."""
    found = mirror_to_host()
    return register_host_loss() is not None or found


set_host_adapter("dataset", wrap_for_host)
set_host_adapter("model", attach_host_io)
register_host_loss()
