/*
 * cloud.c - the EC2 IMDSv2 and Azure (IMDS + WireServer) clients of
 * cloud.h: one small state machine per provider over one HTTP request at
 * a time (http.h) on a netstack TCP connection.
 *
 * A step is one request and what its answer means.  A failed step
 * (connect refused or timed out, a malformed response, an unexpected
 * status, a document without the value) is logged with the step's name,
 * counted, and tried again after a backoff that doubles, at most
 * cfg.attempts times; then the client gives up on that phase and says
 * so.  EC2's 401 is not a failure but "fetch a new token": once per GET,
 * then it is one.  Azure's health report is a pair of steps (goal state,
 * then report) retried together, so every report carries the incarnation
 * of a goal state fetched just before it (D.5).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloud/cloud.h"
#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"

enum { P_AWS_TOKEN = 1, P_AWS_GET, P_AZ_IMDS, P_AZ_WAIT, P_AZ_GOALSTATE,
	P_AZ_HEALTH, P_DONE };
enum { C_IDLE = 0, C_BUSY, C_DONE };

#define MS 1000000ULL
#define AZ_VERSION "2012-11-30"			/* x-ms-version, D.5 */
#define AZ_IMDS_TARGET "/metadata/instance?api-version=2021-02-01"

static const char *const aws_paths[] = {
	"/latest/meta-data/instance-id",
	"/latest/meta-data/instance-type",
	"/latest/meta-data/placement/region",
	"/latest/meta-data/local-ipv4",
	"/latest/user-data",
};
#define AWS_NGET ((int)(sizeof(aws_paths) / sizeof(aws_paths[0])))

static void
cloud_log(struct cloud *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cloud_log(struct cloud *c, int level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->port.log != NULL)
		c->port.log(c->port.ctx, level, line);
}

static uint64_t
now(struct cloud *c)
{
	return c->port.now_ns(c->port.ctx);
}

void
cloud_cfg_default(struct cloud_cfg *c, int provider, const struct netstack_cfg *ncfg)
{
	memset(c, 0, sizeof(*c));
	c->provider = provider;
	c->imds_ip = CLOUD_IMDS_IP;
	c->wireserver_ip = ncfg != NULL && ncfg->azure_wireserver != 0 ?
	    ncfg->azure_wireserver : CLOUD_WIRESERVER_IP;
	c->port = 80;
	c->req_timeout_ns = 3000 * MS;
	c->attempts = 5;
	c->backoff_ns = 500 * MS;
	c->backoff_max_ns = 4000 * MS;
}

void
cloud_init(struct cloud *c, struct netstack *ns, const struct cloud_cfg *cfg,
    const struct cloud_port *port)
{
	memset(c, 0, sizeof(*c));
	c->ns = ns;
	c->cfg = *cfg;
	c->port = *port;
	c->phase = cfg->provider == CLOUD_AWS ? P_AWS_TOKEN : P_AZ_IMDS;
	if (cfg->provider != CLOUD_AWS && cfg->provider != CLOUD_AZURE) {
		c->phase = P_DONE;
		c->meta_done = true;
		c->meta_err = "no_provider";
	}
}

/* ---- one request over TCP ---- */

static void
req_release(void *ctx)
{
	((struct cloud *)ctx)->req_busy = false;
}

static void
req_finish(struct cloud *c, int rc)
{
	if (c->cstate != C_BUSY)
		return;
	c->cstate = C_DONE;
	c->cres = rc;
}

static void
on_connected(void *ctx, struct tcp_pcb *pcb)
{
	struct cloud *c = ctx;
	if (pcb != c->pcb || c->cstate != C_BUSY)
		return;
	tcp_set_nodelay(pcb, true);
	/* Copied into frames (dma_ok false): c may live anywhere. */
	if (tcp_write_ref(pcb, c->req, c->req_len, req_release, c, false) != TERN_OK) {
		c->st.connect_fail++;
		req_finish(c, TERN_ENOMEM);
		c->kill = true;
		return;
	}
	c->req_busy = true;
}

static void
http_failed(struct cloud *c, int herr)
{
	c->st.http_errors++;
	if (herr > 0 && herr < HTTP_E_NERR)
		c->st.http_err[herr]++;
	cloud_log(c, LOG_WARN, "cloud: %s: malformed response: %s", c->what,
	    http_err_name(herr));
	req_finish(c, TERN_EPROTO);
}

