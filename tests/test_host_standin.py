"""The plugin inside a PySlowFast-style host (the stand-in in tests/host_standin).

The stand-in checkout is set up as docs/hosts.md says (tools/setup_pyslowfast.py, the host
config copied out of the project) and its own tools/run_net.py runs the recipe's command.
The host's own loops train and test the plugin's models; the results match the plugin's
own tester on the same checkpoint and views, and one host training step has the plugin
trainer's gradients.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from fvcore.nn import flop_count
from host_fixtures import (
    copy_standin,
    make_host_dataset,
    native_twin,
    plugin_env,
    recipe_opts,
    run_setup_script,
    standin_host,
)
from torch.utils.data._utils.collate import default_collate

from rgbpose_plugin.config import get_cfg
from rgbpose_plugin.data import collate
from rgbpose_plugin.engine.evaluation import load_results
from rgbpose_plugin.engine.tester import test as plugin_test
from rgbpose_plugin.errors import UserError
from rgbpose_plugin.host.pyslowfast_setup import FIXES, setup_pyslowfast, write_detectron2_stub


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    yield from standin_host(tmp_path_factory.mktemp("pyslowfast"))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_host_dataset(tmp_path_factory.mktemp("host_data"))


MODELS = [("RGBPoseConv3D", "rgbpose", "1:1"), ("RGBSlowOnly", "rgbpose_rgb", "rgb"),
          ("PoseSlowOnly", "rgbpose_pose", "pose")]


def _plugin_scores(cfg, checkpoint, out_dir, metric):
    """Our tester on ``checkpoint``: (top-1, per-video scores in the host's scale)."""
    ncfg = native_twin(cfg)
    ncfg.OUTPUT_DIR, ncfg.TEST.CHECKPOINT_FILE_PATH = str(out_dir), checkpoint
    result = plugin_test(ncfg)
    scores = load_results(result["results"])
    views = ncfg.TEST.NUM_ENSEMBLE_VIEWS
    if metric == "1:1":  # the host sums (p_rgb + p_pose) / 2 over the views
        per_video = views * (scores.scores["rgb"] + scores.scores["pose"]) / 2
    else:
        per_video = views * scores.scores[metric]
    return result["metrics"][metric]["top1"], per_video[np.argsort(scores.indices)]


@pytest.mark.parametrize("model_name,dataset,metric", MODELS)
def test_host_trains_and_tests_like_the_plugin(host, tiny_data, tmp_path, model_name, dataset,
                                              metric):
    epochs = 2 if model_name == "RGBPoseConv3D" else 1
    cfg = host.cfg(tiny_data, tmp_path / "host", "MODEL.MODEL_NAME", model_name,
                   "TRAIN.DATASET", dataset, "TEST.DATASET", dataset, "SOLVER.MAX_EPOCH", epochs)
    history = host.train(cfg)
    assert history["flops"] > 0  # the host's model-analysis pass ran on one RGB clip
    assert len(history["checkpoints"]) == epochs and len(history["val_top1_err"]) == epochs
    meter = host.test(cfg)
    assert (meter.clip_count == cfg.TEST.NUM_ENSEMBLE_VIEWS).all()
    top1, per_video = _plugin_scores(cfg, history["checkpoints"][-1], tmp_path / "ours", metric)
    assert meter.top1() == pytest.approx(top1)
    np.testing.assert_allclose(meter.video_preds.numpy(), per_video, rtol=1e-5, atol=1e-6)


def test_one_host_step_has_the_plugin_trainers_gradients(host, tiny_data, tmp_path):
    from slowfast.models import build_model
    from slowfast.models.losses import get_loss_func

    from rgbpose_plugin.engine.trainer import _Trainer

    cfg = host.cfg(tiny_data, tmp_path / "host", "RGBPOSE.HEAD.LOSS_WEIGHTS", "[1.0, 0.5]")
    ncfg = native_twin(cfg)
    ncfg.OUTPUT_DIR = str(tmp_path / "ours")
    trainer = _Trainer(ncfg)
    host_model = build_model(cfg)
    host_model.load_state_dict(trainer.model.state_dict())
    indices = [0, 1, 3, 4]
    batch = collate([trainer.train_set[i] for i in indices])
    inputs, labels, index, time, meta = default_collate(
        [host.construct_loader(cfg, "train").dataset[i] for i in indices])
    for a, b in zip(inputs, batch["inputs"]):
        assert torch.equal(a, b)  # the host's items are the plugin's
    assert torch.equal(labels, batch["label"]) and time.numel() == 0 and meta == {}

    torch.manual_seed(3)  # the same dropout masks in both steps
    trainer.net.train()
    trainer._step(batch)
    optimizer = torch.optim.SGD(host_model.parameters(), lr=0.0)
    torch.manual_seed(3)
    host_model.train()
    loss, preds = host.train_step(host_model, inputs, labels, optimizer,
                                  get_loss_func("rgbpose_ce")(reduction="mean"), cfg)
    assert preds.shape == (4, cfg.MODEL.NUM_CLASSES)
    ours_grads = dict(trainer.model.named_parameters())
    diffs = [(p.grad - ours_grads[n].grad).abs().max().item()
             for n, p in host_model.named_parameters()]
    assert max(diffs) <= 1e-6
    assert max(p.grad.abs().max().item() for p in host_model.parameters()) > 1e-4


def test_every_view_counts_once_with_a_distributed_sampler(host, tiny_data, tmp_path,
                                                            monkeypatch):
    from slowfast.models import build_model

    cfg = host.cfg(tiny_data, tmp_path / "host")
    model = build_model(cfg)  # untrained weights serve: only the bookkeeping is checked
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    cfg.TEST.CHECKPOINT_FILE_PATH = host.save_checkpoint(model, optimizer, 0, cfg)
    single = host.test(cfg)
    import rgbpose_plugin.host.items as host_dataset

    world = 4  # 5 test videos x 2 views = 10 items: the sampler would repeat two
    monkeypatch.setattr(host_dataset, "process_count", lambda: world)  # as torch.distributed says
    spread = host.test(cfg, world_size=world)
    dataset = host.construct_loader(cfg, "test").dataset
    assert (dataset.num_videos, dataset.padding, len(dataset) % world) == (10, 2, 0)
    torch.testing.assert_close(spread.video_preds, single.video_preds)
    assert spread.top1() == single.top1()


def test_flop_pass_and_native_mode(host, tiny_data, tmp_path):
    from slowfast.models import build_model

    cfg = host.cfg(tiny_data, tmp_path / "host")
    hosted = build_model(cfg).eval()
    ncfg = native_twin(cfg)
    native = build_model(ncfg).eval()  # the same registry; the plugin's own config
    assert not ncfg.RGBPOSE.HOST_MODE and get_cfg().RGBPOSE.HOST_MODE is False
    rgb = torch.rand(1, 3, 4, 32, 32)
    pose = torch.zeros(1, 17, 16, 8, 8)
    flops_host, _ = flop_count(hosted, ([rgb],))
    flops_native, _ = flop_count(native, ([rgb, pose],))
    assert sum(flops_host.values()) == pytest.approx(sum(flops_native.values()))
    native.load_state_dict(hosted.state_dict())  # one state dict, no wrapper prefix
    out = native([rgb, pose])
    assert set(out) == {"rgb", "pose"}  # native mode unchanged: a dict of logits
    fused = (out["rgb"].softmax(1) + out["pose"].softmax(1)) / 2
    torch.testing.assert_close(hosted([rgb, pose]), fused)
    with pytest.raises(ValueError, match="MODEL.ARCH"):
        hosted([rgb, rgb])
    hosted.train()
    torch.manual_seed(0)
    scores = hosted([rgb, pose])  # training: fused log-probability carrying both streams
    assert set(scores.streams) == {"rgb", "pose"} and scores.loss_weights == [1.0, 1.0]
    fused = (scores.streams["rgb"].softmax(1) + scores.streams["pose"].softmax(1)) / 2
    torch.testing.assert_close(scores.exp(), fused)
    assert type(scores.topk(1, dim=1)[1]) is torch.Tensor  # plain tensors out of it
    from rgbpose_plugin.host import RGBPoseCrossEntropy
    with pytest.raises(TypeError, match="HOST_MODE"):
        RGBPoseCrossEntropy()(fused, torch.tensor([0]))


def test_checkpoints_cross_load(host, tiny_data, tmp_path):
    """The host's checkpoint in the plugin's tools; the plugin's checkpoint in the host."""
    import subprocess
    import sys

    from slowfast.models import build_model
    from trainer_fixtures import ROOT

    from rgbpose_plugin.inference.model_loading import load_model
    from rgbpose_plugin.weights.checkpoints import save_checkpoint

    cfg = host.cfg(tiny_data, tmp_path / "host")
    model = build_model(cfg)
    host_ckpt = host.save_checkpoint(model, torch.optim.SGD(model.parameters(), 0.1), 0, cfg)
    ours, ours_cfg, _ = load_model(host_ckpt)  # demo_net's loader: config from the host dump
    assert not ours_cfg.RGBPOSE.HOST_MODE and ours_cfg.MODEL.NUM_CLASSES == 5
    for key, value in model.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)
    dst = tmp_path / "mmcv.pth"
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "convert_checkpoint.py"),
                          "--src", host_ckpt, "--dst", str(dst), "--to-mmcv"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    native = native_twin(cfg)
    plugin_ckpt = save_checkpoint(str(tmp_path / "ours.pyth"), {
        "epoch": 1, "model_state": build_model(native).state_dict(), "cfg": native.dump()})
    cfg.TEST.CHECKPOINT_FILE_PATH = plugin_ckpt  # load_weights asserts nothing is missing
    assert host.test(cfg).clip_count.sum() == 10


