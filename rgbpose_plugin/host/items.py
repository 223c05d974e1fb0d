"""The plugin's datasets in a PySlowFast-style host's shape.

The host's loops unpack every batch as ``inputs, labels, index, time, meta`` after
``default_collate``; its test meter sums the predictions of the items whose
``index // (NUM_ENSEMBLE_VIEWS * NUM_SPATIAL_CROPS)`` is the same video and makes
``dataset.num_videos // that`` videos. So in host mode:

* train / val: one item per clip, ``(inputs, label, position, time, meta)``; ``time`` is
  an empty tensor and ``meta`` an empty dict (the host moves every meta value to the GPU,
  so it may hold tensors only).
* test: one item per (video, view), ``index`` = clip id = ``video * V + view``;
  ``num_videos`` = videos x V. The views are the plugin tester's own: a video's V seeded
  clips are decoded and transformed together (one compact box over all of them, as the
  tester does) and served one by one from a small per-worker cache, so consecutive
  views of a video cost one decode. ``inputs`` ends with the view's weight (see below).

Multi-process testing: the host's ``DistributedSampler`` pads the item list to a multiple
of the process count by repeating items, and gathers all predictions into one sum: the
repeated views would count twice. The test split therefore pads itself (read from
``torch.distributed`` when it is built), with items of weight 0 that the model turns
into all-zero predictions, so every video counts each of its views exactly once. (The
host logs a "clip count" warning for the few videos those padding items point at.)
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from torch.utils.data import Dataset

from ..data.dataset import RGBPoseDataset
from ..labels.lookup import check_num_classes

__all__ = ["HostClips", "HostViews", "wrap_for_host"]

_NO_TIME = torch.zeros(0)


def process_count() -> int:
    """The processes the host's sampler splits the test items over."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _check_host_cfg(cfg) -> None:
    if cfg.RGBPOSE.HEATMAP.ON_GPU:
        raise ValueError("RGBPOSE.HEATMAP.ON_GPU must be False under a host (RGBPOSE.HOST_MODE): "
                         "the host's loop moves the inputs itself and never draws heatmaps")
    crops = int(cfg.TEST.get("NUM_SPATIAL_CROPS", 1))
    if crops != 1:
        raise ValueError(f"TEST.NUM_SPATIAL_CROPS is {crops}: the plugin tests the whole "
                         f"(compacted) frame, one crop per clip; set TEST.NUM_SPATIAL_CROPS: 1")


class HostClips(Dataset):
    """Train / val items as ``(inputs, label, index, time, meta)`` tuples."""

    def __init__(self, base: RGBPoseDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    @property
    def num_videos(self) -> int:
        return len(self.base)

    def _set_epoch_num(self, epoch: int) -> None:
        """The host's per-epoch hook: selects the training draws of ``epoch``."""
        self.base.set_epoch(epoch)

    def __getitem__(self, index: int) -> Tuple[List[torch.Tensor], int, int, torch.Tensor, Dict]:
        item = self.base[index]
        return item["inputs"], item["label"], index, _NO_TIME, {}


class HostViews(Dataset):
    """Test items, one per (video, view), in the plugin tester's views; see the module doc.

    Args:
        base: the test-split dataset (items hold all ``base.num_views`` views).
        world_size: processes the host's sampler splits the items over (default: the
            ``torch.distributed`` world size, else 1).
        cache_videos: whole videos each worker keeps (consecutive views hit the cache).
    """

    def __init__(self, base: RGBPoseDataset, world_size: Optional[int] = None,
                 cache_videos: int = 2) -> None:
        if base.split != "test":
            raise ValueError(f"HostViews needs the test split, got {base.split!r}")
        self.base = base
        self.views = base.num_views
        self.num_clips = len(base) * self.views
        if world_size is None:
            world_size = process_count()
        self.padding = -self.num_clips % max(1, int(world_size))
        self.cache_videos = max(1, cache_videos)
        self._cache: OrderedDict[int, Dict[str, Any]] = OrderedDict()
        self.decodes = 0  # whole-video loads in this process (a worker has its own count)

    @property
    def num_videos(self) -> int:
        """What the host's test meter divides by the views: the real clips, no padding."""
        return self.num_clips

    def __len__(self) -> int:
        return self.num_clips + self.padding

    def _video(self, video: int) -> Dict[str, Any]:
        if video in self._cache:
            self._cache.move_to_end(video)
            return self._cache[video]
        item = self.base[video]
        self.decodes += 1
        self._cache[video] = item
        while len(self._cache) > self.cache_videos:
            self._cache.popitem(last=False)
        return item

    def __getitem__(self, index: int) -> Tuple[List[torch.Tensor], int, int, torch.Tensor, Dict]:
        if not 0 <= index < len(self):
            raise IndexError(f"test clip {index} out of range for {len(self)} items")
        clip, weight = index, 1.0
        if index >= self.num_clips:  # padding for the sampler: scores 0, counts nothing
            clip, weight = (index - self.num_clips) % self.num_clips, 0.0
        video, view = divmod(clip, self.views)
        item = self._video(video)
        inputs = [x[view] for x in item["inputs"]] + [torch.tensor(weight)]
        return inputs, item["label"], clip, _NO_TIME, {}


def wrap_for_host(dataset: RGBPoseDataset, cfg) -> Dataset:
    """The host-shaped view of ``dataset`` (its split decides which)."""
    _check_host_cfg(cfg)
    # As the plugin's trainer does: the host never compares the two.
    check_num_classes(cfg.DATA.ANN_FILE, int(cfg.MODEL.NUM_CLASSES))
    return HostViews(dataset) if dataset.split == "test" else HostClips(dataset)
