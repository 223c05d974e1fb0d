"""A PoseLandmarker ``.task`` the tests build: the Tasks API on real BlazePose weights.

Google's published ``pose_landmarker_*.task`` bundles are downloads neither this machine
nor CI can reach. mediapipe 0.10.21's wheel (on PyPI; ``make install`` downloads it into
``~/.cache/rgbpose_plugin_tests/``) ships the BlazePose detector and landmark models its
legacy API runs; :func:`build_test_task` adds the image-input metadata the Tasks API
needs (normalisation: the detector takes [-1, 1], the landmark model [0, 1]) with
mediapipe's own flatbuffers schema and bundles both files as a ``.task`` is laid out.
Tests that extract skeletons with the mediapipe backend use it through the
``mediapipe_task`` fixture (tests/conftest.py).
"""

import zipfile
from pathlib import Path

import pytest
from assets import CACHE_DIR

LEGACY = "mediapipe==0.10.21"  # the wheel whose BlazePose weights the test model uses
LEGACY_FILES = {  # bundle name -> (file in the wheel, input mean, input std)
    "pose_detector.tflite": ("mediapipe/modules/pose_detection/pose_detection.tflite", 127.5, 127.5),
    "pose_landmarks_detector.tflite": ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                                       0.0, 255.0),
}

def legacy_wheel() -> Path:
    """mediapipe 0.10.21's wheel from the test cache (``make install`` puts it there)."""
    wheels = sorted(CACHE_DIR.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        pytest.skip(f"no {LEGACY} wheel in {CACHE_DIR} for the test PoseLandmarker model: run "
                    f"make install, or pip download --no-deps --only-binary=:all: "
                    f"--python-version 3.11 --platform manylinux_2_28_x86_64 {LEGACY} -d {CACHE_DIR}")
    return wheels[-1]


def with_image_metadata(model: bytes, mean: float, std: float) -> bytes:
    """``model`` (a .tflite file) with TFLite metadata describing its one input as an RGB
    image normalised as ``(pixel - mean) / std``, which the Tasks API requires."""
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta
    from mediapipe.tasks.metadata import schema_py_generated as tflite

    graph = tflite.ModelT.InitFromPackedBuf(bytearray(model), 0)
    subgraph = graph.subgraphs[0]
    normalisation = meta.NormalizationOptionsT()
    normalisation.mean, normalisation.std = [mean], [std]
    unit = meta.ProcessUnitT()
    unit.optionsType, unit.options = meta.ProcessUnitOptions.NormalizationOptions, normalisation
    colour = meta.ImagePropertiesT()
    colour.colorSpace = meta.ColorSpaceType.RGB
    content = meta.ContentT()
    content.contentPropertiesType = meta.ContentProperties.ImageProperties
    content.contentProperties = colour
    stats = meta.StatsT()
    stats.min, stats.max = [-mean / std], [(255.0 - mean) / std]
    image = meta.TensorMetadataT()
    image.name, image.content, image.processUnits, image.stats = "image", content, [unit], stats
    outputs = []
    for index in subgraph.outputs:
        outputs.append(meta.TensorMetadataT())
        outputs[-1].name = subgraph.tensors[index].name.decode()
    sub_meta = meta.SubGraphMetadataT()
    sub_meta.inputTensorMetadata, sub_meta.outputTensorMetadata = [image], outputs
    model_meta = meta.ModelMetadataT()
    model_meta.name, model_meta.minParserVersion = "rgbpose test model", "1.0.0"
    model_meta.subgraphMetadata = [sub_meta]
    builder = flatbuffers.Builder(0)
    builder.Finish(model_meta.Pack(builder), b"M001")
    buffer = tflite.BufferT()
    buffer.data = bytearray(builder.Output())
    graph.buffers.append(buffer)
    entry = tflite.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(graph.buffers) - 1
    graph.metadata = (graph.metadata or []) + [entry]
    builder = flatbuffers.Builder(0)
    builder.Finish(graph.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def build_test_task(out: Path) -> Path:
    """A PoseLandmarker ``.task`` bundle at ``out``, from the BlazePose models in mediapipe
    0.10.21's wheel (skips the test without the wheel)."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    with zipfile.ZipFile(legacy_wheel()) as archive:
        models = {name: with_image_metadata(archive.read(member), mean, std)
                  for name, (member, mean, std) in LEGACY_FILES.items()}
    model_asset_bundle_utils.create_model_asset_bundle(models, str(out))
    return out
