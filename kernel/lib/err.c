/*
 * err.c - names of the project-wide error codes (kernel/err.h).
 */
#include "kernel/err.h"

static const char *const names[] = {
	"ok", "einval", "enomem", "etimedout", "eio", "enodev", "enotsup",
	"eagain", "erange", "eproto", "enoent", "ebusy", "econnreset",
	"econnrefused", "eaddrinuse", "enotconn", "eclosed", "eexist",
	"efault", "enoexec", "ecanceled",
};

const char *
err_str(int err)
{
	if (err > 0 || err < TERN_ERR_MIN)
		return "?";
	return names[-err];
}
