/*
 * tap.c - the netstack's host port on a Linux TAP device (see tap.h).
 *
 * The TAP fd is opened with IFF_TAP|IFF_NO_PI and without IFF_VNET_HDR,
 * so Linux neither hands us GSO super-frames nor partial checksums: every
 * frame read is a complete, checksummed Ethernet frame of at most MTU+14
 * bytes, and every frame we write must be the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kernel/err.h"
#include "netstack/host/tap.h"

#define TAP_MAX_FRAGS	16	/* longer chains are gathered into one buffer */

static uint64_t host_now(void *ctx);
static void impair_frame(struct tap_nic *t, const struct tap_impair *cfg,
    const uint8_t *data, size_t len, bool tx);

static void
tap_chain_release(struct nic_buf *chain)
{
	while (chain != NULL) {
		struct nic_buf *next = chain->next;
		nic_buf_release(chain);
		chain = next;
	}
}

/*
 * Never fails for a well-formed chain: the kernel takes a copy, so TX
 * completion is immediate and every buffer is released before returning.
 * A chain that cannot be a frame (longer than TAP_RXBUF_SIZE) is dropped
 * and counted in tx_errors, as a NIC would; only a refused write (the
 * TAP's queue is full) returns TERN_EAGAIN with the chain still the
 * caller's.
 */
static int
tap_tx(struct nic *n, int queue, struct nic_buf *chain, const struct nic_tx_meta *meta)
{
	struct tap_nic *t = (struct tap_nic *)n;
	struct iovec iov[TAP_MAX_FRAGS];
	uint8_t flat[TAP_RXBUF_SIZE];
	int niov = 0;
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (niov < TAP_MAX_FRAGS) {
			iov[niov].iov_base = b->data;
			iov[niov].iov_len = b->len;
		}
		niov++;
		len += b->len;
	}
	if (len > sizeof(flat)) {
		if (n->stats.tx_errors++ == 0)
			fprintf(stderr, "tap %s: dropping a %zu-byte frame\n", n->name, len);
		tap_chain_release(chain);
		return TERN_OK;
	}
	if (niov > TAP_MAX_FRAGS || t->imp_tx != NULL) {
		size_t off = 0;
		for (struct nic_buf *b = chain; b != NULL; b = b->next) {
			memcpy(flat + off, b->data, b->len);
			off += b->len;
		}
		iov[0].iov_base = flat;
		iov[0].iov_len = len;
		niov = 1;
	}
	if (t->imp_tx != NULL) {
		tap_chain_release(chain);
		impair_frame(t, t->imp_tx, flat, len, true);
		return TERN_OK;
	}
	ssize_t w = writev(t->fd, iov, niov);
	if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
		n->stats.tx_ring_full++;
		n->stats.tx_drops++;
		return TERN_EAGAIN;
	}
	if (w != (ssize_t)len) {
		/* The frame is lost as on a wire; say so the first time. */
		if (n->stats.tx_errors++ == 0)
			fprintf(stderr, "tap %s: write of %zu bytes: %s\n", n->name, len,
			    w < 0 ? strerror(errno) : "short");
	} else {
		n->stats.tx_packets++;
		n->queue[0].stats.tx_packets++;
		n->stats.tx_bytes += len;
	}
	tap_chain_release(chain);
	return TERN_OK;
}

static void
tap_rx_release(struct nic_buf *b)
{
	struct tap_rxbuf *rb = (struct tap_rxbuf *)b->cookie;
	struct tap_nic *t = b->owner;
	rb->next_free = t->free_rx;
	t->free_rx = rb;
}

/* ---- impairment (tap.h) ----------------------------------------------- */

static uint32_t
imp_rand(struct tap_nic *t)	/* 0..9999 */
{
	uint32_t s = t->imp_rng;
	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	t->imp_rng = s;
	return s % 10000;
}

/* Hand a filled receive buffer up (or straight back without a stack). */
static void
rx_deliver(struct tap_nic *t, struct tap_rxbuf *rb, size_t len)
{
	struct nic *n = &t->nic;
	rb->nb = (struct nic_buf){ .data = rb->data, .len = (uint32_t)len, .refs = 1,
		.cap = sizeof(rb->data), .release = tap_rx_release, .owner = t,
		.cookie = (uint64_t)(uintptr_t)rb, .flags = NIC_RXCSUM_NONE };
	if (n->rx != NULL)
		n->rx(n->upper, &rb->nb);
	else
		nic_buf_release(&rb->nb);
}

/* Hand one frame on: write it to the TAP fd (tx) or give it to the stack
   in a buffer of the pool (rx).  The frame is copied; data stays ours. */
