#!/usr/bin/env python3
"""PyTorch twins of ex2's conv autoencoder and classifier.

Default mode: timed the way `ex2 bench` times them: one epoch over the same
first N training images, Adam, the book's batch size, a fixed thread count,
medians over repeats. Prints one CSV line per measurement:
name,median,min,max (images/s).

`--recipe`: trains the book's conv AE recipe instead (the profile's first
N training images, full shuffled batches, Adam with the book's ε, the output
bias at the logit of the mean intensity, `--warmup-epochs` of MSE then mean
L1) for each d and seed, and prints d,seed,epoch,loss,test_l1 per
epoch: the peer that ex2's test L1 per d is compared with.

Reads MNIST from the IDX files ex2 uses (raw or .gz).
"""

import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(data_dir, name, header):
    """The bytes after the header of an IDX file, raw or gzipped."""
    for path in (os.path.join(data_dir, name), os.path.join(data_dir, name + ".gz")):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                return f.read()[header:]
    raise SystemExit(f"{name} not found in {data_dir} (run `ex2 data fetch`)")


def read_images(data_dir, name):
    return np.frombuffer(read_idx(data_dir, name, 16), dtype=np.uint8).reshape(-1, 1, 28, 28)


def read_labels(data_dir, name):
    return np.frombuffer(read_idx(data_dir, name, 8), dtype=np.uint8).astype(np.int64)


class Encoder(nn.Module):
    """src/nn/conv_ae.rs: two 3×3 stride-2 convolutions, then a linear layer to d."""

    def __init__(self, d, c1=32, c2=64):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.fc = nn.Linear(c2 * 7 * 7, d)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


class Decoder(nn.Module):
    def __init__(self, d, c1=32, c2=64):
        super().__init__()
        self.c2 = c2
        self.fc = nn.Linear(d, c2 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1)
        self.deconv2 = nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1)

    def forward(self, z):
        x = F.relu(self.fc(z)).view(-1, self.c2, 7, 7)
        x = F.relu(self.deconv1(x))
        return torch.sigmoid(self.deconv2(x))


class Autoencoder(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.encoder = Encoder(d)
        self.decoder = Decoder(d)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Classifier(nn.Module):
    """src/nn/classifier.rs: the encoder, then hidden(k) + PReLU + 10 outputs."""

    def __init__(self, d, k):
        super().__init__()
        self.encoder = Encoder(d)
        self.hidden = nn.Linear(d, k)
        self.act = nn.PReLU()
        self.out = nn.Linear(k, 10)

    def forward(self, x):
        return self.out(self.act(self.hidden(self.encoder(x))))


def epoch_seconds(model, images, labels, batch, seed):
    """One shuffled epoch of full batches; returns training seconds."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(images))
    started = time.perf_counter()
    for i in range(len(images) // batch):
        idx = order[i * batch : (i + 1) * batch]
        x = images[idx]
        if labels is None:
            loss = (model(x) - x).abs().mean()
        else:
            loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # read back every batch, as ex2 does
    return time.perf_counter() - started


def recipe(a, images, test):
    """The book AE's training, per d and seed; test L1 on the clean test images."""
    print("d,seed,epoch,loss,test_l1", flush=True)
    for d in a.dims:
        for seed in a.seeds:
            torch.manual_seed(seed)
            model = Autoencoder(d)
            if a.output_bias_at_mean:
                # As ex2's `output-bias-at-mean`: the output starts at the data's mean intensity.
                m = images.mean().clamp(1e-3, 1 - 1e-3)
                with torch.no_grad():
                    model.decoder.deconv2.bias.fill_(torch.log(m / (1 - m)).item())
            opt = torch.optim.Adam(model.parameters(), lr=a.lr, eps=a.adam_eps)
            for epoch in range(1, a.epochs + 1):
                mse = epoch <= a.warmup_epochs
                order = torch.randperm(len(images))
                for i in range(len(images) // a.batch_size):
                    x = images[order[i * a.batch_size : (i + 1) * a.batch_size]]
                    diff = model(x) - x
                    loss = diff.pow(2).mean() if mse else diff.abs().mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                with torch.no_grad():
                    l1 = sum((model(t) - t).abs().sum().item() for t in test.split(1000)) / test.numel()
                print(f"{d},{seed},{epoch},{'mse' if mse else 'l1'},{l1:.5f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default="data/mnist")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--latent-dim", type=int, default=12)
    p.add_argument("--hidden-dim", type=int, default=64)
    p.add_argument("--flush-denormal", action="store_true")
    p.add_argument("--recipe", action="store_true", help="train the book AE recipe, print test L1")
    p.add_argument("--train-size", type=int, default=20000)
    p.add_argument("--test-size", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--warmup-epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--adam-eps", type=float, default=1e-8, help="the book's adam-epsilon (burn's default: 1e-5)")
    p.add_argument("--no-output-bias-at-mean", dest="output_bias_at_mean", action="store_false",
                   help="keep PyTorch's random output bias (the book's output-bias-at-mean = false)")
    p.add_argument("--dims", type=int, nargs="+", default=[2, 5, 12])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    if a.flush_denormal:
        torch.set_flush_denormal(True)
    n = a.batches * a.batch_size
    images = torch.from_numpy(read_images(a.data_dir, "train-images-idx3-ubyte")[:n].astype(np.float32) / 255.0)
    labels = torch.from_numpy(read_labels(a.data_dir, "train-labels-idx1-ubyte")[:n])

    if a.recipe:
        train = read_images(a.data_dir, "train-images-idx3-ubyte")[: a.train_size]
        test = read_images(a.data_dir, "t10k-images-idx3-ubyte")[: a.test_size]
        to_float = lambda u8: torch.from_numpy(u8.astype(np.float32) / 255.0)
        recipe(a, to_float(train), to_float(test))
        return

    suffix = " (flush denormal)" if a.flush_denormal else ""
    for name, make, lab in [
        ("conv AE training", lambda: Autoencoder(a.latent_dim), None),
        ("classifier training", lambda: Classifier(a.latent_dim, a.hidden_dim), labels),
    ]:
        epoch_seconds(make(), images, lab, a.batch_size, 0)  # warm-up
        rates = [n / epoch_seconds(make(), images, lab, a.batch_size, s) for s in range(1, a.repeats + 1)]
        print(f"pytorch {name}{suffix},{statistics.median(rates):.1f},{min(rates):.1f},{max(rates):.1f}")


if __name__ == "__main__":
    main()
