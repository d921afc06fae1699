/*
 * jtext.c - see jtext.h.
 */
#include "server/jtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jtext_free(struct jtext *t)
{
	free(t->p);
	t->p = NULL;
	t->n = t->cap = 0;
}

/* Room for n more bytes and the NUL. */
static bool room(struct jtext *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->failed)
		return false;
	if (t->n + n + 1 <= t->cap)
		return true;
	cap = t->cap ? t->cap : 2048;
	while (cap < t->n + n + 1)
		cap *= 2;
	if (!(p = realloc(t->p, cap))) {
		t->failed = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

static void put(struct jtext *t, const char *s, size_t n)
{
	if (!room(t, n))
		return;
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

void jtext_raw(struct jtext *t, const char *s)
{
	put(t, s, strlen(s));
}

void jtext_str(struct jtext *t, const char *s)
{
	static const char hex[] = "0123456789ABCDEF"; /* as Jansson */

	if (!s) {
		put(t, "null", 4);
		return;
	}
	/* Worst case: every byte as \u00XX. */
	if (!room(t, 6 * strlen(s) + 2))
		return;
	t->p[t->n++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char *o = t->p + t->n;
		switch (*c) {
		case '"': memcpy(o, "\\\"", 2); t->n += 2; break;
		case '\\': memcpy(o, "\\\\", 2); t->n += 2; break;
		case '\b': memcpy(o, "\\b", 2); t->n += 2; break;
		case '\f': memcpy(o, "\\f", 2); t->n += 2; break;
		case '\n': memcpy(o, "\\n", 2); t->n += 2; break;
		case '\r': memcpy(o, "\\r", 2); t->n += 2; break;
		case '\t': memcpy(o, "\\t", 2); t->n += 2; break;
		default:
			if (*c < 0x20) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[*c >> 4];
				o[5] = hex[*c & 15];
				t->n += 6;
			} else {
				*o = (char)*c;
				t->n++;
			}
		}
	}
	t->p[t->n++] = '"';
	t->p[t->n] = '\0';
}

void jtext_json(struct jtext *t, const char *s)
{
	bool in_str = false, esc = false;

	if (!s) {
		put(t, "null", 4);
		return;
	}
	if (!room(t, strlen(s)))
		return;
	for (; *s; s++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (*s == '\\')
				esc = true;
			else if (*s == '"')
				in_str = false;
		} else if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
			continue;
		} else if (*s == '"') {
			in_str = true;
		}
		t->p[t->n++] = *s;
	}
	t->p[t->n] = '\0';
}

void jtext_num(struct jtext *t, const char *s)
{
	if (s)
		jtext_raw(t, s);
	else
		put(t, "null", 4);
}

/* Jansson's jsonp_dtostr with JSON_REAL_PRECISION(15), as server/http.c
 * dumps: %.15g, ".0" when it would read as an integer, exponent without
 * '+' or leading zeros. */
void jtext_real(struct jtext *t, const char *s)
{
	char buf[48], *start, *end;
	double d = s ? strtod(s, NULL) : NAN;
	size_t len;

	if (!isfinite(d)) {
		put(t, "null", 4);
		return;
	}
	len = (size_t)snprintf(buf, sizeof(buf), "%.15g", d);
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	if ((start = strchr(buf, 'e'))) {
		start++;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	put(t, buf, len);
}

void jtext_bool(struct jtext *t, bool b)
{
	if (b)
		put(t, "true", 4);
	else
		put(t, "false", 5);
}
