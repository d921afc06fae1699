/*
 * writer.h - durable group commit for ingested events.
 *
 * Request threads validate their messages into ingest rows, then call
 * writer_submit(), which blocks until the transaction carrying those rows has
 * committed (2xx) or failed (nothing of the job stored). One writer thread
 * takes every job waiting, up to writer_batch_rows, and commits them in one
 * transaction: while it commits, the next group gathers. The queue is bounded
 * in rows; a full queue or a database that is down answers 503 at once.
 *
 *     struct ingest_job job = { .project_id = p, .rows = rows, .n = n };
 *     if (!writer_submit(app->writer, &job, &err)) -> 503/500, nothing stored
 */
#ifndef WRITER_H
#define WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/err.h"

enum ev_type { EV_TRACK = 1, EV_IDENTIFY, EV_PAGE, EV_SCREEN, EV_GROUP, EV_ALIAS };

struct ingest_row {
	enum ev_type type;
	char *message_id;
	char *event;          /* track name, or "$identify", "$page", ... */
	char *name;           /* page/screen name, NULL otherwise */
	char *user_id;        /* NULL when absent */
	char *anonymous_id;   /* NULL when absent */
	char *previous_id;    /* alias only */
	int64_t ts_us;        /* event time after skew correction, µs since epoch */
	char *properties;     /* compact JSON object text */
	char *context;        /* compact JSON object text */
	char *traits;         /* identify: JSON object merged into the person; else NULL */
};

struct order_row;

struct ingest_job {
	int64_t project_id;
	int64_t received_us;
	struct ingest_row *rows;
	int n;
	/* Orders of the same /v1/batch (server/order_row.h), committed in the
	 * events' transaction so the batch stays all-or-nothing. */
	const struct order_row *orders;
	int n_orders;
	/* Filled by the writer: */
	bool done;
	pthread_cond_t cv;    /* the submitter sleeps here until done */
	struct app_err err;   /* status 0 = committed */
	struct ingest_job *next;
};

struct writer;

struct store;

/* Start the writer thread; it connects lazily (and reconnects) to conninfo.
 * With a store, committed rows are also added to it. */
struct writer *writer_start(const char *conninfo, int batch_rows, int queue_rows,
			    int statement_timeout_ms, struct store *store);
/* Block until the job is committed (true) or failed (false, err set). */
bool writer_submit(struct writer *w, struct ingest_job *job, struct app_err *err) MUST_CHECK;
/* Commit what is queued, then stop the thread and free the writer. */
void writer_stop(struct writer *w);

void ingest_row_cleanup(struct ingest_row *row);

#endif