static void
on_recv(void *ctx, struct tcp_pcb *pcb, const uint8_t *data, size_t len,
    struct nic_buf *b)
{
	struct cloud *c = ctx;
	(void)b;
	if (pcb != c->pcb || c->cstate != C_BUSY || c->kill)
		return;
	int herr = len == 0 ? http_resp_eof(&c->resp) : http_resp_feed(&c->resp, data, len);
	if (herr != HTTP_OK) {
		http_failed(c, herr);
		c->kill = true;		/* aborted from cloud_poll, not in here */
		return;
	}
	if (http_resp_done(&c->resp)) {
		c->st.responses++;
		req_finish(c, TERN_OK);
		c->pcb = NULL;
		tcp_close(pcb);
	}
}

static void
on_closed(void *ctx, struct tcp_pcb *pcb, int reason)
{
	struct cloud *c = ctx;
	if (pcb != c->pcb)
		return;
	c->pcb = NULL;
	c->kill = false;
	if (c->cstate != C_BUSY)
		return;
	if (reason == TERN_OK) {
		/* Closed cleanly: a body delimited by the close ends here. */
		int herr = http_resp_eof(&c->resp);
		if (herr != HTTP_OK) {
			http_failed(c, herr);
		} else {
			c->st.responses++;
			req_finish(c, TERN_OK);
		}
		return;
	}
	c->st.connect_fail++;
	cloud_log(c, LOG_WARN, "cloud: %s: connection failed: %s", c->what, err_str(reason));
	req_finish(c, reason);
}

static const struct tcp_cbs cloud_tcp_cbs = { on_recv, on_closed, on_connected };

/* Starts the request in c->req to ip:port; false when it could not. */
static bool
req_start(struct cloud *c, uint32_t ip, const char *what)
{
	c->what = what;
	http_resp_init(&c->resp, c->body, sizeof(c->body));
	c->cstate = C_BUSY;
	c->cres = TERN_OK;
	c->kill = false;
	c->deadline = now(c) + c->cfg.req_timeout_ns;
	c->st.requests++;
	struct tcp_pcb *pcb = NULL;
	int rc = tcp_connect(c->ns, ip, c->cfg.port, &cloud_tcp_cbs, c, &pcb);
	if (rc != TERN_OK) {
		c->st.connect_fail++;
		cloud_log(c, LOG_WARN, "cloud: %s: cannot connect: %s", what, err_str(rc));
		req_finish(c, rc);
		return false;
	}
	c->pcb = pcb;
	return true;
}

static bool
build(struct cloud *c, const char *method, uint32_t ip, const char *target,
    const struct http_hdr *h, int nh, const void *body, size_t blen)
{
	char host[16];
	ns_format_ipv4(host, sizeof(host), ip);
	int n = http_build_request(c->req, sizeof(c->req), method, host, target,
	    h, nh, body, blen);
	if (n < 0)
		return false;
	c->req_len = (size_t)n;
	return true;
}

/* ---- steps ---- */

static uint64_t
backoff(const struct cloud *c)
{
	uint64_t b = c->cfg.backoff_ns;
	for (unsigned i = 1; i < c->attempt && b < c->cfg.backoff_max_ns; i++)
		b *= 2;
	return b < c->cfg.backoff_max_ns ? b : c->cfg.backoff_max_ns;
}

static void meta_finished(struct cloud *c, bool ok, const char *err);
static void report_finished(struct cloud *c, int ready);

/* A step failed; retry it later or give up on the phase. */
static void
step_failed(struct cloud *c, const char *why)
{
	c->attempt++;
	if (c->attempt < c->cfg.attempts) {
		c->st.retries++;
		c->wait_until = now(c) + backoff(c);
		cloud_log(c, LOG_WARN, "cloud: %s failed (%s), attempt %u of %u; retrying "
		    "in %llu ms", c->what, why, c->attempt, c->cfg.attempts,
		    (unsigned long long)(backoff(c) / MS));
		if (c->phase == P_AZ_HEALTH)
			c->phase = P_AZ_GOALSTATE;	/* a fresh goal state first */
		return;
	}
	c->st.gave_up++;
	cloud_log(c, LOG_ERROR, "cloud: %s failed (%s) %u times; giving up", c->what,
	    why, c->attempt);
	c->attempt = 0;
	if (c->phase == P_AZ_GOALSTATE || c->phase == P_AZ_HEALTH)
		report_finished(c, CLOUD_READY_FAILED);
	else
		meta_finished(c, false, why);
}

