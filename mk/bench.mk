# `make bench`: cold start, memory, warm latency, round trips, package size and export
# throughput against baselines measured in the same run (docs/bench.md). Never part of
# `make test`. Knobs: BENCH_RUNS, BENCH_WARM_RUNS, BENCH_POST_RUNS, BENCH_EXPORT_FILES,
# BENCH_EXPORT_RUNS (environment variables, see bench/run.py), and BENCH_PYTHONS: other
# interpreters (e.g. "3.11 3.12") whose rows 1-4 are measured beside the runtime's in the same
# run, each in its own virtualenv .venv-bench-pyX.Y (found by tools/find_python.sh).
BENCH_REF_VENV := .venv-bench-ref
BENCH_PYTHONS ?=
export BENCH_PYTHONS

.PHONY: bench bench-ref clean-bench

# The FastAPI + Mangum reference lives in its own virtualenv: our dependencies stay clean. Same
# interpreter as .venv (made afresh when it changes), so the ratios compare like with like.
$(BENCH_REF_VENV)/.python-$(PYTHON_VERSION): | deps
	rm -rf $(BENCH_REF_VENV)
	$(PYTHON) -m venv $(BENCH_REF_VENV)
	touch $@

$(BENCH_REF_VENV)/.installed: bench/requirements-ref.txt $(BENCH_REF_VENV)/.python-$(PYTHON_VERSION)
	$(BENCH_REF_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

bench-ref: $(BENCH_REF_VENV)/.installed

# Another interpreter for BENCH_PYTHONS: the app's runtime dependencies, Chalice (for the hello
# baseline and the import row) and the FastAPI reference, all in one virtualenv.
.venv-bench-py%/.installed: requirements.txt requirements-dev.txt bench/requirements-ref.txt
	@other=$$(sh tools/find_python.sh $*) || { echo "BENCH_PYTHONS: Python $* not found (pyenv install $*)"; exit 2; }; \
	  rm -rf $(@D) && $$other -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
	  -r bench/requirements-ref.txt "$$(grep '^chalice==' requirements-dev.txt)"
	touch $@

bench: deps services bench-ref lambda-tools $(foreach v,$(BENCH_PYTHONS),.venv-bench-py$(v)/.installed)
	$(PY) bench/run.py

clean-bench:
	rm -rf $(BENCH_REF_VENV) .venv-bench-py* bench/results.json bench/load.json

clean: clean-bench

# `make load`: mixed reads and writes against `make run` on throwaway real backends, on
# 127.0.0.1 only (docs/scale.md). LOAD_SECONDS (20) and LOAD_CLIENTS (4). Not in make test.
.PHONY: load
load: deps services
	$(PY) bench/load.py

# `make bench-scale`: every API operation for one tenant of 10k, 100k and 1M files plus a
# neighbour, loaded straight into a throwaway PostgreSQL (bench/scale.py, docs/scale.md); the
# scale migrations timed on that data. BENCH_SCALE_SIZES (10000,100000,1000000) and
# BENCH_SCALE_REPEAT (15). A few minutes on 2 cores. Not in make test.
.PHONY: bench-scale
bench-scale: deps
	$(PY) bench/scale.py

# `make bench-compression`: what gzip saves on a 1 MiB text body and a 1,000-item list (bytes
# on the wire through `make run`'s server), gzip's time at levels 1, 6 and 9, and the Lambda
# handler's time with and without Accept-Encoding (bench/compression.py, docs/bench.md).
.PHONY: bench-compression
bench-compression: deps
	$(PY) bench/compression.py
