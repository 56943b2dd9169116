/*
 * rt_sock.c - PAL sockets over the netstack (netstack/tcp.h, UDP).
 *
 * The netstack runs from the scheduler's poll hook and calls back here:
 * accept queues a connection on its listener, recv appends data to the
 * socket's receive list, closed records the end.  Callbacks only change
 * socket state and set events; workload threads wait on those events.
 *
 * Transmit: sock_send_ref queues the caller's memory by reference and
 * frames point into it (zero copy: drivers translate workload pages
 * through the page tables; every page is checked mapped first).  sock_send and
 * sock_send_buf own a heap chunk that the release callback frees when the
 * peer has acknowledged it and the NIC is done with it; those chunks come
 * from the kernel heap and go out zero copy (chained to the frame
 * header).  rt_tcp_connect is the netstack's active open; it waits for
 * the handshake until the deadline (a refused connection reads as
 * -PAL_ECONNRESET, no answer as -PAL_ETIMEDOUT).
 *
 * Receive: the netstack lends the driver's buffer with in-order data;
 * the socket keeps it by reference (nic_buf_hold) in a small chunk
 * header, and sock_recv_buf lends the driver's bytes to the workload, so
 * TCP payload reaches it without a copy (pal.rx_lent).  Held buffers are
 * the NIC's receive ring, so they are bounded: RX_HOLD_SOCK per socket and
 * RX_HOLD_ALL in all; past either, or when the stack had no buffer to
 * lend (out-of-order queue, UDP), the data is copied into a chunk
 * (pal.rx_copied).  sock_recv copies into the caller's memory and counts
 * that copy in pal.rx_copied too.  TCP sockets run the pcb in credit mode (tcp_set_rx_credit): the
 * bytes queued here stay charged to the receive window until the workload
 * takes them (tcp_recved), so a slow reader makes the stack advertise a
 * zero window instead of losing data.  The window (256 KiB) equals
 * RX_LIMIT, so the reset for passing RX_LIMIT (pal.rx_overflow) only
 * happens when memory runs out.
 *
 * Lifetime: a handle closed by the workload lives on, detached, until the
 * netstack says the connection is gone; a workload exit aborts every
 * connection it had (rt_sock_destroy), so no reference into the workload's
 * image outlives it except in frames a NIC TX ring still holds: the
 * netstack transmits by reference and releases a reference only when
 * the NIC completes them, so the socket struct stays (as a zombie) until
 * its last reference comes back (tx_done).  sock_send_ref's references
 * are also counted in rt_app.txref under the run's epoch, so the runtime
 * waits for them before it reuses or frees the memory they point into.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/time.h"
#include "netstack/netstack.h"
#include "netstack/tcp.h"
#include "pal/rt.h"

#define SOCK_MAGIC	0x736f636bu
#define SOCK_ZOMBIE	0x7a6f6d62u	/* freed, waiting for tx releases */
#define CHUNK_RX	0x72786368u
#define CHUNK_TX	0x74786368u
#define RX_LIMIT	(256u << 10)
#define TX_COPY_LIMIT	(256u << 10)
#define TX_CHUNK	(64u << 10)
#define BACKLOG_MAX	64
#define RX_HOLD_SOCK	16	/* driver buffers one socket may hold */
#define RX_HOLD_ALL	48	/* ... and all sockets (virtio-net posts 128) */
#define CHUNK_CACHE	RX_HOLD_ALL	/* lent chunks' headers kept for reuse */

enum { S_LISTEN = 1, S_TCP, S_UDP };

struct rt_chunk {
	struct rt_res res;		/* first: lent to the workload (RT_BUF) */
	struct rt_chunk *next;
	uint32_t magic;
	uint32_t len, off;
	struct pal_addr from;
	struct pal_sock *sock;		/* tx: whose accounting; rx: holder */
	struct nic_buf *nb;		/* rx: held driver buffer, or NULL */
	const uint8_t *ext;		/* rx with nb: the bytes, inside nb */
	uint8_t data[];
};

