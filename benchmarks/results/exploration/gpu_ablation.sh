#!/usr/bin/env bash
# One device call: a CUDA smoke test, then several 5-seed MNIST-10k benchmarks side by side on one GPU
# (each process a few CPU threads for t-SNE). Usage: bash gpu_ablation.sh <seconds per process>
set -u
LIMIT=${1:-420}
export PYTHONPATH=$PWD/src:$PWD/benchmarks PYTHONUNBUFFERED=1 OMP_NUM_THREADS=3 MKL_NUM_THREADS=3
mkdir -p ../shared/data && cp .devdata/mnist_train10k.npz ../shared/data/
nvidia-smi -L; python3 -c "import torch, sklearn; print(torch.__version__, sklearn.__version__, torch.cuda.is_available())"
python3 - <<'PY' || exit 1
from sklearn.datasets import load_digits
from ganclust import ClusterGAN, InfoGAN, CatGAN
X = load_digits().images
for cls in (ClusterGAN, InfoGAN, CatGAN):
    m = cls(10, max_epochs=2, random_state=0).fit(X)
    print(cls.__name__, "smoke ok on", next(m.nets_.parameters()).device, m.predict(X[:5]), m.sample(3, cluster=1)[0].shape)
PY
A=benchmarks/accuracy.py
run() { timeout "$LIMIT" python3 $A --datasets mnist10k --seeds 5 "$@" > "$OUT/log_${!#}.txt" 2>&1 & }
run --methods realness kmeans --out gpu-realness
run --methods clustergan --out gpu-cg-default
run --methods clustergan --set clustergan.refine=2 --out gpu-cg-refine2
run --methods clustergan --set clustergan.max_epochs=30 --out gpu-cg-epochs30
run --methods clustergan --set clustergan.refine=2 clustergan.max_epochs=30 --out gpu-cg-both
wait
cd benchmarks/results && tar czf "$OUT/results.tar.gz" gpu-*.json gpu-*.md
tail -n 3 "$OUT"/log_*.txt
