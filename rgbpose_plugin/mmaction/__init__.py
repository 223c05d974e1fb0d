"""MMAction2 1.x integration: our fast transforms in MMAction2's ``TRANSFORMS`` registry.

In an MMAction2 config::

    custom_imports = dict(imports=["rgbpose_plugin.mmaction"], allow_failed_imports=False)

then use the names of :data:`FAST_TRANSFORMS` in place of the stock ones (same
arguments), or ``configs/mmaction2/*_fast.py``. This is the only part of the plugin
that imports mmaction / mmengine / mmcv.

========================  ==========================  ====================================
stock                     ours                        what changes
========================  ==========================  ====================================
``GeneratePoseTarget``    ``FastGeneratePoseTarget``  vectorised maps (<= 1e-6 apart)
``MMDecode``              ``FastMMDecode``            PyAV; each frame decoded once for
                                                      all clips
``MMCompact``             ``FastMMCompact``           no ``np.pad`` of whole frames
========================  ==========================  ====================================
"""

from .compact import FastMMCompact, crop_with_padding
from .configs import stock_config, stock_config_path
from .decode import FastMMDecode
from .heatmaps import FastGeneratePoseTarget
from .swap import FAST_TRANSFORMS, use_fast_transforms

__all__ = ["FAST_TRANSFORMS", "FastGeneratePoseTarget", "FastMMCompact", "FastMMDecode",
           "crop_with_padding", "stock_config", "stock_config_path", "use_fast_transforms"]
