/*
 * err.h - the project-wide error codes.
 *
 * 0 is success; failures are negative values of this enum.  Every module
 * returns these (never ad hoc -1s), so a caller can log err_str(rc).
 * Predicates return bool, not these.
 */
#ifndef TERN_ERR_H
#define TERN_ERR_H

enum tern_err {
	TERN_OK = 0,
	TERN_EINVAL = -1,	/* bad argument or malformed input */
	TERN_ENOMEM = -2,	/* out of memory or of a bounded table */
	TERN_ETIMEDOUT = -3,	/* a bounded wait expired */
	TERN_EIO = -4,		/* the device reported an error */
	TERN_ENODEV = -5,	/* device absent or gone (all-ones reads) */
	TERN_ENOTSUP = -6,	/* feature not offered */
	TERN_EAGAIN = -7,	/* try again later (ring full, no data) */
	TERN_ERANGE = -8,	/* value out of range (LBA, address width) */
	TERN_EPROTO = -9,	/* peer or device broke the protocol */
	TERN_ENOENT = -10,	/* no such file, key or entry */
	TERN_EBUSY = -11,	/* resource in use */
	TERN_ECONNRESET = -12,	/* connection reset by peer */
	TERN_ECONNREFUSED = -13,
	TERN_EADDRINUSE = -14,
	TERN_ENOTCONN = -15,
	TERN_ECLOSED = -16,	/* the other side closed / end of stream */
	TERN_EEXIST = -17,
	TERN_EFAULT = -18,	/* bad address */
	TERN_ENOEXEC = -19,	/* bad executable */
	TERN_ECANCELED = -20,
	TERN_ERR_MIN = -20,
};

/* Short lower-case name of an error ("einval"), "?" when unknown. */
const char *err_str(int err);

#endif /* TERN_ERR_H */
