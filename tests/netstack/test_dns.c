/*
 * test_dns.c - the DNS stub resolver (dns.c) against crafted replies:
 * an A answer and the cache, CNAME chains (in either order, TTL the
 * smallest), NXDOMAIN and NODATA, truncated and malformed replies,
 * compression pointer loops, replies with the wrong ID, source or
 * question, a timeout followed by the second server's answer, every
 * server timing out or failing, and the API's argument checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/netstack/frames.h"

#define DNS1	0x0a000203
#define DNS2	0x0a000204
#define SEC	1000000000ULL

static struct fake_nic f;
static struct netstack ns;
static struct ns_txbuf txmem[NS_TXBUFS];
static int cb_n, cb_err;
static uint32_t cb_ip;

static void
on_done(void *ctx, int err, uint32_t ip)
{
	cb_n++;
	cb_err = err;
	cb_ip = ip;
}

static int
setup(void **state)
{
	fake_init(&f);
	struct netstack_port port = { fake_now, fake_random, NULL, &f };
	netstack_attach(&ns, &f.nic, &port, txmem);
	netstack_set_static(&ns, MY_IP, 0xffffff00u, PEER_IP, DNS1);
	ns.cfg.dns[1] = DNS2;
	uint8_t a[64];
	fake_inject(&f, a, fr_arp_request(a, DNS1, MY_IP));
	fake_inject(&f, a, fr_arp_request(a, DNS2, MY_IP));
	f.ntx = 0;
	cb_n = 0;
	cb_err = 1;
	cb_ip = 0;
	return 0;
}

struct query {
	uint32_t server;
	uint16_t sport, id;
};

/* The k-th frame sent, which must be a DNS query for `name`. */
static struct query
sent_query(int k, const char *name)
{
	assert_true(k < f.ntx);
	const uint8_t *ip = f.tx[k] + 14, *u = ip + 20, *d = u + 8;
	assert_int_equal(ip[9], IPPROTO_UDP);
	assert_int_equal(rd16(u + 2), 53);
	assert_true(rd16(u) >= 49152);
	assert_int_equal(rd16(d + 2), 0x0100);		/* query, RD */
	assert_int_equal(rd16(d + 4), 1);
	/* The question, label by label. */
	size_t o = 12;
	const char *c = name;
	while (*c) {
		const char *dot = strchr(c, '.');
		size_t l = dot ? (size_t)(dot - c) : strlen(c);
		assert_int_equal(d[o], l);
		assert_memory_equal(d + o + 1, c, l);
		o += 1 + l;
		c += l + (dot ? 1 : 0);
	}
	assert_int_equal(d[o], 0);
	assert_int_equal(rd16(d + o + 1), 1);
	assert_int_equal(rd16(d + o + 3), 1);
	return (struct query){ rd32(ip + 16), rd16(u), rd16(d) };
}