struct pal_sock {
	struct rt_res res;		/* first: the resource list frees it */
	uint32_t magic;
	int type;
	struct tcp_pcb *pcb;
	bool eof, reset, app_closed, dying, connected;
	int close_reason;		/* netstack TERN_* from closed() */
	struct sched_event rd, wr;
	struct rt_chunk *rx_head, *rx_tail;
	size_t rx_bytes;
	uint32_t rx_held;		/* chunks holding a driver buffer */
	uint16_t port;			/* listener, udp */
	int backlog, nq;
	struct pal_sock *q_head, *q_tail, *q_next;
	size_t tx_copy_bytes;
	uint32_t tx_out;		/* tcp_write references not yet released */
	uint32_t epoch;			/* rt_app.txref epoch of its run */
	struct pal_addr peer;
};

static bool
sock_ok(pal_sock_t *s, int type)
{
	return s != NULL && s->magic == SOCK_MAGIC && !s->app_closed &&
	    (type == 0 || s->type == type);
}

static pal_sock_t *
sock_new(int type)
{
	pal_sock_t *s = kzalloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	s->magic = SOCK_MAGIC;
	s->type = type;
	s->epoch = txref_epoch(&rt_app.txref);
	rt_own(&s->res, RT_SOCK);
	rt_stats.socks++;
	return s;
}

static uint32_t rx_held_all;	/* driver buffers held by every socket */

/* Headers of lent chunks (no payload, all one size) go back to a small
   cache instead of the heap: a keep-alive request then allocates
   nothing (pal.rx_chunk_allocs). */
static struct rt_chunk *chunk_cache;
static unsigned chunk_cached;

/* Frees a receive chunk, giving back the driver buffer it holds.  A
   chunk lent to the workload (sock NULL) counts only in rx_held_all. */
static void
rx_chunk_free(struct rt_chunk *c)
{
	c->magic = 0;
	if (c->nb != NULL) {
		nic_buf_release(c->nb);
		rx_held_all--;
		if (c->sock != NULL)
			c->sock->rx_held--;
		if (chunk_cached < CHUNK_CACHE) {
			c->next = chunk_cache;
			chunk_cache = c;
			chunk_cached++;
			return;
		}
	}
	kfree(c);
}

static const uint8_t *
chunk_bytes(const struct rt_chunk *c)
{
	return c->nb != NULL ? c->ext : c->data;
}

static void
rx_drop_all(pal_sock_t *s)
{
	while (s->rx_head != NULL) {
		struct rt_chunk *c = s->rx_head;
		s->rx_head = c->next;
		rx_chunk_free(c);
	}
	s->rx_tail = NULL;
	s->rx_bytes = 0;
}

static void
sock_free(pal_sock_t *s)
{
	rx_drop_all(s);
	rt_disown(&s->res);
	/* Wake anyone still waiting on it: they see a dead handle. */
	sched_event_set(&rt_sched, &s->rd);
	sched_event_set(&rt_sched, &s->wr);
	if (s->tx_out > 0) {
		/* The netstack releases a reference only when the NIC is done
		   with it, which can be after the connection died: the last
		   release frees the socket (tx_done). */
		s->magic = SOCK_ZOMBIE;
		return;
	}
	s->magic = 0;
	kfree(s);
}

/* One tcp_write reference came back; false if s was a zombie (now
   possibly freed) and must not be touched. */
static bool
tx_done(pal_sock_t *s)
{
	s->tx_out--;
	if (s->magic == SOCK_ZOMBIE) {
		if (s->tx_out == 0) {
			s->magic = 0;
			kfree(s);
		}
		return false;
	}
	sched_event_set(&rt_sched, &s->wr);
	return true;
}

static int
wait_ev(struct sched_event *ev, pal_time_t deadline)
{
	if (deadline == 0)
		return -PAL_EAGAIN;
	return sched_wait(&rt_sched, ev, deadline) == 0 ? 0 : -PAL_ETIMEDOUT;
}

/* ---- netstack callbacks (poll-hook context) -------------------------- */

/* Appends data[0..len) to s's receive list and wakes readers: by
   reference to the driver buffer nb when given and the hold bounds
   allow, else as a copy; false when it would pass RX_LIMIT or memory is
   short. */
