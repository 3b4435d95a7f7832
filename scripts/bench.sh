#!/usr/bin/env bash
# bench: every performance ratio of relutune on this machine, measured in one
# run and printed as one table (docs/performance.md keeps the latest):
#
#   kernels   sgemm against OpenBLAS and gonum, activations against ReLU on
#             the kernels CPUID picks and on AVX2 (scripts/bench-kernels.sh),
#             with GELU's and ReLU's forward ns/element on both paths
#   trainer   the MNIST MLP (784-256-128-10, sgd, batch 128) and the CNN of
#             ../shared/bench/torch_cnn.py, one thread, against PyTorch
#   threads   one trial's step with 2 threads against 1, the two stepped in
#             alternating blocks in one benchmark (BenchmarkThreadScaling), the
#             median round: that CNN at batch 128 and a 784-1024-1024-10 MLP at
#             batch 512
#   ingest    the JetStream-to-Postgres sink against Postgres COPY-merge
#             alone, each measured in the same benchmark run
#
# The machine may be shared: each side runs ROUNDS times, interleaved with
# the other, and the best round of each counts; the load average before and
# after is printed with the table. Needs python3-torch (Debian's) for the
# PyTorch columns, libopenblas-dev, Postgres and NATS (make services).
# Environment: ROUNDS (default 3), SHARED_DIR or RELUTUNE_SHARED (the folder
# holding bench/, default ../shared), COUNT and
# BENCHTIME for the kernels (see bench-kernels.sh), INGEST_N (default 40000).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_DIR:-${RELUTUNE_SHARED:-../shared}}
export RELUTUNE_SHARED=$shared # for bench-kernels.sh
rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
best() { sort -g | tail -1; } # the largest of the numbers on stdin
metric() { # metric <unit>: the value printed before <unit> on each line of stdin
	awk -v u="$1" '{for (i = 2; i <= NF; i++) if ($i == u) print $(i-1)}'
}
# shellcheck source=scripts/openblas-env.sh
. scripts/openblas-env.sh
openblas_env
torch() { env "${OPENBLAS_ENV[@]}" /usr/bin/python3 "$@" | tail -1 | sed -n 's/.*samples_per_sec=\([0-9.]*\).*/\1/p'; }
have_torch=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	have_torch=1
else
	echo "bench: PyTorch (python3-torch) unavailable: its columns stay empty" >&2
fi

load_before=$(load)
echo "== kernels"
bash scripts/bench-kernels.sh | tee "$tmp/kernels.txt"

echo "== trainer and threads ($rounds rounds, interleaved)"
: >"$tmp/mlp.go" && : >"$tmp/mlp.torch" && : >"$tmp/cnn.torch" && : >"$tmp/step.txt" && : >"$tmp/scale.txt"
for r in $(seq "$rounds"); do
	RELUTUNE_BENCH_MNIST=1 go test -count=1 -run '^$' -bench 'BenchmarkMNISTThroughput$' -benchtime 1x ./trainer | metric samples/s >>"$tmp/mlp.go"
	go test -count=1 -run '^$' -bench 'BenchmarkStep/cnn/threads=1$' -benchtime 40x ./trainer | grep '^BenchmarkStep' >>"$tmp/step.txt"
	go test -count=1 -run '^$' -bench 'BenchmarkThreadScaling' -benchtime 60x ./trainer | grep '^BenchmarkThreadScaling' >>"$tmp/scale.txt"
	if [ "$have_torch" = 1 ]; then
		torch "$shared/bench/torch_mlp.py" --threads 1 --batch 128 >>"$tmp/mlp.torch"
		torch "$shared/bench/torch_cnn.py" --threads 1 >>"$tmp/cnn.torch"
	fi
	echo "round $r: load $(load)"
done
step() { grep "^BenchmarkStep/$1-" "$tmp/step.txt" | metric samples/s | best; }
scaling() { # scaling <net>: 1-thread and 2-thread samples/s and speedup of the round with the median speedup
	grep "^BenchmarkThreadScaling/$1-" "$tmp/scale.txt" | awk '{
		for (i = 2; i <= NF; i++) { if ($i == "threads1_samples/s") a = $(i-1); if ($i == "threads2_samples/s") b = $(i-1); if ($i == "speedup") r = $(i-1) }
		printf "%.0f %.0f %.2f\n", a, b, r }' | sort -k3 -g | awk '{ l[NR] = $0 } END { if (NR) print l[int((NR + 1) / 2)] }'
}
mlp_go=$(best <"$tmp/mlp.go")
cnn_go=$(step cnn/threads=1)
mlp_torch=$(best <"$tmp/mlp.torch")
cnn_torch=$(best <"$tmp/cnn.torch")

echo "== ingest"
go test -count=1 -run '^$' -bench 'BenchmarkIngest' -benchtime "${INGEST_N:-40000}x" -count "$rounds" ./internal/controller |
	grep '^BenchmarkIngest' | tee "$tmp/ingest.txt"

