"""Reads the Fashion-MNIST IDX files for the PyTorch baselines in bench/
(pytorch_fedavg.py, pytorch_train_throughput.py), by edgefl's own rules."""
import gzip
import os
import struct

import numpy as np


def idx_file(data_dir, base):
    """<dir>/<base>.gz if it exists, else <dir>/<base>: edgefl's own rule
    (datasets/fashion_mnist.cpp), so --data-dir may name an uncompressed copy."""
    gz = os.path.join(data_dir, base + ".gz")
    return gz if os.path.exists(gz) else os.path.join(data_dir, base)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)
