/*
 * test_cloud_http.c - cloud/http.c: the request builder refuses header
 * injection; the response parser takes what IMDS and WireServer send
 * (Content-Length, chunked, close-delimited, fed byte by byte) and
 * refuses hostile responses with the right named error, never reading or
 * writing outside its buffers (ASan/UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cloud/http.h"

static uint8_t body[256];
static struct http_resp r;

/* Parses s in one piece (and again byte by byte, which must agree);
   then EOF if eof.  Returns the error. */
static int
parse(const char *s, bool eof)
{
	size_t n = strlen(s);
	static uint8_t body2[256];
	static struct http_resp r2;
	http_resp_init(&r2, body2, sizeof(body2));
	int e2 = HTTP_OK;
	for (size_t i = 0; i < n && e2 == HTTP_OK; i++)
		e2 = http_resp_feed(&r2, (const uint8_t *)s + i, 1);
	if (eof && e2 == HTTP_OK)
		e2 = http_resp_eof(&r2);
	http_resp_init(&r, body, sizeof(body));
	int e = http_resp_feed(&r, (const uint8_t *)s, n);
	if (eof && e == HTTP_OK)
		e = http_resp_eof(&r);
	assert_int_equal(e, e2);
	if (e == HTTP_OK) {
		assert_int_equal(r.body_len, r2.body_len);
		assert_memory_equal(body, body2, r.body_len);
		assert_int_equal(http_resp_done(&r), http_resp_done(&r2));
	}
	return e;
}

static void
test_content_length(void **state)
{
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Type: text/plain\r\n\r\nhello", false), HTTP_OK);
	assert_true(http_resp_done(&r));
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(body, "hello", 5);
	assert_string_equal(r.ctype, "text/plain");
	/* No reason phrase, HTTP/1.0, repeated equal lengths. */
	assert_int_equal(parse("HTTP/1.0 404\r\ncontent-length: 0\r\n"
	    "Content-Length: 0\r\n\r\n", false), HTTP_OK);
	assert_true(http_resp_done(&r));
	assert_int_equal(r.status, 404);
	/* 204 has no body whatever it says. */
	assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", false), HTTP_OK);
	assert_true(http_resp_done(&r));
}

static void
test_chunked(void **state)
{
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
	    "Trailer: x\r\n\r\n", false), HTTP_OK);
	assert_true(http_resp_done(&r));
	assert_int_equal(r.body_len, 23);
	assert_memory_equal(body, "Wikipedia in\r\n\r\nchunks.", 23);
	/* Upper-case hex, empty body. */
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
	    "A\r\n0123456789\r\n0\r\n\r\n", false), HTTP_OK);
	assert_int_equal(r.body_len, 10);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", false), HTTP_OK);
	assert_true(http_resp_done(&r));
	assert_int_equal(r.body_len, 0);
}

static void
test_chunked_hostile(void **state)
{
	const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	char buf[512];
	static const struct { const char *tail; int err; } cases[] = {
		{ "g\r\nx\r\n0\r\n\r\n", HTTP_E_CHUNK },		/* not hex */
		{ "\r\n", HTTP_E_CHUNK },				/* empty size */
		{ "1 \r\nx\r\n0\r\n\r\n", HTTP_E_CHUNK },		/* junk after size */
		{ "123456789\r\n", HTTP_E_CHUNK },			/* 9 hex digits */
		{ "ffffffff\r\n", HTTP_E_BODY_SIZE },			/* over the buffer */
		{ "101\r\n", HTTP_E_BODY_SIZE },			/* 257 > 256 */
		{ "3\r\nabcd\r\n0\r\n\r\n", HTTP_E_CHUNK },		/* data longer than size */
		{ "3\r\nabc\n0\r\n\r\n", HTTP_E_CHUNK },		/* bare LF after data */
		{ "3\r\nabc\r\n0\r\nno colon\r\n\r\n", HTTP_E_CHUNK },	/* bad trailer */
		{ "3\r\nab", -1 },					/* truncated */
		{ "0\r\n", -1 },					/* no final CRLF */
		{ "0\r\n\r\nX", HTTP_E_EXTRA },				/* bytes after */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", h, cases[i].tail);
		int e = parse(buf, cases[i].err < 0);
		assert_int_equal(e, cases[i].err < 0 ? HTTP_E_TRUNCATED : cases[i].err);
	}
	/* Chunks adding up past the buffer: 200 + 57. */
	snprintf(buf, sizeof(buf), "%sc8\r\n", h);
	http_resp_init(&r, body, sizeof(body));
	assert_int_equal(http_resp_feed(&r, (uint8_t *)buf, strlen(buf)), HTTP_OK);
	static uint8_t fill[200];
	memset(fill, 'a', sizeof(fill));
	assert_int_equal(http_resp_feed(&r, fill, sizeof(fill)), HTTP_OK);
	assert_int_equal(http_resp_feed(&r, (uint8_t *)"\r\n39\r\n", 6), HTTP_E_BODY_SIZE);
	/* Trailers are bounded like headers. */
	snprintf(buf, sizeof(buf), "%s0\r\n", h);
	http_resp_init(&r, body, sizeof(body));
	http_resp_feed(&r, (uint8_t *)buf, strlen(buf));
	int e = HTTP_OK;
	for (int i = 0; i < HTTP_HDR_MAX + 2 && e == HTTP_OK; i++)
		e = http_resp_feed(&r, (uint8_t *)"T: v\r\n", 6);
	assert_int_equal(e, HTTP_E_CHUNK);
}

static void
test_status_hostile(void **state)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n", "HTTP/1.1 600 x\r\n\r\n", "HTTP/1.1 100 Continue\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\n\n", "HTTP/1.1 2x0 OK\r\n\r\n", "\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], true), HTTP_E_STATUS);
}

