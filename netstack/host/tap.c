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
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kernel/err.h"
#include "netstack/host/tap.h"

#define TAP_MAX_FRAGS	8

static int
tap_tx(struct nic *n, int queue, struct nic_buf *chain, const struct nic_tx_meta *meta)
{
	struct tap_nic *t = (struct tap_nic *)n;
	struct iovec iov[TAP_MAX_FRAGS];
	int niov = 0;
	size_t len = 0;
	for (struct nic_buf *b = chain; b != NULL; b = b->next) {
		if (niov == TAP_MAX_FRAGS) {
			n->stats.tx_errors++;
			return TERN_EINVAL;
		}
		iov[niov].iov_base = b->data;
		iov[niov].iov_len = b->len;
		len += b->len;
		niov++;
	}
	ssize_t w = writev(t->fd, iov, niov);
	if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
		n->stats.tx_ring_full++;
		n->stats.tx_drops++;
		return TERN_EAGAIN;
	}
	if (w != (ssize_t)len) {
		/* The frame is lost as on a wire; say so once per kind. */
		if (n->stats.tx_errors++ == 0)
			fprintf(stderr, "tap %s: write of %zu bytes: %s\n", n->name, len,
			    w < 0 ? strerror(errno) : "short");
	} else {
		n->stats.tx_packets++;
		n->stats.tx_bytes += len;
	}
	/* The kernel has its own copy now: TX completion is immediate. */
	while (chain != NULL) {
		struct nic_buf *next = chain->next;
		nic_buf_release(chain);
		chain = next;
	}
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

static int
tap_poll(struct nic *n, int budget)
{
	struct tap_nic *t = (struct tap_nic *)n;
	int done = 0;
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
		rb->nb = (struct nic_buf){ .data = rb->data, .len = (uint32_t)r,
			.cap = sizeof(rb->data), .release = tap_rx_release, .owner = t,
			.cookie = (uint64_t)(uintptr_t)rb, .flags = NIC_BUF_CSUM_NONE };
		n->stats.rx_packets++;
		n->stats.rx_bytes += (uint64_t)r;
		n->stats.rx_copy_bytes += (uint64_t)r;
		done++;
		if (n->rx != NULL)
			n->rx(n->upper, &rb->nb);
		else
			nic_buf_release(&rb->nb);
	}
	return done;
}

static void tap_intr(struct nic *n, bool on) { }

static void
tap_detach(struct nic *n)
{
	tap_close((struct tap_nic *)n);
}

static const struct nic_ops tap_ops = { tap_tx, tap_poll, tap_intr, tap_detach };

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
}

bool
tap_wait(struct tap_nic *t, int timeout_ms)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
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

static uint32_t
host_random(void *ctx)
{
	if (host.left == 0) {
		ssize_t r = getrandom(host.pool, sizeof(host.pool), 0);
		if (r != (ssize_t)sizeof(host.pool)) {
			/* Never block or fail: fall back to the clock, loudly. */
			fprintf(stderr, "tap: getrandom failed, using the clock\n");
			for (int i = 0; i < 64; i++)
				host.pool[i] = (uint32_t)(host_now(NULL) * 2654435761u) ^ (uint32_t)i;
		}
		host.left = 64;
	}
	return host.pool[--host.left];
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
