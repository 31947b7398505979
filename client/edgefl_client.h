/* The edgefl device client for embedding in an application, as a C API.
 *
 * An app holds its training data in memory, hands it in once, and runs
 * sessions with its project's coordinator over mutual TLS: the coordinator
 * sends training and evaluation tasks, the client trains on the data and
 * answers, exactly as the edgefl-client program does (docs/embedding.md).
 *
 *   edgefl_client* c = edgefl_client_create(&options);
 *   edgefl_client_set_data(c, features, labels, n, shape, 3, 10);
 *   while (edgefl_client_run_session(c) == EDGEFL_DISCONNECTED) sleep(5);
 *   edgefl_client_destroy(c);
 *
 * Contract: no C++ exception crosses this API; every failure is a status
 * and edgefl_client_last_error() says what happened in one line. A handle
 * is used by one thread at a time, except edgefl_client_stop(), which any
 * thread may call while a session runs. Strings and arrays passed in are
 * copied; the caller keeps ownership of its buffers.
 */
#ifndef EDGEFL_CLIENT_H_
#define EDGEFL_CLIENT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEFL_CLIENT_API_VERSION 1

typedef struct edgefl_client edgefl_client;

typedef enum edgefl_status {
  EDGEFL_OK = 0,               /* the coordinator ended the run (Bye) */
  EDGEFL_DISCONNECTED = 1,     /* the connection failed or dropped: run again later */
  EDGEFL_REFUSED = 2,          /* refused (certificate, protocol version, or another
                                  device uses this certificate): do not retry */
  EDGEFL_STOPPED = 3,          /* edgefl_client_stop() ended the session */
  EDGEFL_INVALID_ARGUMENT = 4, /* bad options or data; nothing was run */
  EDGEFL_ERROR = 5             /* a local failure (unreadable files, out of memory) */
} edgefl_status;

typedef struct edgefl_client_options {
  const char* coordinator;    /* "HOST:PORT", HOST as the coordinator's certificate names it */
  const char* certificate;    /* this device's certificate (PEM file path) */
  const char* private_key;    /* its private key (PEM file path, mode 0600) */
  const char* ca_certificate; /* the project CA's certificate (PEM file path) */
} edgefl_client_options;

/* A line of the client's log: level 'I', 'W' or 'E', and the message
 * (valid only during the call). Called on the thread that runs the session. */
typedef void (*edgefl_log_fn)(void* user_data, char level, const char* message);

/* A new client. The certificate, key and CA are read and checked here (a
 * server certificate, a key of another certificate or another CA's
 * certificate is refused). Returns NULL only when out of memory; otherwise
 * check edgefl_client_last_error(): "" when the handle is usable. */
edgefl_client* edgefl_client_create(const edgefl_client_options* options);

/* The local training data: num_samples rows of features (row-major float32,
 * each row the product of sample_shape[0..shape_rank) values, e.g. {1, 28, 28}
 * for a 28x28 grey image) and one label in [0, num_classes) per row. Copied.
 * Replaces earlier data. */
edgefl_status edgefl_client_set_data(edgefl_client* client, const float* features,
                                     const int32_t* labels, size_t num_samples,
                                     const int32_t* sample_shape, size_t shape_rank,
                                     int32_t num_classes);

/* Where the client's log lines go (default: nowhere). */
void edgefl_client_set_log(edgefl_client* client, edgefl_log_fn log, void* user_data);

/* Connects and serves the coordinator until it ends the run, refuses the
 * client, the connection drops or edgefl_client_stop() is called. Training
 * state (optimizer moments) carries over to the next session of the same
 * run on this handle. */
edgefl_status edgefl_client_run_session(edgefl_client* client);

/* Ends a running session from any thread (it returns EDGEFL_STOPPED; a task
 * being trained finishes its local training first and is not sent). Every
 * later edgefl_client_run_session() returns EDGEFL_STOPPED at once. */
void edgefl_client_stop(edgefl_client* client);

/* Tasks (training and evaluation) answered over this handle's lifetime. */
int64_t edgefl_client_tasks_done(const edgefl_client* client);

/* What the last failing call or session end was, in one line; "" if none.
 * Valid until the next call on this handle. */
const char* edgefl_client_last_error(const edgefl_client* client);

/* Frees the client. NULL is ignored. Not while a session runs. */
void edgefl_client_destroy(edgefl_client* client);

#ifdef __cplusplus
}
#endif

#endif /* EDGEFL_CLIENT_H_ */