static size_t
enc(uint8_t *w, const char *name)
{
	size_t o = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		w[o++] = (uint8_t)l;
		memcpy(w + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	w[o++] = 0;
	return o;
}

/* A DNS message: header, question for qname, then `rest` (answers). */
static size_t
msg(uint8_t *m, uint16_t id, uint16_t flags, const char *qname, uint16_t ancount,
    const uint8_t *rest, size_t rlen)
{
	memset(m, 0, 12);
	wr16(m, id);
	wr16(m + 2, flags);
	wr16(m + 4, 1);
	wr16(m + 6, ancount);
	size_t o = 12 + enc(m + 12, qname);
	wr16(m + o, 1);
	wr16(m + o + 2, 1);
	o += 4;
	if (rlen > 0)
		memcpy(m + o, rest, rlen);
	return o + rlen;
}

/* A resource record; owner given in wire form (may be a pointer). */
static size_t
rr(uint8_t *p, const uint8_t *owner, size_t olen, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, size_t rdlen)
{
	memcpy(p, owner, olen);
	size_t o = olen;
	wr16(p + o, type);
	wr16(p + o + 2, 1);
	wr32(p + o + 4, ttl);
	wr16(p + o + 8, (uint16_t)rdlen);
	memcpy(p + o + 10, rdata, rdlen);
	return o + 10 + rdlen;
}

static void
reply_from(uint32_t server, uint16_t sport, uint16_t dport, const uint8_t *m, size_t len)
{
	static uint8_t u[1600], fr[1600];
	size_t n = fr_udp(u, server, MY_IP, sport, dport, m, len);
	fake_inject(&f, fr, fr_ip(fr, f.nic.mac, server, MY_IP, IPPROTO_UDP, 1, 0, u, n));
}

static void
reply(struct query q, const uint8_t *m, size_t len)
{
	reply_from(q.server, 53, q.sport, m, len);
}

static const uint8_t ptr_q[2] = { 0xc0, 12 };	/* the question's name */
static const uint8_t addr[4] = { 93, 184, 216, 34 };

static bool
port_bound(uint16_t port)
{
	for (int i = 0; i < NS_UDP_PORTS; i++)
		if (ns.udp[i].fn != NULL && ns.udp[i].port == port)
			return true;
	return false;
}

static void
test_answer_and_cache(void **state)
{
	uint8_t m[512], an[64];
	assert_int_equal(netstack_dns_resolve(&ns, "WWW.Example.com.", on_done, NULL), TERN_OK);
	assert_int_equal(f.ntx, 1);
	struct query q = sent_query(0, "www.example.com");
	assert_int_equal(q.server, DNS1);
	assert_true(port_bound(q.sport));
	size_t a = rr(an, ptr_q, 2, 1, 300, addr, 4);
	size_t n = msg(m, q.id, 0x8180, "www.example.com", 1, an, a);
	reply(q, m, n);
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_OK);
	assert_int_equal(cb_ip, 0x5db8d822);
	assert_false(port_bound(q.sport));
	/* A duplicate of the answer finds no query. */
	reply(q, m, n);
	assert_int_equal(cb_n, 1);
	assert_int_equal(ns.cnt.drops[ND_UDP_PORT], 1);
	/* Cached: answered at the next poll, nothing sent. */
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	assert_int_equal(cb_n, 1);		/* never from inside resolve */
	netstack_poll(&ns);
	assert_int_equal(cb_n, 2);
	assert_int_equal(cb_ip, 0x5db8d822);
	assert_int_equal(f.ntx, 1);
	/* After the TTL it is asked again. */
	f.now += 301 * SEC;
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	assert_int_equal(f.ntx, 2);
	assert_int_equal(ns.cnt.dns_answers, 2);
}

static void
test_cname(void **state)
{
	uint8_t m[512], an[256];
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	struct query q = sent_query(0, "www.example.com");
	/* CNAME first, then the A record whose owner points into the
	   CNAME's data. */
	uint8_t target[32];
	size_t tl = enc(target, "alias.example.net");
	size_t o = rr(an, ptr_q, 2, 5, 60, target, tl);
	size_t qlen = 12 + 17 + 4;			/* header + question */
	uint8_t ptr_t[2] = { 0xc0, (uint8_t)(qlen + 2 + 10) };
	o += rr(an + o, ptr_t, 2, 1, 300, addr, 4);
	size_t n = msg(m, q.id, 0x8180, "www.example.com", 2, an, o);
	reply(q, m, n);
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_OK);
	assert_int_equal(cb_ip, 0x5db8d822);
	/* The chain's TTL is the CNAME's 60 s. */
	f.now += 61 * SEC;
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	assert_int_equal(f.ntx, 2);
	/* The A record before the CNAME, owner uncompressed, and an
	   unrelated record in between. */
	q = sent_query(1, "www.example.com");
	uint8_t owner[32], other[32];
	size_t ol = enc(owner, "alias.example.net"), xl = enc(other, "evil.example");
	o = rr(an, owner, ol, 1, 300, (const uint8_t *)"\x0a\x01\x02\x03", 4);
	o += rr(an + o, other, xl, 1, 300, (const uint8_t *)"\x06\x06\x06\x06", 4);
	o += rr(an + o, ptr_q, 2, 5, 300, target, tl);
	n = msg(m, q.id, 0x8180, "www.example.com", 3, an, o);
	reply(q, m, n);
	assert_int_equal(cb_n, 2);
	assert_int_equal(cb_ip, 0x0a010203);
}

