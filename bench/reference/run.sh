#!/usr/bin/env bash
# ex2 vs PyTorch on the same images, batch size and thread count, and ex2's
# SVM fits vs libsvm's (scikit-learn's SVC) on the same images, runs
# alternated so that machine noise hits both alike. Prints medians and ratios.
#
#   bench/reference/run.sh [rounds]          (default 3 rounds)
#
# Installs PyTorch (CPU use; PyPI's Linux wheel pulls CUDA packages too,
# a few GB) into a venv it creates, $EX2_TORCH_VENV or ~/.cache/ex2-torch-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
threads="${THREADS:-2}"
venv="${EX2_TORCH_VENV:-$HOME/.cache/ex2-torch-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, sklearn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy scikit-learn
fi
cargo build --release -q
ex2="${CARGO_TARGET_DIR:-target}/release/ex2"
"$ex2" --profile quick data fetch >/dev/null

out=$(mktemp -d)
for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  RAYON_NUM_THREADS="$threads" "$ex2" --profile quick bench --repeats 3 --csv "$out/ex2-$r.csv" >/dev/null
  "$venv/bin/python" bench/reference/torch_reference.py --threads "$threads" --repeats 3 >>"$out/torch.csv"
  "$venv/bin/python" bench/reference/torch_reference.py --threads "$threads" --repeats 3 --flush-denormal >>"$out/torch.csv"
  # libsvm is single-threaded, as each of ex2's binary SVM fits is.
  OMP_NUM_THREADS=1 "$venv/bin/python" bench/reference/libsvm_reference.py --repeats 3 >>"$out/libsvm.csv"
done

python3 - "$out" <<'PY'
import csv, glob, statistics, sys
out = sys.argv[1]
ex2, names = {}, {}
for f in glob.glob(f"{out}/ex2-*.csv"):
    for row in csv.DictReader(open(f)):
        # `kind` names what is measured; `measurement` says it in words.
        ex2.setdefault(row["kind"], []).append(float(row["median"]))
        names[row["kind"]] = row["measurement"]
torch = {}
for line in open(f"{out}/torch.csv"):
    name, median, *_ = line.strip().split(",")
    torch.setdefault(name, []).append(float(median))
libsvm = {}
for line in open(f"{out}/libsvm.csv"):
    name, median, *_ = line.strip().split(",")
    libsvm.setdefault(name, []).append(float(median))
med = lambda xs: statistics.median(xs)
print(f"{'measurement':<56} {'median':>10}")
for k, v in sorted(ex2.items()):
    print(f"ex2 {names[k]:<52} {med(v):>10.2f}")
for k, v in sorted(torch.items()):
    print(f"{k:<56} {med(v):>10.0f} images/s")
for k, v in sorted(libsvm.items()):
    print(f"{k:<56} {med(v):>10.2f} s")
pairs = [("conv-ae-training", "pytorch conv AE training"),
         ("classifier-training", "pytorch classifier training")]
for e, t in pairs:
    if e in ex2 and t in torch:
        print(f"ratio ex2 / PyTorch, {t[8:]}: {med(ex2[e]) / med(torch[t]):.2f}")
    if e in ex2 and t + " (flush denormal)" in torch:
        print(f"ratio ex2 / PyTorch (flush denormal), {t[8:]}: {med(ex2[e]) / med(torch[t + ' (flush denormal)']):.2f}")
for e, t in [("linear-svm-fit", "libsvm linear SVM fit"), ("poly-svm-fit", "libsvm polynomial SVM fit")]:
    if e in ex2 and t in libsvm:
        print(f"ratio ex2 / libsvm fit seconds, {t[7:]}: {med(ex2[e]) / med(libsvm[t]):.2f}")
for k in sorted(ex2):
    if k.startswith("concurrent-") and "pytorch conv AE training" in torch:
        print(f"ratio ex2 ({names[k][2:]}) / PyTorch (one job), conv AE: "
              f"{med(ex2[k]) / med(torch['pytorch conv AE training']):.2f}")
PY
