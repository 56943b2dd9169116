/*
 * test_cloud_e2e.c - the real metadata clients (cloud/cloud.c and the
 * netstack under them) against the fake services of cloud_fake.c, over
 * a simulated Ethernet: TCP handshakes, ARP, segments and all.
 *
 * Guest 169.254.0.10/16; IMDS (EC2 or Azure flavour) at 169.254.169.254;
 * WireServer at 169.254.169.253, given to the client as DHCP option 245
 * would give it (cloud_cfg_default with netstack_cfg.azure_wireserver).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cloud/cloud.h"
#include "kernel/err.h"
#include "tests/cloud/cloud_fake.h"

#define GUEST_IP	0xa9fe000au
#define WS_IP		0xa9fea9fdu
#define S		1000000000ULL

static struct netstack guest;
static struct fake_srv imds, ws;
static struct cloud cl;
static char logbuf[1 << 16];

static void
log_cb(void *ctx, int level, const char *msg)
{
	size_t l = strlen(logbuf), n = strlen(msg);
	if (l + n + 2 > sizeof(logbuf))
		return;		/* full: later lines are not needed */
	memcpy(logbuf + l, msg, n);
	strcpy(logbuf + l + n, "\n");
}
static uint64_t now_cb(void *ctx) { return fake_clock_ns; }

static void
setup_net(int provider, bool with_ws)
{
	fake_hub_init();
	logbuf[0] = '\0';
	fake_hub_attach(&guest, GUEST_IP, 0x10);
	fake_srv_start(&imds, provider == CLOUD_AWS ? FAKE_IMDS_AWS : FAKE_IMDS_AZURE,
	    CLOUD_IMDS_IP, 0x20);
	if (with_ws)
		fake_srv_start(&ws, FAKE_WIRESERVER, WS_IP, 0x30);
	struct netstack_cfg ncfg = guest.cfg;
	ncfg.azure_wireserver = WS_IP;	/* as DHCP option 245 would */
	struct cloud_cfg cfg;
	cloud_cfg_default(&cfg, provider, &ncfg);
	static const struct cloud_port port = { now_cb, log_cb, NULL };
	cloud_init(&cl, &guest, &cfg, &port);
}

/* Runs until done() or the simulated clock passes limit; returns the
   simulated time taken. */
static uint64_t
run(bool (*done)(void), uint64_t limit)
{
	uint64_t start = fake_clock_ns;
	while (!done() && fake_clock_ns - start < limit) {
		int k = 0;
		while (k < 256 && fake_hub_pump())
			k++;
		cloud_poll(&cl);
		netstack_poll(&guest);
		netstack_poll(&imds.ns);
		if (ws.kind)
			netstack_poll(&ws.ns);
		if (k == 0)
			fake_clock_ns += 1000000ULL;	/* idle: 1 ms passes */
	}
	return fake_clock_ns - start;
}

static bool meta_done(void) { return cloud_meta_done(&cl); }
static bool idle(void) { return cloud_idle(&cl); }

static const char *
marker_text(void)
{
	static char m[256];
	cloud_marker(&cl, m, sizeof(m));
	return m;
}

static void
test_option245_default(void **state)
{
	struct cloud_cfg c;
	struct netstack_cfg n = { 0 };
	cloud_cfg_default(&c, CLOUD_AZURE, &n);
	assert_int_equal(c.wireserver_ip, 0xa83f8110u);	/* 168.63.129.16 */
	n.azure_wireserver = 0x0a000001;
	cloud_cfg_default(&c, CLOUD_AZURE, &n);
	assert_int_equal(c.wireserver_ip, 0x0a000001);
	cloud_cfg_default(&c, CLOUD_AZURE, NULL);
	assert_int_equal(c.wireserver_ip, 0xa83f8110u);
	assert_int_equal(c.imds_ip, 0xa9fea9feu);
}

/* The fakes' own rules, without a client: a fake that let a tokenless
   GET through would make the tests below prove nothing. */
