# The two commands of the README:
#   make figures   build the environment, regenerate the analytic studies and the quick CPU versions of the
#                  training studies (image GAN on the embedded MNIST digits, mode coverage, loss comparison);
#                  scripts/figures.sh lists them and says which one runs and how many are left
#   make test      build the environment, run the test suite (what CI runs)
VENV ?= .venv
PY := $(VENV)/bin/python
export HYPOTHESIS_PROFILE ?= ci

.PHONY: env figures test test-fast bench clean-env

env:
	@VENV=$(VENV) bash scripts/bootstrap.sh

figures: env
	@PY=$(PY) bash scripts/figures.sh

test: env
	$(PY) -m pytest -q

test-fast: env
	$(PY) -m pytest -q -m "not slow"

bench: env
	$(PY) -m benchmarks.analytic

clean-env:
	rm -rf $(VENV)
