/*
 * test_log.c - log line formatting, level filtering and markers, with a
 * capturing console.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/log.h"

static char cons[4096];
static size_t cons_len;
static uint64_t fake_now;

void
console_write(const char *s, size_t n)
{
	if (cons_len + n < sizeof(cons)) {
		memcpy(cons + cons_len, s, n);
		cons_len += n;
		cons[cons_len] = '\0';
	}
}

uint64_t
log_clock_ns(void)
{
	return fake_now;
}

static size_t
fmt(char *buf, size_t n, uint64_t ns, int lvl, const char *mod, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t r = log_format(buf, n, ns, lvl, mod, f, ap);
	va_end(ap);
	return r;
}

static void
test_format(void **state)
{
	char buf[128];
	size_t n = fmt(buf, sizeof(buf), 1234567891ULL, LOG_WARN, "virtio", "queue %d full", 3);
	assert_string_equal(buf, "[    1.234567] warn  virtio: queue 3 full\n");
	assert_int_equal(n, strlen(buf));
	fmt(buf, sizeof(buf), 0, LOG_DEBUG, "x", "y");
	assert_string_equal(buf, "[    0.000000] debug x: y\n");
	fmt(buf, sizeof(buf), 100000ULL * 1000000000ULL, LOG_ERROR, "m", "z");
	assert_string_equal(buf, "[100000.000000] error m: z\n");
	fmt(buf, sizeof(buf), 0, 99, NULL, "bad level");
	assert_string_equal(buf, "[    0.000000] error ?: bad level\n");
}

static void
test_truncation(void **state)
{
	char buf[40];
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	size_t n = fmt(buf, sizeof(buf), 0, LOG_INFO, "mod", "%s", big);
	assert_int_equal(n, sizeof(buf) - 1);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(buf[n], '\0');
	/* A module name longer than the buffer still ends in a newline. */
	n = fmt(buf, 12, 0, LOG_INFO, "averyveryverylongmodule", "m");
	assert_int_equal(n, 11);
	assert_int_equal(buf[10], '\n');
	assert_int_equal(fmt(buf, 1, 0, LOG_INFO, "m", "x"), 0);
	assert_int_equal(buf[0], '\0');
}

static void
test_levels_and_markers(void **state)
{
	cons_len = 0;
	cons[0] = '\0';
	fake_now = 5000;
	log_set_level(LOG_WARN);
	log_info("a", "hidden");
	log_debug("a", "hidden");
	log_warn("a", "shown %d", 1);
	log_error("a", "shown %d", 2);
	marker("BOOT_OK ms=%d", 7);
	assert_null(strstr(cons, "hidden"));
	assert_non_null(strstr(cons, "warn  a: shown 1\n"));
	assert_non_null(strstr(cons, "error a: shown 2\n"));
	assert_non_null(strstr(cons, "TERN BOOT_OK ms=7\n"));
	log_set_level(42);	/* ignored */
	assert_int_equal(log_get_level(), LOG_WARN);
	log_set_level(LOG_DEBUG);
	log_debug("b", "now visible");
	assert_non_null(strstr(cons, "debug b: now visible"));
	/* A huge marker is cut but keeps its prefix and newline. */
	char big[600];
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cons_len = 0;
	marker("X %s", big);
	assert_int_equal(cons_len, LOG_LINE_MAX - 1);
	assert_memory_equal(cons, "TERN X mmm", 10);
	assert_int_equal(cons[cons_len - 1], '\n');
}

static void
test_level_parse(void **state)
{
	assert_int_equal(log_level_parse("debug", 5), LOG_DEBUG);
	assert_int_equal(log_level_parse("info", 4), LOG_INFO);
	assert_int_equal(log_level_parse("warn", 4), LOG_WARN);
	assert_int_equal(log_level_parse("error", 5), LOG_ERROR);
	assert_int_equal(log_level_parse("errorx", 6), -1);
	assert_int_equal(log_level_parse("inf", 3), -1);
	assert_int_equal(log_level_parse("", 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_levels_and_markers),
		cmocka_unit_test(test_level_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
