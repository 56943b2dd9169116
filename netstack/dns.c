/*
 * dns.c - DNS stub resolver (RFC 1035 sections 4.1 and 4.1.4; RFC 5452
 * for the choice of ID and port; RFC 2181 section 8 for TTLs).
 *
 * One query per request: a random 16-bit ID and a random source port in
 * 49152..65535 (bound for the query's life), recursion desired, one
 * question for class IN type A.  Attempts rotate over the configured
 * servers starting with the one that answered last; each server is asked
 * twice, waiting 2 s per attempt in the first round and 4 s in the second.
 *
 * A reply is taken only from a server this query was sent to, from port
 * 53, with our ID, QR set, opcode 0, and exactly our question echoed (case
 * does not matter, RFC 4343); anything else is counted (ND_DNS_MISMATCH)
 * and ignored, so a forged or stray datagram cannot end the query.  A
 * reply that runs past its end, has a label longer than 63 bytes, a name
 * longer than 255, a reserved label type, or a compression pointer that
 * does not point strictly before the name segment it appears in (which
 * rules out loops) is counted (ND_DNS_BAD) and ignored.  NXDOMAIN ends the
 * query with TERN_ENOENT; another error code, or a truncated (TC) reply
 * without the address (there is no TCP fallback), moves on to the next
 * server at once.  The answer is found by following CNAME records from the
 * question name inside the reply (at most 8 steps) to an A record; its
 * TTL is the smallest along the chain.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "netstack/ns_var.h"

enum { DQ_FREE = 0, DQ_WAITING, DQ_READY };

#define DNS_PORT	53
#define DNS_HLEN	12
#define DNS_WIRE_MAX	255	/* encoded name, RFC 1035 section 2.3.4 */
#define DNS_TYPE_A	1
#define DNS_TYPE_CNAME	5
#define DNS_CLASS_IN	1
#define DNS_CHAIN_MAX	8
#define DNS_JUMPS_MAX	32
#define DNS_TTL_MAX	86400u
#define DNS_TRY_NS	(2ULL * 1000000000ULL)

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Copy a host name into out (lower case, no trailing dot); false when it
   is not one: empty labels, labels over 63, over DNS_NAME_MAX, odd bytes. */
static bool
name_canon(const char *name, char *out)
{
	size_t n = strnlen(name, DNS_NAME_MAX + 2);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = lower(name[i]);
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!host_char(c) || ++label > 63) {
			return false;
		}
		out[i] = c;
	}
	if (label == 0)
		return false;
	out[n] = '\0';
	return true;
}

/* Encode a canonical name as labels; returns the length (at most 255). */
static size_t
name_encode(const char *name, uint8_t *w)
{
	size_t o = 0, len_at = 0;
	w[o++] = 0;
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '.') {
			len_at = o;
			w[o++] = 0;
		} else {
			w[o++] = (uint8_t)*c;
			w[len_at]++;
		}
	}
	w[o++] = 0;
	return o;
}

/*
 * Read the name at *pos of message m (len bytes) into out as labels in
 * lower case (at most DNS_WIRE_MAX bytes, ending with the root label).
 * *pos moves past the name as it appears at *pos (past its first pointer).
 * A pointer must point strictly before the start of the segment it is in,
 * so every jump goes backwards and the walk ends.
 */
static bool
name_read(const uint8_t *m, size_t len, size_t *pos, uint8_t *out)
{
	size_t p = *pos, seg = *pos, o = 0;
	bool jumped = false;
	for (int jumps = 0;;) {
		if (p >= len)
			return false;
		uint8_t l = m[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > DNS_JUMPS_MAX)
				return false;
			size_t t = (size_t)(l & 0x3f) << 8 | m[p + 1];
			if (t >= seg)
				return false;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = seg = t;
			continue;
		}
		if (l & 0xc0)		/* 0x40, 0x80: extended/reserved labels */
			return false;
		if (o + 1 + l > DNS_WIRE_MAX || p + 1 + l > len)
			return false;
		out[o++] = l;
		for (size_t i = 0; i < l; i++)
			out[o++] = (uint8_t)lower((char)m[p + 1 + i]);
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	if (!jumped)
		*pos = p;
	return true;
}

