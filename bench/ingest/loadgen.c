/*
 * loadgen.c - deterministic HTTP/1.1 load client for cohortd's Segment ingest.
 *
 *   loadgen --url http://127.0.0.1:PORT --key WRITEKEY --mode track|batch|hold
 *           [--conns 64] [--batch-size 100] [--duration SECONDS | --requests N_PER_CONN]
 *           [--prefix STR] [--acked FILE] [--users 100000] [--seed 1]
 *
 * track: one POST /v1/track per event; batch: POST /v1/batch with
 * --batch-size events; hold: open --conns idle keep-alive connections (one
 * thread polls them all), each answering a GET /health every 10 s so the
 * server's idle timeout does not close them, until --duration ends (the RSS
 * scenario of bench/ingest/run.sh). "holding N connections" goes to stderr
 * once all are open.
 *
 * One thread per connection, plain POSIX sockets. A connection error
 * (refused, reset, EOF, 30 s without an answer) is counted, the socket is
 * reopened with backoff and the same request (same messageIds) is sent again,
 * so a server restart is ridden out and the server's dedupe is exercised. A
 * request that got an HTTP answer is never resent, whatever its status.
 * With --requests, a connection that gets no answer for 60 s gives up.
 *
 * messageIds: {prefix}-{conn}-{seq} (batch: {prefix}-{conn}-{seq}-{k}).
 * Event content comes from gen.h, seeded by (seed, conn, seq, k).
 * --acked FILE appends the messageId of every event answered 2xx.
 *
 * Output: one JSON line on stdout:
 *   {"mode","conns","requests" (answered),"events_sent" (events in distinct
 *    requests put on the wire),"events_acked" (events answered 2xx),
 *    "status":{"200":n,...},"conn_errors","seconds","events_per_s"
 *    (acked / seconds),"p50_ms","p99_ms" (over answered requests)}
 * SIGINT/SIGTERM stop the run early; the summary and --acked are still written.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "bench/ingest/gen.h"

#define RESP_TIMEOUT_MS 30000   /* no answer for this long: connection error */
#define GIVE_UP_MS 60000        /* --requests: stop a connection failing this long */
#define HOLD_PING_MS 10000      /* hold mode: keep-alive ping period */
#define RBUF_SIZE 65536
#define HIST_SUB 64             /* latency histogram: 64 sub-buckets per power of two */
#define HIST_N (HIST_SUB * 40)

enum mode { M_TRACK, M_BATCH, M_HOLD };

struct opts {
	char host[256], port[16], base[256];
	const char *key, *prefix, *acked;
	enum mode mode;
	int conns, batch_size;
	double duration;
	long requests;
	long users;
	uint64_t seed;
};

struct stats {
	long requests, events_sent, events_acked, conn_errors;
	long status[600];
	long status_other;
	uint64_t hist[HIST_N];
};

struct conn {
	int id;
	int fd;
	char rbuf[RBUF_SIZE];
	size_t rlen;
	char *req;
	size_t req_len, req_cap;
	char *acked;                /* messageIds of the request, one per line */
	size_t acked_len, acked_cap;
	struct stats st;
	pthread_t thread;
};

static struct opts O;
static struct addrinfo *g_addr;
static char g_auth[512];        /* "Basic base64(key:)" */
static int64_t g_deadline_ms;   /* duration mode: monotonic end; 0 = none */
static atomic_bool g_stop;
static FILE *g_acked;
static pthread_mutex_t g_acked_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool time_up(void)
{
	return atomic_load(&g_stop) || (g_deadline_ms && mono_ms() >= g_deadline_ms);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- latency histogram: ~1.5% resolution from 1 us to hours ---- */

static int hist_index(uint64_t us)
{
	int shift = 0;
	if (us < 2 * HIST_SUB)
		return (int)us;
	while ((us >> shift) >= 2 * HIST_SUB)
		shift++;
	int idx = HIST_SUB * shift + (int)(us >> shift);
	return idx < HIST_N ? idx : HIST_N - 1;
}

static double hist_value_us(int idx)
{
	int shift = idx < 2 * HIST_SUB ? 0 : idx / HIST_SUB - 1;
	uint64_t lo = (uint64_t)(idx - HIST_SUB * shift) << shift;
	return (double)lo + (double)((1ULL << shift) - 1) / 2.0;
}

static double hist_quantile_ms(const uint64_t *h, double q)
{
	uint64_t total = 0, seen = 0, want;
	for (int i = 0; i < HIST_N; i++)
		total += h[i];
	if (total == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)total);
	if (want < 1)
		want = 1;
	for (int i = 0; i < HIST_N; i++) {
		seen += h[i];
		if (seen >= want)
			return hist_value_us(i) / 1000.0;
	}
	return 0;
}

