#!/usr/bin/env python3
"""libsvm (through scikit-learn's SVC) on the SVM fits `ex2 bench` times.

The same data as the baselines chapter's raw-pixel SVMs: the first
`--train-size` training images and the first `--test-size` test images,
pixels / 255, scaled by the training rows' root-mean-square norm
(`unit_scale` in src/ml/baselines.rs); the same models: one binary SVM per
class against the rest (OneVsRestClassifier), the linear kernel with C =
`--svm-c`, the polynomial kernel (x·y + 1)^degree with C = `--poly-c`;
libsvm's stopping tolerance `--tol`. Prints one CSV line per model:
name,median,min,max (fit seconds, the ten binary fits), and the accuracy
on stderr.

Reads MNIST from the IDX files ex2 uses (raw or .gz).
"""

import argparse
import statistics
import sys
import time

import numpy as np
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from torch_reference import read_images, read_labels


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="data/mnist")
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--test-size", type=int, default=10000)
    p.add_argument("--svm-c", type=float, default=1.0)
    p.add_argument("--poly-c", type=float, default=10.0)
    p.add_argument("--degree", type=int, default=3)
    p.add_argument("--tol", type=float, default=1e-3, help="libsvm's default")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()

    flat = lambda x: x.reshape(len(x), -1).astype(np.float64) / 255.0
    x = flat(read_images(a.data_dir, "train-images-idx3-ubyte")[: a.train_size])
    y = read_labels(a.data_dir, "train-labels-idx1-ubyte")[: a.train_size]
    t = flat(read_images(a.data_dir, "t10k-images-idx3-ubyte")[: a.test_size])
    ty = read_labels(a.data_dir, "t10k-labels-idx1-ubyte")[: a.test_size]
    k = 1.0 / np.sqrt((x * x).sum(axis=1).mean())
    x, t = x * k, t * k

    for name, svc in [
        ("linear", lambda: SVC(kernel="linear", C=a.svm_c, tol=a.tol)),
        ("polynomial", lambda: SVC(kernel="poly", degree=a.degree, gamma=1.0, coef0=1.0, C=a.poly_c, tol=a.tol)),
    ]:
        seconds = []
        for _ in range(a.repeats):
            model = OneVsRestClassifier(svc())
            started = time.perf_counter()
            model.fit(x, y)
            seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        accuracy = (model.predict(t) == ty).mean()
        print(
            f"libsvm {name} SVM: {seconds[-1]:.2f} s fit, {time.perf_counter() - started:.2f} s predicting "
            f"{len(t)} test images, accuracy {accuracy * 100:.2f} %",
            file=sys.stderr,
        )
        print(f"libsvm {name} SVM fit,{statistics.median(seconds):.3f},{min(seconds):.3f},{max(seconds):.3f}")


if __name__ == "__main__":
    main()
