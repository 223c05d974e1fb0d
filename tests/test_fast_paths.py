"""The trainer's speed options: bf16/fp16 autocast, GradScaler, channels_last_3d, torch.compile,
the checked AMP_DTYPE spelling, the torch floor, per-device CUDA RNG.

Everything runs on the CPU; the trainer-step tests also run on CUDA where there is a GPU."""

import configparser
import math
import re

import pytest
import torch
from trainer_fixtures import DEVICES, ROOT, device_opts, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import ConfigError, check_values, get_cfg, stage_cfg
from rgbpose_plugin.config.checks import CHOICES
from rgbpose_plugin.data import build_dataset
from rgbpose_plugin.engine import fast_paths
from rgbpose_plugin.engine import tester as tester_mod
from rgbpose_plugin.engine import trainer as trainer_mod
from rgbpose_plugin.engine.batch import prepare_batch
from rgbpose_plugin.engine.loader import build_loader
from rgbpose_plugin.engine.rng import capture_rng_state, restore_rng_state
from rgbpose_plugin.models import build_model
from rgbpose_plugin.weights.checkpoints import load_checkpoint, save_checkpoint

CPU = torch.device("cpu")
CL = torch.channels_last_3d


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def fused_cfg(tiny_data, folder, *extra, device="cpu"):
    """The tiny fused stage on ``device``, no validation (one trainer step is all these
    tests need)."""
    opts = ["TRAIN.EVAL_PERIOD", 0, *device_opts(device), *extra]
    return stage_cfg(tiny_cfg(tiny_data, folder, *opts), "rgbpose")


def precision(dtype: str) -> list:
    """Overrides for autocast in ``dtype`` ("bf16", "fp16"), or fp32 for ""."""
    if not dtype:
        return ["TRAIN.MIXED_PRECISION", False]
    return ["TRAIN.MIXED_PRECISION", True, "RGBPOSE.AMP_DTYPE", dtype]


def precision_cfg(dtype: str):
    """Defaults with that precision (for the helpers that read nothing else)."""
    cfg = get_cfg()
    cfg.merge_from_list(precision(dtype))
    return cfg


