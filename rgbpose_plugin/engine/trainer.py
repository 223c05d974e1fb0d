"""Train one stage (a model on one dataset mode) with periodic validation and checkpoints.

``train(cfg)`` runs in every process. The stage folder is ``cfg.OUTPUT_DIR``::

    OUTPUT_DIR/
      checkpoints/checkpoint_epoch_00005.pyth   every TRAIN.CHECKPOINT_PERIOD epochs
      log.txt  stats.jsonl  curves.png  [tensorboard/]

Resuming: with TRAIN.AUTO_RESUME the newest checkpoint of the folder restores model,
optimizer, AMP scaler, epoch, iteration and RNG states; the LR schedule is a function
of the epoch, and the data order and augmentation are seeded by (seed, epoch, index),
so a resumed run ends with the same weights as an uninterrupted one. A stop request
(:mod:`.stopping`, e.g. SLURM preemption) saves at the next iteration boundary.
Evaluation is :func:`.evaluation.evaluate`, the inputs of a batch :mod:`.batch`.

Without a checkpoint of its own, a stage starts from TRAIN.CHECKPOINT_FILE_PATH (a file or
``zoo:NAME``); classifiers trained for another class count than MODEL.NUM_CLASSES keep
their fresh initialisation (finetuning on your own classes), any other mismatch stops.
"""

from __future__ import annotations

import os
import time
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.nn as nn

