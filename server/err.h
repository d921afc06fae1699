/*
 * err.h - the one error type shared by every layer above model/.
 *
 * A fallible function returns bool (or -1) and fills a struct app_err, which
 * carries everything the HTTP layer needs to answer: status, a stable machine
 * code, a human message and, for validation errors, the JSON path of the
 * offending field ("batch[3].timestamp"). Messages are built from our own
 * text, never from SQL or PQerrorMessage (those are logged, not returned).
 */
#ifndef ERR_H
#define ERR_H

#include <stdbool.h>

#define MUST_CHECK __attribute__((warn_unused_result))

struct app_err {
	int status;          /* HTTP status, 0 while no error */
	const char *code;    /* stable token: invalid_json, validation_failed, ... */
	char message[256];   /* for humans; may quote user input, already truncated */
	char field[128];     /* JSON path of the bad field, "" when none */
	int retry_after;     /* seconds for Retry-After on 429/503, 0 = none */
};

/* Fill err (printf-style message). field may be NULL. Always returns false so
 * callers can write `return err_set(err, ...)`. */
bool err_set(struct app_err *err, int status, const char *code, const char *field,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Clear to "no error". */
void err_clear(struct app_err *err);

#endif