static void
test_nxdomain_nodata(void **state)
{
	uint8_t m[512];
	assert_int_equal(netstack_dns_resolve(&ns, "nope.example", on_done, NULL), TERN_OK);
	struct query q = sent_query(0, "nope.example");
	reply(q, m, msg(m, q.id, 0x8183, "nope.example", 0, NULL, 0));
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_ENOENT);
	/* No error, but no A record either. */
	assert_int_equal(netstack_dns_resolve(&ns, "v6only.example", on_done, NULL), TERN_OK);
	q = sent_query(1, "v6only.example");
	reply(q, m, msg(m, q.id, 0x8180, "v6only.example", 0, NULL, 0));
	assert_int_equal(cb_n, 2);
	assert_int_equal(cb_err, TERN_ENOENT);
	assert_int_equal(ns.cnt.dns_failures, 2);
}

static void
test_malformed(void **state)
{
	uint8_t m[512], an[64];
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	struct query q = sent_query(0, "www.example.com");
	size_t a = rr(an, ptr_q, 2, 1, 300, addr, 4);
	size_t n = msg(m, q.id, 0x8180, "www.example.com", 1, an, a);
	/* Cut inside the record, inside its fixed part, and in the question. */
	reply(q, m, n - 2);
	reply(q, m, n - 8);
	reply(q, m, 20);
	/* An A record of 5 bytes; an answer count beyond the records. */
	uint8_t bad[64];
	size_t b = rr(bad, ptr_q, 2, 1, 300, (const uint8_t *)"\1\2\3\4\5", 5);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, bad, b));
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 2, an, a));
	/* Reserved label types (0x40, 0x80) and an over-long name. */
	uint8_t lab[400];
	b = 0;
	lab[b++] = 0x41;
	b += rr(lab + b, (const uint8_t *)"", 0, 1, 300, addr, 4);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, lab, b));
	b = 0;
	for (int i = 0; i < 5; i++) {
		lab[b++] = 60;
		memset(lab + b, 'a', 60);
		b += 60;
	}
	lab[b++] = 0;
	b += rr(lab + b, (const uint8_t *)"", 0, 1, 300, addr, 4);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, lab, b));
	assert_int_equal(ns.cnt.drops[ND_DNS_BAD], 7);
	assert_int_equal(cb_n, 0);
	/* The query is still waiting and takes a good answer. */
	n = msg(m, q.id, 0x8180, "www.example.com", 1, an, a);
	reply(q, m, n);
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_OK);
}

static void
test_pointer_loops(void **state)
{
	uint8_t m[512], an[64];
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	struct query q = sent_query(0, "www.example.com");
	size_t qend = 12 + 17 + 4;
	/* An owner name that points at itself. */
	uint8_t self[2] = { 0xc0, (uint8_t)qend };
	size_t a = rr(an, self, 2, 1, 300, addr, 4);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, an, a));
	/* A label, then a pointer back to that label: a two-step loop. */
	uint8_t two[4] = { 1, 'a', 0xc0, (uint8_t)qend };
	a = rr(an, two, 4, 1, 300, addr, 4);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, an, a));
	/* A pointer forward, past the end of the message. */
	uint8_t fwd[2] = { 0xc1, 0xff };
	a = rr(an, fwd, 2, 1, 300, addr, 4);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 1, an, a));
	assert_int_equal(ns.cnt.drops[ND_DNS_BAD], 3);
	assert_int_equal(cb_n, 0);
	/* A CNAME loop (a -> b -> a) is well formed but ends nowhere. */
	uint8_t nb[16], loop[128];
	size_t bl = enc(nb, "b.example");
	a = rr(loop, ptr_q, 2, 5, 300, nb, bl);
	uint8_t ptr_b[2] = { 0xc0, (uint8_t)(qend + 2 + 10) };
	a += rr(loop + a, ptr_b, 2, 5, 300, ptr_q, 2);
	reply(q, m, msg(m, q.id, 0x8180, "www.example.com", 2, loop, a));
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_ENOENT);
}

