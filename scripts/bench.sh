#!/usr/bin/env bash
# make bench: the Go benchmarks, then registry-bench (cmd/registry-bench)
# against DATABASE_URL's cluster, or a private cluster under ./var/pg made as
# make run makes it. Arguments go to registry-bench, e.g.
#   make bench BENCH_FLAGS="-preload 10000000"
#   make bench BENCH_FLAGS="-phases search -search-clients 64"
# GO_BENCH=0 skips the Go benchmarks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p bench/results
if [ "${GO_BENCH:-1}" != 0 ]; then
	scripts/test.sh -run '^$' -bench . -benchmem ./... | tee bench/results/go-bench.txt
fi
if [ -z "${DATABASE_URL:-}" ]; then
	DATABASE_URL=$(scripts/pg.sh start registry)
	export DATABASE_URL
fi
exec bin/registry-bench -out bench/results "$@"
