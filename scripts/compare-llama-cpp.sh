#!/usr/bin/env bash
# Measure llama.cpp's own tools beside our engine, on this machine, in one window: the issue's
# speed anchors (llama-bench pp512/tg128 and llama-server -np 8 under the bench workload) were
# measured elsewhere, and what a target means depends on the machine's speed today.
#
#   scripts/compare-llama-cpp.sh [ROOMS] [TURNS] [MAX_TOKENS] [THREADS]   (default 8 20 48 2)
#
# Environment: RUNS (default 3) pairs of runs, llama-server then ours, back to back, at ROOMS
# rooms and then at 1 room; the medians and our ratios to llama-server are printed at the end.
# PEERLEARN_BENCH_FLAGS adds flags to our runs; variants separated by "|" are each run after
# llama-server in every pair (e.g. "--gen-per-step 0|--gen-per-step 4" compares two schedules
# against the same server runs). COMMON_BENCH_FLAGS go to every run, llama-server's too (e.g.
# "--ignore-eos": every reply of both engines runs to MAX_TOKENS, so both do the same generation
# work and tokens/s compare like for like; docs/engine.md says what it does to ttft). SKIP_LLAMA_BENCH=1 skips llama-bench. LLAMA_CPP_BIN names a
# folder with llama-server and llama-bench built elsewhere (see docs/engine.md for building
# llama-server from the llama.cpp release the crate vendors); PEERLEARN_BIN a peerlearn binary
# to measure instead of building one.
#
# llama-bench and llama-server are built once (about 12 minutes on 2 cores) from the llama.cpp
# sources vendored in the llama-cpp-python sdist on PyPI (the crates do not ship llama.cpp's
# tools), Release, GGML_NATIVE, into ~/.cache/peerlearn/llama.cpp. Run it on a quiet machine:
# every figure here moves by 2x when anything else uses the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

rooms="${1:-8}" turns="${2:-20}" max_tokens="${3:-48}" threads="${4:-2}"
runs="${RUNS:-3}"
IFS='|' read -r -a variants <<<"${PEERLEARN_BENCH_FLAGS:-}"
[ "${#variants[@]}" -gt 0 ] || variants=("")
read -r -a common_flags <<<"${COMMON_BENCH_FLAGS:-}"
sdist_version="0.3.36"
sdist_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
cache="${PEERLEARN_CACHE:-$HOME/.cache/peerlearn}/llama.cpp"
model="${PEERLEARN_MODEL:-models/default.gguf}"
port="${PEERLEARN_COMPARE_PORT:-18080}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerlearn/target}"

scripts/fetch-model.sh "$model"
bin="${LLAMA_CPP_BIN:-$cache/build/bin}"
if [ -z "${LLAMA_CPP_BIN:-}" ] && { [ ! -x "$bin/llama-server" ] || [ ! -x "$bin/llama-bench" ]; }; then
  for tool in cmake c++; do
    command -v "$tool" >/dev/null || {
      echo "error: $tool is needed to build llama.cpp's tools (Debian: apt-get install cmake g++)" >&2
      exit 1
    }
  done
  mkdir -p "$cache"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching llama.cpp's sources (llama-cpp-python==$sdist_version sdist from PyPI)..." >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$tmp" "llama-cpp-python==$sdist_version" >&2
  sdist="$tmp/llama_cpp_python-$sdist_version.tar.gz"
  if [ "$(sha256sum "$sdist" | cut -d' ' -f1)" != "$sdist_sha256" ]; then
    echo "error: the sdist's sha256 does not match $sdist_sha256" >&2
    exit 1
  fi
  tar -xzf "$sdist" -C "$tmp"
  rm -rf "$cache/src" && mv "$tmp/llama_cpp_python-$sdist_version/vendor/llama.cpp" "$cache/src"
  cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
  cmake --build "$cache/build" --target llama-server llama-bench -j"$(nproc)" >&2
fi
if [ -n "${PEERLEARN_BIN:-}" ]; then
  peerlearn="$PEERLEARN_BIN"
