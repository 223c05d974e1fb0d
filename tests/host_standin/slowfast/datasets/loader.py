"""Loaders as the host makes them: default_collate, a DistributedSampler for >1 process."""

import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from .build import build_dataset


def construct_loader(cfg, split, rank=0, world_size=1):
    name = cfg.TEST.DATASET if split == "test" else cfg.TRAIN.DATASET
    batch = cfg.TEST.BATCH_SIZE if split == "test" else cfg.TRAIN.BATCH_SIZE
    dataset = build_dataset(name, cfg, split)
    sampler = (DistributedSampler(dataset, num_replicas=world_size, rank=rank)
               if world_size > 1 else None)
    return DataLoader(dataset, batch_size=int(batch / max(1, world_size)), sampler=sampler,
                      shuffle=split == "train" and sampler is None,
                      generator=torch.Generator().manual_seed(cfg.RNG_SEED),
                      num_workers=cfg.DATA_LOADER.NUM_WORKERS, drop_last=split == "train")
