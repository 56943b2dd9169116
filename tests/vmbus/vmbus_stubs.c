/*
 * vmbus_stubs.c - kernel/log.h for the Hyper-V/VMBus host tests (shared
 * by test_hv and test_vmbus): keeps every marker line and counts
 * warnings; TERN_TEST_VERBOSE=1 prints everything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/log.h"
#include "tests/vmbus/vmbus_stubs.h"

unsigned vstub_warnings;
char vstub_markers[8192];
char vstub_last[400];

void
vstub_reset(void)
{
	vstub_warnings = 0;
	vstub_markers[0] = '\0';
	vstub_last[0] = '\0';
}

void
klog(int level, const char *mod, const char *fmt, ...)
{
	va_list ap;
	char line[360];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level >= LOG_WARN)
		vstub_warnings++;
	snprintf(vstub_last, sizeof(vstub_last), "%s: %s", mod, line);
	if (getenv("TERN_TEST_VERBOSE") != NULL)
		fprintf(stderr, "[%d] %s: %s\n", level, mod, line);
}

void
marker(const char *fmt, ...)
{
	va_list ap;
	char line[360];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t n = strlen(vstub_markers);
	snprintf(vstub_markers + n, sizeof(vstub_markers) - n, "TERN %s\n", line);
	if (getenv("TERN_TEST_VERBOSE") != NULL)
		fprintf(stderr, "TERN %s\n", line);
}