def test_the_host_s_datasets_check_videos_and_classes_when_built(host, tiny_data, tmp_path):
    """A host builds the datasets through its registry: the same checks as the plugin's
    trainer, before its first batch."""
    from slowfast.datasets.build import DATASET_REGISTRY

    from rgbpose_plugin.data import VideoError
    from rgbpose_plugin.errors import ConfigError

    build = DATASET_REGISTRY.get("Rgbpose")
    cfg = host.cfg(tiny_data, tmp_path, "DATA.PATH_PREFIX", str(tmp_path / "nowhere"))
    with pytest.raises(VideoError, match=r"of the train split not found .*\(there is no folder"):
        build(cfg, "train")
    cfg = host.cfg(tiny_data, tmp_path, "MODEL.NUM_CLASSES", 7)
    with pytest.raises(ConfigError, match="MODEL.NUM_CLASSES is 7 but the label map"):
        build(cfg, "train")


def _files(*folders):
    return {path: path.read_bytes() for folder in folders for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_setup_script_applies_each_fix_once(host):
    """The fixture ran `python tools/setup_pyslowfast.py SLOWFAST_DIR` on a fresh checkout;
    a second run changes nothing and says so."""
    assert host.setup_output.count(": applied\n") == len(FIXES), host.setup_output
    assert "detectron2 stub: wrote 7 file(s)" in host.setup_output
    from detectron2.layers import ROIAlign  # the stub: importable, fails when used

    with pytest.raises(RuntimeError, match="detectron2 is a stub here"):
        ROIAlign((7, 7), 1.0, 0)
    before = _files(host.checkout, host.stub_dir)
    again = run_setup_script(host.checkout)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(": already applied\n") == len(FIXES), again.stdout
    assert "detectron2 stub: already written" in again.stdout
    assert "Nothing to change." in again.stdout
    assert _files(host.checkout, host.stub_dir) == before


def test_the_setup_script_names_what_to_edit_by_hand(tmp_path):
    checkout = copy_standin(tmp_path)
    hook = checkout / "slowfast" / "config" / "custom_config.py"
    hook.write_text("def add_custom_config(_C):\n    _C.MY_KEY = 1\n")  # the user's own keys
    report = setup_pyslowfast(checkout)
    assert (report.changed, report.not_found) == (len(FIXES), 1)  # 3 fixes and the stub
    line = next(line for line in report.lines if "custom_config.py" in line)
    assert line.startswith("slowfast/config/custom_config.py: text not found (PySlowFast "
                           "changed): apply by hand: ") and "add_rgbpose_config(_C)" in line
    assert hook.read_text() == "def add_custom_config(_C):\n    _C.MY_KEY = 1\n"
    (tmp_path / "real" / "detectron2").mkdir(parents=True)
    (tmp_path / "real" / "detectron2" / "__init__.py").write_text("# detectron2\n")
    with pytest.raises(UserError, match="is not this script's stub"):
        write_detectron2_stub(tmp_path / "real")
    res = run_setup_script(tmp_path / "nowhere")  # a user mistake: one line, exit status 2
    assert res.returncode == 2 and res.stderr.startswith("error: "), res.stderr
    assert res.stderr.count("\n") == 1 and "is not a PySlowFast checkout" in res.stderr


@pytest.mark.slow
def test_the_recipe_s_command_trains_and_tests_in_the_host(host, tiny_data, tmp_path):
    """docs/hosts.md's command in the checkout: its own tools/run_net.py, the copied host
    config, PYTHONPATH = the checkout and the stub."""
    opts = [str(o) for o in recipe_opts(tiny_data, tmp_path / "out")] + ["SOLVER.MAX_EPOCH", "1"]
    env = plugin_env(PYTHONPATH=os.pathsep.join([str(host.checkout), str(host.stub_dir)]))
    res = subprocess.run([sys.executable, "tools/run_net.py", "--cfg", str(host.config),
                          "--opts", *opts], cwd=host.checkout, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert "trained 1 epoch(s)" in res.stdout
    assert re.search(r"tested 5 videos: top-1 \d+\.\d\d%", res.stdout), res.stdout
    assert (tmp_path / "out" / "checkpoints" / "checkpoint_epoch_00001.pyth").is_file()
