/*
 * kstubs.c - see kstubs.h.  No cmocka here: the fuzz targets link it too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/log.h"
#include "kernel/time.h"
#include "tests/hw/kstubs.h"

char kstub_log[16384];
char kstub_last[512];
unsigned kstub_nlog;
unsigned kstub_warnings;
char kstub_markers[8192];
char kstub_last_marker[512];
int kstub_verbose = -1;
uint64_t kstub_now_ns;
uint64_t kstub_clock_step_ns = 1000000;
uint64_t kstub_clock_reads;

void
kstub_reset(void)
{
	kstub_log[0] = kstub_last[0] = kstub_markers[0] = kstub_last_marker[0] = '\0';
	kstub_nlog = kstub_warnings = 0;
}

bool
kstub_logged(const char *needle)
{
	return strstr(kstub_log, needle) != NULL;
}

bool
kstub_marker(int n, char *buf, unsigned len)
{
	const char *p = kstub_markers;
	for (int i = 0; i < n && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || strncmp(p, "TERN ", 5) != 0)
		return false;
	p += 5;
	size_t l = strcspn(p, "\n");
	if (len == 0)
		return true;
	if (l >= len)
		l = len - 1;
	memcpy(buf, p, l);
	buf[l] = '\0';
	return true;
}

static void
keep(const char *line)
{
	size_t have = strlen(kstub_log), add = strlen(line) + 1;
	if (add >= sizeof(kstub_log) / 2)
		return;
	if (have + add >= sizeof(kstub_log)) {
		/* Drop the oldest half, at a line boundary. */
		const char *cut = strchr(kstub_log + have / 2, '\n');
		cut = cut != NULL ? cut + 1 : kstub_log + have;
		have -= (size_t)(cut - kstub_log);
		memmove(kstub_log, cut, have + 1);
	}
	memcpy(kstub_log + have, line, add - 1);
	kstub_log[have + add - 1] = '\n';
	kstub_log[have + add] = '\0';
}

void
klog(int level, const char *mod, const char *fmt, ...)
{
	va_list ap;
	char text[400];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	kstub_nlog++;
	if (level >= LOG_WARN)
		kstub_warnings++;
	snprintf(kstub_last, sizeof(kstub_last), "%s: %s", mod, text);
	keep(kstub_last);
	if (kstub_verbose < 0)
		kstub_verbose = getenv("TERN_TEST_VERBOSE") != NULL;
	if (kstub_verbose)
		fprintf(stderr, "    [%d] %s\n", level, kstub_last);
}

void
marker(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kstub_last, sizeof(kstub_last), fmt, ap);
	va_end(ap);
	memcpy(kstub_last_marker, kstub_last, sizeof(kstub_last_marker));
	if (strlen(kstub_markers) + strlen(kstub_last) + 7 < sizeof(kstub_markers)) {
		strcat(kstub_markers, "TERN ");
		strcat(kstub_markers, kstub_last);
		strcat(kstub_markers, "\n");
	}
	if (kstub_verbose > 0)
		fprintf(stderr, "    TERN %s\n", kstub_last);
}

uint64_t
time_now_ns(void)
{
	kstub_clock_reads++;
	return kstub_now_ns += kstub_clock_step_ns;
}