static void
meta_finished(struct cloud *c, bool ok, const char *err)
{
	c->meta_done = true;
	c->meta_ok = ok;
	c->meta_err = err;
	c->attempt = 0;
	c->phase = c->cfg.provider == CLOUD_AZURE ? P_AZ_WAIT : P_DONE;
}

static void
report_finished(struct cloud *c, int ready)
{
	c->ready = ready;
	c->want_report = false;
	c->attempt = 0;
	c->phase = P_DONE;
}

/* Values we print and put in requests: no spaces, quotes or controls. */
static bool
val_ok(const char *s, bool id_only)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		char ch = *s;
		bool idc = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
		if (!idc && (id_only || ch <= 0x20 || ch >= 0x7f || ch == '"' ||
		    ch == '\\' || ch == '<' || ch == '>' || ch == '&'))
			return false;
	}
	return true;
}

/* The response body as a NUL-terminated value: false if it does not fit
   or holds anything but printable ASCII without spaces. */
static bool
body_value(struct cloud *c, char *out, size_t cap)
{
	size_t n = c->resp.body_len;
	while (n > 0 && (c->body[n - 1] == '\n' || c->body[n - 1] == '\r'))
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, c->body, n);
	out[n] = '\0';
	return strlen(out) == n && val_ok(out, false);
}

static void
aws_request(struct cloud *c)
{
	if (c->phase == P_AWS_TOKEN || c->token[0] == '\0') {
		/* Never a tokenless GET: without a token, fetch one first. */
		c->phase = P_AWS_TOKEN;
		static const struct http_hdr h[] = {
			{ "X-aws-ec2-metadata-token-ttl-seconds", "900" },
		};
		_Static_assert(CLOUD_TOKEN_TTL_S == 900, "the header says 900");
		if (!build(c, "PUT", c->cfg.imds_ip, "/latest/api/token", h, 1, NULL, 0)) {
			meta_finished(c, false, "request_build");
			return;
		}
		c->st.token_fetches++;
		req_start(c, c->cfg.imds_ip, "imds token");
		return;
	}
	struct http_hdr h[] = { { "X-aws-ec2-metadata-token", c->token } };
	if (!build(c, "GET", c->cfg.imds_ip, aws_paths[c->step], h, 1, NULL, 0)) {
		meta_finished(c, false, "request_build");
		return;
	}
	req_start(c, c->cfg.imds_ip, aws_paths[c->step] + 8);	/* after /latest/ */
}

static void
aws_response(struct cloud *c)
{
	int s = c->resp.status;
	if (c->phase == P_AWS_TOKEN) {
		if (s != 200) {
			c->st.bad_status++;
			step_failed(c, "token_status");
			return;
		}
		if (!body_value(c, c->token, sizeof(c->token))) {
			c->token[0] = '\0';
			c->st.bad_doc++;
			step_failed(c, "token_malformed");
			return;
		}
		/* attempt is not reset: the PUT belongs to the GET it serves,
		   so a GET refused again after every new token stays bounded. */
		c->phase = P_AWS_GET;
		return;
	}
	if (s == 401) {
		c->st.token_rejected++;
		c->token[0] = '\0';
		if (c->token_retry_used) {
			step_failed(c, "token_rejected");
			/* The next attempt starts from a new token. */
			return;
		}
		cloud_log(c, LOG_INFO, "cloud: %s: token refused (401); fetching a new one",
		    c->what);
		c->token_retry_used = true;
		c->phase = P_AWS_TOKEN;
		return;
	}
	char *dst[] = { c->instance_id, c->instance_type, c->region, c->local_ipv4 };
	if (s == 200 && c->step == AWS_NGET - 1) {
		if (c->resp.body_len > sizeof(c->userdata)) {
			/* Over EC2's own 16 KiB limit: not ours, as on Azure. */
			c->st.bad_doc++;
			cloud_log(c, LOG_WARN, "cloud: user-data: %zu bytes, over %u; "
			    "ignored", c->resp.body_len, (unsigned)sizeof(c->userdata));
		} else {
			memcpy(c->userdata, c->body, c->resp.body_len);
			c->userdata_len = c->resp.body_len;
			c->have_userdata = true;
		}
	} else if (s == 200) {
		if (!body_value(c, dst[c->step], CLOUD_VAL_MAX)) {
			dst[c->step][0] = '\0';
			c->st.bad_doc++;
			step_failed(c, "bad_value");
			return;
		}
	} else if (s == 404) {
		/* No user data (or no such item): nothing to apply. */
		cloud_log(c, LOG_INFO, "cloud: %s: not found (404)", c->what);
	} else {
		c->st.bad_status++;
		step_failed(c, "http_status");
		return;
	}
	c->attempt = 0;
	c->token_retry_used = false;
	if (++c->step == AWS_NGET)
		meta_finished(c, c->instance_id[0] != '\0', c->instance_id[0] ?
		    NULL : "no_instance_id");
}