static bool
rx_append(pal_sock_t *s, const uint8_t *data, size_t len, struct pal_addr from,
    struct nic_buf *nb)
{
	struct rt_chunk *c = NULL;
	bool lend = nb != NULL && s->rx_held < RX_HOLD_SOCK && rx_held_all < RX_HOLD_ALL;
	if (s->rx_bytes + len > RX_LIMIT)
		return false;
	if (lend && chunk_cache != NULL) {
		c = chunk_cache;
		chunk_cache = c->next;
		chunk_cached--;
	} else {
		c = kmalloc(sizeof(*c) + (lend ? 0 : len));
		if (c == NULL)
			return false;
		rt_stats.rx_chunk_allocs++;
	}
	c->res.next = c->res.prev = NULL;
	c->next = NULL;
	c->magic = CHUNK_RX;
	c->len = (uint32_t)len;
	c->off = 0;
	c->from = from;
	c->sock = s;
	if (lend) {
		nic_buf_hold(nb);
		c->nb = nb;
		c->ext = data;
		s->rx_held++;
		rx_held_all++;
		rt_stats.rx_lent += len;
	} else {
		c->nb = NULL;
		c->ext = NULL;
		memcpy(c->data, data, len);
		rt_stats.rx_copied += len;
	}
	if (s->rx_tail != NULL)
		s->rx_tail->next = c;
	else
		s->rx_head = c;
	s->rx_tail = c;
	s->rx_bytes += len;
	sched_event_set(&rt_sched, &s->rd);
	return true;
}

static void
on_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len,
    struct nic_buf *nb)
{
	pal_sock_t *s = ctx;
	if (len == 0) {
		s->eof = true;
		sched_event_set(&rt_sched, &s->rd);
		return;
	}
	if (s->app_closed || s->dying) {
		tcp_recved(pcb, len);	/* nobody will read it: keep the window open */
		return;
	}
	if (!rx_append(s, data, len, s->peer, nb)) {
		rt_stats.rx_overflow++;
		log_warn("pal", "%s: connection from port %u reset: %zu unread bytes "
		    "(limit %u)", rt_app.name, pcb->rport, s->rx_bytes + len, RX_LIMIT);
		s->reset = true;
		tcp_abort(pcb);		/* on_closed runs now */
	}
}

static void
on_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	(void)pcb;
	pal_sock_t *s = ctx;
	s->pcb = NULL;
	s->close_reason = reason;
	if (reason != TERN_OK)
		s->reset = true;
	sched_event_set(&rt_sched, &s->rd);
	sched_event_set(&rt_sched, &s->wr);
	if (s->app_closed && !s->dying)
		sock_free(s);
}

/* Options every PAL TCP connection runs with: credit-mode receive, and
   no Nagle (workloads write whole messages; Nagle would hold a
   response's tail for the client's delayed ACK). */
static void
pcb_setup(struct tcp_pcb *pcb)
{
	tcp_set_rx_credit(pcb, true);
	tcp_set_nodelay(pcb, true);
}

static void
on_connected(void *ctx, struct tcp_pcb *pcb)
{
	(void)pcb;
	pal_sock_t *s = ctx;
	s->connected = true;
	sched_event_set(&rt_sched, &s->wr);
}

static void
on_accept(void *ctx, struct tcp_pcb *pcb)
{
	pal_sock_t *l = ctx;
	pal_sock_t *s = l->nq < l->backlog ? sock_new(S_TCP) : NULL;
	if (s == NULL) {
		rt_stats.accept_overflow++;
		tcp_abort(pcb);
		return;
	}
	s->pcb = pcb;
	s->peer.ip = pcb->rip;
	s->peer.port = pcb->rport;
	pcb->cbs.recv = on_recv;
	pcb->cbs.closed = on_closed;
	pcb->ctx = s;
	pcb_setup(pcb);
	if (l->q_tail != NULL)
		l->q_tail->q_next = s;
	else
		l->q_head = s;
	l->q_tail = s;
	l->nq++;
	sched_event_set(&rt_sched, &l->rd);
}

