"""The model zoo: published entries, download through a mirror, cache, conversion, hub.

No test downloads: tiny models are published into a local folder (tests/zoo_fixtures.py)
and served through ``RGBPOSE_ZOO_MIRROR`` (a folder or a file:// URL) or a file:// URL in
their catalog entry; their own URLs point at a host that never resolves.
"""

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from fvcore.common.config import CfgNode
from zoo_fixtures import TINY_OPTS, mmcv_file_bytes, publish_test_model, tiny_inputs

from rgbpose_plugin.errors import UserError
from rgbpose_plugin.inference.model_loading import load_model
from rgbpose_plugin.models import build_model
from rgbpose_plugin.weights import WeightMismatchError, load_for_finetune, to_mmcv
from rgbpose_plugin.weights.checkpoints import load_checkpoint
from rgbpose_plugin.weights.mmcv_names import infer_plugin_layout
from rgbpose_plugin.zoo import (
    ZooError,
    is_zoo_ref,
    list_models,
    load_pretrained,
    resolve_weights,
    zoo_checkpoint,
    zoo_entry,
)

ROOT = Path(__file__).resolve().parents[1]
KEYS_FILE = ROOT / "tests" / "data" / "mmaction2_rgbpose_conv3d_keys.txt"
BASE = "https://download.openmmlab.com/mmaction/v1.0/skeleton/posec3d/rgbpose_conv3d/"
POSE_TEST = ("DATA.TEST_CROP_SIZE", "64", "RGBPOSE.TRANSFORM.RESIZE_SCALE", "64",
             "RGBPOSE.HEATMAP.SCALING", "1.0", "RGBPOSE.HEATMAP.SIGMA", "0.6")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty torch hub cache; no mirror or catalog from the environment."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("RGBPOSE_ZOO_MIRROR", raising=False)
    monkeypatch.delenv("RGBPOSE_ZOO_CATALOG", raising=False)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def fused(tmp_path, cache, monkeypatch):
    """A tiny fused model published at an unreachable URL, its mirror set as a folder."""
    info = publish_test_model(tmp_path / "lab", "rgbpose", name="tiny_fused")
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    monkeypatch.setenv("RGBPOSE_ZOO_MIRROR", str(info["mirror"]))
    return info


def cached_files(cache: Path) -> list:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()) \
        if cache.exists() else []


def assert_same_state(state, expected):
    assert set(state) == set(expected)
    assert all(torch.equal(state[k], expected[k]) for k in expected)


