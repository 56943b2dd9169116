/*
 * pal_http.c - the built-in HTTP/1.1 health service on port 80.
 *
 * Until the workload package loader exists (issue 6), the runtime answers
 * HTTP itself so that `make run` serves something real: GET /healthz ->
 * 200 "ok", GET / -> a short text page, anything else -> 404, methods
 * other than GET/HEAD -> 405, request bodies -> 413, headers over 2 KiB
 * -> 431.  Keep-alive and pipelining are supported; "Connection: close"
 * and HTTP/1.0 without keep-alive close after the response.  Responses
 * are constant strings sent by reference (no copy into a socket buffer).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/log.h"
#include "netstack/netstack.h"
#include "netstack/tcp.h"

#define HTTP_CONNS	32
#define HTTP_HDR_MAX	2048

struct http_conn {
	struct tcp_pcb *pcb;
	bool in_use;
	bool closing;
	size_t len;
	char buf[HTTP_HDR_MAX];
};

static struct http_conn conns[HTTP_CONNS];
uint64_t pal_http_requests, pal_http_errors;


static const char r_ok[] = "HTTP/1.1 200 OK\r\nServer: tern\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
static const char r_ok_head[] = "HTTP/1.1 200 OK\r\nServer: tern\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n";
static const char r_root[] = "HTTP/1.1 200 OK\r\nServer: tern\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\ntern is up: try /healthz\r\n";
static const char r_404[] = "HTTP/1.1 404 Not Found\r\nServer: tern\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n";
static const char r_405[] = "HTTP/1.1 405 Method Not Allowed\r\nServer: tern\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n";
static const char r_400[] = "HTTP/1.1 400 Bad Request\r\nServer: tern\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
static const char r_413[] = "HTTP/1.1 413 Content Too Large\r\nServer: tern\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
static const char r_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: tern\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

static void
reply(struct http_conn *c, const char *r, size_t len)
{
	if (tcp_write(c->pcb, r, len, NULL, NULL) != 0)
		pal_http_errors++;
}

static bool
header_has(const char *h, size_t n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	for (size_t i = 0; i + nl + vl <= n; i++) {
		if ((i == 0 || h[i - 1] == '\n') && strncmp(h + i, name, nl) == 0) {
			for (size_t k = i + nl; k + vl <= n && h[k] != '\r'; k++) {
				bool eq = true;
				for (size_t j = 0; j < vl && eq; j++) {
					char a = h[k + j], b = value[j];
					if (a >= 'A' && a <= 'Z')
						a = (char)(a + 32);
					eq = a == b;
				}
				if (eq)
					return true;
			}
		}
	}
	return false;
}

/* Handle one complete request head of n bytes; false: close after it. */
static bool
handle(struct http_conn *c, const char *h, size_t n)
{
	pal_http_requests++;
	const char *sp1 = memchr(h, ' ', n);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(h + n - sp1 - 1)) : NULL;
	const char *eol = memchr(h, '\r', n);
	if (sp1 == NULL || sp2 == NULL || eol == NULL || sp2 > eol ||
	    (size_t)(eol - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		reply(c, r_400, sizeof(r_400) - 1);
		return false;
	}
	size_t ml = (size_t)(sp1 - h), pl = (size_t)(sp2 - sp1 - 1);
	const char *path = sp1 + 1;
	bool http10 = sp2[8] == '0';
	bool keep = http10 ? header_has(h, n, "Connection:", "keep-alive") :
	    !header_has(h, n, "Connection:", "close");
	if (header_has(h, n, "Content-Length:", "1") || header_has(h, n, "Content-Length:", "2") ||
	    header_has(h, n, "Content-Length:", "3") || header_has(h, n, "Content-Length:", "4") ||
	    header_has(h, n, "Content-Length:", "5") || header_has(h, n, "Content-Length:", "6") ||
	    header_has(h, n, "Content-Length:", "7") || header_has(h, n, "Content-Length:", "8") ||
	    header_has(h, n, "Content-Length:", "9") || header_has(h, n, "Transfer-Encoding:", "chunked")) {
		reply(c, r_413, sizeof(r_413) - 1);
		return false;
	}
	bool get = ml == 3 && strncmp(h, "GET", 3) == 0;
	bool head = ml == 4 && strncmp(h, "HEAD", 4) == 0;
	if (!get && !head) {
		reply(c, r_405, sizeof(r_405) - 1);
		return keep;
	}
	if (pl == 8 && strncmp(path, "/healthz", 8) == 0) {
		if (head)
			reply(c, r_ok_head, sizeof(r_ok_head) - 1);
		else
			reply(c, r_ok, sizeof(r_ok) - 1);
	} else if (pl == 1 && path[0] == '/') {
		reply(c, r_root, sizeof(r_root) - 1);
	} else {
		reply(c, r_404, sizeof(r_404) - 1);
	}
	return keep;
}

static void
http_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len)
{
	struct http_conn *c = ctx;
	if (len == 0) {		/* peer closed: finish ours */
		tcp_close(pcb);
		return;
	}
	if (c->closing)
		return;		/* ignore anything after a closing response */
	if (len > HTTP_HDR_MAX - c->len) {
		reply(c, r_431, sizeof(r_431) - 1);
		c->closing = true;
		tcp_close(pcb);
		return;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	/* Every complete request head in the buffer (pipelining). */
	for (;;) {
		size_t end = 0;
		for (size_t i = 3; i < c->len; i++) {
			if (c->buf[i - 3] == '\r' && c->buf[i - 2] == '\n' &&
			    c->buf[i - 1] == '\r' && c->buf[i] == '\n') {
				end = i + 1;
				break;
			}
		}
		if (end == 0)
			return;
		bool keep = handle(c, c->buf, end);
		memmove(c->buf, c->buf + end, c->len - end);
		c->len -= end;
		if (!keep) {
			c->closing = true;
			tcp_close(pcb);
			return;
		}
	}
}

static void
http_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	struct http_conn *c = ctx;
	c->in_use = false;
	c->pcb = NULL;
}

static void
http_accept(void *ctx, struct tcp_pcb *pcb)
{
	for (int i = 0; i < HTTP_CONNS; i++) {
		struct http_conn *c = &conns[i];
		if (!c->in_use) {
			c->in_use = true;
			c->closing = false;
			c->len = 0;
			c->pcb = pcb;
			pcb->cbs.recv = http_recv;
			pcb->cbs.closed = http_closed;
			pcb->ctx = c;
			return;
		}
	}
	pal_http_errors++;
	tcp_abort(pcb);		/* connection limit reached */
}

int pal_http_start(struct netstack *ns, uint16_t port);
int
pal_http_start(struct netstack *ns, uint16_t port)
{
	int rc = tcp_listen(ns, port, http_accept, NULL);
	if (rc != 0)
		log_error("http", "cannot listen on port %u", port);
	return rc;
}
