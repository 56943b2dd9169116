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

/*
 * Every combination of flags, width and precision with every integer
 * conversion and length modifier, built at run time and compared with
 * libc.  Combinations the C standard leaves undefined ('#' with d/u) are
 * left out.
 */
static int
cmp_one(const char *f, unsigned long long v)
{
	char a[128], b[128];
	int ra = ksnprintf(a, sizeof(a), f, v);
	int rb = snprintf(b, sizeof(b), f, v);
	if (ra != rb || strcmp(a, b) != 0) {
		print_error("format \"%s\" value %llu: got \"%s\" (%d), libc \"%s\" (%d)\n",
		    f, v, a, ra, b, rb);
		return 1;
	}
	return 0;
}

static void
test_combinations(void **state)
{
	static const char *const flags[] = { "", "-", "0", "+", " ", "#", "-0",
	    "+0", " 0", "-+", "#0", "#-", "+ ", "0-+ " };
	static const char *const widths[] = { "", "1", "3", "7", "21" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".4", ".22" };
	static const char *const lens[] = { "ll", "l", "", "h", "hh", "z", "j", "t" };
	static const char convs[] = "diuxXo";
	static const unsigned long long vals[] = { 0, 1, 7, 255, 256, 0x8000,
	    0xffffffffULL, 0x80000000ULL, 12345678901ULL, (unsigned long long)INT64_MIN,
	    UINT64_MAX, (unsigned long long)-1234 };
	int bad = 0, n = 0;
	char f[32];

	for (size_t fi = 0; fi < sizeof(flags) / sizeof(flags[0]); fi++)
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
	for (size_t pi = 0; pi < sizeof(precs) / sizeof(precs[0]); pi++)
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
	for (size_t ci = 0; convs[ci] != '\0'; ci++) {
		char c = convs[ci];
		if (strchr(flags[fi], '#') != NULL && (c == 'd' || c == 'i' || c == 'u'))
			continue;
		/* Only the 64-bit lengths take the value through varargs
		   unchanged; the shorter ones are passed an int below. */
		snprintf(f, sizeof(f), "%%%s%s%s%s%c", flags[fi], widths[wi],
		    precs[pi], lens[li], c);
		for (size_t vi = 0; vi < sizeof(vals) / sizeof(vals[0]); vi++) {
			unsigned long long v = vals[vi];
			int is64 = lens[li][0] == 'l' || lens[li][0] == 'z' ||
			    lens[li][0] == 'j' || lens[li][0] == 't';
			if (is64) {
				bad += cmp_one(f, v);
			} else {
				char a[128], b[128];
				int ra = ksnprintf(a, sizeof(a), f, (int)v);
				int rb = snprintf(b, sizeof(b), f, (int)v);
				if (ra != rb || strcmp(a, b) != 0) {
					print_error("format \"%s\" value %d: got \"%s\", libc \"%s\"\n",
					    f, (int)v, a, b);
					bad++;
				}
			}
			n++;
		}
	}
	assert_true(n > 50000);
	assert_int_equal(bad, 0);
}

/* Strings and chars under every width/precision/'-' combination. */
static void
test_string_combinations(void **state)
{
	static const char *const specs[] = { "%s", "%-s", "%0s", "%5s", "%-5s",
	    "%.0s", "%.3s", "%8.3s", "%-8.3s", "%.20s", "%20.20s", "%c", "%5c", "%-5c" };
	static const char *const strs[] = { "", "a", "abc", "abcdef", "hello, world!" };
	char a[64], b[64];
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		if (strcmp(specs[i], "%0s") == 0)
			continue;	/* '0' with s is undefined */
		for (size_t j = 0; j < sizeof(strs) / sizeof(strs[0]); j++) {
			int ra, rb;
			if (strchr(specs[i], 'c') != NULL) {
				ra = ksnprintf(a, sizeof(a), specs[i], strs[j][0] ? strs[j][0] : 'z');
				rb = snprintf(b, sizeof(b), specs[i], strs[j][0] ? strs[j][0] : 'z');
			} else {
				ra = ksnprintf(a, sizeof(a), specs[i], strs[j]);
				rb = snprintf(b, sizeof(b), specs[i], strs[j]);
			}
			assert_int_equal(ra, rb);
			assert_string_equal(a, b);
		}
	}
}

/* Every buffer size from 0 to past the end agrees with libc. */
static void
test_truncation_sweep(void **state)
{
	for (size_t cap = 0; cap < 48; cap++) {
		char a[64], b[64];
		memset(a, 'Q', sizeof(a));
		memset(b, 'Q', sizeof(b));
		int ra = ksnprintf(cap ? a : NULL, cap, "[%-6s|%+05d|%#x|%lld]", "ab", 42,
		    0xbeefu, (long long)INT64_MIN);
		int rb = snprintf(cap ? b : NULL, cap, "[%-6s|%+05d|%#x|%lld]", "ab", 42,
		    0xbeefu, (long long)INT64_MIN);
		assert_int_equal(ra, rb);
		assert_memory_equal(a, b, sizeof(a));	/* same bytes, no overrun */
	}
}

/* Absurd widths and precisions are clamped, never overflow or hang. */
static void
test_huge_fields(void **state)
{
	char buf[16];
	int r = ksnprintf(buf, sizeof(buf), "%99999999999999999999d", 5);
	assert_true(r > 0 && r <= 4096);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	r = ksnprintf(buf, sizeof(buf), "%*d|%.*d", INT32_MIN, 1, INT32_MAX, 2);
	assert_true(r > 0 && r <= 2 * 4096 + 1);
	r = ksnprintf(buf, sizeof(buf), "%-*s|", 3, "x");
	assert_int_equal(r, 4);
	assert_string_equal(buf, "x  |");
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
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_string_combinations),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_huge_fields),
		cmocka_unit_test(test_err_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
