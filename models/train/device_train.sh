#!/usr/bin/env bash
# One short training run on a lent GPU machine, from a packed dataset (models/train/pack.py), for
# MINUTES of wall clock: the shipped configuration (vision width 24, 3.85 M parameters), alone on
# the GPU at batch 256 (on an H100 that is about 4800 samples/s; three runs side by side at batch
# 128 got about 1870 each). With INIT, it goes on from that checkpoint's weights (float16 is enough)
# on a new schedule at a lower peak learning rate; LR=... sets the peak either way. The weights
# come back without the optimiser state (under 16 MiB), with the run's log.jsonl inside, for
# export here with models/train/export_shapes.py.
#
# referring-shapes v2 (models/train/README.md, "v2"): PRESENCE=1 trains the presence head too (added
# to an INIT that has none, e.g. the checkpoint recover_onnx.py rebuilt from the shipped bundle), and
# VAL_FOLDER may name several folders in one word list ("data/shapes/val-s2002 data/shapes/val-v2-s2602").
#
#   [LR=...] [PRESENCE=1] bash models/train/device_train.sh PACK.npz VAL_FOLDER(S) OUT_FOLDER MINUTES [INIT.pt]
set -u
pack=$1 val=$2 out=$3 minutes=$4 init=${5:-}
mkdir -p "$out" /tmp/runs
start=(--lr "${LR:-2e-3}"); [ -n "$init" ] && start=(--init "$init" --lr "${LR:-1.5e-3}")
[ -n "${PRESENCE:-}" ] && start+=(--presence)
read -r -a vals <<< "$val"
python3 -m models.train.train_shapes --data "$pack" --val "${vals[@]}" --minutes "$minutes" --val-min 2 --ckpt-min 2 \
  --val-limit 300 --threads 8 --log-every 250 --size 160 --word-len 17 --batch 256 --device "${DEVICE:-cuda}" \
  --vision-width 24 --embed-dim 64 --text-width 64 --fpn-out 32,64,64 --dim-ffn 128 "${start[@]}" \
  --out /tmp/runs/run >"$out/run.log" 2>&1
python3 - "$out" <<'EOF'
import sys, torch
out = sys.argv[1]
ckpt = torch.load("/tmp/runs/run/last.pt", map_location="cpu", weights_only=False)
ckpt["optimizer"] = None
ckpt["model"] = {k: v.cpu() for k, v in ckpt["model"].items()}
ckpt["log"] = open("/tmp/runs/run/log.jsonl", encoding="utf-8").read()
torch.save(ckpt, f"{out}/run.pt")
EOF
grep '"val"' /tmp/runs/run/log.jsonl | tail -1 | cut -c1-160
grep '"val2"' /tmp/runs/run/log.jsonl | tail -1 | cut -c1-400