static void
test_mismatch(void **state)
{
	uint8_t m[512], an[64];
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	struct query q = sent_query(0, "www.example.com");
	size_t a = rr(an, ptr_q, 2, 1, 300, addr, 4);
	size_t n = msg(m, (uint16_t)(q.id + 1), 0x8180, "www.example.com", 1, an, a);
	reply(q, m, n);					/* wrong ID */
	n = msg(m, q.id, 0x8180, "www.example.org", 1, an, a);
	reply(q, m, n);					/* other question */
	n = msg(m, q.id, 0x0180, "www.example.com", 1, an, a);
	reply(q, m, n);					/* not a response */
	n = msg(m, q.id, 0x8180, "www.example.com", 1, an, a);
	reply_from(DNS2, 53, q.sport, m, n);		/* a server not asked yet */
	reply_from(0x0a000299, 53, q.sport, m, n);	/* a stranger */
	reply_from(DNS1, 5353, q.sport, m, n);		/* wrong source port */
	assert_int_equal(ns.cnt.drops[ND_DNS_MISMATCH], 6);
	assert_int_equal(cb_n, 0);
	reply(q, m, n);
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_OK);
}

static void
test_second_server(void **state)
{
	uint8_t m[512], an[64];
	assert_int_equal(netstack_dns_resolve(&ns, "www.example.com", on_done, NULL), TERN_OK);
	struct query q1 = sent_query(0, "www.example.com");
	assert_int_equal(q1.server, DNS1);
	f.now += 1 * SEC;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 1);
	f.now += 1 * SEC;
	netstack_poll(&ns);
	assert_int_equal(f.ntx, 2);
	struct query q2 = sent_query(1, "www.example.com");
	assert_int_equal(q2.server, DNS2);
	assert_int_equal(q2.id, q1.id);
	size_t a = rr(an, ptr_q, 2, 1, 300, addr, 4);
	reply(q2, m, msg(m, q2.id, 0x8180, "www.example.com", 1, an, a));
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_OK);
	/* The server that answered is asked first next time. */
	assert_int_equal(netstack_dns_resolve(&ns, "other.example.com", on_done, NULL), TERN_OK);
	assert_int_equal(sent_query(2, "other.example.com").server, DNS2);
}

static void
test_all_fail(void **state)
{
	uint8_t m[512];
	assert_int_equal(netstack_dns_resolve(&ns, "slow.example", on_done, NULL), TERN_OK);
	for (int s = 0; s < 30 && cb_n == 0; s++) {
		f.now += 1 * SEC;
		netstack_poll(&ns);
	}
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_err, TERN_ETIMEDOUT);
	assert_int_equal(f.ntx, 4);			/* each server twice */
	assert_int_equal(sent_query(2, "slow.example").server, DNS1);
	assert_int_equal(sent_query(3, "slow.example").server, DNS2);
	for (int i = 0; i < NS_UDP_PORTS; i++)
		assert_null(ns.udp[i].fn);
	/* Every server refuses: TERN_EIO after four answers, no waiting. */
	assert_int_equal(netstack_dns_resolve(&ns, "refused.example", on_done, NULL), TERN_OK);
	for (int k = 4; k < 8; k++) {
		struct query q = sent_query(k, "refused.example");
		reply(q, m, msg(m, q.id, 0x8185, "refused.example", 0, NULL, 0));
	}
	assert_int_equal(cb_n, 2);
	assert_int_equal(cb_err, TERN_EIO);
	assert_int_equal(f.ntx, 8);
	/* Truncated without the answer: the next server is asked at once. */
	assert_int_equal(netstack_dns_resolve(&ns, "big.example", on_done, NULL), TERN_OK);
	struct query q = sent_query(8, "big.example");
	reply(q, m, msg(m, q.id, 0x8380, "big.example", 0, NULL, 0));
	assert_int_equal(f.ntx, 10);
	assert_int_equal(sent_query(9, "big.example").server, DNS2);
	assert_int_equal(cb_n, 2);
}

