/*
 * userdata.c - the tern user-data format (docs/clouds.md, "Metadata and
 * user data"): a "#tern v1" first line, then key=value lines like a
 * package manifest (pal/pkg.c): args=, port=, env.NAME=.  Validated as
 * strictly as a manifest, since a typo must stop the boot with a reason
 * rather than run the workload with half a configuration.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cloud/extract.h"
#include "kernel/err.h"

static int
ud_fail(const char **reason, const char *r)
{
	*reason = r;
	return TERN_EINVAL;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
	    (*s)[*n - 1] == '\r'))
		(*n)--;
}

static bool
is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool
env_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > CLOUD_UD_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

int
cloud_userdata_parse(const uint8_t *d, size_t n, struct cloud_userdata *u,
    const char **reason)
{
	const char *t = (const char *)d;
	size_t i = 0;
	bool first = true;

	memset(u, 0, sizeof(*u));
	*reason = "ok";
	if (n > CLOUD_UD_MAX) {
		/* Refused only when it claims to be ours. */
		if (n >= 5 && memcmp(t, "#tern", 5) == 0)
			return ud_fail(reason, "userdata_too_big");
		return TERN_OK;
	}
	while (i < n) {
		size_t e = i;
		while (e < n && t[e] != '\n')
			e++;
		const char *l = t + i;
		size_t ln = e - i;
		i = e + 1;
		if (first) {
			first = false;
			/* Not ours (a cloud-init script, a blob): leave it. */
			if (ln < 5 || memcmp(l, "#tern", 5) != 0)
				return TERN_OK;
			trim(&l, &ln);
			if (!is(l, ln, CLOUD_UD_HEADER))
				return ud_fail(reason, "userdata_bad_version");
			u->present = true;
			continue;
		}
		for (size_t k = 0; k < ln; k++) {
			unsigned char c = (unsigned char)l[k];
			if ((c < 0x20 && c != '\t' && !(c == '\r' && k == ln - 1)) ||
			    c >= 0x7f)
				return ud_fail(reason, "userdata_syntax");
		}
		trim(&l, &ln);
		if (ln == 0 || l[0] == '#')
			continue;
		const char *eq = memchr(l, '=', ln);
		if (eq == NULL)
			return ud_fail(reason, "userdata_syntax");
		const char *k = l, *v = eq + 1;
		size_t kn = (size_t)(eq - l), vn = ln - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		if (kn == 0)
			return ud_fail(reason, "userdata_syntax");
		if (is(k, kn, "args")) {
			if (u->have_args)
				return ud_fail(reason, "userdata_duplicate_key");
			if (vn > CLOUD_UD_ARGS_MAX)
				return ud_fail(reason, "userdata_bad_args");
			memcpy(u->args, v, vn);
			u->args[vn] = '\0';
			u->have_args = true;
		} else if (is(k, kn, "port")) {
			if (u->have_port)
				return ud_fail(reason, "userdata_duplicate_key");
			uint32_t p = 0;
			if (vn == 0 || vn > 5)
				return ud_fail(reason, "userdata_bad_port");
			for (size_t j = 0; j < vn; j++) {
				if (v[j] < '0' || v[j] > '9')
					return ud_fail(reason, "userdata_bad_port");
				p = p * 10 + (uint32_t)(v[j] - '0');
			}
			if (p == 0 || p > 65535)
				return ud_fail(reason, "userdata_bad_port");
			u->port = (uint16_t)p;
			u->have_port = true;
		} else if (kn > 4 && memcmp(k, "env.", 4) == 0) {
			k += 4;
			kn -= 4;
			if (!env_key_ok(k, kn) || vn > CLOUD_UD_VAL_MAX)
				return ud_fail(reason, "userdata_bad_env");
			for (unsigned j = 0; j < u->nenv; j++)
				if (is(k, kn, u->env[j].key))
					return ud_fail(reason, "userdata_duplicate_key");
			if (u->nenv == CLOUD_UD_ENV_MAX)
				return ud_fail(reason, "userdata_too_many_env");
			memcpy(u->env[u->nenv].key, k, kn);
			u->env[u->nenv].key[kn] = '\0';
			memcpy(u->env[u->nenv].val, v, vn);
			u->env[u->nenv].val[vn] = '\0';
			u->nenv++;
		} else {
			return ud_fail(reason, "userdata_unknown_key");
		}
	}
	return TERN_OK;
}
