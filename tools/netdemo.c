/*
 * netdemo.c - tern's netstack as a Linux process on a TAP device: a small
 * HTTP/1.1 server (and, once active open exists, a client) used by the
 * Linux-peer tests (tests/netstack/tap.sh) and `make bench-net`.
 *
 *   netdemo --tap <ifname> --ip <a.b.c.d/n> [--gw <ip>] [--port <p>]
 *           [--mac <xx:..>] [--verbose]                      serve
 *           [--impair-rx SPEC] [--impair-tx SPEC] [--seed N]
 *           (SPEC "loss=5,reorder=25,dup=2,corrupt=1,delay_ms=1": the
 *           TAP port's netem stand-in, netstack/host/tap.h)
 *   netdemo ... --get <ip> <port> <path> <outfile>            download
 *   netdemo --features                 prints "get=yes" or "get=no"
 *
 * Server: GET /healthz ("ok\n"), GET /bytes/<n> (n bytes of the demo
 * stream below), GET /stats (counters as "name value" lines); HTTP/1.1
 * keep-alive (one request at a time per connection, pipelined requests
 * wait their turn), "Connection: close" honoured.  Bodies are sent by
 * reference with tcp_write (tcp.h): headers live in the connection until
 * their release callback, body chunks point into one static buffer, so
 * the application never copies payload.
 *
 * The demo stream: byte i of every /bytes body is S[i mod 65521], where
 * S[k] is the low byte of the (k+1)-th state of the xorshift32 generator
 * (13, 17, 5) seeded with 0x2545f491.  65521 is prime, so a body shifted
 * by any amount a TCP bug could plausibly produce does not hash the same.
 * tests/netstack/demo_body.py generates the same bytes.
 *
 * Everything runs in one loop: netstack_poll (TAP frames + timers), then
 * each connection's pump (parse the next request, queue more body).
 * Release callbacks only count; the pump is the one place that writes,
 * so no tcp_write ever runs inside the stack's own callbacks.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kernel/err.h"
#include "netstack/host/tap.h"
#include "netstack/netstack.h"

#define DEMO_PERIOD	65521u
#define DEMO_SEED	0x2545f491u
#define DEMO_CHUNK	16384u		/* bytes per tcp_write of a body */
#define DEMO_CONNS	TCP_MAX_PCBS
#define DEMO_RXMAX	4096		/* request bytes buffered per connection */
#define DEMO_HDRMAX	2048		/* response header (+ small body) */

struct demo;

struct conn {
	bool used;
	struct demo *d;
	struct tcp_pcb *pcb;
	char rx[DEMO_RXMAX];
	size_t rxlen;
	bool rx_overflow;
	bool peer_closed;	/* FIN received */
	bool close_after;	/* close once the response is queued */
	bool closing;		/* tcp_close called */
	bool dead;		/* closed() ran: pcb gone, slot waits for releases */
	char hdr[DEMO_HDRMAX];
	bool hdr_busy;		/* hdr is referenced by the send queue */
	uint64_t body_pos, body_left;
	uint32_t refs;		/* body chunks not yet released */
	bool zero_wnd;		/* the peer's window was 0 at the last pump */
};

struct demo_stats {
	uint64_t accepted, refused, requests, bad_requests, closed_ok, closed_reset,
	    closed_timeout, closed_other, bytes_queued, write_eagain, zero_window_stalls;
};

struct demo {
	struct netstack ns;
	struct tap_nic tap;
	struct ns_txbuf txmem[NS_TXBUFS];
	struct conn conns[DEMO_CONNS];
	struct demo_stats st;
	uint16_t port;
	bool verbose;
	unsigned ka_idle_ms, ka_intvl_ms, ka_count;	/* --keepalive, 0: off */
};

static uint8_t demo_body[2 * DEMO_PERIOD];	/* the period, twice */
static volatile sig_atomic_t demo_stop, demo_dump;

static void
body_init(void)
{
	uint32_t s = DEMO_SEED;
	for (uint32_t k = 0; k < DEMO_PERIOD; k++) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		demo_body[k] = (uint8_t)s;
		demo_body[k + DEMO_PERIOD] = (uint8_t)s;
	}
}

/* ---- server ---------------------------------------------------------------- */

