/*
 * retention.h - GET /v1/retention: cohort retention table, average curve
 * and day-1/3/7/30 figures (docs/api.md "Analytics", semantics in
 * docs/semantics-analytics.md §4).
 *
 * Also the period parameters shared by the calendar-based routes
 * (retention, lifecycle, metrics), so they parse and fail alike.
 */
#ifndef HANDLERS_RETENTION_H
#define HANDLERS_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include "model/calendar.h"
#include "server/err.h"
#include "server/http.h"

void h_retention_get(struct http_req *req, struct http_resp *resp);

/* "day" | "week" | "month" (NULL = def); 400 naming `field` otherwise. */
bool retention_param_unit(const char *s, const char *field, enum calendar_unit def,
			  enum calendar_unit *out, struct app_err *err) MUST_CHECK;
/* "monday" (default) | "sunday". */
bool retention_param_week_start(const char *s, enum calendar_week_start *out,
				struct app_err *err) MUST_CHECK;
/* An event selector: NULL, "", "any" and "$any" mean any event (NULL out). */
const char *retention_param_event(const char *s);
/* "YYYY-MM-DD" label of the civil date starting period p of unit u. */
void retention_period_label(const struct calendar *cal, enum calendar_unit u, int32_t p,
			    char out[16]);

#endif