static void
test_api(void **state)
{
	char longlabel[80], longname[300];
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	for (int i = 0; i < 254; i++)
		longname[i] = i % 2 ? '.' : 'a';
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(netstack_dns_resolve(&ns, "", on_done, NULL), TERN_EINVAL);
	assert_int_equal(netstack_dns_resolve(&ns, "a..b", on_done, NULL), TERN_EINVAL);
	assert_int_equal(netstack_dns_resolve(&ns, ".", on_done, NULL), TERN_EINVAL);
	assert_int_equal(netstack_dns_resolve(&ns, "bad name", on_done, NULL), TERN_EINVAL);
	assert_int_equal(netstack_dns_resolve(&ns, longlabel, on_done, NULL), TERN_EINVAL);
	assert_int_equal(netstack_dns_resolve(&ns, longname, on_done, NULL), TERN_EINVAL);
	longlabel[63] = '\0';
	assert_int_equal(netstack_dns_resolve(&ns, longlabel, on_done, NULL), TERN_OK);
	netstack_dns_cancel(&ns, on_done, NULL);
	/* A literal address needs no server; answered on the next pass even
	   within the tick of the last timer scan (timers_due). */
	netstack_poll(&ns);
	assert_int_equal(netstack_dns_resolve(&ns, "192.0.2.7", on_done, NULL), TERN_OK);
	netstack_poll(&ns);
	assert_int_equal(cb_n, 1);
	assert_int_equal(cb_ip, 0xc0000207);
	/* Bounded: DNS_QUERIES at once. */
	for (int i = 0; i < DNS_QUERIES; i++)
		assert_int_equal(netstack_dns_resolve(&ns, "x.example", on_done, &ns), TERN_OK);
	assert_int_equal(netstack_dns_resolve(&ns, "x.example", on_done, NULL), TERN_ENOMEM);
	netstack_dns_cancel(&ns, on_done, &ns);
	for (int s = 0; s < 30; s++) {
		f.now += 1 * SEC;
		netstack_poll(&ns);
	}
	assert_int_equal(cb_n, 1);			/* cancelled: never called */
	for (int i = 0; i < NS_UDP_PORTS; i++)
		assert_null(ns.udp[i].fn);
	/* No server, no address. */
	ns.cfg.dns[0] = ns.cfg.dns[1] = 0;
	assert_int_equal(netstack_dns_resolve(&ns, "x.example", on_done, NULL), TERN_ENOENT);
	ns.configured = false;
	assert_int_equal(netstack_dns_resolve(&ns, "x.example", on_done, NULL), TERN_ENOTCONN);
	for (int i = 0; i < NS_TXBUFS; i++)
		assert_false(txmem[i].busy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_answer_and_cache, setup),
		cmocka_unit_test_setup(test_cname, setup),
		cmocka_unit_test_setup(test_nxdomain_nodata, setup),
		cmocka_unit_test_setup(test_malformed, setup),
		cmocka_unit_test_setup(test_pointer_loops, setup),
		cmocka_unit_test_setup(test_mismatch, setup),
		cmocka_unit_test_setup(test_second_server, setup),
		cmocka_unit_test_setup(test_all_fail, setup),
		cmocka_unit_test_setup(test_api, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
