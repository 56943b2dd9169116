/*
 * log.c - leveled logging and TERN markers (kernel/log.h).
 *
 * Lines are formatted into a stack buffer and written with one
 * console_write call, so a line from an interrupt handler never splits
 * another one's bytes in the middle of a word (it can only come between
 * lines).  Nothing here allocates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/lib/fmt.h"
#include "kernel/log.h"

static int threshold = LOG_INFO;
static const char *const level_names[] = { "debug", "info ", "warn ", "error" };

void
log_set_level(int level)
{
	if (level >= LOG_DEBUG && level <= LOG_ERROR)
		threshold = level;
}

int
log_get_level(void)
{
	return threshold;
}

int
log_level_parse(const char *s, size_t len)
{
	static const char *const words[] = { "debug", "info", "warn", "error" };
	for (int i = 0; i < 4; i++)
		if (strlen(words[i]) == len && strncmp(s, words[i], len) == 0)
			return i;
	return -1;
}

size_t
log_format(char *buf, size_t n, uint64_t now_ns, int level, const char *mod,
    const char *fmt, va_list ap)
{
	if (n < 2) {
		if (n == 1)
			buf[0] = '\0';
		return 0;
	}
	if (level < LOG_DEBUG || level > LOG_ERROR)
		level = LOG_ERROR;
	uint64_t us = now_ns / 1000;
	int len = ksnprintf(buf, n, "[%5llu.%06llu] %s %s: ",
	    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
	    level_names[level], mod != NULL ? mod : "?");
	size_t used = (size_t)len < n ? (size_t)len : n - 1;
	int m = kvsnprintf(buf + used, n - used, fmt, ap);
	used += (size_t)m < n - used ? (size_t)m : n - used - 1;
	/* Always end in exactly one newline, overwriting the last byte when
	   the message was cut. */
	if (used >= n - 1)
		used = n - 2;
	buf[used++] = '\n';
	buf[used] = '\0';
	return used;
}

void
klog(int level, const char *mod, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (level < threshold)
		return;
	va_start(ap, fmt);
	size_t n = log_format(line, sizeof(line), log_clock_ns(), level, mod, fmt, ap);
	va_end(ap);
	console_write(line, n);
}

void
marker(const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	memcpy(line, "TERN ", 5);
	va_start(ap, fmt);
	int m = kvsnprintf(line + 5, sizeof(line) - 6, fmt, ap);
	va_end(ap);
	size_t used = 5 + ((size_t)m < sizeof(line) - 6 ? (size_t)m : sizeof(line) - 7);
	line[used++] = '\n';
	console_write(line, used);
}