static void
on_udp(void *ctx, struct netstack *ns, uint32_t src_ip, uint16_t src_port,
    const uint8_t *data, size_t len)
{
	(void)ns;
	struct pal_addr from = { src_ip, src_port };
	if (!rx_append(ctx, data, len, from, NULL))
		rt_stats.rx_overflow++;		/* datagram dropped */
}

static void
tx_release(void *rctx)
{
	struct rt_chunk *c = rctx;
	pal_sock_t *s = c->sock;
	s->tx_copy_bytes -= c->len;
	tx_done(s);
	c->magic = 0;
	kfree(c);
}

static void
ref_release(void *rctx)
{
	pal_sock_t *s = rctx;
	txref_put(&rt_sched, &rt_app.txref, s->epoch);
	tx_done(s);
}

/* ---- the API ---------------------------------------------------------- */

int
rt_tcp_listen(uint16_t port, int backlog, pal_sock_t **out)
{
	if (out == NULL || port == 0)
		return -PAL_EINVAL;
	if (rt_ns == NULL)
		return -PAL_ENOTSUP;		/* no network interface */
	pal_sock_t *s = sock_new(S_LISTEN);
	if (s == NULL)
		return -PAL_ENOMEM;
	s->port = port;
	s->backlog = backlog <= 0 ? 16 : backlog > BACKLOG_MAX ? BACKLOG_MAX : backlog;
	int rc = tcp_listen(rt_ns, port, on_accept, s);
	if (rc != TERN_OK) {
		sock_free(s);
		return rc == TERN_EADDRINUSE ? -PAL_EADDRINUSE : -PAL_ENOMEM;
	}
	*out = s;
	rt_listening(port);
	return 0;
}

int
rt_tcp_accept(pal_sock_t *l, pal_time_t deadline, pal_sock_t **out,
    struct pal_addr *peer)
{
	if (out == NULL)
		return -PAL_EINVAL;
	for (;;) {
		if (!sock_ok(l, S_LISTEN))
			return -PAL_EINVAL;
		pal_sock_t *s = l->q_head;
		if (s != NULL) {
			l->q_head = s->q_next;
			if (l->q_head == NULL)
				l->q_tail = NULL;
			l->nq--;
			s->q_next = NULL;
			*out = s;
			if (peer != NULL)
				*peer = s->peer;
			return 0;
		}
		sched_event_clear(&l->rd);
		int rc = wait_ev(&l->rd, deadline);
		if (rc != 0)
			return rc;
	}
}

/* Waits for the handshake; 0 once connected, else the error. */
static int
wait_connected(pal_sock_t *s, pal_time_t deadline)
{
	for (;;) {
		if (s->connected)
			return 0;
		if (s->pcb == NULL)
			return s->close_reason == TERN_ETIMEDOUT ? -PAL_ETIMEDOUT :
			    -PAL_ECONNRESET;
		sched_event_clear(&s->wr);
		int rc = wait_ev(&s->wr, deadline);
		if (rc != 0)
			return rc;
	}
}

int
rt_tcp_connect(const struct pal_addr *dst, pal_time_t deadline, pal_sock_t **out)
{
	static const struct tcp_cbs cbs = { on_recv, on_closed, on_connected };
	if (out == NULL || dst == NULL || dst->port == 0 || dst->ip == 0)
		return -PAL_EINVAL;
	if (rt_ns == NULL)
		return -PAL_ENOTSUP;		/* no network interface */
	pal_sock_t *s = sock_new(S_TCP);
	if (s == NULL)
		return -PAL_ENOMEM;
	s->peer = *dst;
	if (tcp_connect(rt_ns, dst->ip, dst->port, &cbs, s, &s->pcb) != TERN_OK) {
		s->pcb = NULL;
		sock_free(s);
		return -PAL_ENOBUFS;		/* no pcb or ephemeral port */
	}
	pcb_setup(s->pcb);
	int rc = wait_connected(s, deadline);
	if (rc == 0) {
		*out = s;
		return 0;
	}
	if (s->pcb != NULL) {
		s->app_closed = true;
		tcp_abort(s->pcb);		/* on_closed frees it */
	} else {
		sock_free(s);
	}
	return rc;
}