static void
impair_deliver(struct tap_nic *t, const uint8_t *data, size_t len, bool tx)
{
	struct nic *n = &t->nic;
	if (tx) {
		if (write(t->fd, data, len) == (ssize_t)len) {
			n->stats.tx_packets++;
			n->stats.tx_bytes += len;
		} else {
			n->stats.tx_drops++;
		}
		return;
	}
	struct tap_rxbuf *rb = t->free_rx;
	if (rb == NULL) {
		n->stats.rx_nobuf++;
		return;
	}
	t->free_rx = rb->next_free;
	memcpy(rb->data, data, len);
	rx_deliver(t, rb, len);
}

static void
impair_frame(struct tap_nic *t, const struct tap_impair *cfg, const uint8_t *data,
    size_t len, bool tx)
{
	if (imp_rand(t) < cfg->loss) {
		t->imp_st.lost++;
		return;
	}
	int copies = 1;
	if (imp_rand(t) < cfg->dup) {
		t->imp_st.duplicated++;
		copies = 2;
	}
	for (int c = 0; c < copies; c++) {
		bool flip = imp_rand(t) < cfg->corrupt;
		bool now = cfg->delay_ns == 0 || imp_rand(t) < cfg->reorder;
		if (now && !flip) {
			impair_deliver(t, data, len, tx);
			continue;
		}
		uint8_t tmp[TAP_RXBUF_SIZE];
		uint8_t *dst = tmp;
		if (!now) {
			if (t->ndelayed == TAP_IMPAIR_QUEUE) {
				t->imp_st.queue_full++;
				continue;
			}
			struct tap_delayed *q =
			    &t->delayq[(t->dq_head + t->ndelayed++) % TAP_IMPAIR_QUEUE];
			q->due_ns = host_now(NULL) + cfg->delay_ns;
			q->len = (uint16_t)len;
			q->tx = tx;
			dst = q->data;
			t->imp_st.delayed++;
		}
		memcpy(dst, data, len);
		if (flip) {
			uint32_t bit = ((uint32_t)imp_rand(t) * 10007u + imp_rand(t)) % (uint32_t)(len * 8);
			dst[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			t->imp_st.corrupted++;
		}
		if (now)
			impair_deliver(t, dst, len, tx);
	}
}

/*
 * Deliver the delayed frames that are due, oldest first.  The queue is a
 * FIFO ring: every frame of a direction waits the same delay, so the head
 * is due first (with different rx and tx delays a short one may wait
 * behind a long one: good enough for a test wire).  Delivering a frame
 * can queue new ones (the stack answers at once), so the head is copied
 * out and popped before it is handed on.
 */
static int
impair_flush(struct tap_nic *t)
{
	int done = 0;
	uint64_t now = host_now(NULL);
	while (t->ndelayed > 0 && t->delayq[t->dq_head].due_ns <= now) {
		static struct tap_delayed q;	/* single-threaded; keeps it off the stack */
		q = t->delayq[t->dq_head];
		t->dq_head = (t->dq_head + 1) % TAP_IMPAIR_QUEUE;
		t->ndelayed--;
		impair_deliver(t, q.data, q.len, q.tx);
		done++;
	}
	return done;
}

int
tap_set_impair(struct tap_nic *t, const struct tap_impair *rx,
    const struct tap_impair *tx, uint32_t seed)
{
	if (t->delayq == NULL) {
		t->delayq = calloc(TAP_IMPAIR_QUEUE, sizeof(*t->delayq));
		if (t->delayq == NULL)
			return TERN_ENOMEM;
	}
	t->imp_rng = seed != 0 ? seed : 0x9e3779b9u;
	t->imp_rx = NULL;
	t->imp_tx = NULL;
	if (rx != NULL) {
		t->imp_cfg[0] = *rx;
		t->imp_rx = &t->imp_cfg[0];
	}
	if (tx != NULL) {
		t->imp_cfg[1] = *tx;
		t->imp_tx = &t->imp_cfg[1];
	}
	return TERN_OK;
}

static int
parse_pct(const char *v, uint32_t *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || d < 0 || d > 100)
		return -1;
	*out = (uint32_t)(d * 100 + 0.5);
	return 0;
}

