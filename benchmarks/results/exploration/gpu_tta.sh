#!/usr/bin/env bash
# One short device call: InfoGAN and CatGAN on MNIST-10k, seeds 0-2, one process per fit side by
# side on one GPU (2 CPU threads each), each fit read with and without the shifted views.
# Usage: bash gpu_tta.sh <seconds per process>
set -u
LIMIT=${1:-270}
export PYTHONPATH=$PWD/src:$PWD/benchmarks PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
mkdir -p ../shared/data && cp .devdata/mnist_train10k.npz ../shared/data/
nvidia-smi -L
for method in infogan catgan; do
  for seed in 0 1 2; do
    timeout "$LIMIT" python3 benchmarks/accuracy.py --datasets mnist10k --methods $method --seeds 1 \
      --first-seed $seed --out "gt-$method-$seed" > "/tmp/log_gt-$method-$seed.txt" 2>&1 &
  done
done
wait
cat /tmp/log_gt-*.txt > "$OUT/logs.txt"
cd benchmarks/results && tar czf "$OUT/results.tar.gz" gt-*.json gt-*.md
grep -h "seed" "$OUT/logs.txt"