int
rt_udp_bind(uint16_t port, pal_sock_t **out)
{
	static uint16_t next_eph = 49152;
	if (out == NULL)
		return -PAL_EINVAL;
	if (rt_ns == NULL)
		return -PAL_ENOTSUP;
	pal_sock_t *s = sock_new(S_UDP);
	if (s == NULL)
		return -PAL_ENOMEM;
	int rc = TERN_EADDRINUSE;
	for (int tries = 0; tries < (port == 0 ? 64 : 1) && rc == TERN_EADDRINUSE; tries++) {
		s->port = port != 0 ? port : next_eph;
		if (port == 0 && ++next_eph == 0)
			next_eph = 49152;
		rc = netstack_udp_bind(rt_ns, s->port, on_udp, s);
	}
	if (rc != TERN_OK) {
		sock_free(s);
		return rc == TERN_EADDRINUSE ? -PAL_EADDRINUSE : -PAL_ENOMEM;
	}
	*out = s;
	return 0;
}

/* Waits for receive data; 0 when some is queued, else the error. */
static int
wait_data(pal_sock_t *s, pal_time_t deadline)
{
	for (;;) {
		if (!sock_ok(s, 0) || s->type == S_LISTEN)
			return -PAL_EINVAL;
		if (s->rx_head != NULL)
			return 0;
		if (s->reset)
			return -PAL_ECONNRESET;
		if (s->eof)
			return -PAL_ECLOSED;
		sched_event_clear(&s->rd);
		int rc = wait_ev(&s->rd, deadline);
		if (rc != 0)
			return rc;
	}
}

int
rt_sock_recv_buf(pal_sock_t *s, pal_time_t deadline, struct pal_buf *out,
    struct pal_addr *from)
{
	if (out == NULL)
		return -PAL_EINVAL;
	int rc = wait_data(s, deadline);
	if (rc != 0)
		return rc;
	struct rt_chunk *c = s->rx_head;
	s->rx_head = c->next;
	if (s->rx_head == NULL)
		s->rx_tail = NULL;
	out->data = (uint8_t *)(uintptr_t)chunk_bytes(c) + c->off;
	out->len = c->len - c->off;
	out->cap = 0;
	out->priv = c;
	/* The workload holds it now: freed at its exit if not before, and
	   no longer charged to the socket (which may go first). */
	if (c->nb != NULL)
		s->rx_held--;
	c->sock = NULL;
	rt_own(&c->res, RT_BUF);
	s->rx_bytes -= out->len;
	if (s->type == S_TCP && s->pcb != NULL)
		tcp_recved(s->pcb, out->len);
	if (from != NULL)
		*from = c->from;
	return 0;
}

void
rt_buf_free(struct pal_buf *b)
{
	if (b == NULL || b->priv == NULL)
		return;
	struct rt_chunk *c = b->priv;
	if (c->magic != CHUNK_RX && c->magic != CHUNK_TX) {
		log_error("pal", "%s: buf_free of a buffer the runtime did not lend: "
		    "ignored", rt_app.name);
		return;
	}
	rt_disown(&c->res);
	if (c->magic == CHUNK_RX) {
		rx_chunk_free(c);
	} else {
		c->magic = 0;
		kfree(c);
	}
	b->priv = NULL;
	b->data = NULL;
	b->len = b->cap = 0;
}

/* A buffer the workload still had at its exit (rt.c app_cleanup, after
   rt_disown). */
void
rt_buf_reclaim(struct rt_res *r)
{
	struct rt_chunk *c = (struct rt_chunk *)r;
	if (c->magic == CHUNK_RX) {
		rx_chunk_free(c);
	} else {
		c->magic = 0;
		kfree(c);
	}
}

int
rt_buf_alloc(pal_sock_t *s, size_t size, struct pal_buf *out)
{
	if (out == NULL || !sock_ok(s, 0) || s->type == S_LISTEN || size == 0 ||
	    size > TX_CHUNK)
		return -PAL_EINVAL;
	struct rt_chunk *c = kmalloc(sizeof(*c) + size);
	if (c == NULL)
		return -PAL_ENOBUFS;
	memset(c, 0, sizeof(*c));
	c->magic = CHUNK_TX;
	c->len = (uint32_t)size;
	out->data = c->data;
	out->len = 0;
	out->cap = size;
	out->priv = c;
	rt_own(&c->res, RT_BUF);
	return 0;
}