/* A slot is reused only when the connection is gone AND the stack has
   given back every reference into it: release may come after closed(). */
static void
conn_maybe_free(struct conn *c)
{
	if (c->dead && c->refs == 0 && !c->hdr_busy)
		c->used = false;
}

static void
hdr_release(void *rctx)
{
	struct conn *c = rctx;
	c->hdr_busy = false;
	conn_maybe_free(c);
}

static void
body_release(void *rctx)
{
	struct conn *c = rctx;
	c->refs--;
	conn_maybe_free(c);
}

static void
conn_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len,
    struct nic_buf *b)
{
	struct conn *c = ctx;
	if (len == 0) {
		c->peer_closed = true;
		return;
	}
	/* The view is only valid during this call: keep a copy of the request
	   bytes (control data, small); past the limit the request is refused. */
	size_t room = sizeof(c->rx) - c->rxlen;
	if (len > room) {
		c->rx_overflow = true;
		len = room;
	}
	memcpy(c->rx + c->rxlen, data, len);
	c->rxlen += len;
}

static void
conn_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	struct conn *c = ctx;
	struct demo *d = c->d;
	if (reason == TERN_OK)
		d->st.closed_ok++;
	else if (reason == TERN_ECONNRESET)
		d->st.closed_reset++;
	else if (reason == TERN_ETIMEDOUT)
		d->st.closed_timeout++;	/* retransmissions or keepalives unanswered */
	else
		d->st.closed_other++;
	if (d->verbose || reason == TERN_ECONNRESET)
		printf("netdemo: connection from port %u closed: %s\n", pcb->rport,
		    reason == TERN_OK ? "ok" : err_str(reason));
	c->dead = true;
	c->pcb = NULL;
	conn_maybe_free(c);
}

static void
demo_accept(void *ctx, struct tcp_pcb *pcb)
{
	struct demo *d = ctx;
	struct conn *c = NULL;
	for (int i = 0; i < DEMO_CONNS && c == NULL; i++)
		if (!d->conns[i].used)
			c = &d->conns[i];
	if (c == NULL) {
		d->st.refused++;
		tcp_abort(pcb);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->d = d;
	c->pcb = pcb;
	pcb->cbs.recv = conn_recv;
	pcb->cbs.closed = conn_closed;
	pcb->ctx = c;
	/* A response ends in a short segment: with Nagle on it waits for the
	   client's delayed ACK (measured: 580 instead of 14,800 req/s for
	   16 KiB keep-alive responses).  nginx sets TCP_NODELAY too. */
	tcp_set_nodelay(pcb, true);
	if (d->ka_idle_ms != 0)
		tcp_set_keepalive(pcb, d->ka_idle_ms, d->ka_intvl_ms, (uint8_t)d->ka_count);
	d->st.accepted++;
}

static size_t
stats_text(struct demo *d, char *buf, size_t n)
{
	const struct tcp_stats *t = &d->ns.tcp.st;
	const struct nic_stats *ns = &d->tap.nic.stats;
	uint64_t drops = 0;
	for (int i = 0; i < ND_NDROPS; i++)
		drops += d->ns.cnt.drops[i];
	int len = snprintf(buf, n,
	    "accepted %llu\nrefused %llu\nrequests %llu\nbad_requests %llu\n"
	    "closed_ok %llu\nclosed_reset %llu\nclosed_timeout %llu\nclosed_other %llu\n"
	    "tcp_keepalive_probes %llu\n"
	    "tcp_segs_in %llu\ntcp_segs_out %llu\ntcp_retransmits %llu\n"
	    "tcp_resets_in %llu\ntcp_resets_out %llu\ntcp_challenge_acks %llu\n"
	    "tcp_bad_csum %llu\ntcp_syn_dropped_full %llu\ntcp_out_of_order %llu\n"
	    "tcp_aborted %llu\nnet_drops %llu\nnic_rx %llu\nnic_tx %llu\n"
	    "nic_tx_drops %llu\nzero_window_stalls %llu\nimpair_lost %llu\n"
	    "impair_duplicated %llu\nimpair_corrupted %llu\nimpair_delayed %llu\n",
	    (unsigned long long)d->st.accepted, (unsigned long long)d->st.refused,
	    (unsigned long long)d->st.requests, (unsigned long long)d->st.bad_requests,
	    (unsigned long long)d->st.closed_ok, (unsigned long long)d->st.closed_reset,
	    (unsigned long long)d->st.closed_timeout, (unsigned long long)d->st.closed_other,
	    (unsigned long long)t->keepalive_probes,
	    (unsigned long long)t->segs_in, (unsigned long long)t->segs_out,
	    (unsigned long long)t->retransmits, (unsigned long long)t->resets_in,
	    (unsigned long long)t->resets_out, (unsigned long long)t->challenge_acks,
	    (unsigned long long)t->bad_csum, (unsigned long long)t->syn_dropped_full,
	    (unsigned long long)t->out_of_order, (unsigned long long)t->aborted,
	    (unsigned long long)drops, (unsigned long long)ns->rx_packets,
	    (unsigned long long)ns->tx_packets, (unsigned long long)ns->tx_drops,
	    (unsigned long long)d->st.zero_window_stalls,
	    (unsigned long long)d->tap.imp_st.lost,
	    (unsigned long long)d->tap.imp_st.duplicated,
	    (unsigned long long)d->tap.imp_st.corrupted,
	    (unsigned long long)d->tap.imp_st.delayed);
	return len < 0 ? 0 : (size_t)len >= n ? n - 1 : (size_t)len;
}

/* "METHOD SP PATH SP HTTP/1.x": copies method and path (NUL terminated,
   bounded by their buffers); returns 0, or -1 when malformed. */
static int
parse_request_line(const char *l, size_t n, char *method, size_t mcap,
    char *path, size_t pcap, int *minor)
{
	size_t i = 0, k = 0;
	while (i < n && l[i] != ' ' && k + 1 < mcap)
		method[k++] = l[i++];
	method[k] = 0;
	if (k == 0 || i >= n || l[i] != ' ')
		return -1;
	i++;
	k = 0;
	while (i < n && l[i] != ' ' && k + 1 < pcap)
		path[k++] = l[i++];
	path[k] = 0;
	if (k == 0 || i >= n || l[i] != ' ')
		return -1;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[i + 7]))
		return -1;
	*minor = l[i + 7] - '0';
	return 0;
}