static void
test_fake_rules(void **state)
{
	static struct fake_srv s;
	struct fake_req q;
	static char body[32768];
	size_t bl;
	memset(&s, 0, sizeof(s));
	s.kind = FAKE_IMDS_AWS;
	memset(&q, 0, sizeof(q));
	strcpy(q.method, "GET");
	strcpy(q.target, "/latest/meta-data/instance-id");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 401);
	assert_int_equal(s.tokenless, 1);
	strcpy(q.method, "PUT");
	strcpy(q.target, "/latest/api/token");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 400);
	q.nh = 1;
	strcpy(q.hname[0], "X-aws-ec2-metadata-token-ttl-seconds");
	strcpy(q.hval[0], "21601");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 400);
	strcpy(q.hval[0], "900");
	q.nh = 2;
	strcpy(q.hname[1], "X-Forwarded-For");
	strcpy(q.hval[1], "1.2.3.4");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 403);
	q.nh = 1;
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 200);
	char tok[128];
	memcpy(tok, body, bl);
	tok[bl] = '\0';
	strcpy(q.method, "GET");
	strcpy(q.target, "/latest/meta-data/instance-id");
	strcpy(q.hname[0], "X-aws-ec2-metadata-token");
	strcpy(q.hval[0], "forged");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 401);
	strcpy(q.hval[0], tok);
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 200);
	/* Azure IMDS without Metadata: true; WireServer without x-ms-version. */
	s.kind = FAKE_IMDS_AZURE;
	memset(&q, 0, sizeof(q));
	strcpy(q.method, "GET");
	strcpy(q.target, "/metadata/instance?api-version=2021-02-01");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 400);
	s.kind = FAKE_WIRESERVER;
	strcpy(q.target, "/machine/?comp=goalstate");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 400);
	q.nh = 1;
	strcpy(q.hname[0], "x-ms-version");
	strcpy(q.hval[0], "2012-11-30");
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 200);
	/* A health report with a stale incarnation is refused. */
	static char hb[2048];
	assert_true(cloud_health_body(hb, sizeof(hb), "7",
	    "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2",
	    "4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm", true, NULL) > 0);
	strcpy(q.method, "POST");
	strcpy(q.target, "/machine?comp=health");
	q.nh = 2;
	strcpy(q.hname[1], "Content-Type");
	strcpy(q.hval[1], "text/xml; charset=utf-8");
	q.body = hb;
	q.blen = strlen(hb);
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 400);
	assert_string_equal(s.last_bad, "incarnation");
	assert_true(cloud_health_body(hb, sizeof(hb), "1",
	    "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2",
	    "4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm", true, NULL) > 0);
	q.blen = strlen(hb);
	assert_int_equal(fake_srv_handle(&s, &q, body, sizeof(body), &bl), 200);
	/* An id that could break the XML never makes it into a body. */
	assert_int_equal(cloud_health_body(hb, sizeof(hb), "1", "c</ContainerId>", "i",
	    true, NULL), -1);
	assert_int_equal(cloud_health_body(hb, 100, "1", "c", "i", true, NULL), -1);
}

static void
test_aws_happy(void **state)
{
	setup_net(CLOUD_AWS, false);
	imds.userdata = "#tern v1\nport=8080\nenv.PORT=8080\n";
	imds.chunked = true;
	uint64_t t = run(meta_done, 60 * S);
	assert_true(cl.meta_done && cl.meta_ok);
	assert_string_equal(marker_text(),
	    "CLOUD provider=aws instance=i-0123456789abcdef0 type=m5.large region=eu-west-1");
	assert_string_equal(cl.local_ipv4, "169.254.0.10");
	assert_true(cl.have_userdata);
	assert_int_equal(cl.userdata_len, strlen(imds.userdata));
	assert_memory_equal(cl.userdata, imds.userdata, cl.userdata_len);
	assert_int_equal(imds.tokenless, 0);
	assert_int_equal(imds.tokens_issued, 1);
	assert_int_equal(imds.gets_ok, 5);
	assert_int_equal(imds.bad_ttl + imds.xff_refused + imds.bad_token, 0);
	assert_int_equal(cl.st.requests, 6);
	assert_int_equal(cl.st.retries, 0);
	assert_true(t < 2 * S);
	assert_true(cloud_idle(&cl));
	/* Azure-only calls do nothing on EC2. */
	cloud_workload_ready(&cl);
	assert_true(cloud_idle(&cl));
}

static void
test_aws_no_userdata(void **state)
{
	setup_net(CLOUD_AWS, false);
	run(meta_done, 60 * S);
	assert_true(cl.meta_ok);
	assert_false(cl.have_userdata);
	assert_int_equal(imds.statuses[404], 1);
}