static int
conn_error(pal_sock_t *s)
{
	return s->reset ? -PAL_ECONNRESET : -PAL_ECLOSED;
}

int
rt_sock_send_buf(pal_sock_t *s, struct pal_buf *b, const struct pal_addr *to)
{
	if (b == NULL || b->priv == NULL)
		return -PAL_EINVAL;
	struct rt_chunk *c = b->priv;
	b->priv = NULL;
	if (c->magic == CHUNK_TX)
		rt_disown(&c->res);	/* the runtime's again, whatever happens */
	if (c->magic != CHUNK_TX || b->len > c->len || !sock_ok(s, 0)) {
		if (c->magic == CHUNK_TX) {
			c->magic = 0;
			kfree(c);
		}
		return -PAL_EINVAL;
	}
	size_t len = b->len;
	int rc = 0;
	if (s->type == S_UDP) {
		rc = to == NULL ? -PAL_EINVAL : netstack_udp_send(rt_ns, to->ip,
		    s->port, to->port, c->data, len) == TERN_OK ? 0 : -PAL_ENOBUFS;
	} else if (s->type == S_TCP && s->pcb != NULL) {
		c->len = (uint32_t)len;
		c->sock = s;
		int r = tcp_write(s->pcb, c->data, len, tx_release, c);
		if (r == TERN_OK) {
			s->tx_copy_bytes += len;
			s->tx_out++;
			return 0;
		}
		rc = r == TERN_EAGAIN ? -PAL_ENOBUFS : conn_error(s);
	} else {
		rc = s->type == S_TCP ? conn_error(s) : -PAL_EINVAL;
	}
	c->magic = 0;
	kfree(c);
	return rc;
}

static bool
writable(pal_sock_t *s)
{
	return s->pcb != NULL && s->pcb->sq_len < TCP_SENDQ &&
	    s->tx_copy_bytes < TX_COPY_LIMIT;
}

int
rt_sock_wait_writable(pal_sock_t *s, pal_time_t deadline)
{
	for (;;) {
		if (!sock_ok(s, S_TCP))
			return -PAL_EINVAL;
		if (s->pcb == NULL)
			return conn_error(s);
		if (writable(s))
			return 0;
		sched_event_clear(&s->wr);
		int rc = wait_ev(&s->wr, deadline);
		if (rc != 0)
			return rc;
	}
}

/* Frames point straight into the workload's memory (image, stacks,
   heap), so every page of it must be mapped: a bogus pointer must not
   become a bogus DMA address. */
static bool
dma_mapped(const void *data, size_t len)
{
	uintptr_t end = (uintptr_t)data + len;
	if (end < (uintptr_t)data)
		return false;
	for (uintptr_t p = (uintptr_t)data & ~(uintptr_t)4095; p < end; p += 4096)
		if (virt_to_phys((const void *)p) == ~0ULL)
			return false;
	return true;
}

long
rt_sock_send_ref(pal_sock_t *s, const void *data, size_t len, pal_time_t deadline)
{
	if ((data == NULL && len != 0) || !dma_mapped(data, len))
		return -PAL_EINVAL;
	if (len == 0)
		return 0;
	for (;;) {
		int rc = rt_sock_wait_writable(s, deadline);
		if (rc != 0)
			return rc;
		/* Zero copy: drivers translate workload memory page by page
		   (virt_to_phys walks the page tables outside the direct map). */
		int r = tcp_write_ref(s->pcb, data, len, ref_release, s, true);
		if (r == TERN_OK) {
			s->tx_out++;
			txref_take(&rt_app.txref, s->epoch);
			rt_stats.send_ref_bytes += len;
			return (long)len;
		}
		if (r != TERN_EAGAIN)
			return conn_error(s);
	}
}