/* Build the response for one request into c->hdr; body set up in c. */
static size_t
respond(struct conn *c, const char *req, size_t reqlen)
{
	struct demo *d = c->d;
	char method[8], path[256];
	int http_minor = 1;
	const char *status = "200 OK";
	const char *ctype = "text/plain";
	char small[1200];
	size_t small_len = 0;
	uint64_t body_len = 0;
	bool stream = false;

	/* Request line: METHOD SP PATH SP HTTP/1.x */
	const char *eol = memchr(req, '\r', reqlen);
	size_t ll = eol != NULL ? (size_t)(eol - req) : reqlen;
	if (parse_request_line(req, ll, method, sizeof(method), path, sizeof(path),
	    &http_minor) != 0) {
		d->st.bad_requests++;
		status = "400 Bad Request";
		small_len = (size_t)snprintf(small, sizeof(small), "bad request\n");
		c->close_after = true;
	} else if (strcmp(method, "GET") != 0) {
		status = "405 Method Not Allowed";
		small_len = (size_t)snprintf(small, sizeof(small), "GET only\n");
	} else if (strcmp(path, "/healthz") == 0) {
		small_len = (size_t)snprintf(small, sizeof(small), "ok\n");
	} else if (strcmp(path, "/stats") == 0) {
		small_len = stats_text(d, small, sizeof(small));
	} else if (strncmp(path, "/bytes/", 7) == 0 && isdigit((unsigned char)path[7])) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(path + 7, &end, 10);
		if (*end != 0 || errno != 0 || n > (1ULL << 40)) {
			status = "400 Bad Request";
			small_len = (size_t)snprintf(small, sizeof(small), "bad length\n");
		} else {
			stream = true;
			body_len = n;
			ctype = "application/octet-stream";
		}
	} else {
		status = "404 Not Found";
		small_len = (size_t)snprintf(small, sizeof(small), "not found\n");
	}
	/* Headers end at the blank line; only Connection matters here. */
	const char *h = memchr(req, '\n', reqlen);
	bool hdr_close = false, hdr_keep = false;
	while (h != NULL && (size_t)(h + 1 - req) < reqlen) {
		h++;
		size_t left = reqlen - (size_t)(h - req);
		if (left >= 11 && strncasecmp(h, "connection:", 11) == 0) {
			const char *v = h + 11;
			const char *e = memchr(v, '\r', left - 11);
			size_t vl = e != NULL ? (size_t)(e - v) : left - 11;
			for (size_t i = 0; i + 5 <= vl; i++) {
				if (strncasecmp(v + i, "close", 5) == 0)
					hdr_close = true;
				if (i + 10 <= vl && strncasecmp(v + i, "keep-alive", 10) == 0)
					hdr_keep = true;
			}
		}
		h = memchr(h, '\n', left);
	}
	if (hdr_close || (http_minor == 0 && !hdr_keep))
		c->close_after = true;
	if (!stream)
		body_len = small_len;
	int n = snprintf(c->hdr, sizeof(c->hdr),
	    "HTTP/1.1 %s\r\nServer: tern-netdemo\r\nContent-Type: %s\r\n"
	    "Content-Length: %llu\r\n%s\r\n", status, ctype,
	    (unsigned long long)body_len, c->close_after ? "Connection: close\r\n" : "");
	size_t hl = (size_t)n;
	if (!stream && hl + small_len <= sizeof(c->hdr)) {
		memcpy(c->hdr + hl, small, small_len);
		hl += small_len;
	}
	c->body_pos = 0;
	c->body_left = stream ? body_len : 0;
	d->st.requests++;
	return hl;
}

