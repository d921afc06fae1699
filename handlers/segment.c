/*
 * segment.c - see segment.h.
 *
 * Timestamp rule (Segment's clock-skew correction): the event time is the
 * message's `timestamp`, else `originalTimestamp`, else the receive time.
 * When a `sentAt` is known (on the message, else on the batch) the client's
 * clock offset is removed: ts = receivedAt - (sentAt - ts). A result later
 * than receive time + 23 h is clamped to the receive time (PostHog's rule);
 * one before 1970 is rejected.
 */
#include "handlers/segment.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/crypto.h"

static const char *const type_names[] = { "", "track", "identify", "page", "screen", "group",
					  "alias" };

enum ev_type segment_type_from_name(const char *name)
{
	for (int t = EV_TRACK; t <= EV_ALIAS; t++)
		if (strcmp(name, type_names[t]) == 0)
			return (enum ev_type)t;
	return 0;
}

static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

bool segment_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	int64_t frac = 0, off = 0;
	const char *p = s;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',') {
				int64_t scale = 100000;
				p++;
				if (!isdigit((unsigned char)*p))
					return false;
				for (; isdigit((unsigned char)*p); p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			if (!digits(&p, 2, &oh))
				return false;
			if (*p == ':')
				p++;
			if (*p && !digits(&p, 2, &om))
				return false;
			if (oh > 23 || om > 59)
				return false;
			off = sign * ((int64_t)oh * 3600 + om * 60);
		}
	}
	if (*p)
		return false;
	*us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 + frac;
	return true;
}

/* --- field helpers: each fails with the full JSON path of the field --- */

struct field_ctx {
	const char *path;
	struct app_err *err;
};

/* 400 naming path.field; the message reads "<field> <problem>". */
static bool fail(const struct field_ctx *f, const char *field, const char *problem)
{
	char full[128];
	snprintf(full, sizeof(full), "%s%s%s", f->path, *f->path ? "." : "", field);
	return err_set(f->err, 400, "validation_failed", full, "%s %s", field, problem);
}

/* Optional string (numbers are accepted and converted, as RudderStack does for
 * ids). *out is malloc'd or NULL when absent/null. */
static bool opt_string(const json_t *msg, const char *key, size_t max, const struct field_ctx *f,
		       char **out)
{
	const json_t *v = json_object_get(msg, key);
	char tmp[32];

	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = strdup(tmp);
	} else if (json_is_string(v)) {
		if (json_string_length(v) > max)
			return fail(f, key, "is too long");
		if (json_string_length(v) == 0)
			return true; /* "" means absent, as Segment treats it */
		*out = strndup(json_string_value(v), json_string_length(v));
	} else
		return fail(f, key, "must be a string");
	if (!*out)
		return err_set(f->err, 500, "internal", NULL, "out of memory");
	return true;
}

static bool opt_object(const json_t *msg, const char *key, const struct field_ctx *f,
		       const json_t **out)
{
	const json_t *v = json_object_get(msg, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_object(v))
		return fail(f, key, "must be an object");
	*out = v;
	return true;
}

static bool opt_time(const json_t *msg, const char *key, const struct field_ctx *f, int64_t *us)
{
	const json_t *v = json_object_get(msg, key);
	*us = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || !segment_parse_time(json_string_value(v), us))
		return fail(f, key, "must be an ISO-8601 date-time");
	return true;
}

static char *dump_object(const json_t *obj)
{
	return obj ? json_dumps(obj, JSON_COMPACT) : strdup("{}");
}

/* Message context, with the batch context underneath (message keys win). */
static char *merged_context(const json_t *ctx, const json_t *batch_ctx)
{
	json_t *m;
	char *s;

	if (!batch_ctx)
		return dump_object(ctx);
	m = json_deep_copy(batch_ctx);
	if (!m)
		return NULL;
	if (ctx)
		json_object_update(m, (json_t *)ctx);
	s = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return s;
}

static bool event_time(const json_t *msg, const struct segment_ctx *ctx, const struct field_ctx *f,
		       int64_t *ts)
{
	int64_t t = 0, orig = 0, sent = 0;

	if (!opt_time(msg, "timestamp", f, &t) || !opt_time(msg, "originalTimestamp", f, &orig) ||
	    !opt_time(msg, "sentAt", f, &sent))
		return false;
	if (!t)
		t = orig;
	if (!sent)
		sent = ctx->batch_sent_us;
	if (!t)
		t = ctx->received_us;
	else if (sent)
		t = ctx->received_us - (sent - t);
	if (t > ctx->received_us + SEGMENT_FUTURE_US)
		t = ctx->received_us;
	if (t < 0)
		return fail(f, json_object_get(msg, "timestamp") ? "timestamp" : "originalTimestamp",
			    "is before 1970");
	*ts = t;
	return true;
}

static char *random_message_id(void)
{
	uint8_t rnd[16];
	char hex[33], *out = malloc(48);

	if (!out || !crypto_random(rnd, sizeof(rnd))) {
		free(out);
		return NULL;
	}
	crypto_hex(rnd, sizeof(rnd), hex);
	snprintf(out, 48, "cohortd-%s", hex);
	return out;
}

