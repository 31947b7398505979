#!/usr/bin/python3
"""PyTorch baseline for bench/train_throughput: the same models, data and
batch sizes, one thread. Prints one line per (model, batch):

    pytorch <model> <batch> <samples_per_second> <final_loss>

Run by train_throughput itself (same invocation); needs Debian's
python3-torch, with libopenblas0-pthread installed so torch's BLAS is
OpenBLAS rather than the reference BLAS.
"""
import sys

from single_thread import OneCore  # before numpy and torch: it sets BLAS to one thread

import numpy as np
import torch
import torch.nn as nn

from fmnist_idx import idx_file, read_idx


def make_model(name):
    if name == "mlp:784-200-200-10":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200),
                             nn.ReLU(), nn.Linear(200, 10))
    if name == "cnn:lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    raise ValueError(name)


def main():
    data_dir, samples = sys.argv[1], int(sys.argv[2])
    runs = [arg.rsplit("@", 1) for arg in sys.argv[3:]]  # model@batch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    images = read_idx(idx_file(data_dir, "train-images-idx3-ubyte"))
    labels = read_idx(idx_file(data_dir, "train-labels-idx1-ubyte"))
    x_all = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y_all = torch.from_numpy(labels.astype(np.int64))
    for model_name, batch_text in runs:
        batch = int(batch_text)
        model = make_model(model_name)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        perm = torch.randperm(x_all.shape[0])

        def step(i):
            idx = perm[(i * batch) % (x_all.shape[0] - batch):][:batch]
            xb, yb = x_all[idx], y_all[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            return loss

        for i in range(20):  # warm-up
            step(i)
        steps = max(1, samples // batch)
        with OneCore() as timed:
            for i in range(steps):
                loss = step(i)
        print(f"pytorch {model_name} {batch} {steps * batch / timed.seconds:.1f} "
              f"{loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
