# Sourced by the bench scripts. openblas_env sets the array OPENBLAS_ENV to the
# env(1) arguments the OpenBLAS reference and PyTorch (which links OpenBLAS
# through libblas.so.3) run under, and OPENBLAS_NOTE to a line saying so.
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset so OpenBLAS picks its own
# kernels for the CPU, except where it does not know the CPU and falls back to
# its Prescott (SSE3) kernels on a CPU with AVX-512 or AVX2 (OpenBLAS 0.3.21
# on an Emerald Rapids Xeon, family 6 model 207, does): there the reference
# would be a fraction of what it is, so it is given the core of its best
# kernels for the CPU's vector instructions, SkylakeX (AVX-512) or Haswell
# (AVX2).
openblas_env() {
	OPENBLAS_ENV=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
	local core
	core=$(env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import ctypes; ctypes.CDLL("libopenblas.so.0")' 2>&1 |
		sed -n 's/^Core: //p' | head -1) || true
	OPENBLAS_NOTE="OpenBLAS core ${core:-unknown} (its own choice), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
	if [ "$core" = Prescott ]; then
		local flags name=""
		flags=$(grep -m1 '^flags' /proc/cpuinfo)
		if grep -qw avx512f <<<"$flags"; then
			name=SkylakeX
		elif grep -qw avx2 <<<"$flags"; then
			name=Haswell
		fi
		if [ -n "$name" ]; then
			OPENBLAS_ENV+=(OPENBLAS_CORETYPE="$name")
			OPENBLAS_NOTE="OpenBLAS core $name (OPENBLAS_CORETYPE: it takes this CPU for a Prescott and would run SSE3 kernels), OPENBLAS_L2_SIZE unset"
		fi
	fi
}