/* Type-specific fields: event name, page name, properties, traits. */
static bool type_fields(const json_t *msg, enum ev_type type, const struct field_ctx *f,
			struct ingest_row *row)
{
	const json_t *props = NULL, *traits = NULL, *ctx = NULL;
	static const char *const special[] = { "", NULL, "$identify", "$page", "$screen", "$group",
					       "$alias" };
	json_t *built = NULL;
	char *group_id = NULL;

	if (!opt_object(msg, "properties", f, &props) || !opt_object(msg, "traits", f, &traits) ||
	    !opt_object(msg, "context", f, &ctx))
		return false;
	if (type == EV_TRACK) {
		if (!opt_string(msg, "event", SEGMENT_MAX_EVENT, f, &row->event))
			return false;
		if (!row->event)
			return fail(f, "event", "is required for track");
	} else if (!(row->event = strdup(special[type])))
		return err_set(f->err, 500, "internal", NULL, "out of memory");
	if ((type == EV_PAGE || type == EV_SCREEN) &&
	    !opt_string(msg, "name", SEGMENT_MAX_EVENT, f, &row->name))
		return false;
	if (type == EV_IDENTIFY) {
		/* RudderStack copies traits into context.traits; accept either. */
		if (!traits && ctx)
			traits = json_object_get(ctx, "traits");
		if (traits && !json_is_object(traits))
			return fail(f, "context.traits", "must be an object");
		row->traits = dump_object(traits);
		props = traits;
	}
	if (type == EV_GROUP) {
		if (!opt_string(msg, "groupId", SEGMENT_MAX_ID, f, &group_id))
			return false;
		if (!group_id)
			return fail(f, "groupId", "is required for group");
		/* "O" takes a new reference, "o" steals one: a fresh {} must be stolen. */
		built = traits ? json_pack("{s:s, s:O}", "group_id", group_id, "traits", (json_t *)traits)
			       : json_pack("{s:s, s:o}", "group_id", group_id, "traits", json_object());
		free(group_id);
		props = built;
	}
	if (type == EV_ALIAS) {
		built = json_pack("{s:s}", "previous_id", row->previous_id);
		props = built;
	}
	row->properties = dump_object(props);
	json_decref(built);
	if (!row->properties || (type == EV_IDENTIFY && !row->traits))
		return err_set(f->err, 500, "internal", NULL, "out of memory");
	return true;
}

static bool parse_ids(const json_t *msg, enum ev_type type, const struct field_ctx *f,
		      struct ingest_row *row)
{
	if (!opt_string(msg, "userId", SEGMENT_MAX_ID, f, &row->user_id) ||
	    !opt_string(msg, "anonymousId", SEGMENT_MAX_ID, f, &row->anonymous_id) ||
	    !opt_string(msg, "messageId", SEGMENT_MAX_ID, f, &row->message_id))
		return false;
	if (type == EV_ALIAS) {
		if (!opt_string(msg, "previousId", SEGMENT_MAX_ID, f, &row->previous_id))
			return false;
		if (!row->previous_id)
			return fail(f, "previousId", "is required for alias");
		if (!row->user_id)
			return fail(f, "userId", "is required for alias");
	}
	if (!row->user_id && !row->anonymous_id)
		return fail(f, "userId", "or anonymousId is required");
	if (!row->message_id && !(row->message_id = random_message_id()))
		return err_set(f->err, 500, "internal", NULL, "out of memory");
	return true;
}

bool segment_parse_message(const json_t *msg, enum ev_type type, const struct segment_ctx *ctx,
			   const char *path, struct ingest_row *row, struct app_err *err)
{
	struct field_ctx f = { path, err };
	const json_t *jt, *context = NULL;

	memset(row, 0, sizeof(*row));
	if (!json_is_object(msg))
		return err_set(err, 400, "validation_failed", path, "message must be a JSON object");
	if (ctx->max_message_bytes && json_dumpb(msg, NULL, 0, JSON_COMPACT) > ctx->max_message_bytes)
		return err_set(err, 413, "payload_too_large", path, "message exceeds %zu bytes",
			       ctx->max_message_bytes);
	jt = json_object_get(msg, "type");
	if (type == 0) {
		if (!json_is_string(jt))
			return fail(&f, "type", "is required in a batch");
		type = segment_type_from_name(json_string_value(jt));
		if (!type)
			return fail(&f, "type", "is not a Segment call type");
	}
	row->type = type;
	if (!parse_ids(msg, type, &f, row) || !event_time(msg, ctx, &f, &row->ts_us) ||
	    !type_fields(msg, type, &f, row) || !opt_object(msg, "context", &f, &context))
		goto fail;
	row->context = merged_context(context, ctx->batch_context);
	if (!row->context) {
		err_set(err, 500, "internal", NULL, "out of memory");
		goto fail;
	}
	return true;
fail:
	ingest_row_cleanup(row);
	return false;
}