static void
az_imds_response(struct cloud *c)
{
	if (c->resp.status != 200) {
		c->st.bad_status++;
		step_failed(c, "http_status");
		return;
	}
	const char *doc = (const char *)c->body;
	size_t len = c->resp.body_len;
	int rc = cloud_json_get(doc, len, "compute.vmId", c->vm_id, sizeof(c->vm_id));
	if (rc != TERN_OK || !val_ok(c->vm_id, true)) {
		c->vm_id[0] = '\0';
		c->st.bad_doc++;
		step_failed(c, rc == TERN_OK ? "bad_vmid" : err_str(rc));
		return;
	}
	char *opt[] = { c->location, c->vm_size };
	const char *key[] = { "compute.location", "compute.vmSize" };
	for (int i = 0; i < 2; i++)
		if (cloud_json_get(doc, len, key[i], opt[i], CLOUD_VAL_MAX) != TERN_OK ||
		    !val_ok(opt[i], false))
			opt[i][0] = '\0';
	/* userData: base64 in the document; absent or empty means none. */
	static char b64[CLOUD_UD_MAX * 4 / 3 + 8];
	rc = cloud_json_get(doc, len, "compute.userData", b64, sizeof(b64));
	if (rc == TERN_OK && b64[0] != '\0') {
		size_t n;
		if (cloud_b64_decode(b64, strlen(b64), c->userdata, sizeof(c->userdata),
		    &n) != TERN_OK) {
			c->st.bad_doc++;
			cloud_log(c, LOG_WARN, "cloud: imds: userData is not valid base64 "
			    "(or over %u bytes); ignored", (unsigned)sizeof(c->userdata));
		} else {
			c->userdata_len = n;
			c->have_userdata = true;
		}
	} else if (rc != TERN_OK && rc != TERN_ENOENT) {
		c->st.bad_doc++;
		cloud_log(c, LOG_WARN, "cloud: imds: userData unreadable (%s); ignored",
		    err_str(rc));
	}
	meta_finished(c, true, NULL);
}

static void
az_goalstate_response(struct cloud *c)
{
	if (c->resp.status != 200) {
		c->st.bad_status++;
		step_failed(c, "http_status");
		return;
	}
	static const char *const paths[] = {
		"GoalState/Incarnation",
		"GoalState/Container/ContainerId",
		"GoalState/Container/RoleInstanceList/RoleInstance/InstanceId",
	};
	char *dst[] = { c->incarnation, c->container_id, c->role_instance };
	for (int i = 0; i < 3; i++) {
		int rc = cloud_xml_get((const char *)c->body, c->resp.body_len, paths[i],
		    dst[i], CLOUD_VAL_MAX);
		if (rc != TERN_OK || !val_ok(dst[i], true)) {
			dst[i][0] = '\0';
			c->st.bad_doc++;
			cloud_log(c, LOG_WARN, "cloud: goal state: %s %s", paths[i],
			    rc == TERN_OK ? "is not an id" : err_str(rc));
			step_failed(c, "goalstate_malformed");
			return;
		}
	}
	c->phase = P_AZ_HEALTH;
}

/* Appends s XML-escaped; false when it does not fit. */
static bool
xml_append(char *out, size_t cap, size_t *o, const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0' && i < max; i++) {
		const char *rep = NULL;
		char one[2] = { s[i], '\0' };
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default:
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
				one[0] = '?';
			rep = one;
		}
		size_t n = strlen(rep);
		if (n >= cap - *o)
			return false;
		memcpy(out + *o, rep, n);
		*o += n;
	}
	out[*o] = '\0';
	return true;
}

