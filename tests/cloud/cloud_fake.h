/*
 * cloud_fake.h - fake metadata services for tests/cloud, each a real
 * netstack (passive TCP on port 80) on a simulated Ethernet hub shared
 * with the stack under test.  They enforce the rules of PROTOCOLS.md D.5
 * and D.6 rather than echo what the client wants:
 *
 *   IMDSv2: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-
 *   seconds in 1..21600 and no X-Forwarded-For; every GET needs a token
 *   it issued and that has not expired (401 otherwise; a GET without the
 *   header at all is counted in `tokenless`).
 *   Azure IMDS: GET /metadata/instance?api-version=... needs
 *   "Metadata: true" (400 otherwise).
 *   WireServer: every request needs x-ms-version: 2012-11-30; the goal
 *   state's incarnation can change on every fetch; a health report is
 *   checked field by field against the latest goal state served (stale
 *   incarnation, wrong container or instance id, a missing state: 400).
 *
 * Faults on demand: transient 500s, expiring tokens, always-401, chunked
 * or garbage responses, silence.
 */
#ifndef TERN_TEST_CLOUD_FAKE_H
#define TERN_TEST_CLOUD_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netstack/netstack.h"

#define FAKE_HUB_NICS	4
#define FAKE_REQ_MAX	8192

enum fake_kind { FAKE_IMDS_AWS = 1, FAKE_IMDS_AZURE, FAKE_WIRESERVER };

/* One parsed request (as the fake saw it). */
struct fake_req {
	char method[8];
	char target[256];
	int nh;
	char hname[24][64];
	char hval[24][512];
	const char *body;
	size_t blen;
};

struct fake_srv;
struct fake_conn {
	struct fake_srv *srv;
	struct tcp_pcb *pcb;
	char buf[FAKE_REQ_MAX];
	size_t len;
	bool answered;
	char out[40000];
	size_t outlen;
};

struct fake_srv {
	int kind;
	struct netstack ns;
	struct fake_conn conns[4];
	/* knobs */
	int fail500;			/* answer the next N requests with 500 */
	int fail500_health;		/* WireServer: the next N health POSTs */
	bool chunked;			/* answer bodies in chunks */
	bool garbage;			/* answer with a malformed status line */
	bool silent;			/* accept, never answer */
	int token_uses;			/* IMDSv2: GETs a token is good for (0: no limit) */
	bool always_401;		/* IMDSv2: refuse every token */
	bool bump_incarnation;		/* WireServer: new incarnation per fetch */
	const char *userdata;		/* IMDSv2 user-data / Azure userData (raw) */
	/* state and counters */
	unsigned requests, tokens_issued, tokenless, bad_token, xff_refused;
	unsigned bad_ttl, gets_ok, current_token, token_used;
	unsigned no_metadata_hdr, no_version_hdr;
	unsigned goalstates, incarnation, health_ok, health_bad;
	char last_state[16], last_desc[600], last_bad[64];
	unsigned statuses[600];
};

/* The hub: frames from one NIC go to every other (Ethernet drops those
   not for it). */
struct fake_hub;
void fake_hub_init(void);
/* Attach ns to a new NIC on the hub (static ip/16, gw .0.1); mac_last
   distinguishes NICs. */
void fake_hub_attach(struct netstack *ns, uint32_t ip, uint8_t mac_last);
/* Deliver queued frames; false when none was queued. */
bool fake_hub_pump(void);
/* A NIC whose frames are dropped both ways (a service that is down). */
void fake_hub_cut(struct netstack *ns, bool cut);
extern uint64_t fake_clock_ns;
extern const struct netstack_port fake_port;

void fake_srv_start(struct fake_srv *s, int kind, uint32_t ip, uint8_t mac_last);
/* The fake's decision for one request: status and body (exported so the
   fake's own rules can be tested without a client). */
int fake_srv_handle(struct fake_srv *s, const struct fake_req *q, char *body,
    size_t cap, size_t *blen);
/* Header value or NULL (case-insensitive name). */
const char *fake_req_header(const struct fake_req *q, const char *name);

#endif
