# omz-mobilenet: `make` runs the main job for MODEL (download from the mirror, convert, verify,
# bench, accuracy); `make test` runs the test suite. Both create .venv and install on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/omz-mobilenet
MODEL ?= mobilenet-v2-1.0-224-quant
DEVICE ?= CPU
PRECISIONS ?= FP32,FP16
ASSETS ?= $(abspath ../shared/assets)
DATASET ?= $(ASSETS)/imagenet
VERIFY_IMAGES ?= $(DATASET)/val_100_cropped_reencoded
RESULTS ?= results

# The offline copy of the official download URLs, when it is there.
ifneq ($(wildcard $(ASSETS)/MANIFEST.md),)
export OMZ_MOBILENET_MIRROR ?= $(ASSETS)
endif
export OMZ_MOBILENET_ASSETS ?= $(ASSETS)

INT8_MODEL ?= mobilenet-v1-0.25-224-tflite
SPLIT ?= $(RESULTS)/split

.PHONY: all setup download convert verify bench accuracy gate gate-int8 int8 sweep report test test-unit lint docs clean wheel wheel-test

all: setup download convert verify bench accuracy

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,lint,docs,loadgen]"
	touch $@

download: setup
	$(CLI) download $(MODEL)

convert: setup
	$(CLI) convert $(MODEL) --precision $(PRECISIONS)

verify: setup
	$(CLI) verify $(MODEL) --dataset $(VERIFY_IMAGES)

bench: setup
	$(CLI) bench $(MODEL) --device $(DEVICE) --precision $(PRECISIONS) --json $(RESULTS)/bench.json --csv $(RESULTS)/bench.csv

accuracy: setup
	$(CLI) accuracy $(MODEL) --dataset $(DATASET) --precision $(PRECISIONS) --json $(RESULTS)/accuracy.json --csv $(RESULTS)/accuracy.csv

gate: setup
	$(CLI) gate --available --dataset $(DATASET) --precision $(PRECISIONS) --no-progress

# Calibration images never overlap evaluation images: 600 of the 1300-image set go to calibration/,
# of which 300 calibrate (--calibration-limit's default) and the other 300 are held out to check the
# requantized IRs' margin against the original; the other 700 and the two small sets evaluate (the
# tool refuses an overlap anyway).
$(SPLIT)/calibration: | setup
	$(CLI) split $(DATASET)/val_1300_resized_227 --calibration-count 600 --out $(SPLIT) \
		--exclude $(DATASET)/val_100_cropped_reencoded --exclude $(DATASET)/val_original_20

int8: $(SPLIT)/calibration
	$(CLI) convert $(INT8_MODEL) --precision FP32,INT8 --calibration $(SPLIT)/calibration

gate-int8: int8
	$(CLI) gate $(INT8_MODEL) --precision INT8 --dataset $(SPLIT)/evaluation --no-progress
	$(CLI) gate $(INT8_MODEL) --precision INT8 --dataset $(DATASET)/val_100_cropped_reencoded --no-progress

# The matrix: every model available offline x FP32, FP16, INT8 (NNCF for float models, calibrated on
# the split's calibration images; a quantized model's requantized IR, INT8-RQ/) on CPU, over the 700
# evaluation images; cells already in the database are skipped.
sweep: $(SPLIT)/calibration
	$(CLI) sweep --available --precision FP32,FP16,INT8 --device $(DEVICE) --dataset $(SPLIT)/evaluation \
		--calibration $(SPLIT)/calibration --db $(RESULTS)/results.db --no-progress

report: setup
	$(CLI) report $(RESULTS)/results.db -o $(RESULTS)/report.html --markdown $(RESULTS)/report.md --png $(RESULTS)/charts

test: setup
	$(PY) -m pytest -q

# Tests not marked `assets` (they need no ../shared/assets): catalogue, stats, formats, results
# database, report, ...; they run anywhere. pytest's own exit code is kept: 5 (no test ran) fails.
.PHONY: test-fast
test-fast: setup
	$(PY) -m pytest -q -m "not assets"

# The old name of test-fast.
test-unit: test-fast

lint: setup
	$(VENV)/bin/ruff check omz_mobilenet tests benchmarks
	$(VENV)/bin/ruff format --check omz_mobilenet
	$(VENV)/bin/mypy omz_mobilenet
	$(VENV)/bin/lint-imports

# The wheel, into dist/. build/ is removed first: setuptools copies into build/lib and never deletes
# there, so a module removed from the tree would otherwise still ship.
wheel: setup
	rm -rf build dist/omz_mobilenet-*.whl
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

# The wheel as users get it: installed with its extras into a new virtual environment outside the
# checkout, then list/add/convert/verify/accuracy/gate/sweep (also on Ray)/report run from another
# folder against the offline mirror (.ci/wheel-smoke). pip takes the dependencies from its cache,
# which `make setup` filled with the same versions.
WHEEL_TEST_DIR ?= $(or $(TMPDIR),/tmp)/omz-mobilenet-wheel-test
wheel-test: wheel
	rm -rf $(WHEEL_TEST_DIR)
	$(PYTHON) -m venv $(WHEEL_TEST_DIR)/venv
	@start=$$(date +%s); \
	$(WHEEL_TEST_DIR)/venv/bin/python -m pip install --quiet --disable-pip-version-check \
		"$$(ls dist/omz_mobilenet-*.whl)[all,ray]" && \
	echo "wheel-test: clean install in $$(( $$(date +%s) - start )) s"
	.ci/wheel-smoke $(WHEEL_TEST_DIR)/venv $(WHEEL_TEST_DIR)/work $(ASSETS)

# The documentation site, into site/: --strict fails on a broken link or anchor; the reference pages are
# generated from the CLI's own definitions by docs/hooks/reference.py.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf ir $(RESULTS) .pytest_cache build dist