int
tap_parse_impair(const char *s, struct tap_impair *out)
{
	char buf[256];
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			return -1;
		*eq = 0;
		const char *v = eq + 1;
		int rc = 0;
		if (strcmp(tok, "loss") == 0)
			rc = parse_pct(v, &out->loss);
		else if (strcmp(tok, "reorder") == 0)
			rc = parse_pct(v, &out->reorder);
		else if (strcmp(tok, "dup") == 0)
			rc = parse_pct(v, &out->dup);
		else if (strcmp(tok, "corrupt") == 0)
			rc = parse_pct(v, &out->corrupt);
		else if (strcmp(tok, "delay_ms") == 0)
			out->delay_ns = (uint64_t)(strtod(v, NULL) * 1e6);
		else
			return -1;
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* ---- receive ------------------------------------------------------------ */

static int
tap_poll(struct nic *n, int queue, int budget)
{
	struct tap_nic *t = (struct tap_nic *)n;
	if (queue != 0)
		return 0;
	n->queue[0].stats.polls++;
	int done = impair_flush(t);
	while (done < budget) {
		struct tap_rxbuf *rb = t->free_rx;
		if (rb == NULL) {
			n->stats.rx_nobuf++;
			break;
		}
		ssize_t r = read(t->fd, rb->data, sizeof(rb->data));
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR && n->stats.rx_errors++ == 0)
				fprintf(stderr, "tap %s: read: %s\n", n->name, strerror(errno));
			if (done == 0)
				t->reads_empty++;
			break;
		}
		if (r == 0)
			break;
		t->free_rx = rb->next_free;
		n->stats.rx_packets++;
		n->stats.rx_bytes += (uint64_t)r;
		n->queue[0].stats.rx_packets++;
		n->queue[0].stats.rx_bytes += (uint64_t)r;
		n->stats.rx_copy_bytes += (uint64_t)r;
		done++;
		if (t->imp_rx != NULL) {
			impair_frame(t, t->imp_rx, rb->data, (size_t)r, false);
			rb->next_free = t->free_rx;
			t->free_rx = rb;
			continue;
		}
		rx_deliver(t, rb, (size_t)r);
	}
	return done;
}

static void tap_intr(struct nic *n, int queue, bool on) { }

static void
tap_detach(struct nic *n)
{
	tap_close((struct tap_nic *)n);
}

static const struct nic_ops tap_ops = { tap_tx, tap_poll, tap_intr, tap_detach, NULL };

int
tap_open(struct tap_nic *t, const char *ifname, const uint8_t mac[6], uint16_t mtu)
{
	memset(t, 0, sizeof(*t));
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		fprintf(stderr, "tap: open /dev/net/tun: %s\n", strerror(errno));
		return TERN_ENODEV;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap %s: TUNSETIFF: %s\n", ifname, strerror(errno));
		close(t->fd);
		t->fd = -1;
		return TERN_ENODEV;
	}
	snprintf(t->nic.name, sizeof(t->nic.name), "%s", ifr.ifr_name);
	memcpy(t->nic.mac, mac, 6);
	t->nic.mtu = mtu;
	t->nic.link_up = true;
	t->nic.nqueues = 1;
	nic_queues_init(&t->nic);
	t->nic.ops = &tap_ops;
	t->nic.sc = t;
	for (int i = TAP_RXBUFS - 1; i >= 0; i--) {
		t->rx[i].next_free = t->free_rx;
		t->free_rx = &t->rx[i];
	}
	return TERN_OK;
}

void
tap_close(struct tap_nic *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->delayq);
	t->delayq = NULL;
	t->ndelayed = 0;
	t->dq_head = 0;
}

bool
tap_wait(struct tap_nic *t, int timeout_ms)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	if (t->ndelayed > 0) {
		uint64_t now = host_now(NULL), due = t->delayq[t->dq_head].due_ns;
		int ms = due <= now ? 0 : (int)((due - now + 999999) / 1000000);
		if (ms < timeout_ms)
			timeout_ms = ms;
	}
	return poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN);
}

/* ---- the netstack_port ------------------------------------------------- */

static struct {
	int max_level;
	uint32_t pool[64];
	int left;
} host;

static uint64_t
host_now(void *ctx)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * getrandom(2) from the kernel's CSPRNG (flags 0: it can wait only before
 * the host's pool is first initialised, which on any host that can run
 * this tool happened during boot).  Interrupted or short reads are
 * retried; any other failure ends the process: a host port that handed
 * the stack clock-derived keys would make its sequence numbers and SYN
 * cookies guessable, and the netstack_port contract forbids that.
 */
static uint32_t
host_random(void *ctx)
{
	if (host.left == 0) {
		uint8_t *p = (uint8_t *)host.pool;
		size_t got = 0;
		while (got < sizeof(host.pool)) {
			ssize_t r = getrandom(p + got, sizeof(host.pool) - got, 0);
			if (r > 0) {
				got += (size_t)r;
			} else if (r < 0 && errno != EINTR) {
				fprintf(stderr, "tap: getrandom: %s; no strong randomness "
				    "for the netstack, stopping\n", strerror(errno));
				exit(70);	/* EX_SOFTWARE */
			}
		}
		host.left = 64;
	}
	uint32_t v = host.pool[--host.left];
	host.pool[host.left] = 0;
	return v;
}

static void
host_log(void *ctx, int level, const char *msg)
{
	if (level <= host.max_level)
		fprintf(stderr, "netstack: %s\n", msg);
}

void
tap_host_port(struct netstack_port *port, int max_level)
{
	host.max_level = max_level;
	*port = (struct netstack_port){ host_now, host_random, host_log, &host };
}
