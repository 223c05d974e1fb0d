# Two commands on a fresh machine (see README.md):
#   make demo   install into .venv, make the demo data, run the staged recipe on it
#   make test   install into .venv (+ .venv-mmaction for the MMAction2 tests), lint, run
#               the test suite
#   make demo-picture   remake docs/demo_prediction.png from the demo's fused model
#   make demo-long      two 60 s long scenes with ground truth in $(DEMO_DATA)/long (docs/demo.md)
#   make demo-timeline  docs/demo_timeline.png: a per-person timeline of the two-actor scene
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_DATA ?= demo_data
DEMO_OUT ?= output/demo
DEMO_SEED ?= 1
# A test video of the demo, classified for docs/demo_prediction.png (make demo-picture).
DEMO_PICTURE_VIDEO ?= drink_red_cup_004
STAMP := $(VENV)/.installed
# Where the tests find mediapipe 0.10.21's wheel (tests/test_pose_mediapipe.py).
MP_WEIGHTS_DIR ?= $(HOME)/.cache/rgbpose_plugin_tests
# MMAction2 1.2.0 (numpy < 2) for tests/test_mm_*.py; see .ci/mmaction_env.sh.
MM_VENV ?= .venv-mmaction
MM_STAMP := $(MM_VENV)/.installed
# 4 classes told apart by motion, 2 pairs told apart only by the colour of a held object.
DEMO_CLASSES := clap squat jump kick drink_red_cup drink_blue_cup wave_green_flag wave_yellow_flag

.PHONY: install mmaction-env demo demo-picture demo-long demo-timeline test lint bench bench-mmaction clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch/torchvision first, pinned to the versions the suite is tested with, so that the
	# install of the package below keeps them.
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e ".[dev,export]"
	# mediapipe (CPU pose backend, Tasks PoseLandmarker): a current release with its own
	# requirements (they bring opencv-contrib-python, which needs libGL.so.1; the headless
	# variant, if an environment has it, is removed first, as both own cv2/).
	$(PIP) uninstall -q -y opencv-contrib-python-headless
	$(PIP) install -q -e ".[mediapipe]"
	# The BlazePose weights shipped in mediapipe 0.10.21's wheel, from which
	# tests/test_pose_mediapipe.py builds its PoseLandmarker .task (only downloaded here).
	$(PIP) download -q --no-deps --only-binary=:all: --python-version 3.11 \
		--platform manylinux_2_28_x86_64 mediapipe==0.10.21 -d $(MP_WEIGHTS_DIR)
	# rtmlib (multi-person pose backend through onnxruntime), with its requirements: they add
	# opencv-python beside mediapipe's opencv-contrib-python; both own cv2/ and work side by
	# side when their versions agree (pip check then reports nothing).
	$(PIP) install -q "rtmlib>=0.0.16"
	touch $(STAMP)

install: $(STAMP)

# A failed build is not fatal: it leaves $(MM_VENV).failed, and the suite reports that
# reason as the skip of tests/test_mmaction_suite.py.
$(MM_STAMP): .ci/mmaction_env.sh .ci/mmaction_patch_drn.py .ci/link_torch.py setup.cfg $(STAMP)
	-PLUGIN_VENV=$(VENV) bash .ci/mmaction_env.sh $(MM_VENV)

mmaction-env: $(MM_STAMP)

demo: install
	test -f $(DEMO_DATA)/annotations.pkl || $(PY) tools/make_demo_data.py --out $(DEMO_DATA) \
		--videos-per-class 48 --classes $(DEMO_CLASSES)
	$(PY) tools/run_net.py --cfg configs/demo/rgbpose_demo.yaml \
		--opts DATA.ANN_FILE $(DEMO_DATA)/annotations.pkl DATA.PATH_PREFIX $(DEMO_DATA)/videos \
		OUTPUT_DIR $(DEMO_OUT) RNG_SEED $(DEMO_SEED)

# docs/demo_prediction.png: the demo's fused model on one of its test videos.
demo-picture: demo
	$(PY) tools/demo_net.py --checkpoint $(DEMO_OUT) --video $(DEMO_DATA)/videos/$(DEMO_PICTURE_VIDEO).mp4 \
		--skeleton $(DEMO_DATA)/annotations.pkl --out $(DEMO_OUT)/picture --no-video
	cp $(DEMO_OUT)/picture/prediction.png docs/demo_prediction.png

# Long scenes (one and two actors) for per-person action timelines, beside the demo's data
# and with its classes; not used in training.
DEMO_LONG_S ?= 60
demo-long: install
	test -f $(DEMO_DATA)/annotations.pkl || $(PY) tools/make_demo_data.py --out $(DEMO_DATA) \
		--videos-per-class 48 --classes $(DEMO_CLASSES)
	$(PY) tools/make_demo_data.py --out $(DEMO_DATA) --videos-per-class 0 --classes $(DEMO_CLASSES) \
		--long-scenes 1 --long-actors 1 --long-duration $(DEMO_LONG_S)
	$(PY) tools/make_demo_data.py --out $(DEMO_DATA) --videos-per-class 0 --classes $(DEMO_CLASSES) \
		--long-scenes 1 --long-actors 2 --long-duration $(DEMO_LONG_S)

# docs/demo_timeline.png: the demo's fused model, per person, on the two-actor long scene,
# and how its timeline compares with the scene's ground truth.
demo-timeline: demo demo-long
	$(PY) tools/demo_net.py --checkpoint $(DEMO_OUT) --video $(DEMO_DATA)/long/long_0_2p.mp4 \
		--skeleton $(DEMO_DATA)/long/long_0_2p.pkl --per-person --window auto --no-video \
		--out $(DEMO_OUT)/timeline --quiet
	$(PY) benchmarks/eval_timeline.py --checkpoint $(DEMO_OUT) --scene $(DEMO_DATA)/long/long_0_2p \
		--per-person
	cp $(DEMO_OUT)/timeline/timeline.png docs/demo_timeline.png

lint: install
	$(VENV)/bin/ruff check .
	# Layers point one way: the contracts in pyproject.toml.
	$(VENV)/bin/lint-imports

test: lint mmaction-env
	RGBPOSE_MMACTION_VENV=$(abspath $(MM_VENV)) $(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_data.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_loader.py

bench-mmaction: mmaction-env
	$(MM_VENV)/bin/python benchmarks/bench_mmaction.py

clean:
	rm -rf $(VENV) $(MM_VENV) $(MM_VENV).log $(MM_VENV).failed output $(DEMO_DATA)
