"""The host's training entry point, as PySlowFast's tools/train_net.py: the loop of
slowfast.engine, waiting for CUDA after every iteration (tools/setup_pyslowfast.py makes
that wait happen only where CUDA is available)."""

import torch
from slowfast import engine


class IterTimer:
    """The host's train meter, reduced to its iteration clock."""

    def iter_tic(self):
        pass


def train(cfg):
    train_meter = IterTimer()

    def after_iteration():
        torch.cuda.synchronize()
        train_meter.iter_tic()

    history = engine.train(cfg, after_iteration)
    print(f"trained {len(history['checkpoints'])} epoch(s): {history['checkpoints'][-1]}")
    return history
