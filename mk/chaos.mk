# `make chaos`: writers under load on throwaway real backends (PostgreSQL, memcached, moto)
# while the cache, the database and storage are each cut and restored through a fault proxy;
# then every acknowledged write is read back (tools/chaos.py, docs/testing.md "Chaos test"). About
# 1-2 minutes, traffic to 127.0.0.1 only; never part of `make test`.
# Knobs: CHAOS_WRITERS (default 6), CHAOS_PHASE_SECONDS (default 6).
.PHONY: chaos

chaos: deps services
	$(PY) tools/chaos.py