int
cloud_health_body(char *out, size_t cap, const char *inc, const char *container,
    const char *instance, bool ready, const char *reason)
{
	if (!val_ok(inc, true) || !val_ok(container, true) || !val_ok(instance, true) ||
	    cap == 0)
		return -1;
	size_t o = 0;
	out[0] = '\0';
	const char *parts[] = {
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<Health xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		"xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n"
		"  <GoalStateIncarnation>", inc, "</GoalStateIncarnation>\n"
		"  <Container>\n    <ContainerId>", container, "</ContainerId>\n"
		"    <RoleInstanceList>\n      <Role>\n        <InstanceId>", instance,
		"</InstanceId>\n        <Health>\n          <State>",
		ready ? "Ready" : "NotReady", "</State>\n",
	};
	/* Raw: the literal parts are our markup, the ids passed val_ok. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t n = strlen(parts[i]);
		if (n >= cap - o)
			return -1;
		memcpy(out + o, parts[i], n);
		o += n;
	}
	if (!ready) {
		static const char d1[] = "          <Details>\n            <SubStatus>"
		    "ProvisioningFailed</SubStatus>\n            <Description>";
		if (sizeof(d1) - 1 >= cap - o)
			return -1;
		memcpy(out + o, d1, sizeof(d1) - 1);
		o += sizeof(d1) - 1;
		if (!xml_append(out, cap, &o, reason ? reason : "", CLOUD_REASON_MAX - 1))
			return -1;
		static const char d2[] = "</Description>\n          </Details>\n";
		if (sizeof(d2) - 1 >= cap - o)
			return -1;
		memcpy(out + o, d2, sizeof(d2) - 1);
		o += sizeof(d2) - 1;
	}
	static const char tail[] = "        </Health>\n      </Role>\n"
	    "    </RoleInstanceList>\n  </Container>\n</Health>\n";
	if (sizeof(tail) - 1 >= cap - o)
		return -1;
	memcpy(out + o, tail, sizeof(tail));
	o += sizeof(tail) - 1;
	return (int)o;
}

static void
az_request(struct cloud *c)
{
	static const struct http_hdr vh[] = { { "x-ms-version", AZ_VERSION } };
	if (c->phase == P_AZ_IMDS) {
		static const struct http_hdr h[] = { { "Metadata", "true" } };
		if (build(c, "GET", c->cfg.imds_ip, AZ_IMDS_TARGET, h, 1, NULL, 0))
			req_start(c, c->cfg.imds_ip, "azure imds");
		else
			meta_finished(c, false, "request_build");
		return;
	}
	if (c->phase == P_AZ_GOALSTATE) {
		c->st.goalstates++;
		if (build(c, "GET", c->cfg.wireserver_ip, "/machine/?comp=goalstate",
		    vh, 1, NULL, 0))
			req_start(c, c->cfg.wireserver_ip, "goal state");
		else
			report_finished(c, CLOUD_READY_FAILED);
		return;
	}
	/* P_AZ_HEALTH */
	static char body[CLOUD_REQ_MAX];
	int n = cloud_health_body(body, sizeof(body), c->incarnation, c->container_id,
	    c->role_instance, c->report_ready, c->reason);
	static const struct http_hdr hh[] = {
		{ "x-ms-version", AZ_VERSION },
		{ "Content-Type", "text/xml; charset=utf-8" },
	};
	if (n < 0 || !build(c, "POST", c->cfg.wireserver_ip, "/machine?comp=health",
	    hh, 2, body, (size_t)n)) {
		cloud_log(c, LOG_ERROR, "cloud: health report does not fit in %u bytes",
		    (unsigned)sizeof(c->req));
		report_finished(c, CLOUD_READY_FAILED);
		return;
	}
	c->st.health_posts++;
	req_start(c, c->cfg.wireserver_ip, c->report_ready ? "ready report" :
	    "notready report");
}

