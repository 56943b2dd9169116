/*
 * test_http.c: httpd's request-head parser (apps/httpd/http.c) on good,
 * partial, malformed, oversized and smuggling requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/httpd/http.h"

static int status;
static struct http_req r;

static int
parse(const char *s, size_t max)
{
	return http_parse(s, strlen(s), max, &r, &status);
}

static void
refused(const char *s, int want)
{
	int rc = parse(s, 8192);
	if (rc != -1 || status != want)
		fail_msg("'%s': rc %d status %d, want %d", s, rc, status, want);
}

static void test_simple_get(void **state)
{
	(void)state;
	const char *s = "GET /healthz?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";
	assert_int_equal(parse(s, 8192), 1);
	assert_int_equal(r.method, HTTP_GET);
	assert_int_equal(r.path_len, 8);
	assert_memory_equal(r.path, "/healthz", 8);
	assert_int_equal(r.query_len, 3);
	assert_memory_equal(r.query, "x=1", 3);
	assert_int_equal(r.minor, 1);
	assert_true(r.keep_alive);
	assert_int_equal(r.head_len, strlen(s));
	assert_int_equal(r.nheaders, 2);
	assert_int_equal(r.content_length, 0);
}

static void test_keep_alive_rules(void **state)
{
	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 8192), 1);
	assert_false(r.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nconnection: Keep-Alive, CLOSE\r\n\r\n", 8192), 1);
	assert_false(r.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", 8192), 1);
	assert_false(r.keep_alive);
	assert_int_equal(r.minor, 0);
	assert_int_equal(parse("HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 8192), 1);
	assert_true(r.keep_alive);
	assert_int_equal(r.method, HTTP_HEAD);
}

/* Pipelining: the first head ends where the second begins. */
static void test_pipelined(void **state)
{
	(void)state;
	const char *a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *b = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz";
	char buf[256];
	snprintf(buf, sizeof(buf), "%s%s", a, b);
	assert_int_equal(http_parse(buf, strlen(buf), 8192, &r, &status), 1);
	assert_int_equal(r.head_len, strlen(a));
	const char *rest = buf + r.head_len;
	assert_int_equal(http_parse(rest, strlen(rest), 8192, &r, &status), 1);
	assert_int_equal(r.method, HTTP_OTHER);
	assert_int_equal(r.method_len, 4);
	assert_int_equal(r.content_length, 3);
	assert_string_equal(rest + r.head_len, "xyz");
}

/* Every proper prefix of a valid head asks for more; none is refused. */
static void test_incremental(void **state)
{
	(void)state;
	const char *s = "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(http_parse(s, i, 8192, &r, &status), 0);
	assert_int_equal(http_parse(s, n, 8192, &r, &status), 1);
}

static void test_bare_lf_and_leading_blank(void **state)
{
	(void)state;
	assert_int_equal(parse("\r\nGET / HTTP/1.1\nHost: a\n\n", 8192), 1);
	assert_int_equal(r.path_len, 1);
	refused("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
}

/* Every byte in a header name: accepted exactly for RFC 9110's tchar
   (http.c keeps them in a bitmap). */
static void test_tchar_every_byte(void **state)
{
	(void)state;
	const char *tchars = "!#$%&'*+-.^_`|~";
	for (int c = 0; c < 256; c++) {
		char req[64];
		int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX%cY: 1\r\n\r\n", c);
		bool want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c != 0 && strchr(tchars, c) != NULL);
		int rc = http_parse(req, (size_t)n, 8192, &r, &status);
		if (c == '\n' || c == ':' )
			continue;	/* ends the line or the name: other rules */
		if ((rc == 1) != want)
			fail_msg("byte 0x%02x in a header name: rc %d, want %s", c, rc,
			    want ? "accepted" : "refused");
	}
}

/* A bare CR anywhere in a complete line is refused; while the line is
   incomplete the parser waits, a CR at the end may be the CRLF's. */
/* The end of the path (eight bytes a step) for every byte value at
   every place of two such steps: a byte above SP but DEL, '?' and '#'
   extends it, '?' or '#' ends it inside the target, anything else
   ends the target and the request is refused. */
