/*
 * cloud.h - the metadata and provisioning clients (docs/clouds.md,
 * "Metadata and user data"; facts in PROTOCOLS.md D.5 and D.6).
 *
 *   EC2: IMDSv2 only.  PUT /latest/api/token (TTL header), then GETs with
 *   the token: instance-id, instance-type, placement/region, local-ipv4,
 *   user-data.  A 401 re-acquires the token once per GET; there is no
 *   tokenless request, ever.
 *
 *   Azure: IMDS GET /metadata/instance (Metadata: true): vmId, location,
 *   vmSize, userData.  Then, once the runtime says how the workload
 *   started (cloud_workload_ready / cloud_workload_failed), WireServer:
 *   a fresh goal state (GET /machine/?comp=goalstate) before every
 *   health report (POST /machine?comp=health, Ready or NotReady with a
 *   reason), retried with backoff, bounded.
 *
 * Portable C over the netstack's active open (tcp_connect), like the
 * netstack itself: one struct cloud holds all state, nothing is global,
 * no call blocks.  The owner calls cloud_poll from the netstack's thread
 * (the PAL's scheduler loop, or a test's loop); every request has a
 * deadline and every step a bounded number of attempts, so a missing or
 * hostile metadata service ends in a logged, counted give-up, never a
 * hang or a crash.  One request is in flight at a time.
 */
#ifndef TERN_CLOUD_H
#define TERN_CLOUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/extract.h"
#include "cloud/http.h"
#include "netstack/netstack.h"

enum cloud_provider { CLOUD_NONE = 0, CLOUD_AWS, CLOUD_AZURE };

#define CLOUD_IMDS_IP		0xa9fea9feu	/* 169.254.169.254 */
#define CLOUD_WIRESERVER_IP	0xa83f8110u	/* 168.63.129.16 (D.5) */
#define CLOUD_REQ_MAX		2048		/* one request, head and body */
#define CLOUD_BODY_MAX		65536		/* one response body: IMDS JSON with 16 KiB of base64 userData and many tags */
#define CLOUD_TOKEN_MAX		256		/* IMDSv2 token */
#define CLOUD_TOKEN_TTL_S	900		/* what ec2-metadata asks for */
#define CLOUD_VAL_MAX		128		/* one id, type, region... */
#define CLOUD_REASON_MAX	512		/* NotReady description (D.5) */

struct cloud_cfg {
	int provider;			/* enum cloud_provider */
	uint32_t imds_ip;		/* host order */
	uint32_t wireserver_ip;		/* host order */
	uint16_t port;			/* 80 */
	uint64_t req_timeout_ns;	/* one request, connect to last byte */
	unsigned attempts;		/* per step (Azure: per health report) */
	uint64_t backoff_ns;		/* first wait after a failure, doubles */
	uint64_t backoff_max_ns;
};

/*
 * Defaults for provider: IMDS at 169.254.169.254; WireServer from DHCP
 * option 245 (ncfg->azure_wireserver) when the lease carried it, else
 * 168.63.129.16; port 80; 3 s per request; 5 attempts; backoff 500 ms
 * doubling up to 4 s.
 */
void cloud_cfg_default(struct cloud_cfg *c, int provider,
    const struct netstack_cfg *ncfg);

struct cloud_port {
	uint64_t (*now_ns)(void *ctx);
	void (*log)(void *ctx, int level, const char *msg);	/* kernel/log.h levels */
	void *ctx;
};

enum cloud_ready {
	CLOUD_READY_NONE = 0,	/* nothing to report (yet) */
	CLOUD_READY_PENDING,	/* the report is being sent */
	CLOUD_READY_REPORTED,	/* Ready accepted (200/201/202) */
	CLOUD_NOTREADY_REPORTED,/* NotReady accepted */
	CLOUD_READY_FAILED,	/* gave up after cfg.attempts */
};

