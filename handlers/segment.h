/*
 * segment.h - Segment Tracking API messages -> ingest rows.
 *
 * Pure validation and mapping on Jansson values, no I/O, so the rules are
 * unit-tested directly (tests/unit/test_segment.c) and fuzzed. The rules and
 * field names follow the Segment HTTP API (REFERENCE.md §1) with cohortd's
 * stricter answer: a message that would be dropped by Segment is a 400 here,
 * naming the field, and nothing of its request is stored.
 */
#ifndef SEGMENT_H
#define SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"
#include "server/writer.h"

#define SEGMENT_MAX_BATCH 2500     /* events per /v1/batch, as Segment */
#define SEGMENT_MAX_ID 255         /* bytes in userId, anonymousId, messageId, ... */
#define SEGMENT_MAX_EVENT 255      /* bytes in an event name */
#define SEGMENT_FUTURE_US (23LL * 3600 * 1000000) /* later than now+23 h is clamped */

struct segment_ctx {
	int64_t received_us;       /* server receive time */
	int64_t batch_sent_us;     /* batch-level sentAt, 0 when absent */
	const json_t *batch_context; /* batch-level context merged under each message's */
	size_t max_message_bytes;
};

/* Parse an ISO-8601 timestamp ("2026-11-24T05:22:56.123Z", offsets, space
 * separator, no zone = UTC, or a plain date) into µs since the epoch. */
bool segment_parse_time(const char *s, int64_t *us);

/* Map one message. `type` is forced for single-call routes (0 = take the
 * message's own "type", required in a batch). `path` prefixes field names in
 * errors ("batch[3]" or ""). On failure err is 400 naming the field and
 * *row is left empty. */
bool segment_parse_message(const json_t *msg, enum ev_type type, const struct segment_ctx *ctx,
			   const char *path, struct ingest_row *row, struct app_err *err) MUST_CHECK;

/* Type from its name ("track", ...), 0 when unknown. */
enum ev_type segment_type_from_name(const char *name);

#endif