def one_line_error(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and isinstance(err.value, UserError)
    return text


# --- The published entries ------------------------------------------------------------------

def test_published_entries_name_the_openmmlab_files():
    entries = {e.name: e for e in list_models()}
    expected = {
        "ntu60_xsub": ("rgbpose_conv3d_20230301-ac7b0e77.pth", "rgbpose", "ac7b0e77"),
        "ntu60_xsub_rgb_only": ("rgb_only_20230228-576b9f86.pth", "rgb", "576b9f86"),
        "ntu60_xsub_pose_only": ("pose_only_20230228-fa40054e.pth", "pose", "fa40054e"),
        "ntu60_xsub_init": ("rgbpose_conv3d_init_20230228-09b7684b.pth", "rgbpose", "09b7684b"),
    }
    assert set(expected) <= set(entries)
    for name, (file, kind, prefix) in expected.items():
        entry = entries[name]
        assert (entry.url, entry.file_name, entry.kind, entry.hash_prefix) == \
            (BASE + file, file, kind, prefix)
        assert entry.labels == "ntu60" and len(entry.class_names) == 60
    assert entries["ntu60_xsub"].reported == {"rgb": "96.2 / 96.4", "pose": "96.0 / 96.2",
                                              "fusion 1:1": "96.6 / 96.8"}
    assert entries["ntu60_xsub_rgb_only"].reported == {"rgb": "94.9 / 95.4"}
    assert entries["ntu60_xsub_pose_only"].reported == {"pose": "93.1 / 93.5"}
    assert entries["ntu60_xsub_init"].reported == {}


def test_published_configs_hold_the_publishers_test_settings():
    fused, rgb, pose = (zoo_entry(n).config() for n in
                        ("ntu60_xsub", "ntu60_xsub_rgb_only", "ntu60_xsub_pose_only"))
    assert (fused.MODEL.MODEL_NAME, rgb.MODEL.MODEL_NAME, pose.MODEL.MODEL_NAME) == \
        ("RGBPoseConv3D", "RGBSlowOnly", "PoseSlowOnly")
    assert fused.MODEL.NUM_CLASSES == rgb.MODEL.NUM_CLASSES == pose.MODEL.NUM_CLASSES == 60
    assert (fused.DATA.TEST_CROP_SIZE, fused.RGBPOSE.HEATMAP.SCALING,
            fused.TEST.NUM_ENSEMBLE_VIEWS) == (256, 0.25, 10)
    assert rgb.DATA.TEST_CROP_SIZE == 224
    assert (pose.DATA.TEST_CROP_SIZE, pose.RGBPOSE.TRANSFORM.RESIZE_SCALE,
            pose.RGBPOSE.HEATMAP.SCALING, pose.RGBPOSE.HEATMAP.SIGMA) == (64, 64, 1.0, 0.6)
    assert zoo_entry("ntu60_xsub_pose_only").opts == POSE_TEST
    assert zoo_entry("ntu60_xsub_init").config().dump() == fused.dump()


def test_fused_entry_builds_the_mmaction2_parameters():
    state = build_model(zoo_entry("ntu60_xsub").config()).state_dict()
    names = to_mmcv(state, infer_plugin_layout(state))
    reference = {}
    for line in KEYS_FILE.read_text().splitlines():
        name, shape = line.split(" ", 1)
        reference[name] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    assert {k: tuple(v.shape) for k, v in names.items()} == reference


# --- Download, conversion, cache ------------------------------------------------------------

def test_download_through_file_url_mirror_and_convert(fused, cache, monkeypatch):
    monkeypatch.setenv("RGBPOSE_ZOO_MIRROR", fused["mirror"].as_uri())
    path = zoo_checkpoint("tiny_fused", progress=False)
    stem = fused["file"].stem
    assert path == str(cache / "rgbpose_plugin" / f"{stem}.pyth")
    assert (cache / fused["file"].name).read_bytes() == fused["file"].read_bytes()
    checkpoint = load_checkpoint(path)
    assert_same_state(checkpoint["model_state"], fused["model_state"])
    assert checkpoint["class_names"] == fused["class_names"]
    assert checkpoint["zoo"] == {"name": "tiny_fused", "url": fused["url"],
                                 "sha256": hashlib.sha256(fused["file"].read_bytes()).hexdigest()}
    assert checkpoint["cfg"] == zoo_entry("tiny_fused").config().dump()
    model = build_model(CfgNode.load_cfg(checkpoint["cfg"]))
    model.load_state_dict(checkpoint["model_state"])  # strict
    sidecar = json.loads(Path(path + ".json").read_text())
    assert sidecar["sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_pose_model_through_folder_mirror_is_tested_with_its_settings(tmp_path, cache,
                                                                      monkeypatch):
    info = publish_test_model(tmp_path / "lab", "pose", name="tiny_pose",
                              opts=TINY_OPTS + POSE_TEST, num_classes=4)
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    path = zoo_checkpoint("tiny_pose", mirror=str(info["mirror"]), progress=False)
    model, cfg, checkpoint = load_model(path)  # the inference loader, as demo_net uses it
    assert (cfg.MODEL.MODEL_NAME, cfg.MODEL.NUM_CLASSES) == ("PoseSlowOnly", 4)
    assert (cfg.DATA.TEST_CROP_SIZE, cfg.RGBPOSE.TRANSFORM.RESIZE_SCALE,
            cfg.RGBPOSE.HEATMAP.SCALING, cfg.RGBPOSE.HEATMAP.SIGMA) == (64, 64, 1.0, 0.6)
    assert_same_state(model.state_dict(), info["model_state"])
    assert model(tiny_inputs("pose"))["pose"].shape == (1, 4)


def test_second_use_is_offline(fused, cache, monkeypatch):
    first = zoo_checkpoint("tiny_fused", progress=False)
    shutil.rmtree(fused["mirror"])
    monkeypatch.delenv("RGBPOSE_ZOO_MIRROR")
    assert zoo_checkpoint("tiny_fused") == first
    assert resolve_weights("zoo:tiny_fused") == first
    assert is_zoo_ref("zoo:tiny_fused") and not is_zoo_ref("out/checkpoints/x.pyth")
    assert resolve_weights("out/checkpoints/x.pyth") == "out/checkpoints/x.pyth"


def test_entry_url_may_be_a_file_url(tmp_path, cache, monkeypatch):
    lab = tmp_path / "lab"
    info = publish_test_model(lab, "rgb", name="tiny_rgb", url_base=(lab / "mirror").as_uri() + "/")
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    checkpoint = load_checkpoint(zoo_checkpoint("tiny_rgb", progress=False))
    assert_same_state(checkpoint["model_state"], info["model_state"])


def test_a_file_already_in_the_cache_is_used(fused, cache, monkeypatch):
    monkeypatch.delenv("RGBPOSE_ZOO_MIRROR")  # only the pre-placed file can serve it
    cache.mkdir(parents=True)
    shutil.copy(fused["file"], cache / fused["file"].name)
    checkpoint = load_checkpoint(zoo_checkpoint("tiny_fused"))
    assert_same_state(checkpoint["model_state"], fused["model_state"])


def test_hash_mismatch_is_one_line_and_leaves_nothing(fused, cache):
    other, _ = mmcv_file_bytes("rgbpose", seed=1)
    fused["file"].write_bytes(other)  # the name's hash prefix no longer fits the bytes
    with pytest.raises(ZooError) as err:
        zoo_checkpoint("tiny_fused", progress=False)
    text = one_line_error(err)
    assert fused["file"].as_uri() in text and str(cache / fused["file"].name) in text
    assert "invalid hash value" in text and "RGBPOSE_ZOO_MIRROR" in text
    assert cached_files(cache) == []


def test_unreachable_url_is_one_line(fused, cache, monkeypatch):
    monkeypatch.delenv("RGBPOSE_ZOO_MIRROR")
    with pytest.raises(ZooError) as err:
        zoo_checkpoint("tiny_fused", progress=False)
    text = one_line_error(err)
    assert fused["url"] in text and str(cache / fused["file"].name) in text
    assert "RGBPOSE_ZOO_MIRROR" in text and "put the file" in text
    assert cached_files(cache) == []


def test_corrupt_published_file_in_cache_is_fetched_again(fused, cache, caplog):
    path = zoo_checkpoint("tiny_fused", progress=False)
    raw = cache / fused["file"].name
    raw.write_bytes(b"half a download")
    Path(path).unlink()  # so that the published file is needed again
    with caplog.at_level(logging.WARNING, logger="rgbpose_plugin.zoo"):
        assert zoo_checkpoint("tiny_fused", progress=False) == path
    assert f"deleting {raw}" in caplog.text
    assert raw.read_bytes() == fused["file"].read_bytes()
    assert_same_state(load_checkpoint(path)["model_state"], fused["model_state"])


def test_corrupt_converted_file_is_converted_again(fused, cache, caplog):
    path = zoo_checkpoint("tiny_fused", progress=False)
    good = Path(path).read_bytes()
    Path(path).write_bytes(good[:100])
    shutil.rmtree(fused["mirror"])  # conversion again from the published file in the cache
    with caplog.at_level(logging.WARNING, logger="rgbpose_plugin.zoo"):
        assert zoo_checkpoint("tiny_fused", progress=False) == path
    assert "not the one its sidecar records" in caplog.text
    assert_same_state(load_checkpoint(path)["model_state"], fused["model_state"])


def test_converted_file_that_does_not_load_is_converted_again(fused, cache, caplog):
    path = Path(zoo_checkpoint("tiny_fused", progress=False))
    path.write_bytes(b"not a checkpoint")  # and a sidecar that vouches for it
    sidecar = json.loads(Path(f"{path}.json").read_text())
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    Path(f"{path}.json").write_text(json.dumps(sidecar))
    with caplog.at_level(logging.WARNING, logger="rgbpose_plugin.zoo"):
        model = load_pretrained("tiny_fused", progress=False)
    assert "does not load" in caplog.text
    assert_same_state(model.state_dict(), fused["model_state"])


def test_edited_entry_is_converted_again(tmp_path, fused, cache):
    zoo_checkpoint("tiny_fused", progress=False)
    labels = tmp_path / "renamed.txt"
    labels.write_text("a\nb\nc\n")
    entries = json.loads(fused["catalog"].read_text())
    entries[0]["labels"] = str(labels)
    fused["catalog"].write_text(json.dumps(entries))
    assert load_checkpoint(zoo_checkpoint("tiny_fused"))["class_names"] == ["a", "b", "c"]


# --- Names and the catalog ------------------------------------------------------------------

def test_unknown_name_lists_known_names(fused):
    with pytest.raises(ZooError) as err:
        zoo_entry("ntu61_xsub")
    text = one_line_error(err)
    assert "'ntu61_xsub'" in text and "ntu60_xsub_pose_only" in text and "tiny_fused" in text


@pytest.mark.parametrize("content,expected", [
    ("[{", "not valid JSON"),
    ('{"name": "x"}', "expected a JSON list"),
    ('[{"name": "x", "url": "https://a/x-0123abcd.pth", "labels": "ntu60"}]',
     "missing field 'kind'"),
    ('[{"name": "x", "url": "https://a/x-0123abcd.pth", "kind": "rgbd", "labels": "ntu60"}]',
     "field 'kind'"),
    ('[{"name": "x", "url": "https://a/x.pth", "kind": "rgb", "labels": "ntu60"}]',
     "field 'url'"),
    ('[{"name": "x", "url": "https://a/x-0123abcd.pth", "kind": "rgb", "labels": "ntu60", '
     '"opts": ["DATA.TEST_CROP_SIZE"]}]', "field 'opts'"),
    ('[{"name": "x", "url": "https://a/x-0123abcd.pth", "kind": "rgb", "labels": "ntu60", '
     '"size": 3}]', "unknown field 'size'"),
    ('[{"name": "ntu60_xsub", "url": "https://a/x-0123abcd.pth", "kind": "rgb", '
     '"labels": "ntu60"}]', "already taken"),
])
def test_malformed_catalog_names_file_and_field(tmp_path, cache, monkeypatch, content, expected):
    catalog = tmp_path / "my_catalog.json"
    catalog.write_text(content)
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(catalog))
    with pytest.raises(ZooError) as err:
        list_models()
    text = one_line_error(err)
    assert str(catalog) in text and expected in text