load_after=$(load)
kline() { grep -m1 "$1" "$tmp/kernels.txt"; }
read -r _ _ _ _ sg_ours sg_ref sg_gonum sg_rref sg_rgonum <<<"$(kline 'median, MLP shapes')"
exp_main=$(kline 'exp-based forward <= 5x relu:' | awk '{print $6}' | tr -d x)
exp_main_name=$(kline 'exp-based forward <= 5x relu:' | sed 's/.*(\([a-z_]*\),.*/\1/')
exp_avx2=$(kline 'AVX2 exp-based forward' | awk '{print $7}' | tr -d x)
exp_avx2_name=$(kline 'AVX2 exp-based forward' | sed 's/.*(\([a-z_]*\),.*/\1/')
act_ns() { # act_ns <table> <activation>: forward ns/elem in the kernels' activation table (1: CPUID's path, 2: AVX2)
	awk -v t="$1" -v a="$2" '/^Activations over/ { n++ } n == t && $1 == a { print $2; exit }' "$tmp/kernels.txt"
}
ingest() { # ingest <writers>: copy rows/s, sink rows/s and sink/copy of the run with the best ratio
	grep "^BenchmarkIngest/writers=$1-" "$tmp/ingest.txt" | awk '{
		for (i = 2; i <= NF; i++) { if ($i == "copy_rows/s") c = $(i-1); if ($i == "sink_rows/s") s = $(i-1); if ($i == "sink/copy") r = $(i-1) }
		if (r > br) { br = r; bc = c; bs = s } } END { printf "%.0f %.0f %.2f\n", bc, bs, br }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
verdict() { # verdict <value> <op> <target>
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "-" || v == "") print "-"; else if ((op == ">=" && v + 0 >= t) || (op == "<=" && v + 0 <= t)) print "met"; else print "NOT met" }'
}
row() { printf '| %-62s | %13s | %13s | %7s | %-8s | %-7s |\n' "$@"; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
isa=$(grep -m1 '^flags' /proc/cpuinfo | grep -q avx512f && echo "AVX-512" || echo "AVX2")
echo
echo "relutune performance, $(date -u +%Y-%m-%dT%H:%MZ): $cpu ($isa, $(nproc) cores), go $(go env GOVERSION)"
echo "load average before $load_before, after $load_after; best of $rounds interleaved rounds"
echo
row "what" "relutune" "reference" "ratio" "target" "status"
row "----" "--------" "---------" "-----" "------" "------"
r=$sg_rref; row "sgemm GFLOP/s, MLP shapes, median (vs OpenBLAS)" "$sg_ours" "$sg_ref" "$r" ">= 0.85" "$(verdict "$r" '>=' 0.85)"
r=$sg_rgonum; row "sgemm GFLOP/s, MLP shapes, median (vs gonum)" "$sg_ours" "$sg_gonum" "$r" ">= 10" "$(verdict "$r" '>=' 10)"
row "slowest exp-based forward / relu, $isa path ($exp_main_name)" "" "" "$exp_main" "<= 5" "$(verdict "$exp_main" '<=' 5)"
row "slowest exp-based forward / relu, AVX2 path ($exp_avx2_name)" "" "" "$exp_avx2" "<= 5" "$(verdict "$exp_avx2" '<=' 5)"
for t in 1 2; do
	path=$isa
	[ "$t" = 2 ] && path=AVX2
	relu_ns=$(act_ns "$t" relu)
	gelu_ns=$(act_ns "$t" gelu)
	r=$(ratio "$gelu_ns" "$relu_ns")
	row "gelu forward ns/elem (vs relu ns/elem), $path path" "$gelu_ns" "$relu_ns" "$r" "<= 5" "$(verdict "$r" '<=' 5)"
done
r=$(ratio "$mlp_go" "$mlp_torch"); row "MLP 784-256-128-10 b128 samples/s, 1 thread (PyTorch)" "$mlp_go" "$mlp_torch" "$r" ">= 1.0" "$(verdict "$r" '>=' 1.0)"
r=$(ratio "$cnn_go" "$cnn_torch"); row "CNN conv16,32 dense128 b128 samples/s, 1 thread (PyTorch)" "$cnn_go" "$cnn_torch" "$r" ">= 2.5" "$(verdict "$r" '>=' 2.5)"
for m in cnn mlp1024; do
	# The round with the median speedup (both sides of a round share its
	# time window, so its ratio is the one to trust; see BenchmarkThreadScaling).
	read -r one two r <<<"$(scaling "$m")"
	name="CNN b128"
	[ "$m" = mlp1024 ] && name="MLP 784-1024-1024-10 b512"
	row "$name samples/s, 2 threads (vs 1 thread)" "$two" "$one" "$r" ">= 1.7" "$(verdict "$r" '>=' 1.7)"
done
# Two writers is the sink's default, and the target; one writer is shown
# beside it as a reference.
read -r c s r <<<"$(ingest 2)"
row "ingest rows/s, sink steady state, 2 writers (vs COPY-merge)" "$s" "$c" "$r" ">= 0.8" "$(verdict "$r" '>=' 0.8)"
read -r c s r <<<"$(ingest 1)"
row "ingest rows/s, sink steady state, 1 writer (vs COPY-merge)" "$s" "$c" "$r" "-" "-"
echo
echo "PyTorch $( [ "$have_torch" = 1 ] && /usr/bin/python3 -c 'import torch; print(torch.__version__)' || echo unavailable), for it and for the sgemm reference: $OPENBLAS_NOTE."
