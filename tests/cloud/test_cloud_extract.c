/*
 * test_cloud_extract.c - cloud/extract.c and cloud/userdata.c on hostile
 * documents (WireServer goal states, Azure IMDS JSON, base64, user data),
 * the D.5 health body, and pal/cloud_cfg.c applying user data to a
 * manifest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cloud/extract.h"
#include "kernel/err.h"
#include "pal/cloud_cfg.h"

/* The shape of a real goal state (trimmed; values made up). */
static const char goalstate[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<GoalState xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xsi:noNamespaceSchemaLocation=\"goalstate10.xsd\">\n"
    "  <Version>2015-04-05</Version>\n"
    "  <Incarnation>3</Incarnation>\n"
    "  <Machine><ExpectedState>Started</ExpectedState>"
    "<StopRolesDeadlineHint>300000</StopRolesDeadlineHint></Machine>\n"
    "  <!-- a comment <with> tags -->\n"
    "  <Container>\n"
    "    <ContainerId>c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2</ContainerId>\n"
    "    <RoleInstanceList>\n"
    "      <RoleInstance>\n"
    "        <InstanceId>4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm</InstanceId>\n"
    "        <State>Started</State>\n"
    "        <Configuration><HostingEnvironmentConfig>http://168.63.129.16:80/"
    "machine/x?comp=config&amp;type=hostingEnvironmentConfig&amp;incarnation=3"
    "</HostingEnvironmentConfig><ConfigName x='a&gt;b'/></Configuration>\n"
    "      </RoleInstance>\n"
    "    </RoleInstanceList>\n"
    "  </Container>\n"
    "</GoalState>\n";

static int
xget(const char *doc, const char *path, char *out, size_t cap)
{
	return cloud_xml_get(doc, strlen(doc), path, out, cap);
}

static void
test_xml_goalstate(void **state)
{
	char v[128];
	assert_int_equal(xget(goalstate, "GoalState/Incarnation", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "3");
	assert_int_equal(xget(goalstate, "GoalState/Container/ContainerId", v, sizeof(v)),
	    TERN_OK);
	assert_string_equal(v, "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2");
	assert_int_equal(xget(goalstate,
	    "GoalState/Container/RoleInstanceList/RoleInstance/InstanceId", v, sizeof(v)),
	    TERN_OK);
	assert_string_equal(v, "4e7bc4a4-1d2b-4b1b-a7c8-2a5d2e8f6b3c.tern-vm");
	/* Not there; only by full path (State exists elsewhere). */
	assert_int_equal(xget(goalstate, "GoalState/Nope", v, sizeof(v)), TERN_ENOENT);
	assert_int_equal(xget(goalstate, "GoalState/State", v, sizeof(v)), TERN_ENOENT);
	assert_int_equal(xget(goalstate, "Incarnation", v, sizeof(v)), TERN_ENOENT);
	/* A value with an entity is refused, not decoded half-way. */
	assert_int_equal(xget(goalstate, "GoalState/Container/RoleInstanceList/"
	    "RoleInstance/Configuration/HostingEnvironmentConfig", v, sizeof(v)),
	    TERN_EPROTO);
	/* An element with children is not a text value. */
	assert_int_equal(xget(goalstate, "GoalState/Machine", v, sizeof(v)), TERN_EPROTO);
	/* Too small an output buffer. */
	assert_int_equal(xget(goalstate, "GoalState/Container/ContainerId", v, 10),
	    TERN_ERANGE);
}

static void
test_xml_hostile(void **state)
{
	char v[64];
	static const struct { const char *doc; int rc; } cases[] = {
		{ "<A><B>1</B>", TERN_OK },		/* checked up to the match only */
		{ "<A><C>1</C>", TERN_EPROTO },		/* unclosed, no match */
		{ "<A><B>1</C></A>", TERN_EPROTO },		/* mismatched close */
		{ "<A><B>1", TERN_EPROTO },			/* truncated value */
		{ "<A><B>1</B", TERN_EPROTO },
		{ "<A><B>1</B</A>", TERN_EPROTO },
		{ "<A></A></A><B>", TERN_EPROTO },		/* close below the root */
		{ "<!DOCTYPE A [<!ENTITY x \"y\">]><A><B>1</B></A>", TERN_EPROTO },
		{ "<A><![CDATA[<B>1</B>]]></A>", TERN_EPROTO },
		{ "<A><!-- unterminated <B>1</B></A>", TERN_EPROTO },
		{ "<?xml unterminated <A><B>1</B></A>", TERN_EPROTO },
		{ "<A x=\"unterminated><B>1</B></A>", TERN_EPROTO },
		{ "<A x=\"<\"><B>1</B></A>", TERN_EPROTO },
		{ "<A><B>1>2</B></A>", TERN_EPROTO },
		{ "<A><B>a&b</B></A>", TERN_EPROTO },
		{ "<A><>1</></A>", TERN_EPROTO },
		{ "<1A><B>1</B></1A>", TERN_EPROTO },
		{ "<A><B x='1'>ok</B></A>", TERN_OK },
		{ "<A><B/></A>", TERN_OK },			/* empty value */
		{ "<A ><B >  v  </B ></A >", TERN_OK },
		{ "<", TERN_EPROTO },
		{ "", TERN_ENOENT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = xget(cases[i].doc, "A/B", v, sizeof(v));
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].doc, rc, cases[i].rc);
	}
	/* Nesting deeper than the limit. */
	static char deep[4096];
	size_t o = 0;
	for (int i = 0; i < CLOUD_XML_DEPTH + 1; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "<A>");
	assert_int_equal(xget(deep, "A/B", v, sizeof(v)), TERN_ERANGE);
	/* A name longer than the limit. */
	memset(deep, 'n', 200);
	deep[0] = '<';
	strcpy(deep + 200, ">x</n>");
	assert_int_equal(xget(deep, "A/B", v, sizeof(v)), TERN_ERANGE);
	/* Embedded NUL in the text (length passed explicitly). */
	static const char nul[] = "<A><B>1\0002</B></A>";
	assert_int_equal(cloud_xml_get(nul, sizeof(nul) - 1, "A/B", v, sizeof(v)),
	    TERN_EPROTO);
	/* Every prefix of the goal state: an error or ENOENT, never a crash,
	   and never a value that is not the real one. */
	size_t n = strlen(goalstate);
	for (size_t k = 0; k < n; k++) {
		char cut[2048];
		memcpy(cut, goalstate, k);
		int rc = cloud_xml_get(cut, k, "GoalState/Container/ContainerId", v,
		    sizeof(v));
		if (rc == TERN_OK)
			assert_string_equal(v, "c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2");
	}
}

static const char imds[] =
    "{\"compute\":{\"azEnvironment\":\"AzurePublicCloud\",\"location\":\"westeurope\","
    "\"name\":\"tern-vm\",\"tags\":\"\",\"tagsList\":[{\"name\":\"a\",\"value\":\"b\"}],"
    "\"platformFaultDomain\":\"0\",\"userData\":\"I3Rlcm4gdjEKcG9ydD04MDgwCg==\","
    "\"vmId\":\"02aab8a4-74ef-476e-8182-f6d2ba4166a6\",\"vmSize\":\"Standard_B1s\","
    "\"osProfile\":{\"adminUsername\":\"x\",\"disablePasswordAuthentication\":true},"
    "\"priority\":null,\"zone\":1.5e3},"
    "\"network\":{\"interface\":[{\"ipv4\":{\"ipAddress\":[{\"privateIpAddress\":"
    "\"10.0.0.4\"}]}}]}}";

static int
jget(const char *doc, const char *path, char *out, size_t cap)
{
	return cloud_json_get(doc, strlen(doc), path, out, cap);
}

static void
test_json(void **state)
{
	char v[128];
	assert_int_equal(jget(imds, "compute.vmId", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "02aab8a4-74ef-476e-8182-f6d2ba4166a6");
	assert_int_equal(jget(imds, "compute.location", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "westeurope");
	assert_int_equal(jget(imds, "compute.vmSize", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "Standard_B1s");
	assert_int_equal(jget(imds, "compute.userData", v, sizeof(v)), TERN_OK);
	uint8_t ud[64];
	size_t n;
	assert_int_equal(cloud_b64_decode(v, strlen(v), ud, sizeof(ud), &n), TERN_OK);
	assert_int_equal(n, 19);
	assert_memory_equal(ud, "#tern v1\nport=8080\n", 19);
	assert_int_equal(jget(imds, "compute.nope", v, sizeof(v)), TERN_ENOENT);
	assert_int_equal(jget(imds, "vmId", v, sizeof(v)), TERN_ENOENT);	/* not top level */
	assert_int_equal(jget(imds, "compute.osProfile", v, sizeof(v)), TERN_EINVAL);
	assert_int_equal(jget(imds, "compute.priority", v, sizeof(v)), TERN_EINVAL);
	assert_int_equal(jget(imds, "compute.osProfile.adminUsername", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "x");
	assert_int_equal(jget(imds, "compute.vmId", v, 8), TERN_ERANGE);
	/* Escapes. */
	assert_int_equal(jget("{\"a\":\"x\\\"y\\\\z\\/\\n\\u0041\\u00e9\\ud83d\\ude00\"}",
	    "a", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "x\"y\\z/\nA\xc3\xa9\xf0\x9f\x98\x80");
	/* The first of repeated keys counts. */
	assert_int_equal(jget("{\"a\":\"1\",\"a\":\"2\"}", "a", v, sizeof(v)), TERN_OK);
	assert_string_equal(v, "1");
}

static void
test_json_hostile(void **state)
{
	char v[64];
	static const char *const bad[] = {
		"{\"a\":\"1\"", "{\"a\":\"1}", "{\"a\" \"1\"}", "{\"a\":\"1\",}", "{a:\"1\"}",
		"{\"a\":\"1\"} x", "{\"a\":\"1\"}}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"tab\there\"}", "{\"b\":01,\"a\":\"1\"}", "{\"b\":-,\"a\":\"1\"}",
		"{\"b\":1.,\"a\":\"1\"}", "{\"b\":1e,\"a\":\"1\"}", "{\"b\":tru,\"a\":\"1\"}",
		"{\"b\":[1,],\"a\":\"1\"}", "{\"b\":[1 2],\"a\":\"1\"}", "", "   ", "{",
		"{\"a\":\"1\",\"b\":\"\\",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = jget(bad[i], "a", v, sizeof(v));
		if (rc != TERN_EPROTO)
			fail_msg("case %zu (%s): %d", i, bad[i], rc);
		assert_string_equal(v, "");
	}
	/* Nesting over the limit, in arrays and objects. */
	static char deep[512];
	size_t o = 0;
	for (int i = 0; i < CLOUD_JSON_DEPTH + 2; i++)
		deep[o++] = '[';
	for (int i = 0; i < CLOUD_JSON_DEPTH + 2; i++)
		deep[o++] = ']';
	deep[o] = '\0';
	assert_int_equal(jget(deep, "a", v, sizeof(v)), TERN_ERANGE);
	o = 0;
	for (int i = 0; i < CLOUD_JSON_DEPTH + 2; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"a\":");
	/* unterminated too, but the depth is hit first */
	assert_int_equal(jget(deep, "a.a.a", v, sizeof(v)), TERN_ERANGE);
	/* Every prefix of the IMDS document fails cleanly. */
	for (size_t k = 0; k < strlen(imds); k++) {
		char cut[1024];
		memcpy(cut, imds, k);
		int rc = cloud_json_get(cut, k, "compute.vmId", v, sizeof(v));
		assert_true(rc == TERN_EPROTO);
	}
}

static void
test_b64(void **state)
{
	uint8_t out[16];
	size_t n;
	assert_int_equal(cloud_b64_decode("", 0, out, sizeof(out), &n), TERN_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cloud_b64_decode("Zm9vYmFy", 8, out, sizeof(out), &n), TERN_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(cloud_b64_decode("Zm9vYg==", 8, out, sizeof(out), &n), TERN_OK);
	assert_int_equal(n, 4);
	assert_int_equal(cloud_b64_decode("Zm9vYmE=", 8, out, sizeof(out), &n), TERN_OK);
	assert_int_equal(n, 5);
	static const char *const bad[] = { "Zm9", "Zm9vYm==", "Zm=vYmE=", "Zg=a", "Z===",
		"Zm9v\nYmE=", "Zm9v YmE", "Zh==", "Zm9vYmF=" /* non-canonical */, "Zm9v-_==" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cloud_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n) != TERN_EINVAL)
			fail_msg("case %zu (%s) accepted", i, bad[i]);
	assert_int_equal(cloud_b64_decode("Zm9vYmFy", 8, out, 5, &n), TERN_ERANGE);
}

static struct cloud_userdata u;

static int
ud(const char *s, const char **reason)
{
	return cloud_userdata_parse((const uint8_t *)s, strlen(s), &u, reason);
}

static void
test_userdata(void **state)
{
	const char *r;
	assert_int_equal(ud("#tern v1\r\n# comment\n\nargs = --root /www -v \n"
	    "port=8080\nenv.PORT=8080\nenv.GREETING = hello world\n", &r), TERN_OK);
	assert_true(u.present && u.have_args && u.have_port);
	assert_string_equal(u.args, "--root /www -v");
	assert_int_equal(u.port, 8080);
	assert_int_equal(u.nenv, 2);
	assert_string_equal(u.env[1].key, "GREETING");
	assert_string_equal(u.env[1].val, "hello world");
	/* Not ours: ignored, not an error. */
	assert_int_equal(ud("#!/bin/bash\necho hi\n", &r), TERN_OK);
	assert_false(u.present);
	assert_int_equal(ud("#cloud-config\n", &r), TERN_OK);
	assert_false(u.present);
	assert_int_equal(ud("", &r), TERN_OK);
	assert_false(u.present);
	/* Just the header: present, nothing set. */
	assert_int_equal(ud("#tern v1", &r), TERN_OK);
	assert_true(u.present && !u.have_args && !u.have_port && u.nenv == 0);
}

static void
test_userdata_hostile(void **state)
{
	static const struct { const char *s; const char *reason; } cases[] = {
		{ "#tern v2\nport=1\n", "userdata_bad_version" },
		{ "#ternv1\n", "userdata_bad_version" },
		{ "#tern v1\nport\n", "userdata_syntax" },
		{ "#tern v1\n=5\n", "userdata_syntax" },
		{ "#tern v1\nport=8\x01\n", "userdata_syntax" },
		{ "#tern v1\nargs=caf\xc3\xa9\n", "userdata_syntax" },
		{ "#tern v1\nport=0\n", "userdata_bad_port" },
		{ "#tern v1\nport=65536\n", "userdata_bad_port" },
		{ "#tern v1\nport=-1\n", "userdata_bad_port" },
		{ "#tern v1\nport=\n", "userdata_bad_port" },
		{ "#tern v1\nport=080800\n", "userdata_bad_port" },
		{ "#tern v1\nport=80\nport=81\n", "userdata_duplicate_key" },
		{ "#tern v1\nargs=a\nargs=b\n", "userdata_duplicate_key" },
		{ "#tern v1\nenv.A=1\nenv.A=2\n", "userdata_duplicate_key" },
		{ "#tern v1\nenv.=1\n", "userdata_unknown_key" },
		{ "#tern v1\nenv.1A=1\n", "userdata_bad_env" },
		{ "#tern v1\nenv.A-B=1\n", "userdata_bad_env" },
		{ "#tern v1\nlisten=80\n", "userdata_unknown_key" },
		{ "#tern v1\nARGS=x\n", "userdata_unknown_key" },
	};
	const char *r;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ud(cases[i].s, &r);
		if (rc != TERN_EINVAL || strcmp(r, cases[i].reason) != 0)
			fail_msg("case %zu: rc %d reason %s, want %s", i, rc, r, cases[i].reason);
	}
	/* Limits: args, env value, env count, key length, total size. */
	static char big[CLOUD_UD_MAX + 64];
	int o = snprintf(big, sizeof(big), "#tern v1\nargs=");
	memset(big + o, 'a', CLOUD_UD_ARGS_MAX + 1);
	big[o + CLOUD_UD_ARGS_MAX + 1] = '\0';
	assert_int_equal(ud(big, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_bad_args");
	big[o + CLOUD_UD_ARGS_MAX] = '\0';
	assert_int_equal(ud(big, &r), TERN_OK);
	o = snprintf(big, sizeof(big), "#tern v1\nenv.V=");
	memset(big + o, 'v', CLOUD_UD_VAL_MAX + 1);
	big[o + CLOUD_UD_VAL_MAX + 1] = '\0';
	assert_int_equal(ud(big, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_bad_env");
	o = snprintf(big, sizeof(big), "#tern v1\n");
	for (int i = 0; i <= CLOUD_UD_ENV_MAX; i++)
		o += snprintf(big + o, sizeof(big) - (size_t)o, "env.V%d=x\n", i);
	assert_int_equal(ud(big, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_too_many_env");
	o = snprintf(big, sizeof(big), "#tern v1\nenv.");
	memset(big + o, 'K', CLOUD_UD_KEY_MAX + 1);
	strcpy(big + o + CLOUD_UD_KEY_MAX + 1, "=1\n");
	assert_int_equal(ud(big, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_bad_env");
	memset(big, '#', sizeof(big));
	memcpy(big, "#tern v1\n", 9);
	assert_int_equal(cloud_userdata_parse((uint8_t *)big, CLOUD_UD_MAX + 1, &u, &r),
	    TERN_EINVAL);
	assert_string_equal(r, "userdata_too_big");
	/* A NUL inside our user data. */
	static const uint8_t nul[] = "#tern v1\nport=80\0\n";
	assert_int_equal(cloud_userdata_parse(nul, sizeof(nul) - 1, &u, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_syntax");
}

static void
test_apply(void **state)
{
	struct pkg_manifest m;
	const char *r;
	static const char man[] = "name=httpd\nlisten=80\nargs=-q\nenv.PORT=80\nenv.X=1\n";
	assert_int_equal(pkg_manifest_parse(man, sizeof(man) - 1, &m, &r), 0);
	assert_int_equal(ud("#tern v1\nport=8080\nenv.PORT=8080\nenv.NEW=y\nargs=-v -v\n",
	    &r), TERN_OK);
	assert_int_equal(pal_cloud_apply(&m, &u, &r), TERN_OK);
	assert_int_equal(m.listen_port, 8080);
	assert_int_equal(m.nenv, 3);
	assert_memory_equal(m.env[0].key, "PORT", 4);
	assert_memory_equal(m.env[0].val, "8080", 4);
	assert_int_equal(m.env[0].vlen, 4);
	assert_memory_equal(m.env[1].val, "1", 1);
	assert_memory_equal(m.env[2].key, "NEW", 3);
	assert_int_equal(m.args.vlen, 5);
	assert_memory_equal(m.args.val, "-v -v", 5);
	/* Merged environment over PKG_MAX_ENV: refused, manifest unchanged. */
	char many[1024];
	int o = snprintf(many, sizeof(many), "#tern v1\n");
	for (int i = 0; i < PKG_MAX_ENV - 1; i++)
		o += snprintf(many + o, sizeof(many) - (size_t)o, "env.U%d=1\n", i);
	assert_int_equal(ud(many, &r), TERN_OK);
	assert_int_equal(pal_cloud_apply(&m, &u, &r), TERN_EINVAL);
	assert_string_equal(r, "userdata_too_many_env");
	assert_int_equal(m.nenv, 3);
	/* Not ours: nothing changes. */
	assert_int_equal(ud("#!/bin/sh\n", &r), TERN_OK);
	assert_int_equal(pal_cloud_apply(&m, &u, &r), TERN_OK);
	assert_int_equal(m.listen_port, 8080);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_goalstate),
		cmocka_unit_test(test_xml_hostile),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_hostile),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_userdata),
		cmocka_unit_test(test_userdata_hostile),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