/* ---- small buffers ---- */

static void buf_reserve(char **s, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	char *p = realloc(*s, nc);
	if (!p) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	*s = p;
	*cap = nc;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/* ---- requests ---- */

/* One event as JSON into *s at *len; `type` adds "type":"track" (batch items). */
static void put_event(char **s, size_t *len, size_t *cap, const char *msgid, bool type,
		      uint64_t seq, uint64_t k, int conn)
{
	struct gen_event e;
	char ts[80];
	int n;

	gen_event_make(&e, O.seed, (uint64_t)conn, seq, k, O.users);
	gen_format_ts(e.ts_ms, 'T', "Z", ts);
	for (;;) {
		size_t room = *cap - *len;
		n = snprintf(*s + *len, room,
			     "{%s\"userId\":\"%s\",\"event\":\"%s\",\"messageId\":\"%s\","
			     "\"timestamp\":\"%s\",\"properties\":%s,\"context\":" GEN_CONTEXT "}",
			     type ? "\"type\":\"track\"," : "", e.user_id, e.event, msgid, ts,
			     e.properties);
		if (n >= 0 && (size_t)n < room)
			break;
		buf_reserve(s, cap, *len + (size_t)n + 1);
	}
	*len += (size_t)n;
}

static void append(char **s, size_t *len, size_t *cap, const char *t, size_t n)
{
	buf_reserve(s, cap, *len + n + 1);
	memcpy(*s + *len, t, n);
	*len += n;
	(*s)[*len] = '\0';
}

/* Builds the whole HTTP request for (conn, seq) into c->req; returns its event count. */
static int build_request(struct conn *c, uint64_t seq)
{
	static const size_t HDR_ROOM = 1024;
	char *body;
	size_t blen = 0, bcap = 0;
	char id[256], hdr[1024];
	int n_ev = O.mode == M_BATCH ? O.batch_size : 1;

	c->acked_len = 0;
	body = NULL;
	buf_reserve(&body, &bcap, 512 * (size_t)n_ev + 64);
	if (O.mode == M_BATCH)
		append(&body, &blen, &bcap, "{\"batch\":[", 10);
	for (int k = 0; k < n_ev; k++) {
		int il;
		if (O.mode == M_BATCH)
			il = snprintf(id, sizeof(id), "%s-%d-%llu-%d", O.prefix, c->id,
				      (unsigned long long)seq, k);
		else
			il = snprintf(id, sizeof(id), "%s-%d-%llu", O.prefix, c->id,
				      (unsigned long long)seq);
		if (k)
			append(&body, &blen, &bcap, ",", 1);
		put_event(&body, &blen, &bcap, id, O.mode == M_BATCH, seq, (uint64_t)k, c->id);
		append(&c->acked, &c->acked_len, &c->acked_cap, id, (size_t)il);
		append(&c->acked, &c->acked_len, &c->acked_cap, "\n", 1);
	}
	if (O.mode == M_BATCH)
		append(&body, &blen, &bcap, "]}", 2);

	int hl = snprintf(hdr, sizeof(hdr),
			  "POST %s/v1/%s HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: %s\r\n"
			  "Content-Type: application/json\r\nUser-Agent: cohortd-loadgen/1\r\n"
			  "Content-Length: %zu\r\n\r\n",
			  O.base, O.mode == M_BATCH ? "batch" : "track", O.host, O.port, g_auth, blen);
	c->req_len = 0;
	buf_reserve(&c->req, &c->req_cap, (size_t)hl + blen + HDR_ROOM);
	memcpy(c->req, hdr, (size_t)hl);
	memcpy(c->req + hl, body, blen);
	c->req_len = (size_t)hl + blen;
	free(body);
	return n_ev;
}

/* ---- sockets ---- */

static int dial(void)
{
	for (struct addrinfo *a = g_addr; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
	}
	return -1;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads more bytes into c->rbuf; false on EOF, error, timeout or stop. */
static bool fill(struct conn *c, int64_t until_ms)
{
	if (c->rlen == sizeof(c->rbuf))
		return false; /* a header or chunk line larger than the buffer */
	for (;;) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		int64_t left = until_ms - mono_ms();
		int r;
		if (left <= 0 || atomic_load(&g_stop))
			return false;
		r = poll(&p, 1, left > 250 ? 250 : (int)left);
		if (r < 0 && errno != EINTR)
			return false;
		if (r <= 0)
			continue;
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			return true;
		}
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			return false;
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->rbuf, c->rbuf + n, c->rlen - n);
	c->rlen -= n;
}

