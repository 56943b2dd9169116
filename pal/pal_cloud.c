/*
 * pal_cloud.c - the runtime's side of the metadata clients (cloud/,
 * docs/clouds.md "Metadata and user data"), active only with cloud=aws
 * or cloud=azure on the command line:
 *
 *   NET_UP (pal_net.c on_up)  start the client for the command line's
 *                             cloud, WireServer from DHCP option 245
 *   scheduler poll (rt.c)     cloud_poll; TERN CLOUD when there is news
 *   supervisor, before the    wait (bounded by PAL_CLOUD_WAIT_MS) for
 *   first APP_START           the metadata phase, then apply user data;
 *                             bad user data: NotReady on Azure, then
 *                             TERN FAIL stage=config reason=<r>
 *   TERN READY (rt.c)         Azure: Ready report
 *   exit before READY         Azure: NotReady report with the reason
 *
 * Without cloud= none of this runs and nothing is sent.  A metadata
 * service that is missing or broken never keeps the workload from
 * starting: the wait is bounded, the client gives up on its own bounds,
 * both say so on the console, and the stats count it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloud/cloud.h"
#include "kernel/cmdline.h"
#include "kernel/kernel.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "pal/cloud_cfg.h"
#include "pal/rt.h"

#define MS 1000000ULL
/* How long the first start of the workload waits for metadata (from the
   supervisor's start: DHCP, then the client's own bounded attempts,
   about 23 s when the service is silent). */
#define PAL_CLOUD_WAIT_MS 40000
/* How long a config failure waits for its NotReady report to go out. */
#define PAL_CLOUD_REPORT_WAIT_MS 30000

static struct cloud pal_cloud;
static struct cloud_userdata pal_ud;
static bool started, meta_marked, report_marked;

static uint64_t port_now(void *ctx) { return time_now_ns(); }

static void
port_log(void *ctx, int level, const char *msg)
{
	klog(level, "cloud", "%s", msg);
}

static int
provider(void)
{
	switch (kernel.cmdline.cloud) {
	case CMDLINE_CLOUD_AWS: return CLOUD_AWS;
	case CMDLINE_CLOUD_AZURE: return CLOUD_AZURE;
	default: return CLOUD_NONE;
	}
}

void
pal_cloud_net_up(struct netstack *ns)
{
	if (started || provider() == CLOUD_NONE)
		return;
	started = true;
	struct cloud_cfg cfg;
	cloud_cfg_default(&cfg, provider(), &ns->cfg);
	static const struct cloud_port port = { port_now, port_log, NULL };
	cloud_init(&pal_cloud, ns, &cfg, &port);
	if (cfg.provider == CLOUD_AZURE) {
		char ws[16];
		ns_format_ipv4(ws, sizeof(ws), cfg.wireserver_ip);
		log_info("cloud", "azure: WireServer %s (%s)", ws,
		    ns->cfg.azure_wireserver ? "DHCP option 245" : "default");
	} else {
		log_info("cloud", "aws: IMDSv2 at 169.254.169.254");
	}
}

/* The marker, then the client's counters so far (cloud.h cloud_stats). */
static void
print_marker(void)
{
	char m[LOG_LINE_MAX];
	cloud_marker(&pal_cloud, m, sizeof(m));
	marker("%s", m);
	const struct cloud_stats *st = &pal_cloud.st;
	log_info("cloud", "%llu requests, %llu responses, %llu connect failures, "
	    "%llu timeouts, %llu malformed, %llu bad status, %llu bad documents, "
	    "%llu retries, %llu give-ups, %llu tokens (%llu refused), %llu goal states, "
	    "%llu health reports", (unsigned long long)st->requests,
	    (unsigned long long)st->responses, (unsigned long long)st->connect_fail,
	    (unsigned long long)st->timeouts, (unsigned long long)st->http_errors,
	    (unsigned long long)st->bad_status, (unsigned long long)st->bad_doc,
	    (unsigned long long)st->retries, (unsigned long long)st->gave_up,
	    (unsigned long long)st->token_fetches, (unsigned long long)st->token_rejected,
	    (unsigned long long)st->goalstates, (unsigned long long)st->health_posts);
}