/* Queue whatever this connection can send now; returns writes made. */
static int
conn_pump(struct conn *c)
{
	struct demo *d = c->d;
	int work = 0;
	/* Count each time the peer closes its window on a pending body (the
	   zero-window test checks the stall really happened). */
	bool zw = c->pcb->snd_wnd == 0 && c->refs > 0;
	if (zw && !c->zero_wnd)
		d->st.zero_window_stalls++;
	c->zero_wnd = zw;
	while (!c->dead && !c->closing) {
		if (c->body_left > 0) {
			size_t n = c->body_left < DEMO_CHUNK ? (size_t)c->body_left : DEMO_CHUNK;
			const uint8_t *p = demo_body + c->body_pos % DEMO_PERIOD;
			int rc = tcp_write(c->pcb, p, n, body_release, c);
			if (rc == TERN_EAGAIN) {
				d->st.write_eagain++;
				break;
			}
			if (rc != TERN_OK) {
				c->body_left = 0;	/* cannot send: the close will come */
				break;
			}
			c->refs++;
			c->body_pos += n;
			c->body_left -= n;
			d->st.bytes_queued += n;
			work++;
			continue;
		}
		if (c->close_after || c->rx_overflow) {
			if (c->rx_overflow && !c->close_after && !c->hdr_busy) {
				int hl = snprintf(c->hdr, sizeof(c->hdr),
				    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
				    "Content-Length: 0\r\nConnection: close\r\n\r\n");
				if (tcp_write(c->pcb, c->hdr, (size_t)hl, hdr_release, c) == TERN_OK)
					c->hdr_busy = true;
				d->st.bad_requests++;
			}
			c->closing = true;
			tcp_close(c->pcb);
			work++;
			break;
		}
		/* The next request waits until the previous header is released:
		   c->hdr is the only header buffer. */
		if (c->hdr_busy)
			break;
		char *end = NULL;
		for (size_t i = 0; i + 4 <= c->rxlen; i++) {
			if (memcmp(c->rx + i, "\r\n\r\n", 4) == 0) {
				end = c->rx + i + 4;
				break;
			}
		}
		if (end == NULL) {
			if (c->peer_closed) {
				c->closing = true;
				tcp_close(c->pcb);
				work++;
			}
			break;
		}
		size_t reqlen = (size_t)(end - c->rx);
		size_t hl = respond(c, c->rx, reqlen);
		memmove(c->rx, end, c->rxlen - reqlen);
		c->rxlen -= reqlen;
		int rc = tcp_write(c->pcb, c->hdr, hl, hdr_release, c);
		if (rc != TERN_OK) {
			/* A fresh request always finds room (the queue drained for
			   the header to be released); anything else is fatal here. */
			tcp_abort(c->pcb);
			break;
		}
		c->hdr_busy = true;
		work++;
	}
	return work;
}

