# `make bench`: cold start, memory, warm latency, round trips, package size and export
# throughput against baselines measured in the same run (docs/bench.md). Never part of
# `make test`. Knobs: BENCH_RUNS, BENCH_WARM_RUNS, BENCH_POST_RUNS, BENCH_EXPORT_FILES,
# BENCH_EXPORT_RUNS (environment variables, see bench/run.py).
BENCH_REF_VENV := .venv-bench-ref

.PHONY: bench bench-ref clean-bench

# The FastAPI + Mangum reference lives in its own virtualenv: our dependencies stay clean.
$(BENCH_REF_VENV)/.installed: bench/requirements-ref.txt
	test -x $(BENCH_REF_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_REF_VENV)
	$(BENCH_REF_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

bench-ref: $(BENCH_REF_VENV)/.installed

bench: deps services bench-ref lambda-tools
	$(PY) bench/run.py

clean-bench:
	rm -rf $(BENCH_REF_VENV) bench/results.json bench/load.json

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
