/*
 * dhcp.c - DHCPv4 client (RFC 2131, options RFC 2132, classless static
 * routes RFC 3442).
 *
 * INIT -> (DISCOVER) SELECTING -> (REQUEST) REQUESTING -> BOUND, then
 * RENEWING at T1 (unicast to the server), REBINDING at T2 (broadcast), and
 * back to INIT when the lease expires.  Retransmissions back off
 * 1, 2, 4 ... 32 s.  Options used: 1 subnet mask, 3 routers, 6 DNS,
 * 26 MTU, 51 lease, 53 message type, 54 server id, 58/59 T1/T2, 121
 * classless routes (its default route wins over option 3), and 245, which
 * Azure uses for the WireServer address and is only recorded.  Every
 * option length is checked against the packet; a malformed reply is
 * counted (ND_DHCP_BAD) and ignored.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

enum { DS_IDLE = 0, DS_SELECTING, DS_REQUESTING, DS_BOUND, DS_RENEWING, DS_REBINDING };
enum { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK };

#define BOOTP_LEN	236
#define COOKIE		0x63825363u
#define CLIENT_PORT	68
#define SERVER_PORT	67
#define SEC		1000000000ULL

struct dhcp_opts {
	int type;
	uint32_t mask, router, dns[2], server, lease, t1, t2, azure, route_gw;
	uint16_t mtu;
	bool has_mask, has_router, has_route121;
};

static void
build(struct netstack *ns, uint8_t *m, int type, uint32_t ciaddr, size_t *len)
{
	memset(m, 0, BOOTP_LEN + 64);
	m[0] = 1;		/* BOOTREQUEST */
	m[1] = 1;
	m[2] = 6;
	wr32(m + 4, ns->dhcp.xid);
	wr16(m + 10, ciaddr ? 0 : 0x8000);	/* broadcast replies until bound */
	wr32(m + 12, ciaddr);
	memcpy(m + 28, ns->mac, 6);
	wr32(m + BOOTP_LEN, COOKIE);
	uint8_t *o = m + BOOTP_LEN + 4;
	*o++ = 53; *o++ = 1; *o++ = (uint8_t)type;
	if (type == DHCPREQUEST && ciaddr == 0) {
		*o++ = 50; *o++ = 4; wr32(o, ns->dhcp.offered_ip); o += 4;
		*o++ = 54; *o++ = 4; wr32(o, ns->dhcp.server_id); o += 4;
	}
	/* Parameter request list. */
	static const uint8_t prl[] = { 1, 3, 6, 26, 51, 58, 59, 121, 245 };
	*o++ = 55; *o++ = sizeof(prl);
	memcpy(o, prl, sizeof(prl));
	o += sizeof(prl);
	*o++ = 255;
	*len = (size_t)(o - m);
}

static void
transmit(struct netstack *ns)
{
	uint8_t m[BOOTP_LEN + 64];
	size_t len;
	struct dhcp_state *d = &ns->dhcp;
	switch (d->state) {
	case DS_SELECTING:
		build(ns, m, DHCPDISCOVER, 0, &len);
		ns_udp_send_ctl(ns, 0xffffffffu, CLIENT_PORT, SERVER_PORT, m, len);
		break;
	case DS_REQUESTING:
		build(ns, m, DHCPREQUEST, 0, &len);
		ns_udp_send_ctl(ns, 0xffffffffu, CLIENT_PORT, SERVER_PORT, m, len);
		break;
	case DS_RENEWING:
		build(ns, m, DHCPREQUEST, ns->cfg.ip, &len);
		ns_udp_send_ctl(ns, d->server_id, CLIENT_PORT, SERVER_PORT, m, len);
		break;
	case DS_REBINDING:
		build(ns, m, DHCPREQUEST, ns->cfg.ip, &len);
		ns_udp_send_ctl(ns, 0xffffffffu, CLIENT_PORT, SERVER_PORT, m, len);
		break;
	default:
		return;
	}
	uint32_t backoff = d->tries < 5 ? 1u << d->tries : 32;
	d->tries++;
	d->next_tx_ns = ns_now(ns) + backoff * SEC;
}

