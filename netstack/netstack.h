/*
 * netstack.h - tern's TCP/IP stack: public API.
 *
 * Portable C: the stack sees only a struct nic (kernel/dev/nic.h) and the
 * port functions below (clock, allocator, randomness, log), so the same
 * sources run in the kernel and in host tests.  All state lives in one
 * struct netstack; nothing is global, so tests can run two stacks side by
 * side.  Single-threaded: every call comes from the one scheduler loop.
 *
 * This first layer covers Ethernet II, ARP (cache with expiry, a bounded
 * queue of packets waiting for resolution, replies, gratuitous ARP),
 * IPv4 (validation, checksum, bounded fragment reassembly in ipfrag.c),
 * ICMP echo and fragmentation-needed (a per-destination path MTU table),
 * UDP (bound ports with receive callbacks), the DHCPv4 client (dhcp.c), a
 * DNS stub resolver (dns.c, dns.h) and a first TCP (tcp.c).
 *
 * Receive is zero copy: handlers see the driver's buffer and the stack
 * releases it when the handler returns (UDP callbacks that want to keep
 * the payload must copy it; the zero-copy socket API comes with TCP).
 */
#ifndef TERN_NETSTACK_H
#define TERN_NETSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/dev/nic.h"
#include "netstack/tcp.h"
#include "netstack/dns.h"

struct netstack_port {
	uint64_t (*now_ns)(void *ctx);
	/*
	 * random: 32 uniformly random bits per call.  MUST be
	 * cryptographically strong (an attacker who knows the clock, the
	 * boot time and every earlier output cannot predict the next) and
	 * MUST NOT block or fail: it is called from netstack_attach and from
	 * the receive and timer paths.  A port that cannot deliver strong
	 * bits must say so itself (the kernel's logs a warning, the host's
	 * exits) rather than return predictable ones.  The stack uses it for
	 *  - secrets, drawn once in netstack_attach: the RFC 6528 ISN key
	 *    and the SYN cookie key (tcp.c, 2 x 128 bits);
	 *  - per-use values an off-path attacker must not guess: DNS query
	 *    IDs and source ports (RFC 5452), the DHCP xid, the first
	 *    ephemeral TCP port, the first IPv4 ID.
	 * Never derive it from now_ns.
	 */
	uint32_t (*random)(void *ctx);
	/* One log line (no newline); level as in kernel/log.h. */
	void (*log)(void *ctx, int level, const char *msg);
	void *ctx;
};

/* Addresses are host-order uint32_t: 10.0.2.15 = 0x0a00020f. */
struct netstack_cfg {
	uint32_t ip, mask, gw;
	uint32_t dns[2];
	uint16_t mtu;
	uint32_t lease_s;		/* DHCP lease, 0 for static */
	uint32_t azure_wireserver;	/* DHCP option 245, 0 if absent */
};

/* Drop reasons (counters.drops[]). */
enum netstack_drop {
	ND_SHORT = 0, ND_ETHERTYPE, ND_NOT_FOR_US, ND_ARP_BAD, ND_IP_HDR,
	ND_IP_CSUM, ND_IP_LEN, ND_IP_FRAG, ND_IP_TTL, ND_PROTO, ND_ICMP_CSUM,
	ND_UDP_CSUM, ND_UDP_LEN, ND_UDP_PORT, ND_ARP_QUEUE_FULL, ND_NO_TXBUF,
	ND_DHCP_BAD,
	/* Reassembly (ipfrag.c): a datagram freed when its time ran out, when
	   the memory budget or the slot table forced it out, when fragments
	   overlapped or disagreed (RFC 5722 style), or when it would exceed
	   65535 bytes. */
	ND_FRAG_TIMEOUT, ND_FRAG_MEM, ND_FRAG_OVERLAP, ND_FRAG_OVERSIZE,
	/* ICMP errors whose quoted header is not one of ours; fragmentation
	   needed with an MTU below 68 or not below the current path MTU. */
	ND_ICMP_BAD, ND_PMTU_BOGUS,
	/* DNS replies: malformed (bounds, names, pointers), or not matching an
	   outstanding query (ID, source, question). */
	ND_DNS_BAD, ND_DNS_MISMATCH,
	/* Transmit: the NIC's ring was full (the frame is dropped, never
	   retried by polling: kernel/dev/nic.h's re-entrancy rule), or no
	   NIC is bound (unregistered, not yet back). */
	ND_TX_RING_FULL, ND_NO_NIC,
	/* A received buffer chain the stack cannot take: headers not in the
	   first buffer, a chained datagram other than unfragmented TCP or
	   ICMP (UDP and fragments are parsed in one piece), or a chained echo
	   request it cannot answer (no ARP entry for the sender yet, more
	   pieces than NS_ECHO_PIECES free, or larger than the MTU). */
	ND_RX_CHAIN,
	ND_NDROPS
};

