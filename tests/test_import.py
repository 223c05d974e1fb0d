"""The plugin imports with current torchvision and never touches pytorchvideo.transforms."""

import subprocess
import sys


def test_import_does_not_load_pytorchvideo_transforms():
    script = (
        "import sys, torchvision, rgbpose_plugin, rgbpose_plugin.models, rgbpose_plugin.weights\n"
        "import rgbpose_plugin.data\n"
        "bad = [m for m in sys.modules if m.startswith('pytorchvideo.transforms')]\n"
        "assert not bad, bad\n"
        "assert 'mmpose' not in sys.modules and 'mediapipe' not in sys.modules\n"
        "print(torchvision.__version__)\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    major, minor = (int(x) for x in res.stdout.strip().split("+")[0].split(".")[:2])
    assert (major, minor) >= (0, 17)  # the torchvision that breaks pytorchvideo.transforms
