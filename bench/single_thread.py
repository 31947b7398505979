"""One core for the PyTorch baselines, their BLAS included.

torch.set_num_threads(1) sizes PyTorch's own (OpenMP) pool only. Debian's
torch does its products in OpenBLAS (libopenblas0-pthread), whose threads it
does not reach: OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded. So
this module is imported first, before numpy and torch. Without it the
baselines ran their products on both cores of a 2-core machine (the
transformer baseline at 178 % CPU, 2026-12-08), and every "one thread"
comparison against them was against two.

OneCore times a block and refuses the figure if the process used more than
one core's CPU time in it.
"""
import os
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"


class OneCore:
    """with OneCore() as t: ...; then t.seconds is the wall-clock time.

    Raises SystemExit naming the CPU share if the block used more than 1.15
    cores (a second thread at work); the margin covers the interpreter's own
    helper threads and timer granularity.
    """

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self.seconds = 0.0
        return self

    def __exit__(self, kind, value, traceback):
        self.seconds = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        if kind is None and cpu > 1.15 * self.seconds + 0.05:
            raise SystemExit(
                f"the PyTorch baseline used {cpu / self.seconds:.2f} cores of CPU time, not one: "
                "a BLAS or OpenMP pool is running threads; its figure would not be one thread's")
        return False
