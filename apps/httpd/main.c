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
 * workload image and the package (no copy); a response whose bytes depend
 * only on constants (a text reply, a file's head) is built once and sent
 * by reference from then on (hc below); only /stats is built per request.
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

/*
 * A connection reads requests zero copy: a head that arrived in one
 * segment is parsed where the driver put it (the lent buffer rb, from
 * roff).  Only a head split across segments is gathered into buf (len
 * bytes, which come before rb's), counted in httpd.head_copied.
 * Responses are built in runtime buffers (pal_buf_alloc) and handed over
 * with pal_send_buf; file bodies go by reference: nothing is copied.
 */
struct conn {
	pal_sock_t *s;
	char *buf;
	size_t len;
	struct pal_buf rb;
	size_t roff;
};

static uint64_t head_copied;

static size_t
rb_avail(const struct conn *c)
{
	return c->rb.priv != 0 ? c->rb.len - c->roff : 0;
}

static void
rb_drop(struct conn *c)
{
	if (c->rb.priv != 0)
		pal_buf_free(&c->rb);
	c->rb.priv = 0;
	c->rb.len = 0;
	c->roff = 0;
}

/* The unparsed bytes: the gathered head if there is one, else the lent
   buffer's. */
static const char *
cur(const struct conn *c, size_t *n)
{
	if (c->len > 0 || rb_avail(c) == 0) {
		*n = c->len;
		return c->buf;
	}
	*n = rb_avail(c);
	return (const char *)c->rb.data + c->roff;
}

/* Drops k bytes from the front of cur(). */
static void
consume(struct conn *c, size_t k)
{
	if (c->len > 0) {
		u_memmove(c->buf, c->buf + k, c->len - k);
		c->len -= k;
	} else {
		c->roff += k;
		if (c->roff >= c->rb.len)
			rb_drop(c);
	}
}

/* Moves lent bytes behind a gathered head (a copy, counted). */
static void
gather(struct conn *c)
{
	size_t k = rb_avail(c);
	if (k > g.head_max - c->len)
		k = g.head_max - c->len;
	u_memmove(c->buf + c->len, c->rb.data + c->roff, k);
	c->len += k;
	head_copied += k;
	c->roff += k;
	if (c->roff >= c->rb.len)
		rb_drop(c);
}

/* Waits for the next lent buffer; 0, or the PAL error. */
static int
fill(struct conn *c)
{
	rb_drop(c);
	return pal_recv_buf(c->s, pal_deadline((pal_time_t)g.idle_ms * 1000000), &c->rb);
}

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

/*
 * Responses whose bytes depend only on their arguments (constant bodies,
 * file heads) are built once and kept here; later ones go out by
 * reference from this static memory (pal_send_ref: no allocation, no
 * formatting, no copy).  An entry is never changed once filled, so a
 * reference still in flight stays valid; when the table is full, heads
 * are built per request as before (counted in head_built).
 */
#define HC_ENTRIES 8
#define HC_BYTES 448
static struct head_cache {
	int status;
	const char *type, *extra;
	uint64_t blen;
	const void *inl;
	size_t ninl, len;
	bool keep;
	char bytes[HC_BYTES];
} hc[HC_ENTRIES];
static unsigned hc_used;
static uint64_t head_cached, head_built;

static const struct head_cache *
hc_find(int status, const char *type, uint64_t blen, bool keep, const char *extra,
    const void *inl, size_t ninl)
{
	for (unsigned i = 0; i < hc_used; i++) {
		const struct head_cache *e = &hc[i];
		if (e->status == status && e->type == type && e->blen == blen &&
		    e->keep == keep && e->extra == extra && e->inl == inl && e->ninl == ninl)
			return e;
	}
	return 0;
}

/* Sends a generated header block for status with a body of blen bytes,
   followed in the same buffer by inl[0..ninl) (a small body, or none).
   constant: type, extra and inl[0..ninl) never change (literals, the
   image), so the bytes may be built once and sent from hc. */
static bool
send_head(struct conn *c, int status, const char *type, uint64_t blen, bool keep,
    const char *extra, const void *inl, size_t ninl, bool constant)
{
	if (constant) {
		const struct head_cache *e = hc_find(status, type, blen, keep, extra, inl, ninl);
		if (e != 0) {
			count_status(status);
			head_cached++;
			return pal_send_ref(c->s, e->bytes, e->len,
			    pal_deadline(SEND_TIMEOUT_NS)) == (long)e->len;
		}
	}
	struct pal_buf pb;
	if (pal_wait_writable(c->s, pal_deadline(SEND_TIMEOUT_NS)) != 0 ||
	    pal_buf_alloc(c->s, 320 + ninl, &pb) != 0)
		return false;
	struct ubuf b = { (char *)pb.data, pb.cap, 0, false };
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
	ub_mem(&b, inl, ninl);
	count_status(status);
	head_built++;
	if (b.overflow) {
		pal_buf_free(&pb);
		return false;
	}
	if (constant && hc_used < HC_ENTRIES && b.len <= HC_BYTES) {
		struct head_cache *e = &hc[hc_used++];
		*e = (struct head_cache){ status, type, extra, blen, inl, ninl, b.len, keep, { 0 } };
		u_memmove(e->bytes, pb.data, b.len);
	}
	pb.len = b.len;
	return pal_send_buf(c->s, &pb) == 0;
}

static bool
send_body_ref(struct conn *c, const void *data, size_t len)
{
	return len == 0 || pal_send_ref(c->s, data, len,
	    pal_deadline(SEND_TIMEOUT_NS)) == (long)len;
}

/* reply_text(c, status, "literal", head, keep, extra): the body's
   length from sizeof ("" body "" refuses anything but a literal). */
#define reply_text(c, status, body, head, keep, extra) \
	reply_textn((c), (status), (body), sizeof("" body "") - 1, (head), (keep), (extra))

static bool
reply_textn(struct conn *c, int status, const char *body, size_t n, bool head, bool keep,
    const char *extra)
{
	return send_head(c, status, "text/plain; charset=utf-8", n, keep, extra,
	    body, head ? 0 : n, true);
}

static bool
reply_stats(struct conn *c, bool head, bool keep)
{
	/* 128: the runtime's ~80, 4 per NIC queue and a driver's own. */
	static struct pal_counter ctr[128];
	char *out = pal_alloc(STATS_MAX);
	if (out == 0)
		return reply_text(c, 503, "out of memory\n", head, false, 0);
	size_t n = pal_api_ptr->counters(ctr, 128);
	if (n > 128)
		n = 128;
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
	ub_str(&b, ",\n  \"httpd.head_copied\": ");
	ub_u64(&b, head_copied);
	ub_str(&b, ",\n  \"httpd.head_cached\": ");
	ub_u64(&b, head_cached);
	ub_str(&b, ",\n  \"httpd.head_built\": ");
	ub_u64(&b, head_built);
	ub_str(&b, "\n}\n");
	bool ok = !b.overflow && send_head(c, 200, "application/json", b.len, keep, 0,
	    out, head ? 0 : b.len, false);
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
	return send_head(c, 200, content_type(name), len, keep, 0, 0, 0, true) &&
	    (head || send_body_ref(c, data, len));
}

/* Drops n body bytes: what is already here first, then lent buffers
   straight from the socket (never copied). */
static bool
skip_body(struct conn *c, uint64_t n)
{
	while (n > 0) {
		size_t have;
		cur(c, &have);
		if (have == 0) {
			if (fill(c) != 0)
				return false;
			continue;
		}
		size_t k = have < n ? have : (size_t)n;
		consume(c, k);
		n -= k;
	}
	return true;
}

/* The path is the 8-byte lit: one compare, not a call (the usual route). */
static bool
path_is8(const struct http_req *r, const char *lit)
{
	uint64_t a, b;
	if (r->path_len != 8)
		return false;
	__builtin_memcpy(&a, r->path, 8);
	__builtin_memcpy(&b, lit, 8);
	return a == b;
}

/* Answers one parsed request (r points into cur(), which stays put until
   the answer is queued), then drops its head and body; false: close. */
static bool
handle(struct conn *c, const struct http_req *r)
{
	bool head = r->method == HTTP_HEAD;
	bool keep = r->keep_alive;
	bool ok;

	g.requests++;
	if (r->chunked)
		return reply_text(c, 411, "chunked request bodies are not accepted\n",
		    head, false, 0), false;
	if (r->content_length > g.body_max)
		return reply_text(c, 413, "request body too large\n", head, false, 0),
		    false;
	if (r->method == HTTP_OTHER) {
		ok = reply_text(c, 405, "method not allowed\n", false, keep,
		    "Allow: GET, HEAD\r\n");
	} else if (r->path[0] != '/') {		/* "*" */
		reply_text(c, 400, "bad request target\n", head, false, 0);
		return false;
	} else if (path_is8(r, "/healthz")) {
		ok = reply_text(c, 200, "ok", head, keep, 0);
	} else if (r->path_len == 6 && u_memcmp(r->path, "/stats", 6) == 0) {
		ok = reply_stats(c, head, keep);
	} else {
		ok = reply_file(c, r, head, keep);
	}
	consume(c, r->head_len);
	if (r->content_length > 0 && !skip_body(c, r->content_length))
		return false;
	return ok && keep;
}

static void
conn_main(void *arg)
{
	struct conn c = { arg, 0, 0, { 0 }, 0 };
	struct http_req r;
	int status;

	c.buf = pal_alloc(g.head_max);
	if (c.buf == 0) {
		pal_send_ref(c.s, r_busy, sizeof(r_busy) - 1, pal_deadline(SEND_TIMEOUT_NS));
		goto out;
	}
	for (;;) {
		size_t n;
		if (c.len > 0 && rb_avail(&c) > 0)
			gather(&c);		/* the rest of a split head */
		const char *p = cur(&c, &n);
		int rc = n > 0 ? http_parse(p, n, g.head_max, &r, &status) : 0;
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
		if (c.len == 0 && n > 0)
			gather(&c);		/* a head split across segments */
		int got = fill(&c);
		if (got == -PAL_ETIMEDOUT && c.len > 0) {
			g.requests++;
			reply_text(&c, 408, "request timeout\n", false, false, 0);
			break;
		}
		if (got != 0)
			break;	/* idle keep-alive, EOF or reset: just close */
	}
out:
	rb_drop(&c);
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