static const char *find_crlf(const char *s, size_t n, size_t from)
{
	for (size_t i = from; i + 1 < n; i++)
		if (s[i] == '\r' && s[i + 1] == '\n')
			return s + i;
	return NULL;
}

/* The empty line ending the headers, or NULL. */
static const char *find_headers_end(const char *s, size_t n)
{
	for (const char *p = s; (p = find_crlf(s, n, (size_t)(p - s))); p += 2)
		if ((size_t)(p - s) + 3 < n && p[2] == '\r' && p[3] == '\n')
			return p;
	return NULL;
}

/* Case-insensitive: does header line [p, p+n) have name `name`? Returns the value. */
static const char *header_value(const char *p, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return NULL;
	p += nl + 1;
	n -= nl + 1;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*vlen = n;
	return p;
}

static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
			return true;
	return false;
}

/*
 * Reads one response. Returns false on a connection error (no complete
 * answer). Sets *status and *close_after (Connection: close, HTTP/1.0
 * without keep-alive, or a body delimited by EOF).
 */
static bool read_response(struct conn *c, int *status, bool *close_after)
{
	int64_t until = mono_ms() + RESP_TIMEOUT_MS;
	const char *end;
	size_t hlen;
	long long clen = -1;
	bool chunked = false, http10 = false, ka10 = false;

	*close_after = false;
	while (!(end = find_headers_end(c->rbuf, c->rlen)))
		if (!fill(c, until))
			return false;
	hlen = (size_t)(end - c->rbuf) + 4;
	if (c->rlen < 12 || strncmp(c->rbuf, "HTTP/1.", 7) != 0)
		return false;
	http10 = c->rbuf[7] == '0';
	*status = atoi(c->rbuf + 9);
	if (*status < 100 || *status > 999)
		return false;
	for (size_t pos = (size_t)(find_crlf(c->rbuf, hlen, 0) - c->rbuf) + 2; pos + 2 < hlen;) {
		const char *le = find_crlf(c->rbuf, hlen, pos);
		size_t ln = (size_t)(le - c->rbuf) - pos, vl;
		const char *line = c->rbuf + pos, *v;
		if ((v = header_value(line, ln, "Content-Length", &vl)))
			clen = strtoll(v, NULL, 10);
		else if ((v = header_value(line, ln, "Transfer-Encoding", &vl)))
			chunked = has_token(v, vl, "chunked");
		else if ((v = header_value(line, ln, "Connection", &vl))) {
			if (has_token(v, vl, "close"))
				*close_after = true;
			if (has_token(v, vl, "keep-alive"))
				ka10 = true;
		}
		pos = (size_t)(le - c->rbuf) + 2;
	}
	if (http10 && !ka10)
		*close_after = true;
	consume(c, hlen);

	if (*status == 204 || *status == 304 || *status < 200)
		return true;
	if (chunked) {
		for (;;) {
			const char *le;
			long long sz;
			while (!(le = find_crlf(c->rbuf, c->rlen, 0)))
				if (!fill(c, until))
					return false;
			sz = strtoll(c->rbuf, NULL, 16);
			consume(c, (size_t)(le - c->rbuf) + 2);
			if (sz < 0)
				return false;
			if (sz == 0) { /* trailers up to an empty line */
				for (;;) {
					while (!(le = find_crlf(c->rbuf, c->rlen, 0)))
						if (!fill(c, until))
							return false;
					size_t l = (size_t)(le - c->rbuf);
					consume(c, l + 2);
					if (l == 0)
						return true;
				}
			}
			sz += 2; /* data + CRLF */
			while (sz > 0) {
				if (c->rlen == 0 && !fill(c, until))
					return false;
				size_t take = (size_t)sz < c->rlen ? (size_t)sz : c->rlen;
				consume(c, take);
				sz -= (long long)take;
			}
		}
	}
	if (clen >= 0) {
		while (clen > 0) {
			if (c->rlen == 0 && !fill(c, until))
				return false;
			size_t take = (size_t)clen < c->rlen ? (size_t)clen : c->rlen;
			consume(c, take);
			clen -= (long long)take;
		}
		return true;
	}
	/* No length: the body runs to EOF. */
	*close_after = true;
	for (;;) {
		c->rlen = 0;
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, 1000) <= 0)
			return true;
		ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
		if (n <= 0)
			return true;
	}
}

