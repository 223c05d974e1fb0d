# Two commands on a fresh machine (see README.md):
#   make demo   install into .venv, make the demo data, run the staged recipe on it
#   make test   install into .venv, lint, run the test suite
#   make demo-picture   remake docs/demo_prediction.png from the demo's fused model
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
# 4 classes told apart by motion, 2 pairs told apart only by the colour of a held object.
DEMO_CLASSES := clap squat jump kick drink_red_cup drink_blue_cup wave_green_flag wave_yellow_flag

.PHONY: install demo demo-picture test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch/torchvision first, pinned: these versions install from local files here.
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e ".[dev]"
	# mediapipe (offline pose backend): the dependencies it really uses first, then mediapipe
	# itself with --no-deps and last. Its wheel pins numpy<2, protobuf<5, jax, a GUI OpenCV;
	# installed last, no later pip run reports those pins as resolver errors.
	$(PIP) install -q opencv-contrib-python-headless flatbuffers attrs absl-py "protobuf>=6.31.1,<7"
	$(PIP) install -q --no-deps mediapipe==0.10.21
	touch $(STAMP)

install: $(STAMP)

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

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_data.py

clean:
	rm -rf $(VENV) output $(DEMO_DATA)
