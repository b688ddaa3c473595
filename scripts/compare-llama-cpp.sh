#!/usr/bin/env bash
# Measure llama.cpp's own tools beside our engine, on this machine, in one window: the issue's
# speed anchors (llama-bench pp512/tg128 and llama-server -np 8 under the bench workload) were
# measured elsewhere, and what a target means depends on the machine's speed today.
#
#   scripts/compare-llama-cpp.sh [ROOMS] [TURNS] [MAX_TOKENS] [THREADS]   (default 8 20 48 2)
#
# llama-bench and llama-server are built once (about 12 minutes on 2 cores) from the llama.cpp
# sources vendored in the llama-cpp-python sdist on PyPI (the crates do not ship llama.cpp's
# tools), Release, GGML_NATIVE, into ~/.cache/peerlearn/llama.cpp. Run it on a quiet machine:
# every figure here moves by 2x when anything else uses the cores.
set -euo pipefail
cd "$(dirname "$0")/.."

rooms="${1:-8}" turns="${2:-20}" max_tokens="${3:-48}" threads="${4:-2}"
sdist_version="0.3.36"
sdist_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
cache="${PEERLEARN_CACHE:-$HOME/.cache/peerlearn}/llama.cpp"
model="${PEERLEARN_MODEL:-models/default.gguf}"
port="${PEERLEARN_COMPARE_PORT:-18080}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerlearn/target}"

scripts/fetch-model.sh "$model"
bin="$cache/build/bin"
if [ ! -x "$bin/llama-server" ] || [ ! -x "$bin/llama-bench" ]; then
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
cargo build --release -p peerlearn >&2
peerlearn="$CARGO_TARGET_DIR/release/peerlearn"
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== llama-bench, $threads threads (load $(load))"
"$bin/llama-bench" -m "$model" -t "$threads" -p 512 -n 128 -r 5 2>/dev/null | grep -E '^\| (model|llama)'
"$bin/llama-bench" -m "$model" -t "$threads" -p 24 -n 48 -d 0,512,1024 -r 3 2>/dev/null | grep -E '^\| llama'

summary='import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d.get(k) for k in ["replies","errors","ttft_ms_p50","ttft_ms_p95","per_stream_tok_s_median","aggregate_tok_s","prompt_tokens_per_turn_mean","cached_tokens_per_turn_mean","wall_s"]}))'

echo "== llama-server -np $rooms, bench --rooms $rooms --turns $turns --max-tokens $max_tokens (load $(load))"
"$bin/llama-server" -m "$model" -np "$rooms" -c $((rooms * 2048)) -t "$threads" \
  --host 127.0.0.1 --port "$port" >"$cache/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:$port/health" 2>/dev/null && break
  sleep 1
done
"$peerlearn" bench engine --rooms "$rooms" --turns "$turns" --max-tokens "$max_tokens" \
  --llm-url "http://127.0.0.1:$port" --json 2>/dev/null | python3 -c "$summary"
kill $server; wait $server 2>/dev/null || true

echo "== peerlearn embedded, same workload, $threads threads (load $(load))"
"$peerlearn" bench engine --rooms "$rooms" --turns "$turns" --max-tokens "$max_tokens" \
  --threads "$threads" --json 2>/dev/null | python3 -c "$summary"
echo "(load $(load))"