def test_catalog_labels_are_relative_to_the_catalog(tmp_path, cache, monkeypatch):
    (tmp_path / "names.txt").write_text("x\ny\n")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps([{"name": "mine", "url": "https://lab/m_1-0123abcd.pth",
                                    "kind": "pose", "labels": "names.txt",
                                    "opts": ["DATA.TEST_CROP_SIZE", 64]}]))
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(catalog))
    entry = zoo_entry("mine")
    assert entry.class_names == ["x", "y"] and entry.opts == ("DATA.TEST_CROP_SIZE", "64")
    assert entry.config().DATA.TEST_CROP_SIZE == 64 and entry.config().MODEL.NUM_CLASSES == 2


# --- Pretrained models and new classifiers --------------------------------------------------

def test_load_pretrained_keeps_all_weights(fused):
    model = load_pretrained("tiny_fused", progress=False)
    assert not model.training
    assert_same_state(model.state_dict(), fused["model_state"])
    assert model(tiny_inputs("rgbpose"))["rgb"].shape == (1, 3)


def test_load_pretrained_with_other_class_count_renews_only_the_classifier(fused, caplog):
    with caplog.at_level(logging.INFO, logger="rgbpose_plugin.zoo"):
        model = load_pretrained("tiny_fused", num_classes=5, progress=False)
    state, published = model.state_dict(), fused["model_state"]
    head = sorted(k for k in state if ".proj." in k)
    assert len(head) == 4 and all(state[k].shape[0] == 5 for k in head)
    assert set(state) == set(published)
    assert all(torch.equal(state[k], published[k]) for k in state if k not in head)
    assert all(name in caplog.text for name in head)
    assert model(tiny_inputs("rgbpose"))["pose"].shape == (1, 5)


