/*
 * log.h - leveled kernel logging and the TERN marker lines.
 *
 * klog() formats "[<sec>.<usec>] <level> <module>: <message>\n" and writes
 * it to the console when level >= the current threshold (command line
 * log=debug|info|warn|error; default info).  marker() always prints
 * "TERN <text>\n": markers are the stable contract in docs/markers.md.
 * Both may be called from interrupt context and before memory is set up;
 * they never allocate.  Lines longer than LOG_LINE_MAX are truncated.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
#define LOG_LINE_MAX 256

void log_set_level(int level);
int log_get_level(void);
/* Parse "debug"/"info"/"warn"/"error"; returns the level or -1. */
int log_level_parse(const char *s, size_t len);

void klog(int level, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void marker(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_debug(mod, ...) klog(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  klog(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  klog(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) klog(LOG_ERROR, mod, __VA_ARGS__)

/*
 * Pure formatter behind klog (host-tested): writes one NUL-terminated line
 * ending in '\n' into buf (at most n bytes) and returns its length.
 */
size_t log_format(char *buf, size_t n, uint64_t now_ns, int level,
    const char *mod, const char *fmt, va_list ap);

/* Provided by the platform: the console sink and the clock for stamps. */
void console_write(const char *s, size_t n);
uint64_t log_clock_ns(void);

#endif