static void
az_response(struct cloud *c)
{
	if (c->phase == P_AZ_IMDS) {
		az_imds_response(c);
	} else if (c->phase == P_AZ_GOALSTATE) {
		az_goalstate_response(c);
	} else if (c->phase == P_AZ_HEALTH) {
		int s = c->resp.status;
		if (s == 200 || s == 201 || s == 202) {
			cloud_log(c, LOG_INFO, "cloud: %s accepted (%d), incarnation %s",
			    c->what, s, c->incarnation);
			report_finished(c, c->report_ready ? CLOUD_READY_REPORTED :
			    CLOUD_NOTREADY_REPORTED);
		} else {
			c->st.bad_status++;
			step_failed(c, "http_status");
		}
	}
}

void
cloud_poll(struct cloud *c)
{
	if (c->kill && c->pcb != NULL) {
		struct tcp_pcb *p = c->pcb;
		c->pcb = NULL;
		c->kill = false;
		tcp_abort(p);
	}
	uint64_t t = now(c);
	if (c->cstate == C_BUSY) {
		if (t < c->deadline)
			return;
		c->st.timeouts++;
		cloud_log(c, LOG_WARN, "cloud: %s: no complete answer within %llu ms",
		    c->what, (unsigned long long)(c->cfg.req_timeout_ns / MS));
		req_finish(c, TERN_ETIMEDOUT);
		if (c->pcb != NULL) {
			struct tcp_pcb *p = c->pcb;
			c->pcb = NULL;
			tcp_abort(p);
		}
	}
	if (c->cstate == C_DONE) {
		c->cstate = C_IDLE;
		if (c->cres != TERN_OK) {
			step_failed(c, c->cres == TERN_ETIMEDOUT ? "timeout" :
			    c->cres == TERN_EPROTO ? "malformed_response" : err_str(c->cres));
		} else if (c->cfg.provider == CLOUD_AWS) {
			aws_response(c);
		} else {
			az_response(c);
		}
		return;		/* the next request at the next poll */
	}
	if (c->phase == P_DONE || t < c->wait_until || c->req_busy ||
	    !c->ns->configured)
		return;
	if (c->phase == P_AZ_WAIT) {
		if (!c->want_report)
			return;
		c->phase = P_AZ_GOALSTATE;
	}
	if (c->cfg.provider == CLOUD_AWS)
		aws_request(c);
	else
		az_request(c);
}

bool
cloud_meta_done(const struct cloud *c)
{
	return c->meta_done;
}

void
cloud_workload_ready(struct cloud *c)
{
	if (c->cfg.provider != CLOUD_AZURE || c->want_report ||
	    c->ready != CLOUD_READY_NONE)
		return;
	c->want_report = true;
	c->report_ready = true;
	c->ready = CLOUD_READY_PENDING;
}

void
cloud_workload_failed(struct cloud *c, const char *reason)
{
	if (c->cfg.provider != CLOUD_AZURE || c->want_report ||
	    c->ready != CLOUD_READY_NONE)
		return;
	c->want_report = true;
	c->report_ready = false;
	c->ready = CLOUD_READY_PENDING;
	size_t n = strnlen(reason, sizeof(c->reason) - 1);
	memcpy(c->reason, reason, n);
	c->reason[n] = '\0';
}

bool
cloud_idle(const struct cloud *c)
{
	return c->meta_done && c->cstate == C_IDLE && !c->want_report;
}

static const char *
or_unknown(const char *s)
{
	return s[0] != '\0' ? s : "unknown";
}

void
cloud_marker(const struct cloud *c, char *buf, size_t n)
{
	if (c->cfg.provider == CLOUD_AWS) {
		if (c->meta_ok)
			ksnprintf(buf, n, "CLOUD provider=aws instance=%s type=%s region=%s",
			    c->instance_id, or_unknown(c->instance_type),
			    or_unknown(c->region));
		else
			ksnprintf(buf, n, "CLOUD provider=aws metadata=unavailable "
			    "reason=%s", c->meta_err ? c->meta_err : "unknown");
		return;
	}
	static const char *const r[] = {
		[CLOUD_READY_NONE] = "none", [CLOUD_READY_PENDING] = "pending",
		[CLOUD_READY_REPORTED] = "reported",
		[CLOUD_NOTREADY_REPORTED] = "notready_reported",
		[CLOUD_READY_FAILED] = "failed",
	};
	const char *rs = c->ready >= 0 && c->ready <= CLOUD_READY_FAILED ?
	    r[c->ready] : "?";
	ksnprintf(buf, n, "CLOUD provider=azure vm=%s ready=%s", or_unknown(c->vm_id), rs);
}