void
netstack_dhcp_start(struct netstack *ns)
{
	struct dhcp_state *d = &ns->dhcp;
	memset(d, 0, sizeof(*d));
	d->xid = ns->port.random(ns->port.ctx);
	d->state = DS_SELECTING;
	if (netstack_udp_bind(ns, CLIENT_PORT, ns_dhcp_input, NULL) == TERN_ENOMEM)
		ns_log(ns, 3, "dhcp: no UDP port slot");
	transmit(ns);
}

/* Parse options; returns false when the packet is malformed. */
static bool
parse(const uint8_t *o, size_t len, struct dhcp_opts *r)
{
	memset(r, 0, sizeof(*r));
	size_t i = 0;
	while (i < len) {
		uint8_t code = o[i++];
		if (code == 0)
			continue;
		if (code == 255)
			return true;
		if (i >= len)
			return false;
		uint8_t l = o[i++];
		if (l > len - i)
			return false;
		const uint8_t *v = o + i;
		switch (code) {
		case 1: if (l != 4) return false; r->mask = rd32(v); r->has_mask = true; break;
		case 3: if (l < 4 || l % 4) return false; r->router = rd32(v); r->has_router = true; break;
		case 6:
			if (l < 4 || l % 4) return false;
			r->dns[0] = rd32(v);
			if (l >= 8) r->dns[1] = rd32(v + 4);
			break;
		case 26: if (l != 2) return false; r->mtu = rd16(v); break;
		case 51: if (l != 4) return false; r->lease = rd32(v); break;
		case 53: if (l != 1) return false; r->type = v[0]; break;
		case 54: if (l != 4) return false; r->server = rd32(v); break;
		case 58: if (l != 4) return false; r->t1 = rd32(v); break;
		case 59: if (l != 4) return false; r->t2 = rd32(v); break;
		case 245: if (l != 4) return false; r->azure = rd32(v); break;
		case 121: {
			/* Descriptors: width, significant octets of the
			   destination, router (RFC 3442 section 3). */
			size_t k = 0;
			r->has_route121 = true;
			while (k < l) {
				uint8_t w = v[k++];
				if (w > 32)
					return false;
				size_t sig = (w + 7u) / 8u;
				if (k + sig + 4 > l)
					return false;
				k += sig;
				if (w == 0)
					r->route_gw = rd32(v + k);
				k += 4;
			}
			break;
		}
		default:
			break;
		}
		i += l;
	}
	return false;	/* no end option */
}

static int
mask_prefix(uint32_t mask)
{
	int n = 0;
	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	return n;
}

static void
bind_lease(struct netstack *ns, uint32_t yiaddr, const struct dhcp_opts *o)
{
	struct dhcp_state *d = &ns->dhcp;
	uint64_t now = ns_now(ns);
	uint32_t lease = o->lease ? o->lease : 3600;
	if (lease < 60)
		lease = 60;
	uint32_t t1 = o->t1 && o->t1 < lease ? o->t1 : lease / 2;
	uint32_t t2 = o->t2 && o->t2 < lease && o->t2 > t1 ? o->t2 : lease / 8 * 7;
	bool changed = ns->cfg.ip != yiaddr || !ns->configured;

	ns->cfg.ip = yiaddr;
	ns->cfg.mask = o->has_mask && mask_prefix(o->mask) >= 1 ? o->mask : 0xffffff00u;
	/* RFC 3442: with option 121 present, option 3 is ignored. */
	ns->cfg.gw = o->has_route121 ? o->route_gw : o->router;
	ns->cfg.dns[0] = o->dns[0];
	ns->cfg.dns[1] = o->dns[1];
	if (o->mtu >= 576 && ns->nic != NULL && o->mtu <= ns->nic->mtu)
		ns->cfg.mtu = o->mtu;
	ns->cfg.lease_s = lease;
	ns->cfg.azure_wireserver = o->azure;
	if (o->server)
		d->server_id = o->server;
	d->state = DS_BOUND;
	d->tries = 0;
	d->t1_ns = now + (uint64_t)t1 * SEC;
	d->t2_ns = now + (uint64_t)t2 * SEC;
	d->expiry_ns = now + (uint64_t)lease * SEC;
	ns->configured = true;
	if (changed) {
		ns_arp_announce(ns);
		if (ns->on_up != NULL)
			ns->on_up(ns->on_up_ctx, ns);
	}
}