struct cloud_stats {
	uint64_t requests, responses;
	uint64_t connect_fail, timeouts, http_errors, bad_status, bad_doc;
	uint64_t http_err[HTTP_E_NERR];
	uint64_t retries, gave_up;
	uint64_t token_fetches, token_rejected;	/* EC2: PUTs, 401s */
	uint64_t goalstates, health_posts;	/* Azure */
};

struct cloud {
	struct netstack *ns;
	struct cloud_cfg cfg;
	struct cloud_port port;
	int phase;			/* enum in cloud.c */
	int step;			/* EC2: which GET */
	unsigned attempt;		/* failures in this step */
	uint64_t wait_until;		/* backoff: no request before */
	bool token_retry_used;		/* this GET already re-acquired once */
	char token[CLOUD_TOKEN_MAX + 1];

	/* The request in flight. */
	struct tcp_pcb *pcb;
	int cstate;			/* enum in cloud.c */
	int cres;			/* TERN_OK, or why it failed */
	bool kill;			/* abort pcb at the next poll */
	bool req_busy;			/* the stack still references req */
	uint64_t deadline;
	const char *what;		/* names the request in logs */
	char req[CLOUD_REQ_MAX];
	size_t req_len;
	struct http_resp resp;
	uint8_t body[CLOUD_BODY_MAX];

	/* What the services said. */
	char instance_id[CLOUD_VAL_MAX], instance_type[CLOUD_VAL_MAX];
	char region[CLOUD_VAL_MAX], local_ipv4[CLOUD_VAL_MAX];
	char vm_id[CLOUD_VAL_MAX], location[CLOUD_VAL_MAX], vm_size[CLOUD_VAL_MAX];
	char incarnation[CLOUD_VAL_MAX], container_id[CLOUD_VAL_MAX];
	char role_instance[CLOUD_VAL_MAX];
	uint8_t userdata[CLOUD_UD_MAX];
	size_t userdata_len;
	bool have_userdata;

	bool meta_done;			/* metadata phase over (either way) */
	bool meta_ok;			/* ... and it succeeded */
	const char *meta_err;		/* why it gave up */
	bool want_report, report_ready;	/* Azure: what the runtime asked */
	char reason[CLOUD_REASON_MAX];	/* NotReady description */
	int ready;			/* enum cloud_ready */
	struct cloud_stats st;
};

/* Set up c (no traffic yet).  cfg->provider must be AWS or AZURE. */
void cloud_init(struct cloud *c, struct netstack *ns, const struct cloud_cfg *cfg,
    const struct cloud_port *port);
/* Drive the client: start the next request when due, time out the one
   in flight.  Cheap when there is nothing to do. */
void cloud_poll(struct cloud *c);
/* The metadata phase is over: user data (if any) is in c->userdata. */
bool cloud_meta_done(const struct cloud *c);
/* Azure: report Ready (the workload serves).  Once per boot: later
   calls, and calls after any report, are ignored.  No-op on EC2. */
void cloud_workload_ready(struct cloud *c);
/* Azure: report NotReady with reason (trimmed to CLOUD_REASON_MAX - 1
   characters, XML-escaped in the body).  Ignored after a report. */
void cloud_workload_failed(struct cloud *c, const char *reason);
/* Nothing more will be sent: metadata done and, on Azure, no report
   pending. */
bool cloud_idle(const struct cloud *c);
/*
 * The TERN CLOUD marker text (without "TERN "), e.g. "CLOUD provider=aws
 * instance=i-0abc type=m5.large region=eu-west-1"; docs/markers.md.
 * Writes at most n bytes including the NUL.
 */
void cloud_marker(const struct cloud *c, char *buf, size_t n);

/* The Ready/NotReady health report body of D.5 for the given ids into
   out[0..cap); returns the length or -1 (does not fit, or an id holds a
   character outside [A-Za-z0-9._-]). */
int cloud_health_body(char *out, size_t cap, const char *incarnation,
    const char *container, const char *instance, bool ready, const char *reason);

#endif /* TERN_CLOUD_H */