struct netstack_counters {
	uint64_t rx_frames, tx_frames;
	uint64_t arp_requests_in, arp_replies_out, arp_requests_out;
	uint64_t icmp_echo_in, icmp_echo_out;
	uint64_t udp_in, udp_out;
	uint64_t payload_copied;	/* application bytes copied on the data path */
	uint64_t ctl_copied;		/* the stack's own DHCP/DNS messages */
	uint64_t drops[ND_NDROPS];
	uint64_t frag_in;		/* fragments accepted into reassembly */
	uint64_t frag_dup;		/* exact duplicates, ignored */
	uint64_t reasm_ok;		/* datagrams reassembled and delivered */
	uint64_t icmp_in;		/* ICMP messages with a good checksum */
	uint64_t icmp_unreach_in;	/* destination unreachable, validated */
	uint64_t pmtu_updates;		/* path MTU lowered for a destination */
	uint64_t dns_queries_out, dns_answers, dns_failures;
	/* TCP/UDP receive checksums (kernel/dev/nic.h's states): trusted
	   because the device verified them, trusted because the frame came
	   with a partial checksum, flagged bad by the device, and verified
	   in software (no device state, or ICMP/fragments/BAD). */
	uint64_t rx_csum_good, rx_csum_partial, rx_csum_hw_bad, rx_csum_sw;
	uint64_t timer_scans;		/* netstack_poll passes that ran the timers */
	/* Transmit waits (kernel/dev/nic.h transmit-ready rule, NICs with
	   tx_wakes): queues that refused a frame and were then left alone,
	   frames not offered to a waiting queue (also ND_TX_RING_FULL),
	   tx_ready up-calls, and waits given up at NS_TX_WAIT_NS. */
	uint64_t tx_waits, tx_held, tx_wakeups, tx_wait_expired;
	/* Passes that sent again after transmit buffers came back. */
	uint64_t txbuf_wakeups;
};

#define NS_ARP_ENTRIES	16
#define NS_ARP_PENDING	8
#define NS_UDP_PORTS	8
#define NS_TXBUFS	64
#define NS_TXBUF_SIZE	1536
/* Reassembly: at most NS_FRAG_SLOTS datagrams at once, sharing
   NS_FRAG_MEM bytes of payload (enough for one 65535-byte datagram). */
#define NS_FRAG_SLOTS	8
#define NS_FRAG_MEM	65536
#define NS_FRAG_UNITS	(65536 / 8)	/* 8-byte fragment blocks */
#define NS_PMTU_ENTRIES	8

struct netstack;
typedef void (*netstack_udp_fn)(void *ctx, struct netstack *ns, uint32_t src_ip,
    uint16_t src_port, const uint8_t *data, size_t len);

struct ns_arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	bool valid;
	uint64_t expires_ns;
};

struct ns_txbuf {
	struct nic_buf nb;
	struct netstack *ns;
	bool busy;
	uint8_t data[NS_TXBUF_SIZE];
};

/* A piece of a chained echo request lent to its reply (ip.c): the reply
   carries the request's data by reference, holding the receive buffer. */
#define NS_ECHO_PIECES	12
struct ns_echo_piece {
	struct nic_buf nb;	/* the reply's view of the piece */
	struct nic_buf *rx;	/* the receive buffer held for it */
	bool used;
};

struct ns_pending {
	struct ns_txbuf *tb;	/* frame with its Ethernet header to fill */
	uint32_t next_hop;
	uint64_t queued_ns;
};