void
ns_dhcp_input(void *ctx, struct netstack *ns, uint32_t src_ip, uint16_t src_port,
    const uint8_t *m, size_t len)
{
	struct dhcp_state *d = &ns->dhcp;
	struct dhcp_opts o;

	if (src_port != SERVER_PORT || len < BOOTP_LEN + 4 || m[0] != 2 ||
	    rd32(m + 4) != d->xid || memcmp(m + 28, ns->mac, 6) != 0 ||
	    rd32(m + BOOTP_LEN) != COOKIE ||
	    !parse(m + BOOTP_LEN + 4, len - BOOTP_LEN - 4, &o)) {
		ns_drop(ns, ND_DHCP_BAD);
		return;
	}
	uint32_t yiaddr = rd32(m + 16);
	if (d->state == DS_SELECTING && o.type == DHCPOFFER) {
		if (yiaddr == 0 || yiaddr == 0xffffffffu || o.server == 0) {
			ns_drop(ns, ND_DHCP_BAD);
			return;
		}
		d->offered_ip = yiaddr;
		d->server_id = o.server;
		d->state = DS_REQUESTING;
		d->tries = 0;
		transmit(ns);
	} else if ((d->state == DS_REQUESTING || d->state == DS_RENEWING ||
	    d->state == DS_REBINDING) && o.type == DHCPACK) {
		if (yiaddr == 0 || yiaddr == 0xffffffffu) {
			ns_drop(ns, ND_DHCP_BAD);
			return;
		}
		bind_lease(ns, yiaddr, &o);
	} else if (o.type == DHCPNAK && d->state != DS_SELECTING && d->state != DS_BOUND) {
		ns_log(ns, 2, "dhcp: server refused our request (NAK); starting over");
		ns->configured = false;
		netstack_dhcp_start(ns);
	}
}

void
ns_dhcp_timers(struct netstack *ns)
{
	struct dhcp_state *d = &ns->dhcp;
	if (d->state == DS_IDLE)
		return;
	uint64_t now = ns_now(ns);
	if (d->state == DS_BOUND || d->state == DS_RENEWING || d->state == DS_REBINDING) {
		if (now >= d->expiry_ns) {
			ns_log(ns, 2, "dhcp: lease expired; dropping the address");
			ns->configured = false;
			netstack_dhcp_start(ns);
			return;
		}
		if (d->state == DS_BOUND && now >= d->t1_ns) {
			d->state = DS_RENEWING;
			d->tries = 0;
			transmit(ns);
			return;
		}
		if (d->state == DS_RENEWING && now >= d->t2_ns) {
			d->state = DS_REBINDING;
			d->tries = 0;
			transmit(ns);
			return;
		}
		if (d->state == DS_BOUND)
			return;
	}
	if (now >= d->next_tx_ns)
		transmit(ns);
}

void
netstack_set_static(struct netstack *ns, uint32_t ip, uint32_t mask, uint32_t gw,
    uint32_t dns)
{
	ns->dhcp.state = DS_IDLE;
	ns->cfg.ip = ip;
	ns->cfg.mask = mask;
	ns->cfg.gw = gw;
	ns->cfg.dns[0] = dns;
	ns->configured = true;
	ns_arp_announce(ns);
	if (ns->on_up != NULL)
		ns->on_up(ns->on_up_ctx, ns);
}
