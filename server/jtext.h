/*
 * jtext.h - JSON written straight into a growing buffer, for hot answers
 * whose parts PostgreSQL already returns as text (GET /v1/persons/{id}):
 * building a Jansson tree and dumping it cost a quarter of such a request.
 * Output is compact and formatted as server/http.c dumps Jansson trees
 * (reals with 15 significant digits), so both paths answer alike.
 *
 *     struct jtext t = { 0 };
 *     jtext_raw(&t, "{\"id\":");
 *     jtext_num(&t, "42");                 // "42", or null for NULL
 *     jtext_raw(&t, "}");
 *     if (t.failed) ...out of memory...; resp->text = t.p; resp->text_len = t.n;
 */
#ifndef JTEXT_H
#define JTEXT_H

#include <stdbool.h>
#include <stddef.h>

struct jtext {
	char *p;      /* NUL-terminated once anything was written */
	size_t n, cap;
	bool failed;  /* an allocation failed: the text is incomplete */
};

void jtext_free(struct jtext *t);
/* Verbatim. */
void jtext_raw(struct jtext *t, const char *s);
/* A JSON string of s (escaped), or null when s is NULL. */
void jtext_str(struct jtext *t, const char *s);
/* A JSON document from PostgreSQL (json/jsonb output) without its
 * insignificant whitespace, or null when s is NULL. */
void jtext_json(struct jtext *t, const char *s);
/* An integer in PostgreSQL's text output, or null when s is NULL. */
void jtext_num(struct jtext *t, const char *s);
/* A float8 in PostgreSQL's text output as Jansson prints a real with 15
 * digits, or null when s is NULL or not finite. */
void jtext_real(struct jtext *t, const char *s);
/* true or false. */
void jtext_bool(struct jtext *t, bool b);

#endif
