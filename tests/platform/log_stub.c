/*
 * log_stub.c - kernel/log.h for host tests: counts warnings, keeps the last
 * line, prints everything when TERN_TEST_VERBOSE is set.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/log.h"
#include "tests/platform/fake_fw.h"

unsigned log_stub_warnings;
char log_stub_last[512];
char log_stub_markers[8192];
int log_stub_verbose = -1;

void
log_stub_reset(void)
{
	log_stub_warnings = 0;
	log_stub_last[0] = '\0';
	log_stub_markers[0] = '\0';
}

void
klog(int level, const char *mod, const char *fmt, ...)
{
	va_list ap;
	char line[400];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level >= LOG_WARN)
		log_stub_warnings++;
	snprintf(log_stub_last, sizeof(log_stub_last), "%s: %s", mod, line);
	if (log_stub_verbose < 0)
		log_stub_verbose = getenv("TERN_TEST_VERBOSE") != NULL;
	if (log_stub_verbose)
		fprintf(stderr, "[%d] %s: %s\n", level, mod, line);
}

void
marker(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_stub_last, sizeof(log_stub_last), fmt, ap);
	va_end(ap);
	if (strlen(log_stub_markers) + strlen(log_stub_last) + 7 < sizeof(log_stub_markers)) {
		strcat(log_stub_markers, "TERN ");
		strcat(log_stub_markers, log_stub_last);
		strcat(log_stub_markers, "\n");
	}
}