static void drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = 0;
}

static void record_status(struct stats *st, int status)
{
	if (status >= 0 && status < 600)
		st->status[status]++;
	else
		st->status_other++;
}

static void write_acked(struct conn *c)
{
	if (!g_acked)
		return;
	pthread_mutex_lock(&g_acked_mu);
	fwrite(c->acked, 1, c->acked_len, g_acked);
	pthread_mutex_unlock(&g_acked_mu);
}

/* ---- load connections ---- */

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	long backoff = 20;

	c->fd = -1;
	for (uint64_t seq = 0; !time_up() && (O.requests <= 0 || (long)seq < O.requests); seq++) {
		int n_ev = build_request(c, seq);
		int64_t last_ok = mono_ms();
		bool answered = false, on_wire = false;

		while (!answered && !time_up()) {
			int status;
			bool close_after;
			int64_t t0;

			if (O.requests > 0 && mono_ms() - last_ok > GIVE_UP_MS)
				goto done;
			if (c->fd < 0 && (c->fd = dial()) < 0) {
				c->st.conn_errors++;
				sleep_ms(backoff);
				backoff = backoff * 2 > 500 ? 500 : backoff * 2;
				continue;
			}
			t0 = mono_us();
			if (!send_all(c->fd, c->req, c->req_len)) {
				if (!time_up())
					c->st.conn_errors++;
				drop(c);
				continue;
			}
			if (!on_wire) {
				on_wire = true;
				c->st.events_sent += n_ev;
			}
			if (!read_response(c, &status, &close_after)) {
				if (!time_up())
					c->st.conn_errors++;
				drop(c);
				continue;
			}
			answered = true;
			backoff = 20;
			c->st.requests++;
			c->st.hist[hist_index((uint64_t)(mono_us() - t0))]++;
			record_status(&c->st, status);
			if (status >= 200 && status < 300) {
				c->st.events_acked += n_ev;
				write_acked(c);
			}
			if (close_after)
				drop(c);
		}
	}
done:
	drop(c);
	return NULL;
}

/* ---- hold mode: many idle keep-alive connections, one thread ---- */

static bool ping(struct conn *c, int64_t *lat_us)
{
	char req[512];
	int status, n;
	bool close_after;
	int64_t t0 = mono_us();

	n = snprintf(req, sizeof(req), "GET %s/health HTTP/1.1\r\nHost: %s:%s\r\n\r\n", O.base,
		     O.host, O.port);
	if (!send_all(c->fd, req, (size_t)n) || !read_response(c, &status, &close_after))
		return false;
	*lat_us = mono_us() - t0;
	c->st.requests++;
	record_status(&c->st, status);
	if (close_after)
		drop(c);
	return true;
}

static void hold_run(struct conn *cs)
{
	/* The first pass opens everything; later passes reconnect the dropped. */
	for (int pass = 0; !time_up(); pass++) {
		int64_t next = mono_ms() + HOLD_PING_MS;
		int open = 0;
		for (int i = 0; i < O.conns && !time_up(); i++) {
			struct conn *c = &cs[i];
			int64_t lat;
			if (c->fd < 0 && (c->fd = dial()) < 0) {
				c->st.conn_errors++;
				continue;
			}
			if (!ping(c, &lat)) {
				c->st.conn_errors++;
				drop(c);
				continue;
			}
			c->st.hist[hist_index((uint64_t)lat)]++;
			open += c->fd >= 0;
		}
		if (pass == 0) {
			fprintf(stderr, "loadgen: holding %d connections\n", open);
			fflush(stderr);
		}
		while (!time_up() && mono_ms() < next)
			sleep_ms(50);
	}
	for (int i = 0; i < O.conns; i++)
		drop(&cs[i]);
}

