/*
 * log.h - line-oriented logging to stderr.
 *
 * One line per event: "2026-11-24T05:22:56.123Z level [req-id] message".
 * Never pass a secret (key, webhook secret, password in a conninfo) to these
 * functions; db.c redacts connection strings before logging them.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Minimum level printed; set once at start-up from COHORTD_LOG_LEVEL. */
void log_set_level(enum log_level level);
/* Parse "debug|info|warn|error"; returns -1 when unknown. */
int log_parse_level(const char *s);

void log_msg(enum log_level level, const char *req_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
