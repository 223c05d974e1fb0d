"""The host's loops: train with validation and checkpoints, then the multi-view test."""

import math
import os

import torch
from fvcore.nn import flop_count

from .datasets.loader import construct_loader
from .models.build import build_model
from .models.losses import get_loss_func


def model_analysis_input(cfg, train=True):
    """One RGB clip, 3 x NUM_FRAMES x crop x crop, batch 1, one pathway (MODEL.ARCH slow)."""
    crop = cfg.DATA.TRAIN_CROP_SIZE if train else cfg.DATA.TEST_CROP_SIZE
    return ([torch.rand(3, cfg.DATA.NUM_FRAMES, crop, crop).unsqueeze(0)],)


def log_model_info(model, cfg):
    mode = model.training
    model.eval()
    counts, _ = flop_count(model, model_analysis_input(cfg))
    model.train(mode)
    return sum(counts.values())


def lr_at(cfg, epoch):
    s = cfg.SOLVER
    if s.LR_POLICY == "cosine":
        return s.COSINE_END_LR + (s.BASE_LR - s.COSINE_END_LR) * (
            math.cos(math.pi * epoch / s.MAX_EPOCH) + 1) / 2
    steps = list(s.STEPS) + [s.MAX_EPOCH]
    index = next(i for i, step in enumerate(steps) if epoch < step) - 1
    return s.LRS[index] * s.BASE_LR


def topks_correct(preds, labels, ks):
    _, top = torch.topk(preds, max(ks), dim=1, largest=True, sorted=True)
    hit = top.t().eq(labels.view(1, -1).expand_as(top.t()))
    return [hit[:k, :].reshape(-1).float().sum() for k in ks]


def train_step(model, inputs, labels, optimizer, loss_fun, cfg):
    """One iteration as the host runs it; returns (loss, preds)."""
    preds = model(inputs)
    loss = loss_fun(preds, labels)
    optimizer.zero_grad()
    loss.backward()
    if cfg.SOLVER.CLIP_GRAD_L2NORM:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.SOLVER.CLIP_GRAD_L2NORM)
    optimizer.step()
    return loss, preds


def checkpoint_file(cfg, epoch):
    return os.path.join(cfg.OUTPUT_DIR, "checkpoints", f"checkpoint_epoch_{epoch:05d}.pyth")


def save_checkpoint(model, optimizer, epoch, cfg):
    path = checkpoint_file(cfg, epoch + 1)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"epoch": epoch, "model_state": model.state_dict(),
                "optimizer_state": optimizer.state_dict(), "cfg": cfg.dump()}, path)
    return path


def load_weights(path, model):
    """Weights matched by name and shape, as the host loads a checkpoint."""
    state = torch.load(path, map_location="cpu")["model_state"]
    own = model.state_dict()
    matched = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    missing = sorted(set(own) - set(matched))
    model.load_state_dict(matched, strict=False)
    return missing


@torch.no_grad()
def eval_epoch(loader, model):
    model.eval()
    wrong, seen = 0.0, 0
    for inputs, labels, _index, _time, _meta in loader:
        preds = model(inputs)
        wrong += preds.size(0) - topks_correct(preds, labels, (1,))[0].item()
        seen += preds.size(0)
    return 100.0 * wrong / seen


def train(cfg, after_iteration=None):
    """Train and validate; ``after_iteration()`` runs after every step (tools/train_net.py
    waits for CUDA there)."""
    torch.manual_seed(cfg.RNG_SEED)
    model = build_model(cfg)
    flops = log_model_info(model, cfg) if cfg.LOG_MODEL_INFO else None
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.SOLVER.BASE_LR,
                                momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV,
                                weight_decay=cfg.SOLVER.WEIGHT_DECAY)
    if cfg.TRAIN.CHECKPOINT_FILE_PATH:
        load_weights(cfg.TRAIN.CHECKPOINT_FILE_PATH, model)
    train_loader, val_loader = construct_loader(cfg, "train"), construct_loader(cfg, "val")
    loss_fun = get_loss_func(cfg.MODEL.LOSS_FUNC)(reduction="mean")
    history = {"flops": flops, "train_top1_err": [], "val_top1_err": [], "checkpoints": []}
    for epoch in range(cfg.SOLVER.MAX_EPOCH):
        if hasattr(train_loader.dataset, "_set_epoch_num"):
            train_loader.dataset._set_epoch_num(epoch)
        model.train()
        for it, (inputs, labels, _index, _time, meta) in enumerate(train_loader):
            assert isinstance(meta, dict)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(cfg, epoch + it / len(train_loader))
            loss, preds = train_step(model, inputs, labels, optimizer, loss_fun, cfg)
            assert preds.dim() == 2 and preds.shape[1] == cfg.MODEL.NUM_CLASSES
            top1 = topks_correct(preds, labels, (1, 5))[0]
            history["train_top1_err"].append(100.0 * (1 - top1.item() / preds.size(0)))
            if after_iteration is not None:
                after_iteration()
        history["checkpoints"].append(save_checkpoint(model, optimizer, epoch, cfg))
        history["val_top1_err"].append(eval_epoch(val_loader, model))
    return history


class TestMeter:
    """Sums (or maxes) the view predictions of each video: video = clip id // num_clips."""

    def __init__(self, num_videos, num_clips, num_cls, ensemble_method="sum"):
        self.num_clips, self.ensemble_method = num_clips, ensemble_method
        self.video_preds = torch.zeros(num_videos, num_cls)
        self.video_labels = torch.zeros(num_videos, dtype=torch.long)
        self.clip_count = torch.zeros(num_videos, dtype=torch.long)

    def update_stats(self, preds, labels, clip_ids):
        for pred, label, clip in zip(preds, labels, clip_ids):
            video = int(clip) // self.num_clips
            self.video_labels[video] = label
            if self.ensemble_method == "sum":
                self.video_preds[video] += pred
            else:
                self.video_preds[video] = torch.max(self.video_preds[video], pred)
            self.clip_count[video] += 1

    def top1(self):
        return 100.0 * topks_correct(self.video_preds, self.video_labels, (1,))[0].item() / len(
            self.video_labels)


@torch.no_grad()
def test(cfg, world_size=1):
    """The multi-view test; ``world_size`` > 1 runs the ranks' loaders one after another
    (each with its DistributedSampler) and gathers their predictions, as the host does."""
    model = build_model(cfg)
    path = cfg.TEST.CHECKPOINT_FILE_PATH or checkpoint_file(cfg, cfg.SOLVER.MAX_EPOCH)
    missing = load_weights(path, model)
    assert not missing, missing
    model.eval()
    loaders = [construct_loader(cfg, "test", rank, world_size) for rank in range(world_size)]
    dataset = loaders[0].dataset
    clips = cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS
    assert dataset.num_videos % clips == 0
    meter = TestMeter(dataset.num_videos // clips, clips, cfg.MODEL.NUM_CLASSES,
                      cfg.DATA.ENSEMBLE_METHOD)
    for loader in loaders:
        for inputs, labels, clip_ids, _time, _meta in loader:
            meter.update_stats(model(inputs), labels, clip_ids)
    return meter