static bool
name_eq(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;
	for (;;) {
		if (a[i] != b[i])
			return false;
		if (a[i] == 0)
			return true;
		size_t l = a[i];
		if (memcmp(a + i + 1, b + i + 1, l) != 0)
			return false;
		i += 1 + l;
	}
}

/* The answer for query q in reply m, or an error; *bad when malformed. */
static int
parse_answer(const uint8_t *m, size_t len, size_t pos, unsigned ancount,
    const uint8_t *qname, uint32_t *ip, uint32_t *ttl, bool *bad)
{
	uint8_t target[DNS_WIRE_MAX + 1], owner[DNS_WIRE_MAX + 1], cname[DNS_WIRE_MAX + 1];
	memcpy(target, qname, DNS_WIRE_MAX + 1);
	uint32_t minttl = DNS_TTL_MAX;
	/* Validate the whole answer section once, so the chain walk below
	   can trust the bounds. */
	size_t start = pos;
	for (unsigned i = 0; i < ancount; i++) {
		if (!name_read(m, len, &pos, owner) || len - pos < 10 ||
		    rd16(m + pos + 8) > len - pos - 10) {
			*bad = true;
			return TERN_EPROTO;
		}
		pos += 10 + rd16(m + pos + 8);
	}
	for (int step = 0; step <= DNS_CHAIN_MAX; step++) {
		bool moved = false;
		pos = start;
		for (unsigned i = 0; i < ancount && !moved; i++) {
			name_read(m, len, &pos, owner);
			uint16_t type = rd16(m + pos), class = rd16(m + pos + 2);
			uint32_t t = rd32(m + pos + 4);
			uint16_t rdlen = rd16(m + pos + 8);
			size_t rd = pos + 10;
			pos = rd + rdlen;
			if (class != DNS_CLASS_IN || !name_eq(owner, target))
				continue;
			if (t > 0x7fffffffu)	/* RFC 2181 8: treat as zero */
				t = 0;
			if (type == DNS_TYPE_A) {
				if (rdlen != 4) {
					*bad = true;
					return TERN_EPROTO;
				}
				*ip = rd32(m + rd);
				*ttl = t < minttl ? t : minttl;
				return TERN_OK;
			}
			if (type == DNS_TYPE_CNAME) {
				size_t c = rd;
				if (!name_read(m, len, &c, cname) || c != rd + rdlen) {
					*bad = true;
					return TERN_EPROTO;
				}
				memcpy(target, cname, sizeof(target));
				if (t < minttl)
					minttl = t;
				moved = true;
			}
		}
		if (!moved)
			break;
	}
	return TERN_ENOENT;	/* no A record for the name (or chain too long) */
}

static void
cache_put(struct netstack *ns, const char *name, uint32_t ip, uint32_t ttl)
{
	if (ttl == 0)
		return;
	uint64_t now = ns_now(ns);
	struct dns_cache_entry *slot = &ns->dns.cache[0];
	for (int i = 0; i < DNS_CACHE; i++) {
		struct dns_cache_entry *e = &ns->dns.cache[i];
		if (e->expires_ns > now && strcmp(e->name, name) == 0) {
			slot = e;
			break;
		}
		if (e->expires_ns < slot->expires_ns)
			slot = e;
	}
	memcpy(slot->name, name, strlen(name) + 1);	/* canonical: fits */
	slot->ip = ip;
	slot->expires_ns = now + (uint64_t)(ttl > DNS_TTL_MAX ? DNS_TTL_MAX : ttl) * 1000000000ULL;
}

static bool
cache_get(struct netstack *ns, const char *name, uint32_t *ip)
{
	uint64_t now = ns_now(ns);
	for (int i = 0; i < DNS_CACHE; i++) {
		struct dns_cache_entry *e = &ns->dns.cache[i];
		if (e->expires_ns > now && strcmp(e->name, name) == 0) {
			*ip = e->ip;
			return true;
		}
	}
	return false;
}

