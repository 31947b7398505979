// The MPI link between rank 0 and rank 1, as the model of an MPI
// simulation's round needs it (BENCHMARKS.md, "Simulation over MPI ranks"):
// ping-pong of MPI_BYTE messages from 8 B to 64 MB, the median of `reps`
// round trips each; prints the one-way latency of the smallest message and
// the bandwidth (bytes / one-way time) of each size.
//
//   mpirun -n 2 build/bench/mpi_bandwidth [reps]
// (as root: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpi.h>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) {
    if (rank == 0) std::fprintf(stderr, "mpi_bandwidth: run it with mpirun -n 2\n");
    MPI_Finalize();
    return 2;
  }
  const int reps = argc > 1 ? std::max(3, std::atoi(argv[1])) : 21;
  if (rank == 0) std::printf("%12s %14s %12s\n", "bytes", "one-way us", "MB/s");
  for (size_t bytes = 8; bytes <= (size_t{64} << 20); bytes *= 8) {
    std::vector<char> buffer(bytes, 1);
    std::vector<double> trips;
    for (int i = 0; i < reps + 1; ++i) {  // the first round trip warms up
      MPI_Barrier(MPI_COMM_WORLD);
      const double start = MPI_Wtime();
      if (rank == 0) {
        MPI_Send(buffer.data(), static_cast<int>(bytes), MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buffer.data(), static_cast<int>(bytes), MPI_BYTE, 1, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(buffer.data(), static_cast<int>(bytes), MPI_BYTE, 0, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        MPI_Send(buffer.data(), static_cast<int>(bytes), MPI_BYTE, 0, 0, MPI_COMM_WORLD);
      }
      if (i > 0) trips.push_back(MPI_Wtime() - start);
    }
    std::nth_element(trips.begin(), trips.begin() + static_cast<long>(trips.size() / 2),
                     trips.end());
    const double one_way = trips[trips.size() / 2] / 2.0;
    if (rank == 0) {
      std::printf("%12zu %14.1f %12.1f\n", bytes, one_way * 1e6,
                  static_cast<double>(bytes) / one_way / 1e6);
    }
  }
  MPI_Finalize();
  return 0;
}
