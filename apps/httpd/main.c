/*
 * httpd - tern's sample workload: an HTTP/1.1 server on the PAL.
 *
 *   GET/HEAD /healthz  200 "ok"
 *   GET/HEAD /stats    200, JSON: every runtime counter plus httpd's own
 *   GET/HEAD /<path>   the package file www/<path> ("/" -> www/index.html)
 *
 * One cooperative thread per connection; keep-alive and pipelining (every
 * complete request in the buffer is answered in order).  Limits, from the
 * manifest environment (defaults in brackets): HEAD_MAX [8192] bytes of
 * request head (431), BODY_MAX [65536] bytes of request body, read and
 * discarded (413 past it), MAX_CONNS [48] connections (503 to the next),
 * IDLE_MS [5000] without a complete request (408 if one was started, else
 * a quiet close).  Other methods get 405; chunked bodies 411.
 *
 * Constant responses and file bodies are sent by reference from the
 * workload image and the package (no copy); only generated headers and
 * /stats are copied.
 */
#include "pal/pal.h"

#include "apps/httpd/http.h"
#include "apps/httpd/util.h"

#define SEND_TIMEOUT_NS (30ULL * 1000000000ULL)
#define STATS_MAX 8192

static struct {
	uint32_t head_max, body_max, max_conns, idle_ms;
	uint16_t port;
	unsigned active;
	uint64_t requests, conns, r2xx, r4xx, r5xx, refused_busy;
} g;

static uint64_t
env_num(const char *key, uint64_t def, uint64_t lo, uint64_t hi)
{
	const char *v = pal_env(key);
	uint64_t x = 0;
	if (v == 0 || v[0] == '\0')
		return def;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || x > hi) {
			pal_log(PAL_LOG_WARN, "bad number in the environment; using the default");
			return def;
		}
		x = x * 10 + (uint64_t)(*p - '0');
	}
	return x < lo ? lo : x > hi ? hi : x;
}

static const char r_busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: tern-httpd\r\n"
    "Connection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n";

struct conn {
	pal_sock_t *s;
	char *buf;
	size_t len;
	char hdr[320];		/* one generated header block */
};

static void
count_status(int status)
{
	if (status < 300)
		g.r2xx++;
	else if (status < 500)
		g.r4xx++;
	else
		g.r5xx++;
}

static const char *
content_type(const char *name)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".txt", "text/plain; charset=utf-8" },
		{ ".css", "text/css" }, { ".js", "text/javascript" },
		{ ".json", "application/json" }, { ".svg", "image/svg+xml" },
		{ ".png", "image/png" }, { ".ico", "image/x-icon" },
	};
	size_t n = u_strlen(name);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t e = u_strlen(t[i].ext);
		if (n >= e && u_memcmp(name + n - e, t[i].ext, e) == 0)
			return t[i].type;
	}
	return "application/octet-stream";
}

