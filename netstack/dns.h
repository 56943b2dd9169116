/*
 * dns.h - the netstack's DNS stub resolver (RFC 1035): IPv4 addresses (A
 * records) for host names, asked of the configured servers over UDP.
 *
 * Asynchronous: netstack_dns_resolve() sends the query and returns; the
 * answer arrives through the `done` callback, called exactly once per
 * accepted request (unless cancelled), never from inside
 * netstack_dns_resolve() itself: from netstack_poll() (timeouts, cache
 * hits, literal addresses) or from the receive path (answers).  Every
 * wait is bounded: each attempt waits 2 s (4 s in the second round), each
 * server is asked twice, so a query ends within 12 s with two servers.
 * Answers are cached for their TTL (capped at a day).
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netstack;

#define DNS_NAME_MAX	253	/* text form, without the trailing dot */
#define DNS_QUERIES	4	/* outstanding queries (each binds a UDP port) */
#define DNS_CACHE	8
#define DNS_SERVERS	2

/* done(ctx, err, ip): err 0 and ip host-order on success; TERN_ENOENT for
   a name that does not exist or has no A record (NXDOMAIN, NODATA),
   TERN_ETIMEDOUT when no server answered, TERN_EIO when every server
   failed (SERVFAIL, REFUSED, ...). */
typedef void (*netstack_dns_fn)(void *ctx, int err, uint32_t ip);

struct dns_query {
	int state;			/* enum in dns.c */
	char name[DNS_NAME_MAX + 1];	/* lower case, no trailing dot */
	uint16_t id, port;
	uint32_t server[DNS_SERVERS];	/* servers at the start; 0: none */
	int nservers;
	uint8_t asked;			/* bit i: server[i] was sent the query */
	int attempt;
	int err;
	uint32_t ip;
	uint64_t deadline_ns;
	netstack_dns_fn done;
	void *ctx;
};

struct dns_cache_entry {
	char name[DNS_NAME_MAX + 1];
	uint32_t ip;
	uint64_t expires_ns;		/* 0: unused */
};

struct dns_state {
	struct dns_query q[DNS_QUERIES];
	struct dns_cache_entry cache[DNS_CACHE];
	int preferred;			/* index of the server that answered last */
	bool busy;			/* a query may be outstanding: the
					   timer scan looks (cleared by it) */
};

/*
 * Resolve `name` (a host name, or a dotted quad, which is returned as is)
 * to an IPv4 address.  `name` is copied.  Returns 0 when the query is
 * accepted (done will be called later), TERN_EINVAL for a name that is
 * not a valid host name, TERN_ENOTCONN without an address, TERN_ENOENT
 * without a configured server (ns->cfg.dns[0..1]), TERN_ENOMEM when
 * DNS_QUERIES are outstanding or no UDP port slot is free.
 */
int netstack_dns_resolve(struct netstack *ns, const char *name,
    netstack_dns_fn done, void *ctx);
/* Forget outstanding queries with this callback and context: their done
   will not be called. */
void netstack_dns_cancel(struct netstack *ns, netstack_dns_fn done, void *ctx);

#endif
