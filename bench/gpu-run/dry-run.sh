#!/usr/bin/env bash
# The GPU run's full dry run on this CPU machine (`npm run gpu:dry-run`, after `npm run gpu:pack`):
# a scratch folder stands in for the device. The tracked tree is copied there as the device tool
# would, each part arrives alone in its own "call" and is stashed, then `run` joins, verifies and
# unpacks them and runs everything with DRY_RUN=1: node from the parts (a `node` on PATH that
# fails proves the system one is not used), the RN50 exports, the service with each provider, the
# benchmark, the JSON. Needs its own network namespace: `netns-run npm run gpu:dry-run`.
# Writes bench/results/gpu-run-cpu-dry-run.json. SCRATCH (default .cache/gpu-run/dry) is kept, so
# a second dry run reuses its exported bundles.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRATCH="${SCRATCH:-$ROOT/.cache/gpu-run/dry}"
PARTS="$ROOT/.cache/gpu-run/parts"
T0=$(date +%s)
say() { echo "[dry-run $(( $(date +%s) - T0 ))s] $*" >&2; }
[ -f "$PARTS/parts.sha256" ] || { echo "no parts: run npm run gpu:pack first" >&2; exit 1; }

rm -rf "$SCRATCH/repo" "$SCRATCH/out" "$SCRATCH/home/parts" "$SCRATCH/home/work"
mkdir -p "$SCRATCH/repo" "$SCRATCH/out" "$SCRATCH/bin"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$SCRATCH/repo/")
printf '#!/bin/sh\necho "dry run: the system node was called ($0 $*); the run must use the node from the parts" >&2\nexit 97\n' > "$SCRATCH/bin/node"
chmod +x "$SCRATCH/bin/node"
say "scratch repo: $(du -sm "$SCRATCH/repo" | cut -f1) MiB tracked tree"

export GPU_RUN_HOME="$SCRATCH/home" OUT="$SCRATCH/out" PATH="$SCRATCH/bin:$PATH" PYTHON="$ROOT/models/.venv/bin/python"
carried="$SCRATCH/repo/.cache/gpu-run/parts"
steps="stash export"   # the first call also starts the RN50 exports (they run on between calls)
for part in "$PARTS"/p[0-9][0-9]; do
  rm -rf "$carried" && mkdir -p "$carried"   # one device call: only this part and the sha256 files travel
  cp "$part" "$PARTS"/parts.sha256 "$PARTS"/payload.sha256 "$carried"/
  [ "$steps" = "stash" ] || cp "$PARTS"/vocab.txt.gz "$PARTS"/vocab.sha256 "$carried"/
  say "call: $steps $(basename "$part")"
  DRY_RUN=1 bash "$SCRATCH/repo/bench/gpu-run/run-on-device.sh" $steps
  steps="stash"
done
rm -rf "$carried" && mkdir -p "$carried" && cp "$PARTS"/parts.sha256 "$PARTS"/payload.sha256 "$carried"/
say "call: run (DRY_RUN=1)"
DRY_RUN=1 bash "$SCRATCH/repo/bench/gpu-run/run-on-device.sh" run
mkdir -p "$ROOT/bench/results"
cp "$OUT/gpu-run.json" "$ROOT/bench/results/gpu-run-cpu-dry-run.json"
say "dry run complete: bench/results/gpu-run-cpu-dry-run.json"
