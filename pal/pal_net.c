/*
 * pal_net.c - the runtime's network bring-up and service loop: attach the
 * netstack to the first NIC, configure it (ip= on the command line, else
 * DHCP) and print TERN NET_UP.  The runtime's scheduler loop (pal/rt.c)
 * polls the NIC and the stack's timers through rt_ns.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/cmdline.h"
#include "kernel/dev/nic.h"
#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "netstack/netstack.h"
#include "pal/rt.h"

static struct netstack pal_ns;

static uint64_t port_now(void *ctx) { return time_now_ns(); }

static uint32_t
port_random(void *ctx)
{
	/* Stack-internal identifiers (DHCP xid, IP id); not for secrets. */
	static uint64_t x;
	x ^= time_now_ns() + 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (uint32_t)x;
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

int pal_net_start(void);
int
pal_net_start(void)
{
	struct nic *nic = nic_first();
	if (nic == NULL) {
		log_warn("net", "no network interface: running without network");
		return -1;
	}
	struct ns_txbuf *tx = kmalloc_aligned(sizeof(struct ns_txbuf) * NS_TXBUFS, 4096);
	if (tx == NULL)
		fail("net", "no_memory_for_tx_buffers");
	static const struct netstack_port port = { port_now, port_random, port_log, NULL };
	netstack_attach(&pal_ns, nic, &port, tx);
	pal_ns.on_up = on_up;
	rt_ns = &pal_ns;
	if (kernel.cmdline.ip[0] == '\0' || static_config(&pal_ns, &kernel.cmdline) != 0) {
		log_info("net", "%s: starting DHCP", nic->name);
		netstack_dhcp_start(&pal_ns);
	}
	return 0;
}
