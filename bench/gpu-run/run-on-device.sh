#!/usr/bin/env bash
# The GPU run on the device machine (bench/gpu-run/README.md), from the repository root:
#   bash bench/gpu-run/run-on-device.sh stash   move the carried part(s) into the persistent stash, sha256-checked
#   bash bench/gpu-run/run-on-device.sh join    stash, then join every part, verify and unpack (no benchmark)
#   bash bench/gpu-run/run-on-device.sh export  start the RN50 exports (fp32, fp16) in the background: they
#                                               outlive the call (setsid) and run while the next parts travel
#   bash bench/gpu-run/run-on-device.sh run     join, wait for the exports, run the benchmark, write $OUT/gpu-run.json
# Several steps in one call run in order: `stash export`.
# Environment: GPU_RUN_PARTS (carried parts, default .cache/gpu-run/parts), GPU_RUN_HOME (stash and
# work folders that outlive one call, default /var/tmp/cris-gpu-run), OUT (where the JSON goes),
# GPU_RUN_PROVIDERS (default "cuda,webgpu,cpu"), DRY_RUN=1 (the CPU stand-in: nothing is written
# outside GPU_RUN_HOME, the repo's models/.venv python exports, the cpu-dry-run profile).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PARTS_IN="${GPU_RUN_PARTS:-$ROOT/.cache/gpu-run/parts}"
HOME_DIR="${GPU_RUN_HOME:-/var/tmp/cris-gpu-run}"
STASH="$HOME_DIR/parts"
WORK="$HOME_DIR/work"
BUNDLES="$HOME_DIR/bundles"
OUT="${OUT:-$HOME_DIR/out}"
PROVIDERS="${GPU_RUN_PROVIDERS:-cuda,webgpu,cpu}"
DRY_RUN="${DRY_RUN:-0}"
T0=$(date +%s)