def test_load_for_finetune_rejects_any_other_mismatch(fused):
    cfg = zoo_entry("tiny_fused").config()
    state = dict(fused["model_state"])
    key = next(k for k in state if k.endswith("conv.weight"))
    state[key] = torch.zeros(1, *state[key].shape[1:])
    with pytest.raises(WeightMismatchError, match="my weights.pth: .*of another shape"):
        load_for_finetune(build_model(cfg), state, "my weights.pth")
    state = {k: v for k, v in fused["model_state"].items() if not k.startswith("blocks.1.")}
    with pytest.raises(WeightMismatchError, match="missing in the state"):
        load_for_finetune(build_model(cfg), state, "my weights.pth")
    state = dict(fused["model_state"])
    fc = next(k for k in state if k.endswith("proj.rgb.weight"))
    state[fc] = torch.zeros(3, state[fc].shape[1] + 1)  # another width, not class count
    with pytest.raises(WeightMismatchError, match=fc.replace(".", r"\.")):
        load_for_finetune(build_model(cfg), state, "my weights.pth")


# --- torch.hub --------------------------------------------------------------------------------

def test_hub_builds_a_fresh_model(cache):
    model = torch.hub.load(str(ROOT), "rgbpose_conv3d", source="local", pretrained=False,
                           num_classes=7)
    head = {k: v.shape for k, v in model.state_dict().items() if ".proj." in k}
    assert len(head) == 4 and all(shape[0] == 7 for shape in head.values())


def test_hub_loads_a_zoo_model_by_name(fused):
    model = torch.hub.load(str(ROOT), "rgbpose_conv3d", source="local", pretrained=True,
                           progress=False, name="tiny_fused")
    assert_same_state(model.state_dict(), fused["model_state"])
    with pytest.raises(ZooError, match="is a rgbpose model"):
        torch.hub.load(str(ROOT), "pose_slowonly", source="local", name="tiny_fused")
