/*
 * test_fmt.c - ksnprintf must agree byte for byte with the C library's
 * snprintf for every conversion it supports, and truncate safely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"

#define SAME(...) do { \
	char a[256], b[256]; \
	int ra = ksnprintf(a, sizeof(a), __VA_ARGS__); \
	int rb = snprintf(b, sizeof(b), __VA_ARGS__); \
	if (ra != rb || strcmp(a, b) != 0) \
		fail_msg("format %s: got \"%s\" (%d), libc \"%s\" (%d)", #__VA_ARGS__, a, ra, b, rb); \
} while (0)

static void
test_integers(void **state)
{
	long long vals[] = { 0, 1, -1, 42, -42, 2147483647, -2147483647 - 1,
	    INT64_MAX, INT64_MIN, 1000000, -999 };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		long long v = vals[i];
		SAME("%lld|%5lld|%-8lld|%08lld|%+lld|% lld|%.3lld", v, v, v, v, v, v, v);
		SAME("%llu|%llx|%llX|%llo|%#llx|%#llo|%020llx", (unsigned long long)v,
		    (unsigned long long)v, (unsigned long long)v, (unsigned long long)v,
		    (unsigned long long)v, (unsigned long long)v, (unsigned long long)v);
		SAME("%d|%i|%u|%x|%hd|%hhu|%ld|%zu", (int)v, (int)v, (unsigned)v,
		    (unsigned)v, (short)v, (unsigned char)v, (long)v, (size_t)v);
	}
	SAME("%.0d|%.0x|%5.0d|%-5.2d|%5.2d", 0, 0, 0, 3, 3);
	SAME("%*d|%-*d|%.*d|%*.*d", 6, 12, 6, 12, 4, 5, 8, 3, 9);
}

static void
test_strings_chars_pointers(void **state)
{
	SAME("%s|%10s|%-10s|%.2s|%5.1s|%%|%c|%3c|%-3c|", "hello", "hi", "hi",
	    "hello", "xyz", 'q', 'r', 's');
	SAME("%p|%20p|%-20p|", (void *)0x1234, (void *)0xffff800000000000ULL,
	    (void *)0x10);
	char buf[32];
	ksnprintf(buf, sizeof(buf), "%s", (const char *)NULL);
	assert_string_equal(buf, "(null)");
	SAME("a%%b%%%%c");
	SAME("%s", "");
}

static void
test_truncation(void **state)
{
	char buf[8];
	memset(buf, 'X', sizeof(buf));
	int r = ksnprintf(buf, 5, "%s", "abcdefgh");
	assert_int_equal(r, 8);
	assert_string_equal(buf, "abcd");
	assert_int_equal(buf[5], 'X');	/* nothing past the limit */
	r = ksnprintf(buf, 1, "%d", 12345);
	assert_int_equal(r, 5);
	assert_int_equal(buf[0], '\0');
	r = ksnprintf(NULL, 0, "%d-%s", 7, "xy");
	assert_int_equal(r, 4);
	/* A cut in the middle of a number is still terminated. */
	r = ksnprintf(buf, sizeof(buf), "%016llx", 0xdeadbeefULL);
	assert_int_equal(r, 16);
	assert_string_equal(buf, "0000000");
}

static void
test_odd_formats(void **state)
{
	char buf[32];
	/* A trailing lone '%' stops output; unknown conversions are shown. */
	ksnprintf(buf, sizeof(buf), "abc%");
	assert_string_equal(buf, "abc");
	ksnprintf(buf, sizeof(buf), "%q");
	assert_string_equal(buf, "%q");
}

static void
test_err_str(void **state)
{
	assert_string_equal(err_str(TERN_OK), "ok");
	assert_string_equal(err_str(TERN_EINVAL), "einval");
	assert_string_equal(err_str(TERN_ETIMEDOUT), "etimedout");
	assert_string_equal(err_str(TERN_ECANCELED), "ecanceled");
	assert_string_equal(err_str(5), "?");
	assert_string_equal(err_str(-1000), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings_chars_pointers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_odd_formats),
		cmocka_unit_test(test_err_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