say() { echo "[gpu-run $(( $(date +%s) - T0 ))s] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
mib() { echo $(( ($(stat -c %s "$1") + 524287) / 1048576 )); }

# Moves each carried part into the stash after checking it against parts.sha256. A new pack (a
# different parts.sha256) empties the stash first, so parts of two packs never mix.
stash() {
  mkdir -p "$STASH"
  if [ -f "$PARTS_IN/parts.sha256" ]; then
    if [ -f "$STASH/parts.sha256" ] && ! cmp -s "$PARTS_IN/parts.sha256" "$STASH/parts.sha256"; then
      say "a new pack: emptying the stash"
      rm -f "$STASH"/p[0-9][0-9] "$STASH"/*.sha256 "$STASH"/manifest.json
    fi
    cp "$PARTS_IN"/parts.sha256 "$PARTS_IN"/payload.sha256 "$STASH"/
    [ -f "$PARTS_IN/manifest.json" ] && cp "$PARTS_IN/manifest.json" "$STASH"/
  fi
  [ -f "$STASH/parts.sha256" ] || die "no parts.sha256 carried (carry .cache/gpu-run/parts/parts.sha256 and payload.sha256 in every call)"
  local part name
  for part in "$PARTS_IN"/p[0-9][0-9]; do
    [ -e "$part" ] || continue
    name=$(basename "$part")
    grep -q "  $name\$" "$STASH/parts.sha256" || die "$name is not in parts.sha256"
    (cd "$(dirname "$part")" && grep "  $name\$" "$STASH/parts.sha256" | sha256sum -c --quiet -) || die "$name: sha256 mismatch (re-send it)"
    mv -f "$part" "$STASH/$name"
    say "stashed $name ($(mib "$STASH/$name") MiB)"
  done
  local missing=()
  while read -r _ name; do [ -f "$STASH/$name" ] || missing+=("$name"); done < "$STASH/parts.sha256"
  say "stash has $(( $(wc -l < "$STASH/parts.sha256") - ${#missing[@]} ))/$(wc -l < "$STASH/parts.sha256") parts${missing:+; missing: ${missing[*]}}"
  MISSING=${#missing[@]}
}

# Joins the stashed parts into payload.tar, verifies it and unpacks node, app/ and the CUDA provider.
join_parts() {
  stash
  [ "$MISSING" -eq 0 ] || die "parts are missing; send them first (stash)"
  local payload_sha
  payload_sha=$(cut -d' ' -f1 "$STASH/payload.sha256")
  if [ -f "$WORK/.unpacked" ] && [ "$(cat "$WORK/.unpacked")" = "$payload_sha" ]; then
    say "payload $payload_sha already unpacked in $WORK"
    return
  fi
  (cd "$STASH" && sha256sum -c --quiet parts.sha256) || die "a stashed part is damaged"
  rm -rf "$WORK" && mkdir -p "$WORK/payload" "$WORK/bin"
  while read -r _ name; do cat "$STASH/$name"; done < "$STASH/parts.sha256" > "$WORK/payload.tar"
  (cd "$WORK" && sha256sum -c --quiet "$STASH/payload.sha256") || die "the joined payload does not match payload.sha256"
  say "joined $(wc -l < "$STASH/parts.sha256") parts: payload.tar $(mib "$WORK/payload.tar") MiB, sha256 ok"
  tar -xf "$WORK/payload.tar" -C "$WORK/payload" && rm "$WORK/payload.tar"
  if [ -f "$WORK/payload/node.xz" ]; then
    xz -dc "$WORK/payload/node.xz" > "$WORK/bin/node" && chmod +x "$WORK/bin/node"
    tar -xzf "$WORK/payload/runtime.tar.gz" -C "$WORK"
    local cuda_lib="$WORK/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so"
    if [ -f "$WORK/payload/providers_cuda.so.xz" ]; then xz -dc "$WORK/payload/providers_cuda.so.xz" > "$cuda_lib"; else mv "$WORK/payload/providers_cuda.so" "$cuda_lib"; fi
    rm -f "$WORK/payload"/*.xz "$WORK/payload"/*.gz
    say "unpacked: node $("$WORK/bin/node" --version), app/, the CUDA provider"
  fi
  echo "$payload_sha" > "$WORK/.unpacked"
}

# Folders of the CUDA 13 / cuDNN 9 libraries of the device's PyTorch (pip nvidia-* packages).
cuda_library_path() {
  "$PYTHON" - <<'PY'
import glob, os
dirs = set()
try:
    import nvidia
    for base in nvidia.__path__:
        for lib in glob.glob(os.path.join(base, "**", "lib*.so*"), recursive=True):
            dirs.add(os.path.dirname(lib))
except ImportError:
    pass
print(":".join(sorted(dirs)))
PY
}

write_env_json() {
  local gpu="" ldd_missing="$1"
  command -v nvidia-smi >/dev/null && gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)
  GPU="$gpu" LDD_MISSING="$ldd_missing" DRY="$DRY_RUN" "$PYTHON" - > "$WORK/env.json" <<'PY'
import json, os, platform, importlib.metadata as md
def version(name):
    try: return md.version(name)
    except md.PackageNotFoundError: return None
try:
    import torch
    torch_info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}
except Exception as error:
    torch_info = {"torch": None, "error": str(error)}
gpu = [f.strip() for f in os.environ["GPU"].split(",")] if os.environ["GPU"] else None
print(json.dumps({
    "dry_run": os.environ["DRY"] == "1",
    "gpu": {"name": gpu[0], "driver": gpu[1], "memory": gpu[2]} if gpu else None,
    "python": platform.python_version(), **torch_info,
    "pip": {n: version(n) for n in ["nvidia-cuda-runtime", "nvidia-cuda-runtime-cu13", "nvidia-cublas", "nvidia-cudnn-cu13", "onnx", "numpy"]},
    "kernel": platform.release(),
    "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
    "cuda_provider_ldd_not_found": [l for l in os.environ["LDD_MISSING"].split("\n") if l.strip()],
}))
PY
}

python_for_run() {
  if [ "$DRY_RUN" = 1 ]; then PYTHON="${PYTHON:-$ROOT/models/.venv/bin/python}"; else PYTHON="${PYTHON:-python3}"; fi
}

# The two RN50-shaped random bundles, exported by models/export with the device's python (torch is
# there), in a new session so they run on while later calls carry parts. Needs the merges file,
# carried beside the first part (vocab.txt.gz, checked against vocab.sha256).
start_exports() {
  python_for_run
  mkdir -p "$BUNDLES"
  if [ -f "$PARTS_IN/vocab.txt.gz" ]; then
    (cd "$PARTS_IN" && sha256sum -c --quiet vocab.sha256) || die "vocab.txt.gz: sha256 mismatch"
    cp "$PARTS_IN/vocab.txt.gz" "$BUNDLES/vocab.txt.gz"
  fi
  [ -f "$BUNDLES/vocab.txt.gz" ] || die "no merges file: carry .cache/gpu-run/parts/vocab.txt.gz and vocab.sha256"
  if [ -f "$BUNDLES/export.pid" ] && kill -0 "$(cat "$BUNDLES/export.pid")" 2>/dev/null; then say "exports already running"; return; fi
  ROOT="$ROOT" BUNDLES="$BUNDLES" PYTHON="$PYTHON" setsid bash -c '
    one() { name=$1; shift
      [ -f "$BUNDLES/$name/manifest.json" ] && return 0
      PYTHONPATH="$ROOT" "$PYTHON" "$ROOT/models/export/export_onnx.py" --random-init rn50 --vocab "$BUNDLES/vocab.txt.gz" \
        --out "$BUNDLES/$name" --id "$name" "$@" > "$BUNDLES/export-$name.log" 2>&1
    }
    one rn50-random-fp32 & a=$!; one rn50-random-fp16 --fp16 & b=$!
    wait $a; ra=$?; wait $b; rb=$?; echo "$ra $rb" > "$BUNDLES/export.status"' < /dev/null > "$BUNDLES/export.out" 2>&1 &
  echo $! > "$BUNDLES/export.pid"
  rm -f "$BUNDLES/export.status"
  say "RN50 exports (fp32, fp16) started in the background with $PYTHON"
}

wait_exports() {
  [ -f "$BUNDLES/rn50-random-fp32/manifest.json" ] && [ -f "$BUNDLES/rn50-random-fp16/manifest.json" ] && { say "RN50 bundles ready"; return; }
  if ! { [ -f "$BUNDLES/export.pid" ] && kill -0 "$(cat "$BUNDLES/export.pid")" 2>/dev/null; }; then start_exports; fi
  local waited=0
  while kill -0 "$(cat "$BUNDLES/export.pid")" 2>/dev/null; do
    sleep 2; waited=$((waited + 2))
    [ $((waited % 30)) -eq 0 ] && say "waiting for the RN50 exports (${waited}s): $(tail -c 200 "$BUNDLES"/export-rn50-random-fp16.log 2>/dev/null | tail -1 | cut -c1-100)"
  done
  for name in rn50-random-fp32 rn50-random-fp16; do
    [ -f "$BUNDLES/$name/manifest.json" ] || { tail -20 "$BUNDLES/export-$name.log" >&2; die "export of $name failed"; }
    say "bundle $name: $(tail -1 "$BUNDLES/export-$name.log" | cut -c1-140)"
  done
}

run_bench() {
  join_parts
  local node="$WORK/bin/node" ortbin="$WORK/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  python_for_run
  if [ "$DRY_RUN" = 1 ]; then
    PROFILE=cpu-dry-run; LABEL="cpu-dry-run"
    mkdir -p "$WORK/gl-root"; for f in "$WORK"/app/debs/*.deb; do dpkg -x "$f" "$WORK/gl-root"; done
    say "DRY RUN: loaders unpacked into $WORK/gl-root only (on the device they go to /)"
  else
    PROFILE=gpu; LABEL="gpu-run"
    for f in "$WORK"/app/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
      export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
      export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    fi
    say "Vulkan/EGL loaders installed ($(ldconfig -p | grep -c libvulkan) libvulkan entries)"
  fi
  local cuda_libs; cuda_libs=$(cuda_library_path)
  export LD_LIBRARY_PATH="${cuda_libs:+$cuda_libs:}$ortbin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local missing; missing=$(ldd "$ortbin/libonnxruntime_providers_cuda.so" 2>&1 | grep 'not found' || true)
  say "CUDA library folders: ${cuda_libs:-none}; provider libraries not found: ${missing:-none}"
  write_env_json "$missing"

  wait_exports

  mkdir -p "$OUT"
  say "benchmark (node $("$node" --version) from the parts, providers $PROVIDERS, profile $PROFILE)"
  "$node" "$WORK/app/bench/device-bench.mjs" --out "$OUT/gpu-run.json" --env "$WORK/env.json" \
    --main "$WORK/app/service/main.mjs" --shipped "$ROOT/models/cris-shapes-s" --providers "$PROVIDERS" \
    --bundle "rn50-fp32=$BUNDLES/rn50-random-fp32" --bundle "rn50-fp16=$BUNDLES/rn50-random-fp16" \
    --profile "$PROFILE" --label "$LABEL"
  say "done: $OUT/gpu-run.json ($(stat -c %s "$OUT/gpu-run.json") bytes)"
}

[ $# -gt 0 ] || { echo "usage: $0 stash|export|join|run..." >&2; exit 2; }
for step in "$@"; do
  case "$step" in
    stash) stash ;;
    export) start_exports ;;
    join) join_parts ;;
    run) run_bench ;;
    *) echo "usage: $0 stash|export|join|run..." >&2; exit 2 ;;
  esac
done