static void test_path_every_byte(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) {
		for (size_t k = 1; k < 17; k++) {
			char t[24], req[96];
			memset(t, 'a', sizeof(t));
			t[0] = '/';
			t[k] = (char)c;
			t[20] = '\0';
			snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", t);
			int rc = http_parse(req, strlen(req), 8192, &r, &status);
			bool target = c > 0x20 && c != 0x7f;
			bool path = target && c != '?' && c != '#';
			if (!target) {
				if (rc != -1 || status != 400)
					fail_msg("byte 0x%02x at %zu: rc %d status %d", c, k, rc, status);
				continue;
			}
			if (rc != 1 || r.path_len != (path ? 20 : k))
				fail_msg("byte 0x%02x at %zu: rc %d path_len %zu", c, k, rc, r.path_len);
		}
	}
}

static void test_bare_cr_positions(void **state)
{
	(void)state;
	refused("GET /\rx HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400);
	assert_int_equal(parse("GET / HTTP/1.1\r", 8192), 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r", 8192), 0);
	assert_int_equal(parse("GET / HT\rTP/1.1", 8192), 0);
	/* four empty lines may precede the request, a fifth is refused */
	assert_int_equal(parse("\r\n\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 8192), 1);
	refused("\r\n\n\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void test_absolute_form(void **state)
{
	(void)state;
	assert_int_equal(parse("GET http://example.com/p/q?z HTTP/1.1\r\nHost: example.com\r\n\r\n", 8192), 1);
	assert_int_equal(r.path_len, 4);
	assert_memory_equal(r.path, "/p/q", 4);
	assert_int_equal(parse("GET http://example.com HTTP/1.1\r\nHost: e\r\n\r\n", 8192), 1);
	assert_int_equal(r.path_len, 1);
	refused("GET http:// HTTP/1.1\r\nHost: e\r\n\r\n", 400);
}

static void test_malformed(void **state)
{
	(void)state;
	refused("NOT HTTP AT ALL\r\n\r\n", 400);
	refused("GET\r\n\r\n", 400);
	refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);	/* two spaces */
	refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
	refused("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);		/* no colon */
	refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);		/* space before colon */
	refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400);	/* obs-fold */
	refused("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400);		/* CTL */
	refused("GET / HTTP/1.1\r\n\r\n", 400);				/* no Host */
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
	refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	refused("GET / HTTP/1.9\r\nHost: a\r\n\r\n", 505);
	refused("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400);
}

/* RFC 9112 6.3: conflicting framing is refused, not guessed. */
static void test_smuggling(void **state)
{
	(void)state;
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 8192), 1);
	assert_int_equal(r.content_length, 3);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", 8192), 1);
	assert_true(r.chunked);
}

static void test_limits(void **state)
{
	(void)state;
	char buf[10000];
	/* A head that does not end within max_head: 431, even if more data
	   would complete it, and whether or not the buffer is longer. */
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %0900d\r\n\r\n", 0);
	assert_int_equal(http_parse(buf, (size_t)n, 512, &r, &status), -1);
	assert_int_equal(status, 431);
	assert_int_equal(http_parse(buf, 512, 512, &r, &status), -1);
	assert_int_equal(http_parse(buf, 511, 512, &r, &status), 0);
	assert_int_equal(http_parse(buf, (size_t)n, 8192, &r, &status), 1);
	/* Too many header lines. */
	size_t o = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "X-%d: y\r\n", i);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\r\n");
	assert_int_equal(http_parse(buf, o, sizeof(buf), &r, &status), -1);
	assert_int_equal(status, 431);
}

/* Random bytes and random mutations of a valid head never crash and
   never point outside the buffer (ASan checks the reads). */
static void test_random(void **state)
{
	(void)state;
	const char *base = "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
	size_t bn = strlen(base);
	unsigned seed = 12345;
	for (int it = 0; it < 20000; it++) {
		size_t n = bn;
		char *b = malloc(n);
		memcpy(b, base, n);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			b[(seed >> 8) % n] = (char)(seed >> 20);
		}
		seed = seed * 1103515245 + 12345;
		size_t len = (seed >> 8) % (n + 1);
		int rc = http_parse(b, len, 64 + (seed >> 24), &r, &status);
		if (rc == 1)
			assert_true(r.head_len <= len);
		else if (rc == -1)
			assert_true(status == 400 || status == 431 || status == 501 || status == 505);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_bare_lf_and_leading_blank),
		cmocka_unit_test(test_tchar_every_byte),
		cmocka_unit_test(test_path_every_byte),
		cmocka_unit_test(test_bare_cr_positions),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
