/*
 * cmdline.c - the kernel command line (kernel/cmdline.h, docs/cmdline.md).
 *
 * Words are split on spaces and tabs; each is "key=value" or "key".  The
 * parser never fails as a whole: whatever it does not understand is
 * reported through the warn callback, counted, and skipped, so a typo on
 * a cloud console never stops a boot.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "kernel/cmdline.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"

struct word {
	const char *key;
	size_t klen;
	const char *val;	/* NULL when there was no '=' */
	size_t vlen;
};

static void
warn(struct cmdline *c, cmdline_warn_fn fn, void *ctx, const char *fmt,
    const struct word *w)
{
	char msg[160];
	int kl = w->klen > 40 ? 40 : (int)w->klen;
	int vl = w->vlen > 40 ? 40 : (int)w->vlen;
	ksnprintf(msg, sizeof(msg), fmt, kl, w->key, vl, w->val ? w->val : "");
	c->unknown++;
	if (fn != NULL)
		fn(ctx, msg);
}

static bool
is(const struct word *w, const char *key)
{
	return strlen(key) == w->klen && strncmp(w->key, key, w->klen) == 0;
}

static bool
val_is(const struct word *w, const char *v)
{
	return w->val != NULL && strlen(v) == w->vlen && strncmp(w->val, v, w->vlen) == 0;
}

/* Copy a value into a fixed buffer; false (and a warning) if too long. */
static bool
copy_val(struct cmdline *c, cmdline_warn_fn fn, void *ctx,
    const struct word *w, char *dst, size_t cap)
{
	size_t n = w->vlen;
	if (n >= cap) {
		warn(c, fn, ctx, "value for %.*s too long: '%.*s...' (truncated)", w);
		n = cap - 1;
	}
	memcpy(dst, w->val, n);
	dst[n] = '\0';
	return true;
}

static void
parse_trace(struct cmdline *c, cmdline_warn_fn fn, void *ctx, const struct word *w)
{
	c->ntrace = 0;
	const char *p = w->val, *end = w->val + w->vlen;
	while (p < end) {
		const char *q = p;
		while (q < end && *q != ',')
			q++;
		size_t n = (size_t)(q - p);
		if (n > 0) {
			if (c->ntrace == CMDLINE_MAX_TRACE || n >= sizeof(c->trace[0])) {
				warn(c, fn, ctx, "too many or too long devices in %.*s='%.*s'", w);
				return;
			}
			memcpy(c->trace[c->ntrace], p, n);
			c->trace[c->ntrace][n] = '\0';
			c->ntrace++;
		}
		p = q + 1;
	}
}

static void
apply(struct cmdline *c, cmdline_warn_fn fn, void *ctx, const struct word *w)
{
	bool needs_value = !is(w, "blktest") && !is(w, "nettest");
	if (needs_value && w->val == NULL && (is(w, "log") || is(w, "exit") ||
	    is(w, "test") || is(w, "trace") || is(w, "ip") || is(w, "gw") ||
	    is(w, "dns") || is(w, "app") || is(w, "ptfail") || is(w, "cloud"))) {
		warn(c, fn, ctx, "option %.*s needs a value%.*s", w);
		return;
	}
	if (is(w, "log")) {
		int l = log_level_parse(w->val, w->vlen);
		if (l < 0)
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (debug|info|warn|error)", w);
		else
			c->log_level = l;
	} else if (is(w, "exit")) {
		if (val_is(w, "boot_ok"))
			c->exit_after = CMDLINE_EXIT_BOOT_OK;
		else if (val_is(w, "ready"))
			c->exit_after = CMDLINE_EXIT_READY;
		else if (val_is(w, "net_up"))
			c->exit_after = CMDLINE_EXIT_NET_UP;
		else if (val_is(w, "none"))
			c->exit_after = CMDLINE_EXIT_NONE;
		else
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (boot_ok|net_up|ready|none)", w);
	} else if (is(w, "test")) {
		if (val_is(w, "fault"))
			c->test = CMDLINE_TEST_FAULT;
		else if (val_is(w, "ud"))
			c->test = CMDLINE_TEST_UD;
		else if (val_is(w, "stack"))
			c->test = CMDLINE_TEST_STACK;
		else if (val_is(w, "memattr"))
			c->test = CMDLINE_TEST_MEMATTR;
		else
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (fault|ud|stack|memattr)", w);
	} else if (is(w, "blktest")) {
		if (w->val == NULL || val_is(w, "1"))
			c->blktest = 1;
		else if (val_is(w, "verify"))
			c->blktest = 2;
		else if (val_is(w, "big"))
			c->blktest = 3;
		else if (val_is(w, "0"))
			c->blktest = 0;
		else
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (0|1|verify|big)", w);
	} else if (is(w, "nettest")) {
		if (w->val == NULL || val_is(w, "1"))
			c->nettest = true;
		else if (val_is(w, "0"))
			c->nettest = false;
		else
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (0|1)", w);
	} else if (is(w, "trace")) {
		parse_trace(c, fn, ctx, w);
	} else if (is(w, "ip")) {
		copy_val(c, fn, ctx, w, c->ip, sizeof(c->ip));
	} else if (is(w, "gw")) {
		copy_val(c, fn, ctx, w, c->gw, sizeof(c->gw));
	} else if (is(w, "dns")) {
		copy_val(c, fn, ctx, w, c->dns, sizeof(c->dns));
	} else if (is(w, "app")) {
		copy_val(c, fn, ctx, w, c->app, sizeof(c->app));
	} else if (is(w, "cloud")) {
		if (val_is(w, "aws"))
			c->cloud = CMDLINE_CLOUD_AWS;
		else if (val_is(w, "azure"))
			c->cloud = CMDLINE_CLOUD_AZURE;
		else if (val_is(w, "none"))
			c->cloud = CMDLINE_CLOUD_NONE;
		else
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (aws|azure|none)", w);
	} else if (is(w, "ptfail")) {
		long n = 0;
		size_t i = 0;
		for (; i < w->vlen && i < 7 && w->val[i] >= '0' && w->val[i] <= '9'; i++)
			n = n * 10 + (w->val[i] - '0');
		if (i == 0 || i != w->vlen)
			warn(c, fn, ctx, "bad value for %.*s: '%.*s' (0..9999999)", w);
		else
			c->ptfail = n;
	} else {
		warn(c, fn, ctx, "unknown option '%.*s' (value '%.*s')", w);
	}
}

void
cmdline_parse(struct cmdline *c, const char *s, cmdline_warn_fn fn, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->ptfail = -1;
	if (s == NULL)
		return;
	const char *p = s;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		const char *start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		struct word w = { start, (size_t)(p - start), NULL, 0 };
		const char *eq = memchr(start, '=', w.klen);
		if (eq != NULL) {
			w.klen = (size_t)(eq - start);
			w.val = eq + 1;
			w.vlen = (size_t)(p - w.val);
		}
		if (w.klen == 0) {
			warn(c, fn, ctx, "option with an empty name '%.*s=%.*s'", &w);
			continue;
		}
		apply(c, fn, ctx, &w);
	}
}
