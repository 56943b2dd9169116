/*
 * tap.h - the netstack's host port: a struct nic on a Linux TAP device
 * and a struct netstack_port on the host's clock, entropy and stderr.
 *
 * This is how the same netstack sources that run in the kernel are
 * tested against the real Linux TCP stack (curl, wrk, tc-netem) in a
 * private network namespace: the TAP device is the wire, Linux is the
 * peer on the other end.  Host only (Linux); never linked into the kernel.
 *
 * TX: tap_nic's tx gathers the chain into one write(2) on the TAP fd
 * (IFF_TAP|IFF_NO_PI, so the fd carries bare Ethernet frames) and
 * releases every buffer of the chain before returning, as a driver does
 * on TX completion.  A write the kernel refuses (queue full) is counted
 * in stats.tx_drops and reported as TERN_EAGAIN; the caller still owns
 * the chain then, as nic.h requires.
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

struct tap_nic {
	struct nic nic;		/* first: ops receive a struct nic * */
	int fd;
	struct tap_rxbuf rx[TAP_RXBUFS];
	struct tap_rxbuf *free_rx;
	uint64_t reads_empty;	/* poll found nothing to read */
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
/* Wait (poll(2)) at most timeout_ms for a frame; true when readable. */
bool tap_wait(struct tap_nic *t, int timeout_ms);

/*
 * A netstack_port on CLOCK_MONOTONIC, getrandom(2) (buffered) and stderr
 * (lines at a level above `max_level` are dropped).  The returned port's
 * ctx points at static state: one host port per process.
 */
void tap_host_port(struct netstack_port *port, int max_level);

#endif