else
  cargo build --release --locked -p peerlearn >&2
  peerlearn="$CARGO_TARGET_DIR/release/peerlearn"
fi
load() { cut -d' ' -f1-3 /proc/loadavg; }
summary='import json,sys
d = json.load(sys.stdin)
keep = ["replies", "errors", "generated_tokens", "ttft_ms_p50", "ttft_ms_p95", "per_stream_tok_s_median", "aggregate_tok_s",
        "prompt_tokens_per_turn_mean", "cached_tokens_per_turn_mean", "wall_s"]
row = {"label": sys.argv[1], "rooms": int(sys.argv[2]), "load_before": sys.argv[3], "load_after": sys.argv[4]}
row.update({k: d.get(k) for k in keep})
print(json.dumps(row))'

if [ -z "${SKIP_LLAMA_BENCH:-}" ]; then
  echo "== llama-bench, $threads threads (load $(load))"
  "$bin/llama-bench" -m "$model" -t "$threads" -p 512 -n 128 -r 5 2>/dev/null | grep -E '^\| (model|llama)'
  "$bin/llama-bench" -m "$model" -t "$threads" -p 24 -n 48 -d 0,512,1024 -r 3 2>/dev/null | grep -E '^\| llama'
fi

results="$(mktemp)"
server=""
trap 'kill $server 2>/dev/null || true; rm -f "$results"' EXIT

# One run: $1 label (server, or ours with the flags in $3), $2 rooms. Appends {"label","rooms","load_before",
# "load_after", ...the report's figures} to $results and prints it.
run_one() {
  local label="$1" n="$2" flags=() before out
  read -r -a flags <<<"${3:-}"
  before="$(load)"
  if [ "$label" = server ]; then
    "$bin/llama-server" -m "$model" -np "$n" -c $((n * 2048)) -t "$threads" \
      --host 127.0.0.1 --port "$port" >"$cache/server.log" 2>&1 &
    server=$!
    for _ in $(seq 60); do
      python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$port/health" 2>/dev/null && break
      sleep 1
    done
    out="$("$peerlearn" bench engine --rooms "$n" --turns "$turns" --max-tokens "$max_tokens" \
      --llm-url "http://127.0.0.1:$port" "${common_flags[@]}" --json 2>/dev/null)"
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
  else
    out="$("$peerlearn" bench engine --rooms "$n" --turns "$turns" --max-tokens "$max_tokens" \
      --threads "$threads" "${common_flags[@]}" "${flags[@]}" --json 2>/dev/null)"
  fi
  python3 -c "$summary" "$label" "$n" "$before" "$(load)" <<<"$out" | tee -a "$results"
}

for n in "$rooms" 1; do
  for i in $(seq "$runs"); do
    echo "== run $i of $runs at $n room(s): llama-server -np $n, then peerlearn"
    run_one server "$n"
    for v in "${variants[@]}"; do
      run_one "ours${v:+ $v}" "$n" "$v"
    done
  done
done

echo "== medians of $runs runs (ours / llama-server)"
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = ["ttft_ms_p50", "ttft_ms_p95", "per_stream_tok_s_median", "aggregate_tok_s", "errors"]
labels = list(dict.fromkeys(r["label"] for r in rows))
for n in sorted({r["rooms"] for r in rows}, reverse=True):
    med = {}
    for label in labels:
        sel = [r for r in rows if r["rooms"] == n and r["label"] == label]
        med[label] = {k: statistics.median(r[k] for r in sel if r.get(k) is not None) for k in keys}
        loads = ", ".join(f'{r["load_before"]} -> {r["load_after"]}' for r in sel)
        print(f"{n} room(s) {label}: " + ", ".join(f"{k} {med[label][k]}" for k in keys) + f"  (load {loads})")
    for label in labels[1:]:
        ratio = {k: round(med[label][k] / med["server"][k], 2) for k in keys[:4] if med["server"][k]}
        print(f"{n} room(s) {label} / llama-server: " + ", ".join(f"{k} {v}x" for k, v in ratio.items()))
PY