/* ---- main ---- */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --url http://HOST:PORT --key WRITEKEY --mode track|batch|hold\n"
		"               [--conns 64] [--batch-size 100] [--duration SECONDS | --requests N]\n"
		"               [--prefix STR] [--acked FILE] [--users 100000] [--seed 1]\n");
	exit(2);
}

static bool parse_url(const char *url)
{
	const char *p, *slash, *colon;
	size_t hl;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(O.host))
		return false;
	memcpy(O.host, p, hl);
	O.host[hl] = '\0';
	if (colon) {
		size_t pl = (size_t)(slash - colon - 1);
		if (pl == 0 || pl >= sizeof(O.port))
			return false;
		memcpy(O.port, colon + 1, pl);
		O.port[pl] = '\0';
	} else
		strcpy(O.port, "80");
	snprintf(O.base, sizeof(O.base), "%s", slash);
	size_t bl = strlen(O.base); /* no trailing slash: paths add "/v1/..." */
	while (bl && O.base[bl - 1] == '/')
		O.base[--bl] = '\0';
	return true;
}

static long parse_long(const char *flag, const char *v, long min)
{
	char *end;
	long n;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min) {
		fprintf(stderr, "loadgen: %s needs an integer >= %ld, got '%s'\n", flag, min, v);
		exit(2);
	}
	return n;
}

static void parse_args(int argc, char **argv)
{
	const char *url = NULL, *mode = NULL;

	O.conns = 64;
	O.batch_size = 100;
	O.users = 100000;
	O.seed = 1;
	O.prefix = "lg";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage();
		if (i + 1 >= argc) {
			fprintf(stderr, "loadgen: %s needs a value\n", a);
			usage();
		}
		v = argv[++i];
		if (strcmp(a, "--url") == 0)
			url = v;
		else if (strcmp(a, "--key") == 0)
			O.key = v;
		else if (strcmp(a, "--mode") == 0)
			mode = v;
		else if (strcmp(a, "--conns") == 0)
			O.conns = (int)parse_long(a, v, 1);
		else if (strcmp(a, "--batch-size") == 0)
			O.batch_size = (int)parse_long(a, v, 1);
		else if (strcmp(a, "--duration") == 0) {
			char *end;
			O.duration = strtod(v, &end);
			if (end == v || *end || !(O.duration > 0)) {
				fprintf(stderr, "loadgen: --duration needs seconds > 0, got '%s'\n", v);
				exit(2);
			}
		} else if (strcmp(a, "--requests") == 0)
			O.requests = parse_long(a, v, 1);
		else if (strcmp(a, "--prefix") == 0)
			O.prefix = v;
		else if (strcmp(a, "--acked") == 0)
			O.acked = v;
		else if (strcmp(a, "--users") == 0)
			O.users = parse_long(a, v, 1);
		else if (strcmp(a, "--seed") == 0)
			O.seed = (uint64_t)parse_long(a, v, 0);
		else {
			fprintf(stderr, "loadgen: unknown option %s\n", a);
			usage();
		}
	}
	if (!url || !mode || !parse_url(url)) {
		fprintf(stderr, "loadgen: --url http://HOST:PORT and --mode are required\n");
		usage();
	}
	if (strcmp(mode, "track") == 0)
		O.mode = M_TRACK;
	else if (strcmp(mode, "batch") == 0)
		O.mode = M_BATCH;
	else if (strcmp(mode, "hold") == 0)
		O.mode = M_HOLD;
	else {
		fprintf(stderr, "loadgen: --mode must be track, batch or hold\n");
		usage();
	}
	if (O.mode != M_HOLD && !O.key) {
		fprintf(stderr, "loadgen: --key is required for track and batch\n");
		usage();
	}
	if (O.duration > 0 && O.requests > 0) {
		fprintf(stderr, "loadgen: give --duration or --requests, not both\n");
		usage();
	}
	if (O.duration <= 0 && O.requests <= 0)
		O.duration = 10;
	if (O.mode == M_HOLD && O.requests > 0) {
		fprintf(stderr, "loadgen: hold mode runs for --duration\n");
		usage();
	}
}