/* Free the slot, then tell the caller (who may start a new query). */
static void
finish(struct netstack *ns, struct dns_query *q, int err, uint32_t ip)
{
	netstack_dns_fn done = q->done;
	void *ctx = q->ctx;
	if (q->port != 0)
		netstack_udp_unbind(ns, q->port);
	q->state = DQ_FREE;
	if (err == TERN_OK)
		ns->cnt.dns_answers++;
	else
		ns->cnt.dns_failures++;
	done(ctx, err, ip);
}

/* Send attempt number q->attempt, or give up when they are used up. */
static void
send_attempt(struct netstack *ns, struct dns_query *q)
{
	if (q->attempt >= 2 * q->nservers) {
		finish(ns, q, q->err, 0);
		return;
	}
	int si = (ns->dns.preferred + q->attempt) % q->nservers;
	uint8_t m[DNS_HLEN + DNS_WIRE_MAX + 4];
	memset(m, 0, DNS_HLEN);
	wr16(m, q->id);
	wr16(m + 2, 0x0100);	/* RD */
	wr16(m + 4, 1);
	size_t n = DNS_HLEN + name_encode(q->name, m + DNS_HLEN);
	wr16(m + n, DNS_TYPE_A);
	wr16(m + n + 2, DNS_CLASS_IN);
	n += 4;
	q->asked |= (uint8_t)(1u << si);
	q->deadline_ns = ns_now(ns) + DNS_TRY_NS * (q->attempt < q->nservers ? 1 : 2);
	q->attempt++;
	ns->cnt.dns_queries_out++;
	/* A failed send (no buffer) is just a lost datagram: the timer
	   moves on. */
	ns_udp_send_ctl(ns, q->server[si], q->port, DNS_PORT, m, n);
}

static void
dns_input(void *ctx, struct netstack *ns, uint32_t src, uint16_t sport,
    const uint8_t *m, size_t len)
{
	struct dns_query *q = ctx;
	uint8_t qname[DNS_WIRE_MAX + 1], want[DNS_WIRE_MAX + 1];
	if (q->state != DQ_WAITING) {
		ns_drop(ns, ND_DNS_MISMATCH);
		return;
	}
	int si = -1;
	for (int i = 0; i < q->nservers; i++)
		if (q->server[i] == src && (q->asked & (1u << i)))
			si = i;
	if (si < 0 || sport != DNS_PORT || len < DNS_HLEN || rd16(m) != q->id ||
	    !(m[2] & 0x80) || (m[2] & 0x78) != 0 || rd16(m + 4) != 1) {
		ns_drop(ns, ND_DNS_MISMATCH);
		return;
	}
	size_t pos = DNS_HLEN;
	if (!name_read(m, len, &pos, qname) || len - pos < 4) {
		ns_drop(ns, ND_DNS_BAD);
		return;
	}
	memset(want, 0, sizeof(want));
	name_encode(q->name, want);
	if (!name_eq(qname, want) || rd16(m + pos) != DNS_TYPE_A ||
	    rd16(m + pos + 2) != DNS_CLASS_IN) {
		ns_drop(ns, ND_DNS_MISMATCH);
		return;
	}
	pos += 4;
	int rcode = m[3] & 15;
	if (rcode == 3) {
		ns->dns.preferred = si;
		finish(ns, q, TERN_ENOENT, 0);
		return;
	}
	if (rcode != 0) {
		/* This server cannot help: ask the next one now. */
		q->err = TERN_EIO;
		send_attempt(ns, q);
		return;
	}
	uint32_t ip = 0, ttl = 0;
	bool bad = false;
	int rc = parse_answer(m, len, pos, rd16(m + 6), want, &ip, &ttl, &bad);
	if (bad) {
		ns_drop(ns, ND_DNS_BAD);
		return;
	}
	if (rc != TERN_OK && (m[2] & 0x02)) {
		/* Truncated (TC) without the address in what fits: there is no
		   TCP fallback, so treat it as this server failing. */
		q->err = TERN_EIO;
		send_attempt(ns, q);
		return;
	}
	ns->dns.preferred = si;
	if (rc == TERN_OK)
		cache_put(ns, q->name, ip, ttl);
	finish(ns, q, rc, ip);
}

