/*
 * pal_net.c - the runtime's network bring-up and service loop: attach the
 * netstack to the first NIC, configure it (ip= on the command line, else
 * DHCP) and print TERN NET_UP.  The runtime's scheduler loop (pal/rt.c)
 * polls the NIC and the stack's timers through rt_ns.
 *
 * The stack's random hook is the PAL entropy source (entropy.c), as the
 * netstack_port contract asks: strong, never blocking.  Without a healthy
 * RDSEED/RDRAND the words come from entropy.c's ChaCha20 fallback, which
 * keeps absorbing TSC jitter and any hardware answers; the network still
 * comes up (a guest without a network is no use to anyone) and the
 * console says once that the TCP keys are only as good as that fallback.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/cmdline.h"
#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "netstack/netstack.h"
#include "pal/entropy.h"
#include "pal/pal_boot.h"
#include "pal/rt.h"

static struct netstack pal_ns;

static uint64_t port_now(void *ctx) { return time_now_ns(); }

/* Words from entropy_get, 64 bytes at a time; each is erased once used. */
static struct {
	uint32_t pool[16];
	int left;
	bool warned;
} pal_rnd;

static uint32_t
port_random(void *ctx)
{
	if (pal_rnd.left == 0) {
		if (entropy_get(pal_rnd.pool, sizeof(pal_rnd.pool)) != 0 &&
		    !pal_rnd.warned) {
			log_warn("net", "no healthy hardware entropy: TCP ISN and "
			    "SYN cookie keys come from the %s, only as unpredictable "
			    "as its timing samples", entropy_source());
			pal_rnd.warned = true;
		}
		pal_rnd.left = 16;
	}
	uint32_t v = pal_rnd.pool[--pal_rnd.left];
	pal_rnd.pool[pal_rnd.left] = 0;
	return v;
}

static void
port_log(void *ctx, int level, const char *msg)
{
	klog(level, "net", "%s", msg);
}

static void
on_up(void *ctx, struct netstack *ns)
{
	char ip[16], gw[16], dns[16];
	int prefix = 0;
	while (prefix < 32 && (ns->cfg.mask & (0x80000000u >> prefix)))
		prefix++;
	ns_format_ipv4(ip, sizeof(ip), ns->cfg.ip);
	ns_format_ipv4(gw, sizeof(gw), ns->cfg.gw);
	ns_format_ipv4(dns, sizeof(dns), ns->cfg.dns[0]);
	marker("NET_UP ip=%s/%d gw=%s dns=%s", ip, prefix, gw, dns);
	if (ns->cfg.azure_wireserver != 0) {
		char ws[16];
		ns_format_ipv4(ws, sizeof(ws), ns->cfg.azure_wireserver);
		log_info("net", "DHCP option 245 (Azure WireServer): %s", ws);
	}
	if (kernel.cmdline.exit_after == CMDLINE_EXIT_NET_UP)
		machine_exit(EXIT_NET_UP);
	pal_cloud_net_up(ns);	/* cloud= on the command line; else nothing */
	rt_net_up();
}

/* ip=a.b.c.d/n gw=... dns=...: static configuration. */
static int
static_config(struct netstack *ns, const struct cmdline *c)
{
	uint32_t ip, gw = 0, dns[2] = { 0, 0 };
	int prefix;
	if (ns_parse_ipv4(c->ip, strlen(c->ip), &ip, &prefix) != 0) {
		log_error("net", "ip=%s is not a.b.c.d/n; using DHCP", c->ip);
		return -1;
	}
	if (prefix < 0)
		prefix = 24;
	if (c->gw[0] && ns_parse_ipv4(c->gw, strlen(c->gw), &gw, NULL) != 0)
		log_warn("net", "gw=%s ignored: not an address", c->gw);
	if (c->dns[0] && ns_parse_ipv4_list(c->dns, strlen(c->dns), dns, 2) < 0)
		log_warn("net", "dns=%s ignored: not a list of addresses", c->dns);
	uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	netstack_set_static(ns, ip, mask, gw, dns[0]);
	ns->cfg.dns[1] = dns[1];	/* the resolver tries both */
	return 0;
}

/* Interrupt-to-poll switching (rt.h).  `armed` is the NIC whose receive
   interrupts we turned on; NULL while they are off (or before the first
   sleep: drivers start with them as they like). */
struct pal_net_stats pal_net_stats;
static struct nic *armed;

static void
intr_all(struct nic *n, bool on)
{
	int nq = n->nqueues > 0 ? n->nqueues : 1;
	for (int q = 0; q < nq; q++)
		nic_intr_enable(n, q, on);
}

int
pal_net_poll(void)
{
	if (rt_ns == NULL)
		return 0;
	int work = netstack_poll(rt_ns);
	if (work > 0 && armed != NULL) {
		if (armed == rt_ns->nic)
			intr_all(armed, false);
		armed = NULL;
		pal_net_stats.intr_disarms++;
	}
	return work;
}

int
pal_net_sleep_prepare(void)
{
	if (rt_ns == NULL || rt_ns->nic == NULL)
		return 0;
	if (armed != rt_ns->nic) {
		armed = rt_ns->nic;
		intr_all(armed, true);
		pal_net_stats.intr_arms++;
	}
	/* A frame that arrived after the last poll but before the interrupt
	   was on raised nothing: look once more before halting (the
	   scheduler's next pass takes it). */
	int work = netstack_idle_check(rt_ns);
	if (work > 0)
		pal_net_stats.late_work++;
	return work;
}

/* The NIC registry's news: the stack lets go of a NIC being unregistered
   and takes up one registered later with the same MAC. */
static void
nic_added(void *ctx, struct nic *n)
{
	(void)netstack_nic_added(ctx, n);	/* logs a rebind itself */
}

static void
nic_removed(void *ctx, struct nic *n)
{
	if (armed == n)
		armed = NULL;
	netstack_nic_removed(ctx, n);
}

int
pal_net_start(void)
{
	struct nic *nic = nic_first();
	if (nic == NULL) {
		log_warn("net", "no network interface: running without network");
		return TERN_ENODEV;
	}
	struct ns_txbuf *tx = kmalloc_aligned(sizeof(struct ns_txbuf) * NS_TXBUFS, 4096);
	if (tx == NULL)
		fail("net", "no_memory_for_tx_buffers");
	static const struct netstack_port port = { port_now, port_random, port_log, NULL };
	netstack_attach(&pal_ns, nic, &port, tx);
	pal_ns.on_up = on_up;
	rt_ns = &pal_ns;
	static struct nic_listener listener = { nic_added, nic_removed, &pal_ns, NULL };
	nic_listen(&listener);
	if (kernel.cmdline.ip[0] == '\0' || static_config(&pal_ns, &kernel.cmdline) != 0) {
		log_debug("net", "%s: starting DHCP", nic->name);
		netstack_dhcp_start(&pal_ns);
	}
	return TERN_OK;
}
