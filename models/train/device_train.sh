#!/usr/bin/env bash
# One short training run on a lent GPU machine: three runs side by side on one GPU from a packed
# dataset (models/train/pack.py), each for MINUTES of wall clock. With INIT (a checkpoint of the
# shipped configuration), runs A and B go on from its weights on a new schedule (batch 128 and 256);
# run F trains the wider vision stem from scratch. Weights come back without the optimiser state
# (each file under 16 MiB), with the run's log.jsonl inside, for export here with
# models/train/export_shapes.py.
#
#   bash models/train/device_train.sh PACK.npz VAL_FOLDER OUT_FOLDER MINUTES [INIT.pt]
set -u
pack=$1 val=$2 out=$3 minutes=$4 init=${5:-}
mkdir -p "$out" /tmp/runs
common=(--data "$pack" --val "$val" --minutes "$minutes" --val-min 2 --ckpt-min 2 --val-limit 300
        --threads 4 --log-every 100 --size 160 --word-len 17 --device "${DEVICE:-cuda}")
shipped=(--vision-width 16 --embed-dim 64 --text-width 64 --fpn-out 32,64,64 --dim-ffn 128)
start=(); [ -n "$init" ] && start=(--init "$init")
train() {
  local name=$1; shift
  python3 -m models.train.train_shapes "${common[@]}" --out "/tmp/runs/$name" "$@" >"$out/$name.log" 2>&1 &
}
train A "${shipped[@]}" "${start[@]}" --batch 128 --lr 2e-3
train B "${shipped[@]}" "${start[@]}" --batch 256 --lr 3e-3
train F --vision-width 24 --embed-dim 64 --text-width 64 --fpn-out 32,64,64 --dim-ffn 128 --batch 128 --lr 2e-3
wait
for name in A B F; do
  python3 - "$name" "$out" <<'EOF'
import sys, torch
name, out = sys.argv[1], sys.argv[2]
ckpt = torch.load(f"/tmp/runs/{name}/last.pt", map_location="cpu", weights_only=False)
ckpt["optimizer"] = None
ckpt["model"] = {k: v.cpu() for k, v in ckpt["model"].items()}
ckpt["log"] = open(f"/tmp/runs/{name}/log.jsonl", encoding="utf-8").read()
torch.save(ckpt, f"{out}/{name}.pt")
EOF
  grep '"val"' "/tmp/runs/$name/log.jsonl" | tail -1 | cut -c1-160
done
