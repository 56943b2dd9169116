/*
 * cloud_cfg.h - user data (cloud/extract.h's struct cloud_userdata) applied
 * to the workload's manifest.  Portable (kernel and host tests).
 */
#ifndef TERN_PAL_CLOUD_CFG_H
#define TERN_PAL_CLOUD_CFG_H

#include "cloud/extract.h"
#include "pal/pkg.h"

/*
 * Overrides m with u: args= replaces the manifest's args, port= its listen
 * port, each env.NAME= replaces the manifest's NAME or is added.  m keeps
 * pointers into u, which MUST outlive m.  Returns TERN_OK, or TERN_EINVAL
 * with *reason "userdata_too_many_env" when the merged environment would
 * exceed PKG_MAX_ENV (m is then unchanged).  Does nothing when
 * !u->present.
 */
int pal_cloud_apply(struct pkg_manifest *m, const struct cloud_userdata *u,
    const char **reason);

#endif