static int
demo_pump(struct demo *d)
{
	int work = 0;
	for (int i = 0; i < DEMO_CONNS; i++)
		if (d->conns[i].used && !d->conns[i].dead)
			work += conn_pump(&d->conns[i]);
	return work;
}

/* ---- client (needs the active open from tcp.h) ---------------------------- */

struct client {
	struct demo *d;
	struct tcp_pcb *pcb;
	FILE *out;
	char req[512];
	size_t reqlen;
	char hdr[4096];
	size_t hdrlen;
	bool hdr_done, have_len, done, ok, failed;
	uint64_t want, got;
	uint64_t t_start, t_first, t_done;
};

static void
cl_req_release(void *rctx)
{
}

static void
cl_connected(void *ctx, struct tcp_pcb *pcb)
{
	struct client *cl = ctx;
	if (tcp_write(pcb, cl->req, cl->reqlen, cl_req_release, cl) != TERN_OK) {
		fprintf(stderr, "netdemo: --get: cannot queue the request\n");
		cl->failed = true;
		tcp_abort(pcb);
	}
}

static void
cl_body(struct client *cl, const uint8_t *p, size_t n)
{
	if (cl->have_len && n > cl->want - cl->got)
		n = (size_t)(cl->want - cl->got);
	if (n > 0 && fwrite(p, 1, n, cl->out) != n) {
		fprintf(stderr, "netdemo: --get: write: %s\n", strerror(errno));
		cl->failed = true;
	}
	cl->got += n;
	if (cl->have_len && cl->got == cl->want && !cl->done) {
		cl->done = true;
		cl->t_done = cl->d->ns.port.now_ns(cl->d->ns.port.ctx);
		cl->ok = !cl->failed;
		tcp_close(cl->pcb);
	}
}

static void
cl_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len,
    struct nic_buf *b)
{
	struct client *cl = ctx;
	if (len == 0) {		/* peer closed */
		if (!cl->done) {
			cl->done = true;
			cl->ok = cl->hdr_done && !cl->have_len && !cl->failed;
			tcp_close(pcb);
		}
		return;
	}
	if (cl->t_first == 0)
		cl->t_first = cl->d->ns.port.now_ns(cl->d->ns.port.ctx);
	if (cl->hdr_done) {
		cl_body(cl, data, len);
		return;
	}
	size_t take = sizeof(cl->hdr) - 1 - cl->hdrlen;
	if (take > len)
		take = len;
	memcpy(cl->hdr + cl->hdrlen, data, take);
	cl->hdrlen += take;
	cl->hdr[cl->hdrlen] = 0;
	char *e = strstr(cl->hdr, "\r\n\r\n");
	if (e == NULL) {
		if (cl->hdrlen == sizeof(cl->hdr) - 1) {
			fprintf(stderr, "netdemo: --get: response header too long\n");
			cl->failed = cl->done = true;
			tcp_abort(pcb);
		}
		return;
	}
	size_t hl = (size_t)(e + 4 - cl->hdr);
	cl->hdr_done = true;
	if (strncmp(cl->hdr, "HTTP/1.", 7) != 0 || strncmp(cl->hdr + 9, "200", 3) != 0) {
		fprintf(stderr, "netdemo: --get: status line: %.40s\n", cl->hdr);
		cl->failed = cl->done = true;
		tcp_abort(pcb);
		return;
	}
	for (char *h = cl->hdr; h != NULL && h < e; h = strstr(h, "\r\n")) {
		h += (h[0] == '\r') ? 2 : 0;
		if (strncasecmp(h, "content-length:", 15) == 0) {
			cl->want = strtoull(h + 15, NULL, 10);
			cl->have_len = true;
		}
		if (h[0] != '\r' && (h = strstr(h, "\r\n")) == NULL)
			break;
	}
	/* Bytes after the header in this segment are body. */
	size_t hdr_in_seg = hl - (cl->hdrlen - take);
	cl_body(cl, data + hdr_in_seg, len - hdr_in_seg);
	if (cl->have_len && cl->want == 0 && !cl->done) {
		cl->done = cl->ok = true;
		tcp_close(pcb);
	}
}

