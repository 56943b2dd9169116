/*
 * tap.h - the netstack's host port: a struct nic on a Linux TAP device
 * and a struct netstack_port on the host's clock, entropy and stderr.
 *
 * This is how the same netstack sources that run in the kernel are
 * tested against the real Linux TCP stack (curl, wrk, tc-netem) in a
 * private network namespace: the TAP device is the wire, Linux is the
 * peer on the other end.  Host only (Linux); never linked into the kernel.
 *
 * TX: tap_nic's tx gathers the chain into one writev(2) on the TAP fd
 * (IFF_TAP|IFF_NO_PI, so the fd carries bare Ethernet frames; chains of
 * more than 16 pieces are first copied into one buffer) and releases
 * every buffer of the chain before returning, as a driver does on TX
 * completion.  A chain longer than TAP_RXBUF_SIZE is dropped, released
 * and counted in stats.tx_errors.  A write the kernel refuses (queue
 * full) is counted in stats.tx_drops and reported as TERN_EAGAIN; the
 * caller still owns the chain then, as nic.h requires.
 * RX: poll reads up to `budget` frames into buffers of a fixed pool and
 * hands each to nic->rx; the upper layer owns it until nic_buf_release().
 * When the pool is empty the frame stays in the kernel's queue and
 * stats.rx_nobuf is counted.  Every read copies (counted in rx_copy_bytes):
 * a TAP fd cannot lend its memory.
 * Single-threaded, like the netstack: every call from one loop.
 */
#ifndef TERN_NETSTACK_HOST_TAP_H
#define TERN_NETSTACK_HOST_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/dev/nic.h"
#include "netstack/netstack.h"

#define TAP_RXBUFS	64
#define TAP_RXBUF_SIZE	2048	/* a 1514-byte frame plus slack */

struct tap_rxbuf {
	struct nic_buf nb;
	struct tap_rxbuf *next_free;
	uint8_t data[TAP_RXBUF_SIZE];
};

/*
 * Wire impairment, for tests on kernels without sch_netem: the same knobs
 * as `tc qdisc ... netem loss L% reorder R% duplicate D% corrupt C% delay
 * T`, applied in the port to frames received (rx) and/or sent (tx).  Per
 * frame: lost with probability loss; else sent twice with probability
 * dup; each copy gets one random bit flipped with probability corrupt,
 * and goes out at once with probability reorder (jumping the queue) or
 * after delay_ns otherwise.  netem's correlation values are not modelled.
 * Percentages are in 1/100 %, so 500 is 5%.  Frames are copied into the
 * port's own queue (at most TAP_IMPAIR_QUEUE; beyond that they are lost
 * and counted).  The generator is seeded, so a run is repeatable up to
 * timing.
 */
#define TAP_IMPAIR_QUEUE	512

struct tap_impair {
	uint32_t loss, reorder, dup, corrupt;	/* 1/100 % */
	uint64_t delay_ns;
};

struct tap_impair_stats {
	uint64_t lost, duplicated, corrupted, delayed, queue_full;
};

struct tap_delayed {
	uint64_t due_ns;
	uint16_t len;
	bool tx;		/* to the wire (tx) or to the stack (rx) */
	uint8_t data[TAP_RXBUF_SIZE];
};

struct tap_nic {
	struct nic nic;		/* first: ops receive a struct nic * */
	int fd;
	struct tap_rxbuf rx[TAP_RXBUFS];
	struct tap_rxbuf *free_rx;
	uint64_t reads_empty;	/* poll found nothing to read */
	/* impairment (tap_set_impair), off when both are NULL */
	const struct tap_impair *imp_rx, *imp_tx;
	struct tap_impair imp_cfg[2];
	struct tap_impair_stats imp_st;
	uint32_t imp_rng;
	struct tap_delayed *delayq;	/* ring of TAP_IMPAIR_QUEUE, malloc'd */
	int dq_head, ndelayed;
};

/*
 * Attach to the existing TAP device `ifname` (e.g. made by `ip tuntap add
 * mode tap`; one is created if it does not exist), non-blocking, with the
 * given MAC and L3 MTU.  Returns TERN_OK or TERN_ENODEV (the message on
 * stderr names the device and the errno).
 */
int tap_open(struct tap_nic *t, const char *ifname, const uint8_t mac[6],
    uint16_t mtu);
/* Close the fd; every RX buffer must have been released. */
void tap_close(struct tap_nic *t);
/* Wait (poll(2)) at most timeout_ms for a frame, less when an impaired
   frame falls due sooner; true when readable. */
bool tap_wait(struct tap_nic *t, int timeout_ms);
/*
 * Impair frames received (rx) and/or sent (tx); NULL leaves a direction
 * alone.  The configurations are copied.  Returns TERN_ENOMEM when the
 * queue cannot be allocated.
 */
int tap_set_impair(struct tap_nic *t, const struct tap_impair *rx,
    const struct tap_impair *tx, uint32_t seed);
/* Parse "loss=5,reorder=25,dup=2,corrupt=1,delay_ms=1" (percentages may
   have two decimals: loss=0.5).  Returns 0 or -1. */
int tap_parse_impair(const char *s, struct tap_impair *out);

/*
 * A netstack_port on CLOCK_MONOTONIC, getrandom(2) (buffered) and stderr
 * (lines at a level above `max_level` are dropped).  The returned port's
 * ctx points at static state: one host port per process.  If getrandom
 * fails (other than EINTR) the random hook prints why and exits the
 * process with status 70 rather than return weak values.
 */
void tap_host_port(struct netstack_port *port, int max_level);

#endif
