/*
 * test_cmdline.c - the command line parser: every option, odd spacing,
 * unknown and bad options reported (never fatal), long values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/cmdline.h"
#include "kernel/log.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }
uint64_t log_clock_ns(void) { return 0; }

static char warned[2048];
static int nwarn;

static void
on_warn(void *ctx, const char *msg)
{
	nwarn++;
	strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
	strcat(warned, "|");
}

static struct cmdline c;

static void
parse(const char *s)
{
	warned[0] = '\0';
	nwarn = 0;
	cmdline_parse(&c, s, on_warn, NULL);
}

static void
test_defaults(void **state)
{
	parse("");
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.exit_after, CMDLINE_EXIT_NONE);
	assert_int_equal(c.test, CMDLINE_TEST_NONE);
	assert_false(c.blktest);
	assert_int_equal(c.ptfail, -1);
	assert_int_equal(nwarn, 0);
	cmdline_parse(&c, NULL, NULL, NULL);
	assert_int_equal(c.log_level, LOG_INFO);
}

static void
test_all_options(void **state)
{
	parse("  log=debug\texit=boot_ok  test=fault blktest trace=virtio-net0,nvme0 "
	    "ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3,1.1.1.1 app=httpd.pkg\n");
	assert_int_equal(nwarn, 0);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.exit_after, CMDLINE_EXIT_BOOT_OK);
	assert_int_equal(c.test, CMDLINE_TEST_FAULT);
	assert_true(c.blktest);
	assert_int_equal(c.ntrace, 2);
	assert_string_equal(c.trace[0], "virtio-net0");
	assert_string_equal(c.trace[1], "nvme0");
	assert_string_equal(c.ip, "10.0.2.15/24");
	assert_string_equal(c.gw, "10.0.2.2");
	assert_string_equal(c.dns, "10.0.2.3,1.1.1.1");
	assert_string_equal(c.app, "httpd.pkg");
	parse("exit=ready test=stack test=ud blktest=0 log=error");
	assert_int_equal(c.exit_after, CMDLINE_EXIT_READY);
	assert_int_equal(c.test, CMDLINE_TEST_UD);	/* last wins */
	assert_false(c.blktest);
	assert_int_equal(c.log_level, LOG_ERROR);
	parse("test=memattr");
	assert_int_equal(c.test, CMDLINE_TEST_MEMATTR);
}

static void
test_unknown_and_bad(void **state)
{
	parse("foo log=loud exit=never test blktest=2 =x ip log=info");
	assert_int_equal(nwarn, 7);
	assert_int_equal(c.unknown, 7);
	assert_non_null(strstr(warned, "unknown option 'foo'"));
	assert_non_null(strstr(warned, "bad value for log: 'loud'"));
	assert_non_null(strstr(warned, "bad value for exit: 'never'"));
	assert_non_null(strstr(warned, "option test needs a value"));
	assert_non_null(strstr(warned, "bad value for blktest: '2'"));
	assert_non_null(strstr(warned, "empty name"));
	assert_non_null(strstr(warned, "option ip needs a value"));
	/* The good option after the bad ones still applies. */
	assert_int_equal(c.log_level, LOG_INFO);
}

static void
test_ptfail(void **state)
{
	parse("ptfail=0");
	assert_int_equal(nwarn, 0);
	assert_int_equal(c.ptfail, 0);
	parse("ptfail=25");
	assert_int_equal(c.ptfail, 25);
	parse("ptfail=-1 ptfail=1x ptfail=12345678 ptfail");
	assert_int_equal(nwarn, 4);
	assert_int_equal(c.ptfail, -1);
}

static void
test_cloud(void **state)
{
	parse("");
	assert_int_equal(c.cloud, CMDLINE_CLOUD_NONE);
	parse("cloud=aws");
	assert_int_equal(nwarn, 0);
	assert_int_equal(c.cloud, CMDLINE_CLOUD_AWS);
	parse("cloud=azure");
	assert_int_equal(c.cloud, CMDLINE_CLOUD_AZURE);
	parse("cloud=azure cloud=none");
	assert_int_equal(c.cloud, CMDLINE_CLOUD_NONE);
	parse("cloud=gcp cloud cloud=AWS");
	assert_int_equal(nwarn, 3);
	assert_int_equal(c.cloud, CMDLINE_CLOUD_NONE);
}

static void
test_long_values(void **state)
{
	char s[600] = "app=";
	memset(s + 4, 'x', 500);
	s[504] = '\0';
	strcat(s, " trace=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b,c,d,e log=warn");
	parse(s);
	assert_int_equal(strlen(c.app), CMDLINE_VAL_MAX - 1);
	assert_non_null(strstr(warned, "too long"));
	assert_int_equal(c.log_level, LOG_WARN);
	assert_true(c.ntrace <= CMDLINE_MAX_TRACE);
	/* A 5th trace device is refused, the first four kept. */
	parse("trace=a,b,c,d,e");
	assert_int_equal(c.ntrace, 4);
	assert_int_equal(nwarn, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_unknown_and_bad),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_ptfail),
		cmocka_unit_test(test_cloud),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