int
netstack_dns_resolve(struct netstack *ns, const char *name, netstack_dns_fn done,
    void *ctx)
{
	char canon[DNS_NAME_MAX + 1];
	uint32_t lit;
	struct dns_query *q = NULL;
	if (name == NULL || done == NULL)
		return TERN_EINVAL;
	for (int i = 0; i < DNS_QUERIES && q == NULL; i++)
		if (ns->dns.q[i].state == DQ_FREE)
			q = &ns->dns.q[i];
	size_t n = strnlen(name, DNS_NAME_MAX + 2);
	if (ns_parse_ipv4(name, n, &lit, NULL) == 0) {
		if (q == NULL)
			return TERN_ENOMEM;
		memset(q, 0, sizeof(*q));
		q->state = DQ_READY;
		ns->dns.busy = true;
		ns->timers_due = true;	/* answered on the next pass */
		q->ip = lit;
		q->done = done;
		q->ctx = ctx;
		return TERN_OK;
	}
	if (!name_canon(name, canon))
		return TERN_EINVAL;
	if (!ns->configured)
		return TERN_ENOTCONN;
	if (q == NULL)
		return TERN_ENOMEM;
	memset(q, 0, sizeof(*q));
	memcpy(q->name, canon, strlen(canon) + 1);
	q->done = done;
	q->ctx = ctx;
	if (cache_get(ns, canon, &q->ip)) {
		q->state = DQ_READY;
		ns->dns.busy = true;
		ns->timers_due = true;
		return TERN_OK;
	}
	for (int i = 0; i < DNS_SERVERS; i++)
		if (ns->cfg.dns[i] != 0 && ns->cfg.dns[i] != 0xffffffffu)
			q->server[q->nservers++] = ns->cfg.dns[i];
	if (q->nservers == 0)
		return TERN_ENOENT;
	if (ns->dns.preferred >= q->nservers)
		ns->dns.preferred = 0;
	int rc = TERN_EADDRINUSE;
	for (int tries = 0; tries < 8 && rc == TERN_EADDRINUSE; tries++) {
		q->port = (uint16_t)(49152 + ns->port.random(ns->port.ctx) % 16384);
		rc = netstack_udp_bind(ns, q->port, dns_input, q);
	}
	if (rc != TERN_OK) {
		q->port = 0;
		return TERN_ENOMEM;
	}
	q->id = (uint16_t)ns->port.random(ns->port.ctx);
	q->err = TERN_ETIMEDOUT;
	q->state = DQ_WAITING;
	ns->dns.busy = true;
	send_attempt(ns, q);
	return TERN_OK;
}

void
netstack_dns_cancel(struct netstack *ns, netstack_dns_fn done, void *ctx)
{
	for (int i = 0; i < DNS_QUERIES; i++) {
		struct dns_query *q = &ns->dns.q[i];
		if (q->state != DQ_FREE && q->done == done && q->ctx == ctx) {
			if (q->port != 0)
				netstack_udp_unbind(ns, q->port);
			q->state = DQ_FREE;
		}
	}
}

void
ns_dns_timers(struct netstack *ns)
{
	if (!ns->dns.busy)
		return;		/* no query since the last scan found none */
	uint64_t now = ns_now(ns);
	bool busy = false;
	for (int i = 0; i < DNS_QUERIES; i++) {
		struct dns_query *q = &ns->dns.q[i];
		if (q->state == DQ_READY)
			finish(ns, q, TERN_OK, q->ip);
		else if (q->state == DQ_WAITING && now >= q->deadline_ns)
			send_attempt(ns, q);
	}
	/* After the calls above: a done callback may have started a query. */
	for (int i = 0; i < DNS_QUERIES; i++)
		busy |= ns->dns.q[i].state != DQ_FREE;
	ns->dns.busy = busy;
}