from ..config import check_values
from ..data import build_dataset
from ..errors import Interrupted, raise_if_interrupted
from ..labels.lookup import check_num_classes
from ..models import build_model, model_streams
from ..models.losses import stream_losses
from ..weights.checkpoints import (
    checkpoint_path,
    checkpoint_position,
    last_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ..weights.finetune import load_for_finetune
from ..zoo import resolve_weights
from .batch import device_for, prepare_batch
from .distributed import all_gather_objects, barrier, get_info, is_main, main_decides, sync_buffers
from .evaluation import compute_metrics, evaluate
from .fast_paths import autocast, channels_last_model, compile_net, grad_scaler
from .loader import batches, build_loader
from .logs import StatsWriter, format_eta, format_metrics_table, get_logger, log_to, progress, read_stats
from .optim import build_optimizer, lr_at_epoch, set_lr
from .plots import plot_training_curves
from .rng import capture_rng_state, restore_rng_state, seed_everything
from .stopping import consume_stop, stop_agreed

__all__ = ["train", "train_step"]


def _loss(cfg, out: Dict[str, torch.Tensor], labels: torch.Tensor) -> Dict[str, torch.Tensor]:
    return stream_losses(out, labels, cfg.RGBPOSE.HEAD.LOSS_WEIGHTS)


def train_step(cfg, net: nn.Module, optimizer: torch.optim.Optimizer,
               scaler: Optional[torch.amp.GradScaler], inputs: List[torch.Tensor],
               labels: torch.Tensor) -> Dict[str, float]:
    """One optimisation step: forward under autocast, losses, (scaled) backward, gradient
    clipping, optimizer step. Returns the losses and accuracies to log."""
    with autocast(cfg, labels.device):
        out = net(inputs)
    losses = _loss(cfg, out, labels)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(losses["loss"]).backward()
        scaler.unscale_(optimizer)  # clip the true gradients
    else:
        losses["loss"].backward()
    if cfg.SOLVER.CLIP_GRAD_L2NORM > 0:
        nn.utils.clip_grad_norm_(net.parameters(), cfg.SOLVER.CLIP_GRAD_L2NORM)
    if scaler is not None:
        scaler.step(optimizer)  # skipped when the scaled gradients overflowed
        scaler.update()
    else:
        optimizer.step()
    values = {k: v.item() for k, v in losses.items()}
    values.update({f"acc_{s}": (out[s].argmax(1) == labels).float().mean().item() * 100
                   for s in out})
    return values


class _Trainer:
    """State of one stage's training in one process."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.info = get_info()
        self.device = device_for(cfg)
        self.log = get_logger()
        seed_everything(cfg.RNG_SEED)
        check_values(cfg, f"training config ({cfg.OUTPUT_DIR})")  # e.g. AMP_DTYPE "BF16"
        model_streams(cfg)  # fails early, naming the key, on an unknown MODEL.MODEL_NAME
        # MODEL.NUM_CLASSES against the label map beside DATA.ANN_FILE, before any training.
        check_num_classes(cfg.DATA.ANN_FILE, int(cfg.MODEL.NUM_CLASSES))
        self.model = channels_last_model(cfg, build_model(cfg).to(self.device))
        self.optimizer = build_optimizer(cfg, self.model)
        self.scaler = grad_scaler(cfg, self.device)
        self.epoch, self.iter_in_epoch, self.global_step = 0, 0, 0
        self.validating = False
        self._resume_or_init()
        self.net = self.model
        if self.info.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.net = compile_net(cfg, self.net)
        self.train_set = build_dataset(cfg, "train")
        self.train_loader = build_loader(cfg, self.train_set, "train")
        self.val_loader = None
        if cfg.TRAIN.EVAL_PERIOD > 0:
            self.val_loader = build_loader(cfg, build_dataset(cfg, "val"), "val")
        # PySlowFast's place: OUTPUT_DIR/runs-<TRAIN.DATASET>/LOG_DIR.
        tb = os.path.join(cfg.OUTPUT_DIR, f"runs-{cfg.TRAIN.DATASET}", cfg.TENSORBOARD.LOG_DIR)
        self.stats = StatsWriter(cfg.OUTPUT_DIR, tb if cfg.TENSORBOARD.ENABLE else "")

    # --- checkpoints ---------------------------------------------------------------------
    def _resume_or_init(self) -> None:
        cfg = self.cfg
        # rank 0 picks the file: ranks reading a shared folder may see different ones
        path = main_decides(lambda: last_checkpoint(cfg.OUTPUT_DIR)) if cfg.TRAIN.AUTO_RESUME else None
        if path:
            ckpt = load_checkpoint(path)
            self.model.load_state_dict(ckpt["model_state"])
            self.optimizer.load_state_dict(ckpt["optimizer_state"])
            if self.scaler is not None and ckpt.get("scaler_state"):
                self.scaler.load_state_dict(ckpt["scaler_state"])
            self.epoch, self.iter_in_epoch = ckpt["epoch"], ckpt.get("iter_in_epoch", 0)
            self.global_step = ckpt.get("global_step", 0)
            restore_rng_state(ckpt["rng_state"][min(self.info.rank, len(ckpt["rng_state"]) - 1)],
                              self.device)
            self.log.info(f"resumed from {path} (epoch {self.epoch}, iteration {self.iter_in_epoch})")
        elif cfg.TRAIN.CHECKPOINT_FILE_PATH:
            self._init_from(cfg.TRAIN.CHECKPOINT_FILE_PATH)

    def _init_from(self, source: str) -> None:
        """Start from the weights ``source`` names (a file or ``zoo:NAME``), not a resume:
        classifiers of another class count are re-initialised and named in the log."""
        path = resolve_weights(source)
        ckpt = load_checkpoint(path)
        state = ckpt["model_state"]
        fresh = load_for_finetune(self.model, state, path)
        zoo = ckpt.get("zoo") or {}
        named = f"{path} (zoo model {zoo['name']})" if zoo.get("name") else path
        self.log.info(f"initialised from {named}")
        if fresh:
            self.log.info(f"re-initialised {', '.join(fresh)}: {named} has "
                          f"{state[fresh[0]].shape[0]} classes, MODEL.NUM_CLASSES is "
                          f"{self.cfg.MODEL.NUM_CLASSES}")

    def save(self) -> str:
        """Every process contributes its RNG state; the main process writes the file."""
        rng = all_gather_objects(capture_rng_state(self.device))
        path = checkpoint_path(self.cfg.OUTPUT_DIR, self.epoch, self.iter_in_epoch)
        if is_main():
            save_checkpoint(path, {
                "epoch": self.epoch, "iter_in_epoch": self.iter_in_epoch,
                "global_step": self.global_step, "model_state": self.model.state_dict(),
                "optimizer_state": self.optimizer.state_dict(),
                "scaler_state": self.scaler.state_dict() if self.scaler else None,
                "rng_state": rng, "cfg": self.cfg.dump(), "model_name": self.cfg.MODEL.MODEL_NAME,
            })
            self.log.info(f"saved {path}")
        barrier()
        return path

    # --- one epoch -----------------------------------------------------------------------
    def _step(self, batch) -> Dict[str, float]:
        inputs, labels, _ = prepare_batch(batch, self.cfg, self.device)
        return train_step(self.cfg, self.net, self.optimizer, self.scaler, inputs, labels)

    def train_epoch(self) -> None:
        cfg = self.cfg
        sampler = self.train_loader.sampler
        sampler.set_epoch(self.epoch, start=self.iter_in_epoch * self.train_loader.batch_size)
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(self.epoch)
        iters = self.iter_in_epoch + len(self.train_loader)
        self.skipped = 0
        self.net.train()
        start = time.perf_counter()
        with batches(self.train_loader) as loaded:
            for i, batch in enumerate(progress(loaded, len(self.train_loader),
                                               f"epoch {self.epoch + 1}"), self.iter_in_epoch):
                lr = lr_at_epoch(cfg, self.epoch + i / iters)
                set_lr(self.optimizer, lr)
                values = self._step(batch)
                self.skipped += batch.get("num_skipped", 0)
                self.iter_in_epoch, self.global_step = i + 1, self.global_step + 1
                if self.global_step % cfg.LOG_PERIOD == 0 or i + 1 == iters:
                    self._log_iter(values, lr, i + 1, iters, start)
                raise_if_interrupted()
                if i + 1 < iters and stop_agreed(self.device):
                    raise consume_stop(self.save())
        self.epoch, self.iter_in_epoch = self.epoch + 1, 0

    def _log_iter(self, values: Dict, lr: float, done: int, iters: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        per_iter = elapsed / max(1, done - (iters - len(self.train_loader)))
        left = (iters - done + (self.cfg.SOLVER.MAX_EPOCH - self.epoch - 1) * iters) * per_iter
        accs = " ".join(f"{k} {v:.1f}" for k, v in values.items() if k.startswith("acc_"))
        self.log.info(f"epoch {self.epoch + 1}/{self.cfg.SOLVER.MAX_EPOCH} iter {done}/{iters} "
                      f"loss {values['loss']:.4f} {accs} lr {lr:.5g} "
                      f"{per_iter:.2f}s/it eta {format_eta(left)}")
        self.stats.write("train_iter", self.global_step,
                         {"epoch": self.epoch + done / iters, "lr": lr, **values})

    def validate(self) -> Dict:
        # The bare module, not DDP: a rank whose slice of a small split is empty runs no
        # forward, and DDP's first forward after training syncs buffers (a collective the
        # other ranks would wait in forever). Rank 0's statistics are copied explicitly.
        sync_buffers(self.model)
        self.validating = True
        scores = evaluate(self.model, self.val_loader, self.cfg, self.device)
        self.validating = False
        metrics = compute_metrics(scores, self.cfg.TEST.FUSION_WEIGHTS)
        self.log.info(format_metrics_table(metrics, f"validation after epoch {self.epoch}"))
        self.stats.write("val", self.global_step, {"epoch": self.epoch, "metrics": metrics})
        return metrics

    def run(self) -> Dict:
        try:
            return self._run()
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM in the tools (Interrupted)
            raise Interrupted.at(err, self._where_stopped()) from None

    def _where_stopped(self) -> str:
        """Where an interruption landed and where a rerun resumes, for its one-line report."""
        at = (f"in the validation after epoch {self.epoch}" if self.validating
              else f"at epoch {self.epoch + 1}, iteration {self.iter_in_epoch + 1}")
        newest = last_checkpoint(self.cfg.OUTPUT_DIR)
        resume = "the start (no checkpoint yet)"
        if newest:
            epochs, iters = checkpoint_position(newest)
            resume = f"epoch {epochs + 1}" + (f", iteration {iters + 1}" if iters else "")
        return f"{at} ({self.cfg.OUTPUT_DIR}); rerun the same command to resume from {resume}"

    def _run(self) -> Dict:
        cfg, metrics = self.cfg, {}
        self.log.info(f"training {cfg.MODEL.MODEL_NAME} on {len(self.train_set)} clips per epoch, "
                      f"{cfg.SOLVER.MAX_EPOCH} epochs, {self.info.world_size} process(es), "
                      f"device {self.device}")
        while self.epoch < cfg.SOLVER.MAX_EPOCH:
            self.train_epoch()
            self._report_skipped()
            last = self.epoch == cfg.SOLVER.MAX_EPOCH
            saved = ""
            if last or self.epoch % max(1, cfg.TRAIN.CHECKPOINT_PERIOD) == 0:
                saved = self.save()
            if self.val_loader is not None and (last or self.epoch % cfg.TRAIN.EVAL_PERIOD == 0):
                metrics = self.validate()
            if stop_agreed(self.device):  # also after the last epoch's (long) validation
                raise consume_stop(saved or self.save())
        if not metrics and self.val_loader is not None:
            metrics = self.validate()  # resumed after the last epoch: its validation was cut short
        if is_main():
            plot_training_curves(read_stats(cfg.OUTPUT_DIR), os.path.join(cfg.OUTPUT_DIR, "curves.png"),
                                 title=cfg.MODEL.MODEL_NAME)
        self.stats.close()
        return {"checkpoint": last_checkpoint(cfg.OUTPUT_DIR), "val": metrics}

    def _report_skipped(self) -> None:
        """Bad samples replaced in this epoch (DATA.ON_ERROR=skip), summed over processes."""
        count = torch.tensor([float(self.skipped)], device=self.device)
        if self.info.world_size > 1:
            dist.all_reduce(count)
        if count.item():
            self.log.warning(f"epoch {self.epoch}: {int(count.item())} bad sample(s) skipped "
                             f"(DATA.ON_ERROR=skip; see the warnings above for which)")
            self.stats.write("skipped", self.global_step, {"epoch": self.epoch, "count": int(count.item())})


def train(cfg) -> Optional[Dict]:
    """Train the stage described by ``cfg`` (in this process), logging to its folder."""
    with log_to(cfg.OUTPUT_DIR):
        return _Trainer(cfg).run()
