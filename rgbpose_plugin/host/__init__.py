"""Everything that makes the plugin's parts work inside a PySlowFast-style host project.

* :mod:`.registration`: :func:`register_with_host`, which importing the plugin calls:
  the plugin's models and datasets in the host's registries, host-shaped, and the loss;
* :mod:`.items`: items as ``(inputs, label, index, time, meta)``, one test item per
  (video, view), padding for the host's ``DistributedSampler``;
* :mod:`.model_io`: one ``(N, C)`` output tensor (fused probability in eval, fused
  log-probability carrying both streams in training), the host's FLOP-count input;
* :mod:`.loss`: ``rgbpose_ce`` in the host's loss table;
* :mod:`.config`: a host checkpoint's config read by the plugin's own tools.

The plugin's own trainer, tester and tools build from the plugin's registries, which
never shape anything for a host.
"""

from .config import merge_known_keys, native_cfg_from_host
from .items import HostClips, HostViews, wrap_for_host
from .loss import LOSS_NAME, RGBPoseCrossEntropy, register_host_loss
from .model_io import HostModelIO, StreamScores, attach_host_io
from .registration import HostPart, register_with_host

__all__ = ["HostClips", "HostModelIO", "HostPart", "HostViews", "LOSS_NAME",
           "RGBPoseCrossEntropy", "StreamScores", "attach_host_io", "merge_known_keys",
           "native_cfg_from_host", "register_host_loss", "register_with_host",
           "wrap_for_host"]
