#!/usr/bin/env bash
# Benchmarks package kernels against OpenBLAS and gonum on this machine, one
# thread, and prints one comparison table (see docs/kernels-performance.md).
#
# The OpenBLAS reference program is compiled from the shared bench folder,
# ../shared/bench/sgemm_openblas.c relative to the repository root (override
# the folder holding bench/ with RELUTUNE_SHARED), into a temporary
# directory. It runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, in
# that command alone, so OpenBLAS uses its best kernels for this CPU (named for
# it where it does not know the CPU: scripts/openblas-env.sh).
#
# The activations run twice: with the kernels CPUID picks, and built with
# -tags noavx512, which runs the AVX2 kernels even on an AVX-512 CPU.
#
# Environment: COUNT (runs of each Go benchmark, default 5), BENCHTIME
# (go test -benchtime, default 300ms).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${RELUTUNE_SHARED:-$root/../shared}
ref=$shared/bench/sgemm_openblas.c
if [[ ! -f $ref ]]; then
	echo "bench-kernels: reference program $ref not found; set RELUTUNE_SHARED to the folder holding bench/" >&2
	exit 1
fi

if ! dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q 'install ok installed'; then
	echo "bench-kernels: installing libopenblas-dev" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -o "$tmp/sgemm_openblas" "$ref" -lopenblas

# shellcheck source=scripts/openblas-env.sh
. "$root/scripts/openblas-env.sh"
openblas_env
run_openblas() {
	env "${OPENBLAS_ENV[@]}" OPENBLAS_NUM_THREADS=1 "$tmp/sgemm_openblas" >"$tmp/openblas-$1.txt"
}

# The machine may be shared: run the reference before and after the Go
# benchmarks and keep the best of each, as both sides keep their best runs.
run_openblas 1
(cd "$root" && go test ./kernels/ -run '^$' \
	-bench '^Benchmark(Sgemm|SgemmGonum|Activation|Copy)$' \
	-cpu 1 -count "${COUNT:-5}" -benchtime "${BENCHTIME:-300ms}") >"$tmp/go.txt"
run_openblas 2
# The AVX2 kernels on this CPU (on an AVX-512 CPU the noavx512 tag forces them).
(cd "$root" && go test -tags noavx512 ./kernels/ -run '^$' \
	-bench '^Benchmark(Activation|Copy)$' \
	-cpu 1 -count "${COUNT:-5}" -benchtime "${BENCHTIME:-300ms}") >"$tmp/avx2.txt"

cd "$root"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, go $(go env GOVERSION), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "$OPENBLAS_NOTE"
go run ./scripts/benchcmp -go "$tmp/go.txt" -openblas "$tmp/openblas-1.txt" -openblas "$tmp/openblas-2.txt" -avx2 "$tmp/avx2.txt"
