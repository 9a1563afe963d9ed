#!/usr/bin/env bash
# One device call: a screen of ClusterGAN training variants on MNIST-10k, 12 benchmark processes
# side by side on one GPU (one CPU thread each, for t-SNE), each variant as two processes of 2
# seeds (0-1 and 2-3). Usage: bash gpu_screen.sh <seconds per process>
set -u
LIMIT=${1:-450}
export PYTHONPATH=$PWD/src:$PWD/benchmarks PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p ../shared/data && cp .devdata/mnist_train10k.npz ../shared/data/
nvidia-smi -L; python3 -c "import torch, sklearn; print(torch.__version__, sklearn.__version__, torch.cuda.is_available())"
A=benchmarks/accuracy.py
run() {  # run NAME [--set ...]
  local name=$1; shift
  for first in 0 2; do
    timeout "$LIMIT" python3 $A --datasets mnist10k --methods clustergan --seeds 2 --first-seed $first \
      "$@" --out "gs-$name-$first" > "$OUT/log_gs-$name-$first.txt" 2>&1 &
  done
}
run default
run width48 --set clustergan.width=48
run epochs25 --set clustergan.max_epochs=25
run ema9995 --set clustergan.ema=0.9995
run cons2 --set clustergan.consistency=2
run lr5e-4 --set clustergan.learning_rate=0.0005
wait
cd benchmarks/results && tar czf "$OUT/results.tar.gz" gs-*.json gs-*.md
cat "$OUT"/log_*.txt | grep "seed"