static void
cl_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	struct client *cl = ctx;
	if (!cl->done) {
		fprintf(stderr, "netdemo: --get: connection closed early: %s\n",
		    reason == TERN_OK ? "ok" : err_str(reason));
		cl->failed = true;
	}
	cl->done = true;
	cl->pcb = NULL;
}

static int
run_get(struct demo *d, uint32_t rip, uint16_t rport, const char *path,
    const char *outfile, int timeout_s)
{
	static struct client cl;
	memset(&cl, 0, sizeof(cl));
	cl.d = d;
	cl.out = fopen(outfile, "wb");
	if (cl.out == NULL) {
		fprintf(stderr, "netdemo: --get: %s: %s\n", outfile, strerror(errno));
		return 1;
	}
	char ipbuf[20];
	ns_format_ipv4(ipbuf, sizeof(ipbuf), rip);
	cl.reqlen = (size_t)snprintf(cl.req, sizeof(cl.req),
	    "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: tern-netdemo\r\n"
	    "Connection: close\r\n\r\n", path, ipbuf, rport);
	static const struct tcp_cbs cbs = {
		.recv = cl_recv, .closed = cl_closed, .connected = cl_connected,
	};
	uint64_t t0 = d->ns.port.now_ns(d->ns.port.ctx);
	cl.t_start = t0;
	int rc = tcp_connect(&d->ns, rip, rport, &cbs, &cl, &cl.pcb);
	if (rc != TERN_OK) {
		fprintf(stderr, "netdemo: --get: tcp_connect: %s\n", err_str(rc));
		fclose(cl.out);
		return 1;
	}
	uint64_t deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;
	while (!demo_stop) {
		int work = netstack_poll(&d->ns);
		/* Done once the body is complete and our side is closed (the
		   pcb gone, or waiting out TIME_WAIT, which needs no process). */
		if (cl.done && (cl.pcb == NULL || cl.pcb->state == TCP_TIME_WAIT))
			break;
		uint64_t now = d->ns.port.now_ns(d->ns.port.ctx);
		if (now > deadline) {
			fprintf(stderr, "netdemo: --get: timed out after %d s (%llu bytes)\n",
			    timeout_s, (unsigned long long)cl.got);
			if (cl.pcb != NULL)
				tcp_abort(cl.pcb);
			cl.ok = false;
			break;
		}
		if (work == 0)
			tap_wait(&d->tap, 10);
	}
	uint64_t t1 = cl.t_done != 0 ? cl.t_done : d->ns.port.now_ns(d->ns.port.ctx);
	if (fclose(cl.out) != 0)
		cl.ok = false;
	double secs = (double)(t1 - t0) / 1e9;
	printf("netdemo: get bytes=%llu secs=%.3f mbit_s=%.1f ok=%d\n",
	    (unsigned long long)cl.got, secs, secs > 0 ? (double)cl.got * 8 / secs / 1e6 : 0.0,
	    cl.ok ? 1 : 0);
	if (!cl.ok) {
		char buf[1200];
		stats_text(d, buf, sizeof(buf));
		printf("netdemo: get failed, stats\n%s", buf);
	}
	return cl.ok ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------ */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		demo_dump = 1;
	else
		demo_stop = 1;
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: netdemo --tap IF --ip A.B.C.D/N [--gw IP] [--port P] [--mac MAC]\n"
	    "               [--verbose] [--get IP PORT PATH OUTFILE [--timeout S]]\n"
	    "               [--impair-rx SPEC] [--impair-tx SPEC] [--seed N]\n"
	    "               [--keepalive IDLE_MS,INTERVAL_MS,COUNT]\n"
	    "       netdemo --features\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct demo d;
	const char *ifname = NULL, *ipstr = NULL, *gwstr = NULL;
	const char *get_ip = NULL, *get_path = NULL, *get_out = NULL;
	uint16_t get_port = 0;
	int timeout_s = 120;
	uint8_t mac[6] = { 0x02, 0x74, 0x65, 0x72, 0x6e, 0x02 };
	struct tap_impair imp_rx, imp_tx;
	bool have_rx = false, have_tx = false;
	uint32_t seed = 1;

	d.port = 80;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--features") == 0) {
			printf("get=yes\n");
			return 0;
		} else if (strcmp(a, "--tap") == 0 && more) {
			ifname = argv[++i];
		} else if (strcmp(a, "--ip") == 0 && more) {
			ipstr = argv[++i];
		} else if (strcmp(a, "--gw") == 0 && more) {
			gwstr = argv[++i];
		} else if (strcmp(a, "--port") == 0 && more) {
			d.port = (uint16_t)atoi(argv[++i]);
		} else if (strcmp(a, "--mac") == 0 && more) {
			if (parse_mac(argv[++i], mac) != 0)
				usage();
		} else if (strcmp(a, "--timeout") == 0 && more) {
			timeout_s = atoi(argv[++i]);
		} else if (strcmp(a, "--impair-rx") == 0 && more) {
			if (tap_parse_impair(argv[++i], &imp_rx) != 0)
				usage();
			have_rx = true;
		} else if (strcmp(a, "--impair-tx") == 0 && more) {
			if (tap_parse_impair(argv[++i], &imp_tx) != 0)
				usage();
			have_tx = true;
		} else if (strcmp(a, "--keepalive") == 0 && more) {
			/* idle_ms,interval_ms,count for every accepted connection */
			if (sscanf(argv[++i], "%u,%u,%u", &d.ka_idle_ms, &d.ka_intvl_ms,
			    &d.ka_count) != 3 || d.ka_idle_ms == 0 || d.ka_count == 0 ||
			    d.ka_count > 255)
				usage();
		} else if (strcmp(a, "--seed") == 0 && more) {
			seed = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (strcmp(a, "--verbose") == 0) {
			d.verbose = true;
		} else if (strcmp(a, "--get") == 0 && i + 4 < argc) {
			get_ip = argv[++i];
			get_port = (uint16_t)atoi(argv[++i]);
			get_path = argv[++i];
			get_out = argv[++i];
		} else {
			usage();
		}
	}
	if (ifname == NULL || ipstr == NULL)
		usage();
	uint32_t ip, gw = 0;
	int prefix;
	if (ns_parse_ipv4(ipstr, strlen(ipstr), &ip, &prefix) != 0 || prefix < 0)
		usage();
	if (gwstr != NULL && ns_parse_ipv4(gwstr, strlen(gwstr), &gw, NULL) != 0)
		usage();
	body_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (tap_open(&d.tap, ifname, mac, 1500) != TERN_OK)
		return 1;
	if ((have_rx || have_tx) && tap_set_impair(&d.tap, have_rx ? &imp_rx : NULL,
	    have_tx ? &imp_tx : NULL, seed) != TERN_OK)
		return 1;
	struct netstack_port port;
	tap_host_port(&port, d.verbose ? 7 : 4);
	netstack_attach(&d.ns, &d.tap.nic, &port, d.txmem);
	uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	netstack_set_static(&d.ns, ip, mask, gw, 0);

	int rc = 0;
	if (get_ip != NULL) {
		uint32_t rip;
		if (ns_parse_ipv4(get_ip, strlen(get_ip), &rip, NULL) != 0)
			usage();
		rc = run_get(&d, rip, get_port, get_path, get_out, timeout_s);
	} else {
		if (tcp_listen(&d.ns, d.port, demo_accept, &d) != TERN_OK) {
			fprintf(stderr, "netdemo: cannot listen on port %u\n", d.port);
			return 1;
		}
		printf("netdemo: READY tap=%s ip=%s port=%u\n", d.tap.nic.name, ipstr, d.port);
		fflush(stdout);
		while (!demo_stop) {
			int work = netstack_poll(&d.ns);
			work += demo_pump(&d);
			if (demo_dump) {
				char buf[1200];
				demo_dump = 0;
				stats_text(&d, buf, sizeof(buf));
				printf("netdemo: stats\n%s", buf);
				fflush(stdout);
			}
			if (work == 0)
				tap_wait(&d.tap, 10);
		}
		char buf[1200];
		stats_text(&d, buf, sizeof(buf));
		printf("netdemo: exit stats\n%s", buf);
	}
	tap_close(&d.tap);
	return rc;
}