void
pal_cloud_poll(void)
{
	if (!started)
		return;
	cloud_poll(&pal_cloud);
	if (!meta_marked && pal_cloud.meta_done) {
		meta_marked = true;
		if (pal_cloud.cfg.provider == CLOUD_AWS)
			print_marker();
		else
			log_info("cloud", "azure imds: vm %s location %s size %s%s",
			    pal_cloud.vm_id[0] ? pal_cloud.vm_id : "unknown",
			    pal_cloud.location[0] ? pal_cloud.location : "unknown",
			    pal_cloud.vm_size[0] ? pal_cloud.vm_size : "unknown",
			    pal_cloud.meta_ok ? "" : " (metadata unavailable)");
	}
	if (!report_marked && (pal_cloud.ready == CLOUD_READY_REPORTED ||
	    pal_cloud.ready == CLOUD_NOTREADY_REPORTED ||
	    pal_cloud.ready == CLOUD_READY_FAILED)) {
		report_marked = true;
		print_marker();
	}
}

void
pal_cloud_ready(void)
{
	if (started)
		cloud_workload_ready(&pal_cloud);
}

void
pal_cloud_failed(const char *reason)
{
	if (started)
		cloud_workload_failed(&pal_cloud, reason);
}

/* Waits on the scheduler until done() or the deadline; true if done. */
static bool
wait_for(bool (*done)(void), uint64_t ms)
{
	uint64_t end = time_now_ns() + ms * MS;
	while (!done()) {
		if (time_now_ns() >= end)
			return false;
		sched_sleep_until(&rt_sched, time_now_ns() + 10 * MS);
	}
	return true;
}

static bool meta_done(void) { return started && cloud_meta_done(&pal_cloud); }
static bool report_done(void) { return !started || cloud_idle(&pal_cloud); }

void
pal_cloud_configure(struct pkg_manifest *m)
{
	if (provider() == CLOUD_NONE)
		return;
	if (!wait_for(meta_done, PAL_CLOUD_WAIT_MS)) {
		log_warn("cloud", "no metadata within %u ms (%s); starting %s with its "
		    "package's configuration", PAL_CLOUD_WAIT_MS, started ?
		    "the metadata service has not answered yet" : "no network address",
		    rt_app.name);
		return;
	}
	if (!pal_cloud.have_userdata)
		return;
	const char *reason = NULL;
	int rc = cloud_userdata_parse(pal_cloud.userdata, pal_cloud.userdata_len,
	    &pal_ud, &reason);
	if (rc == 0 && !pal_ud.present) {
		log_info("cloud", "user data (%zu bytes) does not start with \"%s\": "
		    "not for tern, ignored", pal_cloud.userdata_len, CLOUD_UD_HEADER);
		return;
	}
	if (rc == 0 && pal_cloud_apply(m, &pal_ud, &reason) == 0) {
		log_info("cloud", "user data applied: listen port %u, %u env, args %s%s%s",
		    m->listen_port, pal_ud.nenv, pal_ud.have_args ? "\"" : "",
		    pal_ud.have_args ? pal_ud.args : "(package's)",
		    pal_ud.have_args ? "\"" : "");
		return;
	}
	log_error("cloud", "user data refused: %s", reason);
	char why[96];
	ksnprintf(why, sizeof(why), "stage=config reason=%s", reason);
	pal_cloud_failed(why);
	if (!wait_for(report_done, PAL_CLOUD_REPORT_WAIT_MS))
		log_warn("cloud", "NotReady report still pending after %u ms",
		    PAL_CLOUD_REPORT_WAIT_MS);
	pal_cloud_poll();	/* the marker of a report that just finished */
	fail("config", reason);
}
