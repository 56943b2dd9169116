/*
 * cmdline.h - the kernel command line.
 *
 * Space-separated words "key=value" or "key"; the options are listed in
 * docs/cmdline.md.  Parsing never fails as a whole: an unknown key or a
 * bad value is reported through the warn callback and ignored.  Values are
 * copied into fixed buffers; over-long ones are reported and truncated.
 */
#ifndef TERN_CMDLINE_H
#define TERN_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define CMDLINE_VAL_MAX 64
#define CMDLINE_MAX_TRACE 4

enum cmdline_exit { CMDLINE_EXIT_NONE = 0, CMDLINE_EXIT_BOOT_OK, CMDLINE_EXIT_READY,
	CMDLINE_EXIT_NET_UP };
enum cmdline_test { CMDLINE_TEST_NONE = 0, CMDLINE_TEST_FAULT, CMDLINE_TEST_UD,
	CMDLINE_TEST_STACK, CMDLINE_TEST_MEMATTR };
enum cmdline_cloud { CMDLINE_CLOUD_NONE = 0, CMDLINE_CLOUD_AWS, CMDLINE_CLOUD_AZURE };

struct cmdline {
	int log_level;		/* enum log_level, default LOG_INFO */
	int exit_after;		/* enum cmdline_exit (exit=boot_ok|net_up|ready) */
	int test;		/* enum cmdline_test (test=fault|ud|stack) */
	int blktest;		/* blktest=1 (write+verify), =verify (read+verify), =big (3), 0 */
	bool nettest;		/* nettest=1: ARP for the gateway */
	int ntrace;		/* trace=<dev>[,<dev>] */
	char trace[CMDLINE_MAX_TRACE][24];
	char ip[CMDLINE_VAL_MAX];	/* ip=a.b.c.d/n (static), empty: DHCP */
	char gw[CMDLINE_VAL_MAX];	/* gw=a.b.c.d */
	char dns[CMDLINE_VAL_MAX];	/* dns=a.b.c.d[,a.b.c.d] */
	char app[CMDLINE_VAL_MAX];	/* app=<module name> override */
	int cloud;		/* enum cmdline_cloud (cloud=aws|azure|none) */
	long ptfail;		/* ptfail=N: page-table allocations left per workload run (-1: off) */
	unsigned unknown;	/* count of reported unknown/bad options */
};

typedef void (*cmdline_warn_fn)(void *ctx, const char *msg);

/* Parse `s` (NUL terminated, any length) into `c` (reset to defaults). */
void cmdline_parse(struct cmdline *c, const char *s, cmdline_warn_fn warn,
    void *ctx);

#endif
