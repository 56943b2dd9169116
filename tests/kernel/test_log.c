/*
 * test_log.c - kernel/log.c on the host: the line format of log_format,
 * truncation (always one trailing newline, always NUL terminated), level
 * parsing and filtering in klog, and the TERN marker lines.
 *
 * console_write and log_clock_ns are the platform's in the kernel; here
 * they capture output into a buffer and return a settable clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/log.h"

static char out[4096];
static size_t out_len;
static unsigned out_calls;
static uint64_t fake_now;

void
console_write(const char *s, size_t n)
{
	if (out_len + n < sizeof(out)) {
		memcpy(out + out_len, s, n);
		out_len += n;
		out[out_len] = '\0';
	}
	out_calls++;
}

uint64_t
log_clock_ns(void)
{
	return fake_now;
}

static void
reset_out(void)
{
	out[0] = '\0';
	out_len = 0;
	out_calls = 0;
}

static size_t
fmt_line(char *buf, size_t n, uint64_t ns, int level, const char *mod,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t r = log_format(buf, n, ns, level, mod, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_format_basic(void **state)
{
	char buf[LOG_LINE_MAX];
	size_t n = fmt_line(buf, sizeof(buf), 1234567891ULL, LOG_INFO, "pmm",
	    "%d pages", 42);
	assert_string_equal(buf, "[    1.234567] info  pmm: 42 pages\n");
	assert_int_equal(n, strlen(buf));

	fmt_line(buf, sizeof(buf), 0, LOG_DEBUG, "a", "x");
	assert_string_equal(buf, "[    0.000000] debug a: x\n");
	fmt_line(buf, sizeof(buf), 99999000000000ULL, LOG_WARN, "b", "y");
	assert_string_equal(buf, "[99999.000000] warn  b: y\n");
	fmt_line(buf, sizeof(buf), 123456789012345ULL, LOG_ERROR, "c", "z");
	assert_string_equal(buf, "[123456.789012] error c: z\n");
	/* A NULL module and an out-of-range level do not crash. */
	fmt_line(buf, sizeof(buf), 0, 77, NULL, "m");
	assert_string_equal(buf, "[    0.000000] error ?: m\n");
}

static void
test_format_truncation(void **state)
{
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	for (size_t cap = 2; cap < 80; cap++) {
		char buf[128];
		memset(buf, 0x5a, sizeof(buf));
		size_t n = fmt_line(buf, cap, 5000, LOG_INFO, "mod", "%s", big);
		assert_true(n < cap);
		assert_int_equal(n, strlen(buf));
		assert_int_equal(buf[n - 1], '\n');
		assert_int_equal(buf[n], '\0');
		assert_int_equal((unsigned char)buf[cap], 0x5a);	/* no overrun */
	}
	char one[1] = { 'q' };
	assert_int_equal(fmt_line(one, 1, 0, LOG_INFO, "m", "hello"), 0);
	assert_int_equal(one[0], '\0');
	assert_int_equal(fmt_line(NULL, 0, 0, LOG_INFO, "m", "hello"), 0);

	/* A message that ends in its own newline still yields one line. */
	char buf[LOG_LINE_MAX];
	size_t n = fmt_line(buf, sizeof(buf), 0, LOG_INFO, "m", "%s", big);
	assert_int_equal(n, LOG_LINE_MAX - 1);
	assert_int_equal(buf[n - 1], '\n');
}

static void
test_level_parse(void **state)
{
	assert_int_equal(log_level_parse("debug", 5), LOG_DEBUG);
	assert_int_equal(log_level_parse("info", 4), LOG_INFO);
	assert_int_equal(log_level_parse("warn", 4), LOG_WARN);
	assert_int_equal(log_level_parse("error", 5), LOG_ERROR);
	assert_int_equal(log_level_parse("errorx", 6), -1);
	assert_int_equal(log_level_parse("err", 3), -1);
	assert_int_equal(log_level_parse("loud", 4), -1);
	assert_int_equal(log_level_parse("", 0), -1);
	/* The length bounds the comparison: "info" inside a longer string. */
	assert_int_equal(log_level_parse("info=junk", 4), LOG_INFO);
}

static void
test_filtering(void **state)
{
	assert_int_equal(log_get_level(), LOG_INFO);	/* the default */
	fake_now = 2000000;

	reset_out();
	log_debug("t", "hidden %d", 1);
	assert_int_equal(out_calls, 0);
	log_info("t", "shown %d", 2);
	assert_string_equal(out, "[    0.002000] info  t: shown 2\n");
	assert_int_equal(out_calls, 1);	/* one write per line */

	log_set_level(LOG_ERROR);
	reset_out();
	log_warn("t", "w");
	assert_int_equal(out_len, 0);
	log_error("t", "e");
	assert_string_equal(out, "[    0.002000] error t: e\n");

	/* Invalid levels are ignored. */
	log_set_level(-1);
	assert_int_equal(log_get_level(), LOG_ERROR);
	log_set_level(4);
	assert_int_equal(log_get_level(), LOG_ERROR);

	log_set_level(LOG_DEBUG);
	reset_out();
	log_debug("t", "d");
	assert_string_equal(out, "[    0.002000] debug t: d\n");
	log_set_level(LOG_INFO);
}

static void
test_marker(void **state)
{
	reset_out();
	log_set_level(LOG_ERROR);	/* markers ignore the level */
	marker("BOOT_OK ms=%u", 17u);
	assert_string_equal(out, "TERN BOOT_OK ms=17\n");
	log_set_level(LOG_INFO);

	char big[600];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reset_out();
	marker("%s", big);
	assert_true(out_len <= LOG_LINE_MAX);
	assert_memory_equal(out, "TERN yyy", 8);
	assert_int_equal(out[out_len - 1], '\n');
	assert_int_equal(out_calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_basic),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_filtering),
		cmocka_unit_test(test_marker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