/* Sends a generated header block for status with a body of blen bytes. */
static bool
send_head(struct conn *c, int status, const char *type, uint64_t blen, bool keep,
    const char *extra)
{
	struct ubuf b = { c->hdr, sizeof(c->hdr), 0, false };
	ub_str(&b, "HTTP/1.1 ");
	ub_u64(&b, (uint64_t)status);
	ub_str(&b, " ");
	ub_str(&b, http_reason(status));
	ub_str(&b, "\r\nServer: tern-httpd\r\n");
	if (type != 0) {
		ub_str(&b, "Content-Type: ");
		ub_str(&b, type);
		ub_str(&b, "\r\n");
	}
	if (extra != 0)
		ub_str(&b, extra);
	ub_str(&b, "Content-Length: ");
	ub_u64(&b, blen);
	ub_str(&b, keep ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
	count_status(status);
	return pal_send(c->s, c->hdr, b.len, pal_deadline(SEND_TIMEOUT_NS)) == (long)b.len;
}

static bool
send_body_ref(struct conn *c, const void *data, size_t len)
{
	return len == 0 || pal_send_ref(c->s, data, len,
	    pal_deadline(SEND_TIMEOUT_NS)) == (long)len;
}

static bool
reply_text(struct conn *c, int status, const char *body, bool head, bool keep,
    const char *extra)
{
	size_t n = u_strlen(body);
	return send_head(c, status, "text/plain; charset=utf-8", n, keep, extra) &&
	    (head || send_body_ref(c, body, n));
}

static bool
reply_stats(struct conn *c, bool head, bool keep)
{
	static struct pal_counter ctr[96];
	char *out = pal_alloc(STATS_MAX);
	if (out == 0)
		return reply_text(c, 503, "out of memory\n", head, false, 0);
	size_t n = pal_api_ptr->counters(ctr, 96);
	if (n > 96)
		n = 96;
	struct ubuf b = { out, STATS_MAX, 0, false };
	ub_str(&b, "{\n");
	for (size_t i = 0; i < n; i++) {
		ub_str(&b, "  \"");
		ub_str(&b, ctr[i].name);	/* runtime names: [a-z0-9._] */
		ub_str(&b, "\": ");
		ub_u64(&b, ctr[i].value);
		ub_str(&b, ",\n");
	}
	size_t used = 0, limit = 0;
	pal_api_ptr->mem_stats(&used, &limit);
	ub_str(&b, "  \"httpd.requests\": ");
	ub_u64(&b, g.requests);
	ub_str(&b, ",\n  \"httpd.connections\": ");
	ub_u64(&b, g.conns);
	ub_str(&b, ",\n  \"httpd.active\": ");
	ub_u64(&b, g.active);
	ub_str(&b, ",\n  \"httpd.responses_2xx\": ");
	ub_u64(&b, g.r2xx);
	ub_str(&b, ",\n  \"httpd.responses_4xx\": ");
	ub_u64(&b, g.r4xx);
	ub_str(&b, ",\n  \"httpd.responses_5xx\": ");
	ub_u64(&b, g.r5xx);
	ub_str(&b, ",\n  \"httpd.refused_busy\": ");
	ub_u64(&b, g.refused_busy);
	ub_str(&b, "\n}\n");
	bool ok = !b.overflow && send_head(c, 200, "application/json", b.len, keep, 0) &&
	    (head || pal_send(c->s, out, b.len, pal_deadline(SEND_TIMEOUT_NS)) == (long)b.len);
	pal_free(out);
	return ok;
}

/* www/<path>; "/" and directories ending in '/' get index.html. */
static bool
reply_file(struct conn *c, const struct http_req *r, bool head, bool keep)
{
	char name[64];		/* package names are at most 47 bytes */
	struct ubuf b = { name, sizeof(name), 0, false };
	ub_str(&b, "www");
	ub_mem(&b, r->path, r->path_len);
	if (r->path[r->path_len - 1] == '/')
		ub_str(&b, "index.html");
	ub_nul(&b);
	const void *data;
	size_t len;
	/* No percent-decoding and no "..": names are looked up verbatim. */
	if (b.overflow || u_memmem(r->path, r->path_len, "..", 2) ||
	    pal_file(name, &data, &len) != 0)
		return reply_text(c, 404, "not found\n", head, keep, 0);
	return send_head(c, 200, content_type(name), len, keep, 0) &&
	    (head || send_body_ref(c, data, len));
}

/* Drops n body bytes: from the buffer first, then from the socket. */
static bool
skip_body(struct conn *c, uint64_t n)
{
	size_t k = c->len < n ? c->len : (size_t)n;
	u_memmove(c->buf, c->buf + k, c->len - k);
	c->len -= k;
	n -= k;
	while (n > 0) {
		long got = pal_recv(c->s, c->buf, n < g.head_max ? (size_t)n : g.head_max,
		    pal_deadline((pal_time_t)g.idle_ms * 1000000));
		if (got <= 0)
			return false;
		n -= (uint64_t)got;
	}
	return true;
}

/* Answers one parsed request; false: close the connection. */
static bool
handle(struct conn *c, const struct http_req *r)
{
	bool head = r->method == HTTP_HEAD;
	bool keep = r->keep_alive;

	g.requests++;
	u_memmove(c->buf, c->buf + r->head_len, c->len - r->head_len);
	c->len -= r->head_len;
	if (r->chunked)
		return reply_text(c, 411, "chunked request bodies are not accepted\n",
		    head, false, 0), false;
	if (r->content_length > g.body_max)
		return reply_text(c, 413, "request body too large\n", head, false, 0),
		    false;
	if (r->content_length > 0 && !skip_body(c, r->content_length))
		return false;
	if (r->method == HTTP_OTHER)
		return reply_text(c, 405, "method not allowed\n", false, keep,
		    "Allow: GET, HEAD\r\n") && keep;
	if (r->path[0] != '/')			/* "*" */
		return reply_text(c, 400, "bad request target\n", head, false, 0), false;
	bool ok;
	if (r->path_len == 8 && u_memcmp(r->path, "/healthz", 8) == 0)
		ok = reply_text(c, 200, "ok", head, keep, 0);
	else if (r->path_len == 6 && u_memcmp(r->path, "/stats", 6) == 0)
		ok = reply_stats(c, head, keep);
	else
		ok = reply_file(c, r, head, keep);
	return ok && keep;
}

static void
conn_main(void *arg)
{
	struct conn c = { arg, 0, 0, { 0 } };
	struct http_req r;
	int status;

	c.buf = pal_alloc(g.head_max);
	if (c.buf == 0) {
		pal_send_ref(c.s, r_busy, sizeof(r_busy) - 1, pal_deadline(SEND_TIMEOUT_NS));
		goto out;
	}
	for (;;) {
		int rc = http_parse(c.buf, c.len, g.head_max, &r, &status);
		if (rc > 0) {
			if (!handle(&c, &r))
				break;
			continue;
		}
		if (rc < 0) {
			g.requests++;
			reply_text(&c, status, "bad request\n", false, false, 0);
			break;
		}
		long got = pal_recv(c.s, c.buf + c.len, g.head_max - c.len,
		    pal_deadline((pal_time_t)g.idle_ms * 1000000));
		if (got == -PAL_ETIMEDOUT && c.len > 0) {
			g.requests++;
			reply_text(&c, 408, "request timeout\n", false, false, 0);
			break;
		}
		if (got <= 0)
			break;	/* idle keep-alive, EOF or reset: just close */
		c.len += (size_t)got;
	}
out:
	pal_free(c.buf);
	pal_close(c.s);
	g.active--;
}

int
pal_main(const struct pal_api *api, int argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	if (!pal_init(api))
		return 2;
	g.port = (uint16_t)env_num("PORT", 80, 1, 65535);
	g.head_max = (uint32_t)env_num("HEAD_MAX", 8192, 256, 65536);
	g.body_max = (uint32_t)env_num("BODY_MAX", 65536, 0, 1u << 30);
	g.max_conns = (uint32_t)env_num("MAX_CONNS", 48, 1, 4096);
	g.idle_ms = (uint32_t)env_num("IDLE_MS", 5000, 10, 3600000);

	pal_sock_t *l;
	int rc = pal_tcp_listen(g.port, 64, &l);
	if (rc != 0) {
		pal_log(PAL_LOG_ERR, rc == -PAL_ENOTSUP ? "no network: cannot listen" :
		    "cannot listen on the port");
		return 1;
	}
	size_t nfiles = 0;
	const char *fname;
	while (api->file_name(nfiles, &fname) == 0)
		nfiles++;
	char msg[96];
	struct ubuf b = { msg, sizeof(msg), 0, false };
	ub_str(&b, "listening on port ");
	ub_u64(&b, g.port);
	ub_str(&b, ", serving ");
	ub_u64(&b, nfiles);
	ub_str(&b, " files");
	ub_nul(&b);
	pal_log(PAL_LOG_INFO, msg);

	for (;;) {
		pal_sock_t *s;
		struct pal_addr peer;
		rc = pal_tcp_accept(l, PAL_FOREVER, &s, &peer);
		if (rc == -PAL_EINVAL) {
			pal_log(PAL_LOG_ERR, "listener is gone");
			return 1;
		}
		if (rc != 0)
			continue;
		g.conns++;
		if (g.active >= g.max_conns ||
		    pal_thread_create(conn_main, s, 32768, 0) != 0) {
			g.refused_busy++;
			g.r5xx++;
			pal_send_ref(s, r_busy, sizeof(r_busy) - 1, pal_deadline(SEND_TIMEOUT_NS));
			pal_close(s);
			continue;
		}
		g.active++;
	}
}
