#!/usr/bin/env bash
# One short training run on a lent GPU machine: three model sizes trained side by side on one GPU
# from a packed dataset (models/train/pack.py), each for MINUTES of wall clock, then the CUDA
# latency bench. Weights come back without the optimiser state (each file under 16 MiB), with
# the run's log.jsonl inside, for export here with models/train/export_shapes.py.
#
#   bash models/train/device_train.sh PACK.npz VAL_FOLDER OUT_FOLDER MINUTES
set -u
pack=$1 val=$2 out=$3 minutes=$4
mkdir -p "$out" /tmp/runs
common=(--data "$pack" --val "$val" --minutes "$minutes" --val-min 1.5 --ckpt-min 2 --val-limit 300
        --threads 4 --log-every 100 --size 160 --word-len 17 --batch 128 --device "${DEVICE:-cuda}")
train() {
  local name=$1; shift
  python3 -m models.train.train_shapes "${common[@]}" --out "/tmp/runs/$name" "$@" >"$out/$name.log" 2>&1 &
}
train A --vision-width 16 --embed-dim 64 --text-width 64 --fpn-out 32,64,64 --dim-ffn 128 --lr 3e-3
train E --vision-width 16 --embed-dim 128 --text-width 128 --fpn-out 64,128,128 --dim-ffn 256 --lr 2e-3
train F --vision-width 24 --embed-dim 64 --text-width 64 --fpn-out 32,64,64 --dim-ffn 128 --lr 2e-3
wait
for name in A E F; do
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
timeout 90 python3 -m models.bench.bench_cuda --repeats 20 | tee "$out/bench_cuda.txt"