long
rt_sock_send(pal_sock_t *s, const void *data, size_t len, pal_time_t deadline)
{
	const uint8_t *p = data;
	size_t off = 0;
	if (data == NULL && len != 0)
		return -PAL_EINVAL;
	while (off < len) {
		int rc = rt_sock_wait_writable(s, deadline);
		if (rc != 0)
			return off > 0 ? (long)off : rc;
		size_t n = len - off < TX_CHUNK ? len - off : TX_CHUNK;
		struct rt_chunk *c = kmalloc(sizeof(*c) + n);
		if (c == NULL)
			return off > 0 ? (long)off : -PAL_ENOMEM;
		memset(c, 0, sizeof(*c));
		c->magic = CHUNK_TX;
		c->len = (uint32_t)n;
		c->sock = s;
		memcpy(c->data, p + off, n);
		int r = tcp_write(s->pcb, c->data, n, tx_release, c);
		if (r != TERN_OK) {
			kfree(c);
			if (r == TERN_EAGAIN)
				continue;
			return off > 0 ? (long)off : conn_error(s);
		}
		s->tx_copy_bytes += n;
		s->tx_out++;
		rt_stats.tx_copied += n;
		off += n;
	}
	return (long)off;
}

long
rt_sock_recv(pal_sock_t *s, void *buf, size_t len, pal_time_t deadline)
{
	uint8_t *p = buf;
	size_t n = 0;
	if (buf == NULL && len != 0)
		return -PAL_EINVAL;
	int rc = wait_data(s, deadline);
	if (rc != 0)
		return rc;
	while (n < len && s->rx_head != NULL) {
		struct rt_chunk *c = s->rx_head;
		size_t k = c->len - c->off;
		if (k > len - n)
			k = len - n;
		memcpy(p + n, chunk_bytes(c) + c->off, k);
		rt_stats.rx_copied += k;
		c->off += (uint32_t)k;
		n += k;
		s->rx_bytes -= k;
		if (c->off == c->len) {
			s->rx_head = c->next;
			if (s->rx_head == NULL)
				s->rx_tail = NULL;
			rx_chunk_free(c);
		}
		if (s->type == S_UDP)
			break;		/* one datagram per call */
	}
	if (s->type == S_TCP && s->pcb != NULL)
		tcp_recved(s->pcb, n);
	return (long)n;
}

static void
listener_close(pal_sock_t *l)
{
	if (rt_ns != NULL)
		tcp_unlisten(rt_ns, l->port);
	while (l->q_head != NULL) {
		pal_sock_t *s = l->q_head;
		l->q_head = s->q_next;
		rt_sock_abort(s);
	}
	l->q_tail = NULL;
	l->nq = 0;
}

void
rt_sock_close(pal_sock_t *s)
{
	if (!sock_ok(s, 0))
		return;
	if (s->type == S_LISTEN) {
		listener_close(s);
		sock_free(s);
		return;
	}
	if (s->type == S_UDP) {
		netstack_udp_unbind(rt_ns, s->port);
		sock_free(s);
		return;
	}
	s->app_closed = true;
	/* Unread bytes go, and with them their charge on the window, or a
	   peer with more to say could never get its FIN in. */
	if (s->pcb != NULL)
		tcp_recved(s->pcb, s->rx_bytes);
	rx_drop_all(s);
	if (s->pcb != NULL)
		tcp_close(s->pcb);	/* freed by on_closed when it is gone */
	else
		sock_free(s);
}

void
rt_sock_abort(pal_sock_t *s)
{
	if (!sock_ok(s, 0))
		return;
	if (s->type != S_TCP) {
		rt_sock_close(s);
		return;
	}
	s->app_closed = true;
	if (s->pcb != NULL)
		tcp_abort(s->pcb);	/* on_closed frees it */
	else
		sock_free(s);
}

void
rt_sock_destroy(pal_sock_t *s)
{
	if (s->magic != SOCK_MAGIC)
		return;
	s->dying = true;
	if (s->type == S_LISTEN && rt_ns != NULL)
		tcp_unlisten(rt_ns, s->port);
	else if (s->type == S_UDP && rt_ns != NULL)
		netstack_udp_unbind(rt_ns, s->port);
	else if (s->type == S_TCP && s->pcb != NULL)
		tcp_abort(s->pcb);	/* releases every reference first */
	sock_free(s);
}
