#!/usr/bin/python3
"""PyTorch baseline for bench/fmnist_noniid: a plain FedAvg simulation of the
same setting (clients trained one after another, one thread), run for a few
rounds and timed. Prints

    pytorch_fedavg rounds <r> seconds <s> seconds_per_round <s/r> test_acc <a>

The client split is the same Dirichlet(alpha) partition edgefl made, read
from the partition file given on the command line, so both train on the same
client data.
"""
import sys

from single_thread import OneCore  # before numpy and torch: it sets BLAS to one thread

import numpy as np
import torch
import torch.nn as nn

from fmnist_idx import idx_file, read_idx


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def read_partition(path):
    clients = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == "client":
                clients.append(np.array([int(x) for x in parts[4:]], dtype=np.int64))
    return clients


def main():
    data_dir, partition_path, rounds, epochs, batch, lr, momentum = sys.argv[1:8]
    rounds, epochs, batch = int(rounds), int(epochs), int(batch)
    lr, momentum = float(lr), float(momentum)
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(idx_file(data_dir, "train-images-idx3-ubyte")).astype(np.float32)
                         / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(read_idx(idx_file(data_dir, "train-labels-idx1-ubyte")).astype(np.int64))
    xt = torch.from_numpy(read_idx(idx_file(data_dir, "t10k-images-idx3-ubyte")).astype(np.float32)
                          / 255.0).reshape(-1, 1, 28, 28)
    yt = torch.from_numpy(read_idx(idx_file(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64))
    clients = read_partition(partition_path)
    global_model = lenet()
    loss_fn = nn.CrossEntropyLoss()
    with OneCore() as timed:
        for _ in range(rounds):
            states, weights = [], []
            for idx in clients:
                model = lenet()
                model.load_state_dict(global_model.state_dict())
                opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
                xc, yc = x[idx], y[idx]
                for _ in range(epochs):
                    perm = torch.randperm(len(idx))
                    for i in range(0, len(idx), batch):
                        b = perm[i:i + batch]
                        opt.zero_grad(set_to_none=True)
                        loss_fn(model(xc[b]), yc[b]).backward()
                        opt.step()
                states.append(model.state_dict())
                weights.append(len(idx))
            total = float(sum(weights))
            averaged = {k: sum(s[k] * (w / total) for s, w in zip(states, weights))
                        for k in states[0]}
            global_model.load_state_dict(averaged)
            with torch.no_grad():
                acc = (global_model(xt).argmax(1) == yt).float().mean().item()
    elapsed = timed.seconds
    print(f"pytorch_fedavg rounds {rounds} seconds {elapsed:.1f} "
          f"seconds_per_round {elapsed / rounds:.1f} test_acc {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