def params(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def one_step(trainer):
    """The trainer's own step on its first batch; returns (values, output dtypes seen)."""
    dtypes = []
    hook = trainer.model.register_forward_hook(
        lambda m, i, out: dtypes.extend(v.dtype for v in out.values()))
    try:
        values = trainer._step(next(iter(trainer.train_loader)))
    finally:
        hook.remove()
    return values, dtypes


def assert_trained(trainer, before, values):
    """Finite loss; every parameter with a gradient moved (the zero-initialised last BN of
    each residual branch blocks the gradient of the branch's earlier BN biases at first)."""
    assert math.isfinite(values["loss"]), values
    named = dict(trainer.model.named_parameters())
    graded = {k for k, v in named.items() if v.grad is not None and v.grad.abs().sum() > 0}
    assert len(graded) > len(named) // 2
    assert {"blocks.5.proj.rgb.weight", "blocks.5.proj.pose.weight"} <= graded  # both heads
    unchanged = sorted(k for k in graded if torch.equal(named[k], before[k]))
    assert not unchanged, f"not updated: {unchanged}"


# --- TRAIN.MIXED_PRECISION / RGBPOSE.AMP_DTYPE ----------------------------------------------


@pytest.mark.parametrize("value", ["BF16", "float16", "fp32"])
def test_misspelled_amp_dtype_fails_naming_key_and_values(tiny_data, tmp_path, value):
    allowed = r"RGBPOSE\.AMP_DTYPE is '{}'; allowed: 'fp16', 'bf16'"
    with pytest.raises(ConfigError, match=allowed.format(value)):  # at load, before training
        fused_cfg(tiny_data, tmp_path, *precision(value))
    cfg = fused_cfg(tiny_data, tmp_path, *precision("bf16"))
    cfg.RGBPOSE.AMP_DTYPE = value  # set after loading: the trainer checks again
    with pytest.raises(ConfigError, match=allowed.format(value)):
        trainer_mod.train(cfg)


def test_allowed_precisions_are_the_autocast_table():
    assert set(CHOICES["RGBPOSE.AMP_DTYPE"]) == set(fast_paths.AUTOCAST_DTYPES)


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_training_step_through_the_trainer(tiny_data, tmp_path, device):
    cfg = fused_cfg(tiny_data, tmp_path, *precision("bf16"), device=device)
    check_values(cfg, "bf16 test")
    trainer = trainer_mod._Trainer(cfg)
    assert trainer.device.type == device and trainer.scaler is None  # bf16 needs no scaling
    before = params(trainer.model)
    values, dtypes = one_step(trainer)
    assert dtypes == [torch.bfloat16, torch.bfloat16]  # the step really ran under autocast
    assert_trained(trainer, before, values)
    # bf16 logits against fp32 ones on the same weights and batch: bf16 keeps 8 bits of
    # mantissa (~0.4% per op); allow 5% of the largest |logit| (measured: 1.2% rgb, 1.0% pose).
    model = trainer.model.eval()
    inputs, _, _ = prepare_batch(next(iter(trainer.train_loader)), cfg, trainer.device)
    with torch.no_grad():
        fp32 = model(inputs)
        with fast_paths.autocast(cfg, trainer.device):
            bf16 = model(inputs)
    for s in ("rgb", "pose"):
        scale = fp32[s].abs().max().item()
        assert (bf16[s].float() - fp32[s]).abs().max().item() <= 0.05 * scale, s


def _cpu_fp16_autocast_works() -> bool:
    conv = torch.nn.Conv3d(2, 2, 1)
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            return conv(torch.ones(1, 2, 1, 1, 1)).dtype == torch.float16
    except RuntimeError:
        return False


@pytest.mark.parametrize("device", DEVICES)
def test_fp16_step_with_grad_scaler(tiny_data, tmp_path, device):
    if device == "cpu" and not _cpu_fp16_autocast_works():
        pytest.skip("this torch build has no fp16 autocast on the CPU (fp16 is CUDA-only here)")
    cfg = fused_cfg(tiny_data, tmp_path, *precision("fp16"), device=device)
    trainer = trainer_mod._Trainer(cfg)
    assert isinstance(trainer.scaler, torch.amp.GradScaler) and trainer.scaler.is_enabled()
    before = params(trainer.model)
    scale = trainer.scaler.get_scale()
    values, dtypes = one_step(trainer)
    assert dtypes == [torch.float16, torch.float16]
    # The scaler either stepped (weights move) or found an overflow, skipped the step and
    # halved its scale: both are its job; a second step must then go through.
    if trainer.scaler.get_scale() < scale:
        values, _ = one_step(trainer)
    assert_trained(trainer, before, values)
    saved = load_checkpoint(trainer.save())  # the scaler's state goes into the checkpoint
    assert saved["scaler_state"]["scale"] == trainer.scaler.get_scale()


def test_no_scaler_without_fp16():
    for value in ("", "bf16"):
        assert fast_paths.grad_scaler(precision_cfg(value), CPU) is None


def test_setup_cfg_torch_floor_has_the_grad_scaler_api():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    requires = parser["options"]["install_requires"]
    floor = re.search(r"^torch>=([\d.]+)$", requires, re.M)
    assert floor, "setup.cfg must state a torch floor"
    version = tuple(int(x) for x in floor.group(1).split("."))
    assert version >= fast_paths.SCALER_MIN_TORCH == (2, 3)  # torch.amp.GradScaler: torch 2.3


def test_fp16_on_a_torch_without_amp_grad_scaler_fails_clearly(monkeypatch):
    monkeypatch.delattr(torch.amp, "GradScaler")
    with pytest.raises(RuntimeError, match=r"fp16.*torch>=2\.3.*bf16"):
        fast_paths.grad_scaler(precision_cfg("fp16"), CPU)


# --- channels_last_3d -------------------------------------------------------------------------


def test_channels_last_gives_the_default_layouts_logits_on_cpu(tiny_data, tmp_path):
    cfg = fused_cfg(tiny_data, tmp_path, "TRAIN.CHANNELS_LAST", True)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    inputs = [torch.randn(2, 3, 4, 32, 32), torch.randn(2, 17, 16, 8, 8)]
    with torch.no_grad():
        plain = model(inputs)
        fast = fast_paths.channels_last_model(cfg, model)
        converted = fast_paths.channels_last_inputs(cfg, inputs)
        assert all(x.is_contiguous(memory_format=CL) for x in converted)
        last = fast(converted)
    for s in ("rgb", "pose"):  # the same math in another summation order: fp32 rounding only
        assert torch.allclose(plain[s], last[s], rtol=1e-4, atol=1e-5), s


@pytest.mark.parametrize("device", DEVICES)
def test_channels_last_training_step_and_test_views(tiny_data, tmp_path, device):
    cfg = fused_cfg(tiny_data, tmp_path, "TRAIN.CHANNELS_LAST", True, device=device)
    trainer = trainer_mod._Trainer(cfg)
    conv_weights = [p for p in trainer.model.parameters() if p.dim() == 5]
    assert conv_weights and all(p.is_contiguous(memory_format=CL) for p in conv_weights)
    before = params(trainer.model)
    assert_trained(trainer, before, one_step(trainer)[0])
    # Test items stack views (N, V, C, T, H, W): flattened to 5-D, then converted.
    batch = next(iter(build_loader(cfg, build_dataset(cfg, "test"), "test")))
    inputs, labels, views = prepare_batch(batch, cfg, trainer.device)
    assert views == cfg.TEST.NUM_ENSEMBLE_VIEWS
    assert [x.shape[0] for x in inputs] == [len(labels) * views] * 2
    assert all(x.is_contiguous(memory_format=CL) for x in inputs)


def test_tester_converts_its_model(tiny_data, tmp_path, monkeypatch):
    cfg = fused_cfg(tiny_data, tmp_path, "TRAIN.CHANNELS_LAST", True)
    ckpt = save_checkpoint(str(tmp_path / "w.pyth"), {"model_state": build_model(cfg).state_dict()})
    cfg.TEST.CHECKPOINT_FILE_PATH = ckpt
    seen = {}

    class Seen(Exception):
        pass

    def evaluate(model, loader, cfg, device):
        seen["formats"] = {p.is_contiguous(memory_format=CL) for p in model.parameters() if p.dim() == 5}
        raise Seen

    monkeypatch.setattr(tester_mod, "evaluate", evaluate)
    with pytest.raises(Seen):
        tester_mod.test(cfg)
    assert seen["formats"] == {True}


# --- torch.compile ----------------------------------------------------------------------------


def test_conv_strides_are_plain_ints():
    """pytorchvideo builds shortcut strides from NumPy integers, which inductor cannot lower."""
    model = build_model(get_cfg())
    strides = {type(s) for m in model.modules() if isinstance(m, torch.nn.Conv3d) for s in m.stride}
    assert strides == {int}


def test_compiled_training_step_matches_eager_on_cpu(tiny_data, tmp_path):
    """TRAIN.COMPILE on the tiny fused model (~1 min of inductor compile on 2 cold cores)."""
    steps = {}
    for compiled in (False, True):
        # No dropout: inductor draws its own random numbers, so only a deterministic
        # network can be compared step for step.
        cfg = fused_cfg(tiny_data, tmp_path / str(compiled), "TRAIN.COMPILE", compiled,
                        "MODEL.DROPOUT_RATE", 0.0)
        trainer = trainer_mod._Trainer(cfg)
        assert (trainer.net is not trainer.model) == compiled
        values, _ = one_step(trainer)
        steps[compiled] = values, params(trainer.model)
        if compiled:  # checkpoints hold the plain module's keys, loadable without compile
            keys = load_checkpoint(trainer.save())["model_state"].keys()
            assert keys == build_model(cfg).state_dict().keys()
    assert steps[True][0]["loss"] == pytest.approx(steps[False][0]["loss"], rel=1e-4)
    for k, v in steps[False][1].items():
        assert torch.allclose(v, steps[True][1][k], rtol=1e-3, atol=1e-5), k


# --- CUDA RNG: this process's device only ---------------------------------------------------


class FakeCuda:
    """torch.cuda's RNG functions on a node with ``visible`` GPUs, recording calls."""

    def __init__(self, visible: int) -> None:
        self.visible, self.calls = visible, []

    def _check(self, device):
        index = torch.device(device).index
        if index is None or index >= self.visible:
            raise RuntimeError("CUDA error: invalid device ordinal")
        return index

    def get_rng_state(self, device="cuda"):
        self.calls.append(("get", self._check(device)))
        return torch.full((8,), self._check(device), dtype=torch.uint8)

    def set_rng_state(self, state, device="cuda"):
        self.calls.append(("set", self._check(device), int(state[0])))

    def get_rng_state_all(self):
        raise AssertionError("saves every visible GPU's state")

    set_rng_state_all = get_rng_state_all


def test_rng_state_saves_and_restores_only_this_ranks_gpu(monkeypatch):
    saving = FakeCuda(visible=4)  # rank 3 of a 4-GPU node ...
    for name in ("get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all"):
        monkeypatch.setattr(torch.cuda, name, getattr(saving, name))
    state = capture_rng_state(torch.device("cuda", 3))
    assert saving.calls == [("get", 3)] and int(state["cuda"][0]) == 3
    resuming = FakeCuda(visible=1)  # ... resumes as the only process of a 1-GPU node
    for name in ("get_rng_state", "set_rng_state"):
        monkeypatch.setattr(torch.cuda, name, getattr(resuming, name))
    restore_rng_state(state, torch.device("cuda", 0))
    assert resuming.calls == [("set", 0, 3)]  # rank 3's stream continues on this GPU


def test_cpu_rng_state_has_no_cuda_part_and_ignores_one():
    state = capture_rng_state(CPU)
    assert "cuda" not in state
    restore_rng_state(dict(state, cuda=torch.zeros(8, dtype=torch.uint8)), CPU)  # no CUDA call