struct dhcp_state {
	int state;		/* enum in dhcp.c */
	uint32_t xid;
	uint32_t offered_ip, server_id;
	uint64_t next_tx_ns, t1_ns, t2_ns, expiry_ns;
	uint32_t tries;
};

struct ns_frag {
	bool used;
	uint8_t proto;
	uint16_t id;
	uint32_t src, dst;
	bool bcast;
	bool have_last;
	uint32_t total;		/* payload length, known once the last arrives */
	uint32_t received;	/* payload bytes held (fragments never overlap) */
	uint32_t off, size;	/* region in the shared buffer */
	uint64_t start_ns;
	uint8_t map[NS_FRAG_UNITS / 8];	/* 8-byte blocks received */
};

struct ns_pmtu_entry {
	uint32_t dst;
	uint16_t mtu;		/* 0: unused */
	uint64_t expires_ns;
};

#define NS_TIMER_TICK_NS 1000000ULL
/* Longest a transmit queue waits for the NIC's tx_ready before the stack
   offers it frames again (a device that never drains). */
#define NS_TX_WAIT_NS	1000000000ULL

struct netstack {
	/* The NIC the stack is bound to; NULL between nic_unregister and the
	   registration of a NIC with the same MAC (netstack_nic_added). */
	struct nic *nic;
	uint8_t mac[6];		/* the bound NIC's address, kept across a rebind */
	uint64_t nic_rebinds;	/* NICs taken up again after an unregister */
	/* The received buffer netstack_input() is processing, NULL outside
	   it: TCP lends it with in-order data that lies inside it. */
	struct nic_buf *rx_cur;
	struct netstack_port port;
	struct netstack_cfg cfg;
	bool configured;	/* have an address */
	struct netstack_counters cnt;
	struct ns_arp_entry arp[NS_ARP_ENTRIES];
	uint16_t arp_hint;	/* the entry ns_arp_lookup found last */
	struct ns_pending pending[NS_ARP_PENDING];
	struct {
		uint16_t port;
		netstack_udp_fn fn;
		void *ctx;
	} udp[NS_UDP_PORTS];
	struct ns_txbuf *txbufs;	/* NS_TXBUFS, caller-provided memory */
	uint16_t ip_id;
	struct dhcp_state dhcp;
	struct tcp_state_all tcp;
	/* Called once when an address is configured or renewed. */
	void (*on_up)(void *ctx, struct netstack *ns);
	void *on_up_ctx;
	/* ipfrag.c: datagrams in reassembly; their payload regions lie packed
	   in frag_mem in slot order. */
	struct ns_frag frag[NS_FRAG_SLOTS];
	bool frag_busy;		/* a slot may be used: the timer scan looks
				   (cleared by it when none is) */
	uint32_t frag_used;
	uint8_t frag_mem[NS_FRAG_MEM];
	/* ip.c: path MTUs learned from ICMP fragmentation needed. */
	struct ns_pmtu_entry pmtu[NS_PMTU_ENTRIES];
	/* ip.c: echo replies to chained (jumbo) requests, zero copy. */
	struct ns_echo_piece echo[NS_ECHO_PIECES];
	/* dns.c */
	struct dns_state dns;
	/* ether.c: netstack_poll reads the clock once per pass and ns_now()
	   returns that reading until the pass ends (clock_held); the timer
	   scans run once per NS_TIMER_TICK_NS (timers_ns: the last run), or
	   on the next pass when something set timers_due. */
	uint64_t clock_ns;
	bool clock_held;
	uint64_t timers_ns;
	bool timers_due;
	/* arp.c: no ARP entry or parked packet expires before arp_next_ns
	   (0: scan); ip.c: pmtu[] holds an entry (else ns_pmtu skips it). */
	uint64_t arp_next_ns;
	bool pmtu_any;
	/* ether.c: NIC queues waiting for tx_ready (bit q), since when. */
	uint32_t tx_blocked;
	uint64_t tx_blocked_ns[NIC_MAX_QUEUES];
	/* Every transmit buffer was busy (ns_txbuf_get failed): TCP notes
	   the refused connections as for a full queue, and the pass after
	   one comes back (txbuf_back) sends again (ns_tcp_tx_resume). */
	bool txbuf_short, txbuf_back;
};

