#!/usr/bin/env bash
# bench-train: the trainer's targets, measured on this machine in one run.
#
#   1. accuracy: MNIST 784-256-128-10, relu, he_normal, adam lr 1e-3, batch 128,
#      10 epochs, seed 1 (target: test accuracy >= 97.6%).
#   2. throughput: the same MLP with sgd, batch 128, one thread, next to PyTorch
#      CPU running ../shared/bench/torch_mlp.py (target: ratio >= 1.0); two
#      interleaved rounds, best of each side.
#   3. the CNN of ../shared/bench/torch_cnn.py, one thread, next to PyTorch
#      running it (target: ratio >= 2.5), interleaved rounds as above.
#   4. the training step's allocations (target: 0 allocs/op).
#   5. peak resident memory of a process running trials one after another
#      (target: under 300 MiB).
#
# Needs python3-torch (Debian's build, run with /usr/bin/python3); as root the
# script installs it with apt-get when it is missing. PyTorch runs with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS uses its best kernels
# (named for it where it does not know the CPU: scripts/openblas-env.sh).
# Environment: SHARED_DIR (default ../shared), ROUNDS (default 2), SEEDS (accuracy
# run seeds, default "1"), SKIP_ACCURACY=1.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_DIR:-../shared}
rounds=${ROUNDS:-2}
torch_py=$shared/bench/torch_mlp.py

gobench() { # gobench <regexp> <benchtime>: prints the benchmark result lines
	RELUTUNE_BENCH_MNIST=1 go test -count=1 -run '^$' -bench "$1" -benchtime "$2" -timeout 60m ./trainer | grep '^Benchmark'
}
metric() { # metric <unit> < line: the value printed before <unit>
	awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'
}

have_torch=0
if [ -f "$torch_py" ]; then
	if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && [ "$(id -u)" = 0 ]; then
		echo "installing python3-torch ..." >&2
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >&2
	fi
	/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
fi
[ "$have_torch" = 1 ] || echo "note: PyTorch or $torch_py unavailable; throughput is printed without the comparison" >&2

# shellcheck source=scripts/openblas-env.sh
. scripts/openblas-env.sh
openblas_env
[ "$have_torch" = 1 ] && echo "PyTorch: $OPENBLAS_NOTE"
echo "== trainer benchmarks ($(go env GOARCH), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"

if [ "${SKIP_ACCURACY:-}" != 1 ]; then
	for seed in ${SEEDS:-1}; do
		line=$(RELUTUNE_BENCH_SEED=$seed gobench 'BenchmarkMNISTAccuracy$' 1x)
		acc=$(metric 'test_acc_%' <<<"$line")
		val=$(metric 'val_acc_%' <<<"$line")
		sps=$(metric 'samples/s' <<<"$line")
		verdict=$(awk -v a="$acc" 'BEGIN{print (a >= 97.6) ? "meets" : "BELOW"}')
		printf 'accuracy   mnist mlp 784-256-128-10 relu he_normal adam 1e-3 b128 10 ep seed %s: test %.2f%% (val %.2f%%, %.0f samples/s) - %s the 97.6%% target\n' "$seed" "$acc" "$val" "$sps" "$verdict"
	done
fi

best_go=0
best_torch=0
for r in $(seq "$rounds"); do
	g=$(gobench 'BenchmarkMNISTThroughput$' 1x | metric 'samples/s')
	best_go=$(awk -v a="$best_go" -v b="$g" 'BEGIN{print (b > a) ? b : a}')
	if [ "$have_torch" = 1 ]; then
		t=$(env "${OPENBLAS_ENV[@]}" /usr/bin/python3 "$torch_py" --threads 1 --batch 128 | tail -1 |
			sed -n 's/.*samples_per_sec=\([0-9.]*\).*/\1/p')
		best_torch=$(awk -v a="$best_torch" -v b="$t" 'BEGIN{print (b > a) ? b : a}')
		printf 'round %d: relutune %.0f samples/s, pytorch %.0f samples/s\n' "$r" "$g" "$t"
	else
		printf 'round %d: relutune %.0f samples/s\n' "$r" "$g"
	fi
done
if [ "$have_torch" = 1 ]; then
	printf 'throughput mlp 784-256-128-10 relu sgd b128 1 thread: relutune %.0f samples/s, pytorch %.0f samples/s, ratio %.2fx (target >= 1.0x)\n' \
		"$best_go" "$best_torch" "$(awk -v a="$best_go" -v b="$best_torch" 'BEGIN{print a / b}')"
else
	printf 'throughput mlp 784-256-128-10 relu sgd b128 1 thread: relutune %.0f samples/s\n' "$best_go"
fi

# The CNN of ../shared/bench/torch_cnn.py (conv 16, 32 with ReLU and 2x2
# max pooling, dense 128, sgd, batch 128, random images), one thread.
torch_cnn=$shared/bench/torch_cnn.py
best_cnn=0
best_cnn_torch=0
for r in $(seq "$rounds"); do
	g=$(go test -count=1 -run '^$' -bench 'BenchmarkStep/cnn/threads=1$' -benchtime 40x ./trainer | grep '^Benchmark' | metric 'samples/s')
	best_cnn=$(awk -v a="$best_cnn" -v b="$g" 'BEGIN{print (b > a) ? b : a}')
	if [ "$have_torch" = 1 ] && [ -f "$torch_cnn" ]; then
		t=$(env "${OPENBLAS_ENV[@]}" /usr/bin/python3 "$torch_cnn" --threads 1 | tail -1 |
			sed -n 's/.*samples_per_sec=\([0-9.]*\).*/\1/p')
		best_cnn_torch=$(awk -v a="$best_cnn_torch" -v b="$t" 'BEGIN{print (b > a) ? b : a}')
		printf 'round %d: cnn relutune %.0f samples/s, pytorch %.0f samples/s (load %s)\n' "$r" "$g" "$t" "$(cut -d' ' -f1-3 /proc/loadavg)"
	fi
done
if [ "$best_cnn_torch" != 0 ]; then
	printf 'throughput cnn conv16,32 dense128 sgd b128 1 thread: relutune %.0f samples/s, pytorch %.0f samples/s, ratio %.2fx (target >= 2.5x)\n' \
		"$best_cnn" "$best_cnn_torch" "$(awk -v a="$best_cnn" -v b="$best_cnn_torch" 'BEGIN{print a / b}')"
else
	printf 'throughput cnn conv16,32 dense128 sgd b128 1 thread: relutune %.0f samples/s\n' "$best_cnn"
fi

gobench 'BenchmarkTrainStep' 300x | while read -r name _ ns _ rest; do
	printf 'step       %s: %.0f samples/s, dense_gemm/step %s, %s allocs/op\n' "${name#BenchmarkTrainStep/}" \
		"$(metric 'samples/s' <<<"$rest")" "$(metric 'dense_gemm/step' <<<"$rest")" "$(metric 'allocs/op' <<<"$rest")"
done

line=$(gobench 'BenchmarkWorkerMemory$' 1x)
printf 'memory     6 trials in one process (mlp and cnn, mnist loaded once): peak RSS %s MiB (target < 300)\n' "$(metric 'peak_rss_MiB' <<<"$line")"