static void
test_headers_hostile(void **state)
{
	static const struct { const char *s; int err; } cases[] = {
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", HTTP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nName : v\r\n\r\n", HTTP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\n: v\r\n\r\n", HTTP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", HTTP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nA: b\n\r\n", HTTP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nA: b\x00x\r\n\r\n", HTTP_E_TRUNCATED }, /* strlen stops */
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", HTTP_E_LENGTH },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 257\r\n\r\n", HTTP_E_BODY_SIZE },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_E_CODING },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_E_CODING },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_CODING },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", HTTP_E_CODING },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_E_CODING },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", HTTP_E_TRUNCATED },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", HTTP_E_EXTRA },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", HTTP_E_TRUNCATED },
		{ "", HTTP_E_TRUNCATED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int e = parse(cases[i].s, true);
		if (e != cases[i].err)
			fail_msg("case %zu: %s, want %s", i, http_err_name(e),
			    http_err_name(cases[i].err));
	}
	/* A NUL inside a header line (strlen cannot carry it). */
	static const uint8_t nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	http_resp_init(&r, body, sizeof(body));
	assert_int_equal(http_resp_feed(&r, nul, sizeof(nul) - 1), HTTP_E_HEADER);
}

static void
test_limits(void **state)
{
	/* One line longer than HTTP_LINE_MAX. */
	static char big[HTTP_HEAD_MAX * 2];
	int o = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");
	memset(big + o, 'a', HTTP_LINE_MAX);
	strcpy(big + o + HTTP_LINE_MAX, "\r\n\r\n");
	assert_int_equal(parse(big, true), HTTP_E_LINE);
	/* Too many headers. */
	o = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i <= HTTP_HDR_MAX; i++)
		o += snprintf(big + o, sizeof(big) - (size_t)o, "H%d: v\r\n", i);
	strcpy(big + o, "\r\n");
	assert_int_equal(parse(big, true), HTTP_E_HEAD_SIZE);
	/* Too many head bytes in few headers. */
	o = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 10; i++) {
		o += snprintf(big + o, sizeof(big) - (size_t)o, "H%d: ", i);
		memset(big + o, 'b', 1000);
		o += 1000;
		o += snprintf(big + o, sizeof(big) - (size_t)o, "\r\n");
	}
	strcpy(big + o, "\r\n");
	assert_int_equal(parse(big, true), HTTP_E_HEAD_SIZE);
	/* Close-delimited body: fits, then one byte too many. */
	o = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n\r\n");
	memset(big + o, 'c', sizeof(body));
	big[o + sizeof(body)] = '\0';
	assert_int_equal(parse(big, true), HTTP_OK);
	assert_true(http_resp_done(&r));
	assert_int_equal(r.body_len, sizeof(body));
	big[o + sizeof(body)] = 'c';
	big[o + sizeof(body) + 1] = '\0';
	assert_int_equal(parse(big, true), HTTP_E_BODY_SIZE);
	/* The error is sticky. */
	assert_int_equal(http_resp_feed(&r, (const uint8_t *)"x", 1), HTTP_E_BODY_SIZE);
	assert_int_equal(http_resp_eof(&r), HTTP_E_BODY_SIZE);
	assert_string_equal(http_err_name(HTTP_E_CHUNK), "http_chunk");
	assert_string_equal(http_err_name(99), "?");
}

static void
test_build(void **state)
{
	char out[512];
	struct http_hdr h[] = { { "X-aws-ec2-metadata-token", "AQAE abc==" } };
	int n = http_build_request(out, sizeof(out), "GET", "169.254.169.254",
	    "/latest/meta-data/instance-id", h, 1, NULL, 0);
	assert_true(n > 0);
	out[n] = '\0';
	assert_string_equal(out, "GET /latest/meta-data/instance-id HTTP/1.1\r\n"
	    "Host: 169.254.169.254\r\nX-aws-ec2-metadata-token: AQAE abc==\r\n"
	    "Connection: close\r\n\r\n");
	n = http_build_request(out, sizeof(out), "POST", "h", "/p", NULL, 0, "abc", 3);
	out[n] = '\0';
	assert_string_equal(out, "POST /p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
	    "Content-Length: 3\r\n\r\nabc");
	/* Injection: a CR/LF in a value, name, target or method is refused. */
	struct http_hdr evil[] = { { "X-aws-ec2-metadata-token", "tok\r\nX-Forwarded-For: 1" } };
	assert_int_equal(http_build_request(out, sizeof(out), "GET", "h", "/", evil, 1,
	    NULL, 0), -1);
	struct http_hdr evil2[] = { { "Bad Name", "v" } };
	assert_int_equal(http_build_request(out, sizeof(out), "GET", "h", "/", evil2, 1,
	    NULL, 0), -1);
	struct http_hdr empty[] = { { "X", "" } };
	assert_int_equal(http_build_request(out, sizeof(out), "GET", "h", "/", empty, 1,
	    NULL, 0), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "GET", "h", "/a b", NULL, 0,
	    NULL, 0), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "GET", "h", "nosl", NULL, 0,
	    NULL, 0), -1);
	assert_int_equal(http_build_request(out, sizeof(out), "G\nT", "h", "/", NULL, 0,
	    NULL, 0), -1);
	/* Too small a buffer, at every size: -1, never an overflow. */
	for (size_t cap = 0; cap < 60; cap++)
		assert_int_equal(http_build_request(out, cap, "POST", "h", "/p", NULL, 0,
		    "abc", 3), -1);
	assert_true(http_build_request(out, 70, "POST", "h", "/p", NULL, 0, "abc", 3) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_hostile),
		cmocka_unit_test(test_status_hostile),
		cmocka_unit_test(test_headers_hostile),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