/*
 * Attach to `nic` (sets nic->rx/upper).  `txmem` must hold NS_TXBUFS
 * struct ns_txbuf and stay valid until detach; it must be physically
 * contiguous per buffer (kernel heap, direct map).
 */
int netstack_attach(struct netstack *ns, struct nic *nic,
    const struct netstack_port *port, struct ns_txbuf *txmem);
/* Static configuration (ip= on the command line). */
void netstack_set_static(struct netstack *ns, uint32_t ip, uint32_t mask,
    uint32_t gw, uint32_t dns);
/* Start DHCP (dhcp.c). */
void netstack_dhcp_start(struct netstack *ns);
/* Poll every RX queue of the NIC and run timers (ARP expiry, DHCP).
   Returns the frames received, or, while a queue waits for transmit
   room, the frames received and transmit completions: what makes
   another pass at once worth it (0: the caller may sleep).  Never called from inside netstack_input.  The
   clock is read once per call; the timers are scanned at most once per
   NS_TIMER_TICK_NS (1 ms, the kernel's tick: a deadline fires up to a
   tick late, as an idle CPU wakes only on the tick anyway). */
int netstack_poll(struct netstack *ns);
/* On the way to sleep, after the NIC's receive interrupts were turned
   on: > 0 if a frame is already waiting (the caller must not sleep).
   Asks the driver's rx_pending, taking nothing off the rings; a full
   netstack_poll instead when the driver cannot tell or a queue waits for
   transmit room (its completions raise no interrupt). */
int netstack_idle_check(struct netstack *ns);
/*
 * The NIC registry's news (kernel/dev/nic.h's nic_listener, wired up by
 * the PAL).  netstack_nic_removed: if `nic` is the bound NIC, the stack
 * stops using it (frames it would send are dropped and counted ND_NO_NIC,
 * frames parked for ARP are released) and clears its rx hook; sockets and
 * TCP connections keep their state, their timers keep running.
 * netstack_nic_added: while unbound, a NIC with the stack's MAC is taken
 * up (rx hook set, nic pointer updated) and TERN_OK returned; connections
 * continue on it (retransmission recovers what was lost).  Any other NIC
 * is left alone: TERN_EBUSY (bound) or TERN_ENODEV (another MAC).
 */
void netstack_nic_removed(struct netstack *ns, struct nic *nic);
int netstack_nic_added(struct netstack *ns, struct nic *nic);
/* Input of one frame (the nic->rx hook; releases the buffer). */
void netstack_input(void *upper, struct nic_buf *b);

int netstack_udp_bind(struct netstack *ns, uint16_t port, netstack_udp_fn fn, void *ctx);
void netstack_udp_unbind(struct netstack *ns, uint16_t port);
/* Send a UDP datagram (copied into a stack buffer: for small control
   traffic such as DHCP and DNS; counted in payload_copied). */
int netstack_udp_send(struct netstack *ns, uint32_t dst_ip, uint16_t src_port,
    uint16_t dst_port, const void *data, size_t len);

/*
 * Path MTU towards dst (RFC 1191): the value learned from an ICMP
 * fragmentation-needed message while it is fresh (10 minutes), else the
 * interface MTU.  Never below 576 (the stack ignores lower reports below
 * 68 and raises 68..575 to 576) and never above the interface MTU.
 */
uint16_t ns_pmtu(struct netstack *ns, uint32_t dst);

/* Helpers shared by the modules (and tests). */
uint16_t ns_csum(const void *data, size_t len, uint32_t sum);
int ns_parse_ipv4(const char *s, size_t len, uint32_t *ip, int *prefix);
/* A comma-separated list of addresses ("10.0.2.3,1.1.1.1", the dns=
   option): stores up to max of them in out and returns how many, or -1
   when an entry is malformed or there are more than max. */
int ns_parse_ipv4_list(const char *s, size_t len, uint32_t *out, int max);
void ns_format_ipv4(char *buf, size_t n, uint32_t ip);

#endif
