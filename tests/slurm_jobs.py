"""Jobs for the SLURM tests, imported inside the jobs (the tests put this folder on PYTHONPATH)."""

import time

from rgbpose_plugin.launch import RecipeJob


class SlowItemJob(RecipeJob):
    """The recipe job with slow dataset items: SLURM's signals land inside loader workers."""

    def __init__(self, *args, item_s: float = 0.05, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item_s = item_s

    def run_in_task(self, cfg):
        from rgbpose_plugin.data.dataset import RGBPoseDataset

        get = RGBPoseDataset.__getitem__
        delay = self.item_s

        def slow_get(dataset, index):
            time.sleep(delay)
            return get(dataset, index)

        RGBPoseDataset.__getitem__ = slow_get  # before the loaders fork their workers
        try:
            return super().run_in_task(cfg)
        finally:
            RGBPoseDataset.__getitem__ = get


class FailingRankJob(RecipeJob):
    """Rank 1 fails in Python; rank 0 waits in a collective and sees its peer go."""

    def run_in_task(self, cfg):
        import torch.distributed as dist

        if dist.get_rank() == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.barrier()
        return {}
