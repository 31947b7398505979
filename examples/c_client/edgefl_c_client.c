/* An application that embeds the edgefl client through its C API
 * (client/edgefl_client.h): it holds its training samples in memory, hands
 * them in, and serves its project's coordinator until the run ends,
 * reconnecting after a drop. SIGINT or SIGTERM stops it from another thread
 * (edgefl_client_stop), the way an app would on shutdown.
 *
 *   edgefl_c_client HOST:PORT CERT KEY CA SAMPLES
 *
 * SAMPLES is where this app keeps its data, in a layout of its own:
 * uint64 n, uint32 rank, int32 shape[rank], int32 classes, then n rows of
 * float32 features and n int32 labels (little-endian). Exit: 0 when the
 * coordinator ended the run, 1 on any failure, 2 on bad arguments, 3 when
 * stopped by a signal. */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask under -std=c11 */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgefl_client.h"

struct samples {
  uint64_t n;
  uint32_t rank;
  int32_t shape[8];
  int32_t classes;
  float* features;
  int32_t* labels;
};

static int read_exact(FILE* f, void* out, size_t bytes) {
  return fread(out, 1, bytes, f) == bytes;
}

static int load_samples(const char* path, struct samples* s) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  int ok = read_exact(f, &s->n, sizeof s->n) && read_exact(f, &s->rank, sizeof s->rank) &&
           s->rank >= 1 && s->rank <= 8 && read_exact(f, s->shape, 4 * (size_t)s->rank) &&
           read_exact(f, &s->classes, sizeof s->classes) && s->n > 0 && s->n < (1u << 24);
  size_t dim = 1;
  for (uint32_t i = 0; ok && i < s->rank; ++i) {
    ok = s->shape[i] > 0 && s->shape[i] < (1 << 16);
    dim *= ok ? (size_t)s->shape[i] : 1;
  }
  s->features = ok ? malloc(sizeof(float) * dim * s->n) : NULL;
  s->labels = ok ? malloc(sizeof(int32_t) * s->n) : NULL;
  ok = ok && s->features != NULL && s->labels != NULL &&
       read_exact(f, s->features, sizeof(float) * dim * s->n) &&
       read_exact(f, s->labels, sizeof(int32_t) * s->n);
  fclose(f);
  return ok;
}

static void log_line(void* user_data, char level, const char* message) {
  fprintf(stderr, "%s %c %s\n", (const char*)user_data, level, message);
}

/* Waits for SIGINT/SIGTERM (blocked in every other thread) and stops the client. */
static void* stop_on_signal(void* client) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal_number = 0;
  if (sigwait(&set, &signal_number) == 0) edgefl_client_stop(client);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST:PORT CERT KEY CA SAMPLES\n", argv[0]);
    return 2;
  }
  struct samples s;
  memset(&s, 0, sizeof s);
  if (!load_samples(argv[5], &s)) {
    fprintf(stderr, "edgefl_c_client: cannot read the samples in %s\n", argv[5]);
    return 2;
  }
  edgefl_client_options options = {argv[1], argv[2], argv[3], argv[4]};
  edgefl_client* client = edgefl_client_create(&options);
  if (client == NULL || edgefl_client_last_error(client)[0] != '\0') {
    fprintf(stderr, "edgefl_c_client: %s\n",
            client ? edgefl_client_last_error(client) : "out of memory");
    edgefl_client_destroy(client);
    return 2;
  }
  edgefl_client_set_log(client, log_line, "edgefl_c_client");
  if (edgefl_client_set_data(client, s.features, s.labels, (size_t)s.n, s.shape, s.rank,
                             s.classes) != EDGEFL_OK) {
    fprintf(stderr, "edgefl_c_client: %s\n", edgefl_client_last_error(client));
    edgefl_client_destroy(client);
    return 2;
  }
  free(s.features); /* the client keeps its own copy */
  free(s.labels);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t stopper;
  pthread_create(&stopper, NULL, stop_on_signal, client);

  edgefl_status status;
  for (int attempt = 0;; ++attempt) {
    status = edgefl_client_run_session(client);
    if (status != EDGEFL_DISCONNECTED || attempt == 30) break;
    fprintf(stderr, "edgefl_c_client W %s; reconnecting in 1 s\n",
            edgefl_client_last_error(client));
    sleep(1);
  }
  fprintf(stderr, "edgefl_c_client I session ended: status %d, %lld tasks%s%s\n", (int)status,
          (long long)edgefl_client_tasks_done(client), status == EDGEFL_OK ? "" : ": ",
          status == EDGEFL_OK ? "" : edgefl_client_last_error(client));
  pthread_cancel(stopper);
  pthread_join(stopper, NULL);
  edgefl_client_destroy(client);
  return status == EDGEFL_OK ? 0 : status == EDGEFL_STOPPED ? 3 : 1;
}