int main(int argc, char **argv)
{
	static const char *mode_names[] = { "track", "batch", "hold" };
	struct addrinfo hints = { 0 };
	struct sigaction sa = { 0 };
	struct conn *cs;
	struct stats tot = { 0 };
	int64_t t0;
	double secs;
	int rc;

	parse_args(argc, argv);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(O.host, O.port, &hints, &g_addr)) != 0) {
		fprintf(stderr, "loadgen: cannot resolve %s:%s: %s\n", O.host, O.port, gai_strerror(rc));
		return 1;
	}
	if (O.key) {
		char up[300];
		int n = snprintf(up, sizeof(up), "%s:", O.key);
		if (n < 0 || (size_t)n >= sizeof(up)) {
			fprintf(stderr, "loadgen: --key too long\n");
			return 2;
		}
		strcpy(g_auth, "Basic ");
		base64((const unsigned char *)up, (size_t)n, g_auth + 6);
	}
	if (O.acked) {
		g_acked = fopen(O.acked, "a");
		if (!g_acked) {
			fprintf(stderr, "loadgen: cannot open %s: %s\n", O.acked, strerror(errno));
			return 1;
		}
		setvbuf(g_acked, NULL, _IOFBF, 1 << 20);
	}
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	cs = calloc((size_t)O.conns, sizeof(*cs));
	if (!cs) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	t0 = mono_us();
	if (O.duration > 0)
		g_deadline_ms = t0 / 1000 + (int64_t)(O.duration * 1000.0);
	if (O.mode == M_HOLD) {
		for (int i = 0; i < O.conns; i++) {
			cs[i].id = i;
			cs[i].fd = -1;
		}
		hold_run(cs);
	} else {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		for (int i = 0; i < O.conns; i++) {
			cs[i].id = i;
			if (pthread_create(&cs[i].thread, &attr, conn_main, &cs[i]) != 0) {
				fprintf(stderr, "loadgen: cannot start thread %d\n", i);
				return 1;
			}
		}
		pthread_attr_destroy(&attr);
		for (int i = 0; i < O.conns; i++)
			pthread_join(cs[i].thread, NULL);
	}
	secs = (double)(mono_us() - t0) / 1e6;

	for (int i = 0; i < O.conns; i++) {
		struct stats *s = &cs[i].st;
		tot.requests += s->requests;
		tot.events_sent += s->events_sent;
		tot.events_acked += s->events_acked;
		tot.conn_errors += s->conn_errors;
		tot.status_other += s->status_other;
		for (int k = 0; k < 600; k++)
			tot.status[k] += s->status[k];
		for (int k = 0; k < HIST_N; k++)
			tot.hist[k] += s->hist[k];
		free(cs[i].req);
		free(cs[i].acked);
	}
	free(cs);
	if (g_acked && fclose(g_acked) != 0) {
		fprintf(stderr, "loadgen: writing %s: %s\n", O.acked, strerror(errno));
		return 1;
	}

	printf("{\"mode\":\"%s\",\"conns\":%d,\"requests\":%ld,\"events_sent\":%ld,"
	       "\"events_acked\":%ld,\"status\":{",
	       mode_names[O.mode], O.conns, tot.requests, tot.events_sent, tot.events_acked);
	bool first = true;
	for (int k = 0; k < 600; k++)
		if (tot.status[k]) {
			printf("%s\"%d\":%ld", first ? "" : ",", k, tot.status[k]);
			first = false;
		}
	if (tot.status_other)
		printf("%s\"other\":%ld", first ? "" : ",", tot.status_other);
	printf("},\"conn_errors\":%ld,\"seconds\":%.3f,\"events_per_s\":%.1f,\"p50_ms\":%.3f,"
	       "\"p99_ms\":%.3f}\n",
	       tot.conn_errors, secs, secs > 0 ? (double)tot.events_acked / secs : 0.0,
	       hist_quantile_ms(tot.hist, 0.50), hist_quantile_ms(tot.hist, 0.99));
	freeaddrinfo(g_addr);
	return 0;
}