static void
test_aws_userdata_too_big(void **state)
{
	static char big[CLOUD_UD_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	setup_net(CLOUD_AWS, false);
	imds.userdata = big;
	run(meta_done, 60 * S);
	assert_true(cl.meta_ok);	/* the rest of the metadata is fine */
	assert_false(cl.have_userdata);
	assert_int_equal(cl.st.bad_doc, 1);
	assert_non_null(strstr(logbuf, "user-data: 16385 bytes, over 16384; ignored"));
}

static void
test_aws_token_reacquire(void **state)
{
	setup_net(CLOUD_AWS, false);
	imds.token_uses = 2;	/* the token "expires" after two GETs */
	run(meta_done, 60 * S);
	assert_true(cl.meta_ok);
	/* GETs 3 and 5 were refused and retried with a fresh token. */
	assert_int_equal(imds.tokens_issued, 3);
	assert_int_equal(imds.bad_token, 2);
	assert_int_equal(cl.st.token_rejected, 2);
	assert_int_equal(imds.tokenless, 0);
	assert_int_equal(imds.gets_ok, 5);
	assert_int_equal(cl.st.retries, 0);
	assert_string_equal(cl.region, "eu-west-1");
}

static void
test_aws_always_401_bounded(void **state)
{
	setup_net(CLOUD_AWS, false);
	imds.always_401 = true;
	uint64_t t = run(meta_done, 600 * S);
	assert_true(cl.meta_done);
	assert_false(cl.meta_ok);
	assert_int_equal(imds.tokenless, 0);
	/* First attempt: token, GET 401, the one re-acquire, GET 401.  Each
	   later attempt starts with a new token: token, GET 401. */
	assert_int_equal(cl.st.gave_up, 1);
	assert_int_equal(imds.bad_token, cl.cfg.attempts + 1);
	assert_int_equal(imds.tokens_issued, cl.cfg.attempts + 1);
	assert_true(t < 60 * S);
	assert_string_equal(marker_text(),
	    "CLOUD provider=aws metadata=unavailable reason=token_rejected");
	/* Nothing more is sent after giving up. */
	unsigned req = imds.requests;
	fake_clock_ns += 100 * S;
	run(meta_done, 0);
	for (int i = 0; i < 1000; i++)
		cloud_poll(&cl);
	assert_int_equal(imds.requests, req);
}

static void
test_aws_transient_500(void **state)
{
	setup_net(CLOUD_AWS, false);
	imds.fail500 = 3;	/* the token PUT fails three times */
	run(meta_done, 60 * S);
	assert_true(cl.meta_ok);
	assert_int_equal(cl.st.retries, 3);
	assert_int_equal(cl.st.bad_status, 3);
	assert_int_equal(imds.tokenless, 0);
}

static void
test_aws_service_down(void **state)
{
	setup_net(CLOUD_AWS, false);
	fake_hub_cut(&imds.ns, true);
	uint64_t t = run(meta_done, 600 * S);
	assert_true(cl.meta_done);
	assert_false(cl.meta_ok);
	assert_int_equal(cl.st.timeouts, cl.cfg.attempts);
	/* 5 x 3 s timeouts + 0.5 + 1 + 2 + 4 s backoff */
	assert_true(t <= 23 * S);
	assert_non_null(strstr(logbuf, "imds token: no complete answer within 3000 ms"));
	assert_non_null(strstr(logbuf, "giving up"));
}

static void
test_aws_hostile_responses(void **state)
{
	setup_net(CLOUD_AWS, false);
	imds.garbage = true;
	run(meta_done, 600 * S);
	assert_false(cl.meta_ok);
	assert_int_equal(cl.st.http_errors, cl.cfg.attempts);
	assert_int_equal(cl.st.http_err[HTTP_E_STATUS], cl.cfg.attempts);
	assert_non_null(strstr(logbuf, "malformed response: http_status_line"));
	/* A server that accepts and never answers: timeouts, bounded. */
	setup_net(CLOUD_AWS, false);
	imds.silent = true;
	uint64_t t = run(meta_done, 600 * S);
	assert_false(cl.meta_ok);
	assert_int_equal(cl.st.timeouts, cl.cfg.attempts);
	assert_true(t <= 23 * S);
}

static void
test_azure_happy(void **state)
{
	setup_net(CLOUD_AZURE, true);
	imds.userdata = "#tern v1\nargs=-v\n";
	run(meta_done, 60 * S);
	assert_true(cl.meta_ok);
	assert_string_equal(cl.vm_id, "02aab8a4-74ef-476e-8182-f6d2ba4166a6");
	assert_string_equal(cl.location, "westeurope");
	assert_string_equal(cl.vm_size, "Standard_B1s");
	assert_true(cl.have_userdata);
	assert_memory_equal(cl.userdata, "#tern v1\nargs=-v\n", cl.userdata_len);
	/* Nothing is reported before the runtime says how the workload did. */
	fake_clock_ns += 10 * S;
	run(idle, 5 * S);
	assert_int_equal(ws.requests, 0);
	cloud_workload_ready(&cl);
	run(idle, 60 * S);
	assert_int_equal(cl.ready, CLOUD_READY_REPORTED);
	assert_int_equal(ws.health_ok, 1);
	assert_int_equal(ws.health_bad, 0);
	assert_int_equal(ws.goalstates, 1);
	assert_string_equal(ws.last_state, "Ready");
	assert_int_equal(ws.no_version_hdr + imds.no_metadata_hdr, 0);
	assert_string_equal(marker_text(),
	    "CLOUD provider=azure vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=reported");
	/* Exactly once per boot. */
	cloud_workload_ready(&cl);
	cloud_workload_failed(&cl, "later");
	run(idle, 10 * S);
	assert_int_equal(ws.requests, 2);
}

static void
test_azure_retry_fresh_goalstate(void **state)
{
	setup_net(CLOUD_AZURE, true);
	ws.bump_incarnation = true;	/* every fetch is a new incarnation */
	ws.fail500_health = 1;
	imds.chunked = true;
	run(meta_done, 60 * S);
	cloud_workload_ready(&cl);
	run(idle, 120 * S);
	assert_int_equal(cl.ready, CLOUD_READY_REPORTED);
	/* 500, then a fresh goal state (incarnation 2) and a report the fake
	   checks against it. */
	assert_int_equal(ws.statuses[500], 1);
	assert_int_equal(ws.goalstates, 2);
	assert_int_equal(ws.incarnation, 2);
	assert_string_equal(cl.incarnation, "2");
	assert_int_equal(ws.health_ok, 1);
	assert_int_equal(ws.health_bad, 0);
	assert_int_equal(cl.st.retries, 1);
}

static void
test_azure_giveup_bounded(void **state)
{
	setup_net(CLOUD_AZURE, true);
	ws.fail500_health = 1000;
	run(meta_done, 60 * S);
	cloud_workload_ready(&cl);
	uint64_t t = run(idle, 600 * S);
	assert_int_equal(cl.ready, CLOUD_READY_FAILED);
	assert_int_equal(ws.goalstates, cl.cfg.attempts);
	assert_int_equal(ws.statuses[500], cl.cfg.attempts);
	assert_true(t < 30 * S);
	assert_string_equal(marker_text(),
	    "CLOUD provider=azure vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=failed");
	unsigned req = ws.requests;
	fake_clock_ns += 100 * S;
	run(idle, 10 * S);
	assert_int_equal(ws.requests, req);
}

static void
test_azure_notready(void **state)
{
	setup_net(CLOUD_AZURE, true);
	run(meta_done, 60 * S);
	cloud_workload_failed(&cl, "stage=config reason=userdata_bad_port <&>");
	run(idle, 60 * S);
	assert_int_equal(cl.ready, CLOUD_NOTREADY_REPORTED);
	assert_string_equal(ws.last_state, "NotReady");
	assert_string_equal(ws.last_desc,
	    "stage=config reason=userdata_bad_port &lt;&amp;&gt;");
	assert_string_equal(marker_text(), "CLOUD provider=azure "
	    "vm=02aab8a4-74ef-476e-8182-f6d2ba4166a6 ready=notready_reported");
}

static void
test_azure_imds_down_still_reports(void **state)
{
	setup_net(CLOUD_AZURE, true);
	fake_hub_cut(&imds.ns, true);
	run(meta_done, 600 * S);
	assert_true(cl.meta_done);
	assert_false(cl.meta_ok);
	/* The ready report does not depend on IMDS. */
	cloud_workload_ready(&cl);
	run(idle, 60 * S);
	assert_int_equal(cl.ready, CLOUD_READY_REPORTED);
	assert_string_equal(marker_text(), "CLOUD provider=azure vm=unknown ready=reported");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option245_default),
		cmocka_unit_test(test_fake_rules),
		cmocka_unit_test(test_aws_happy),
		cmocka_unit_test(test_aws_no_userdata),
		cmocka_unit_test(test_aws_userdata_too_big),
		cmocka_unit_test(test_aws_token_reacquire),
		cmocka_unit_test(test_aws_always_401_bounded),
		cmocka_unit_test(test_aws_transient_500),
		cmocka_unit_test(test_aws_service_down),
		cmocka_unit_test(test_aws_hostile_responses),
		cmocka_unit_test(test_azure_happy),
		cmocka_unit_test(test_azure_retry_fresh_goalstate),
		cmocka_unit_test(test_azure_giveup_bounded),
		cmocka_unit_test(test_azure_notready),
		cmocka_unit_test(test_azure_imds_down_still_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
