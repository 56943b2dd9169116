/*
 * cloud_cfg.c - applies validated user data (cloud/userdata.c) to the
 * manifest the runtime starts the workload with: the user's words win
 * over the package's defaults, and an environment too large for the
 * runtime is a configuration error, not a silent truncation.
 */
#include <stddef.h>
#include <string.h>

#include "kernel/err.h"
#include "pal/cloud_cfg.h"

int
pal_cloud_apply(struct pkg_manifest *m, const struct cloud_userdata *u,
    const char **reason)
{
	if (!u->present)
		return TERN_OK;
	struct pkg_kv env[PKG_MAX_ENV];
	unsigned nenv = m->nenv;
	memcpy(env, m->env, sizeof(env));
	for (unsigned i = 0; i < u->nenv; i++) {
		size_t kl = strlen(u->env[i].key);
		unsigned j = 0;
		while (j < nenv && !(env[j].klen == kl &&
		    memcmp(env[j].key, u->env[i].key, kl) == 0))
			j++;
		if (j == nenv) {
			if (nenv == PKG_MAX_ENV) {
				*reason = "userdata_too_many_env";
				return TERN_EINVAL;
			}
			nenv++;
		}
		env[j] = (struct pkg_kv){ u->env[i].key, (uint32_t)kl, u->env[i].val,
			(uint32_t)strlen(u->env[i].val) };
	}
	memcpy(m->env, env, sizeof(env));
	m->nenv = nenv;
	if (u->have_args)
		m->args = (struct pkg_kv){ "args", 4, u->args, (uint32_t)strlen(u->args) };
	if (u->have_port)
		m->listen_port = u->port;
	return TERN_OK;
}
