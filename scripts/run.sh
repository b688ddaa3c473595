#!/usr/bin/env bash
# The one run command: installs the build tools llama.cpp needs if they are missing, fetches
# the default model on first use, builds, and starts the server. Extra arguments go to
# `peerlearn serve` (e.g. --listen 0.0.0.0:8080, --model PATH, --database-url URL).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for p in cmake clang libclang-dev python3-pip; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing build tools: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Only the default model is fetched; a --model or --llm-url of your own is used as given.
if [[ " $* " != *" --model "* && " $* " != *" --llm-url "* && -z "${PEERLEARN_MODEL:-}${PEERLEARN_LLM_URL:-}" ]]; then
  scripts/fetch-model.sh models/default.gguf
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerlearn/target}"
cargo build --release --locked -p peerlearn
exec "$CARGO_TARGET_DIR/release/peerlearn" serve "$@"
