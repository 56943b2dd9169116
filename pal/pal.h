/*
 * pal.h: the tern platform abstraction layer, the one header a workload
 * includes.  Self-contained: it needs only <stdint.h>, <stddef.h> and
 * <stdbool.h>, so a workload is built with -ffreestanding -fPIE and no
 * other tern header.
 *
 * Binding: the workload ELF imports nothing.  The runtime calls the
 * workload's entry point (manifest key `entry`, default pal_main) with a
 * const struct pal_api * function table; the static inline wrappers below
 * go through a pointer the workload stores with pal_init().  The workload
 * therefore needs no relocation against the kernel, only
 * R_X86_64_RELATIVE relocations of its own image (docs/packages.md).
 *
 * Versioning: PAL_ABI_MAJOR changes break the table layout; a runtime
 * refuses a workload built against another major.  PAL_ABI_MINOR grows
 * when entries are appended at the end of struct pal_api; api->size tells
 * the workload how many entries exist, and pal_has() tests for one.
 *
 * Threads are cooperative: a thread runs until it calls a function marked
 * "MAY BLOCK" below (or pal_yield); nothing else preempts it.  No PAL call
 * may be made from anything but a PAL thread.
 *
 * Errors: every int-returning call returns 0 (or a non-negative count) on
 * success and a negative PAL_E* value on failure.  Ownership of every
 * buffer is stated at each call.
 */
#ifndef TERN_PAL_H
#define TERN_PAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAL_ABI_MAJOR 1
#define PAL_ABI_MINOR 0

/* Error codes (negated on return). */
enum {
	PAL_OK = 0,
	PAL_EINVAL = 1,		/* bad argument */
	PAL_ENOMEM = 2,		/* out of memory or over the manifest limit */
	PAL_EAGAIN = 3,		/* would block and the call was non-blocking */
	PAL_ETIMEDOUT = 4,	/* the deadline passed */
	PAL_ENOENT = 5,		/* no such file, key or entry */
	PAL_ECONNRESET = 6,	/* the peer reset or the connection aborted */
	PAL_ECLOSED = 7,	/* the peer closed its side (EOF) */
	PAL_EADDRINUSE = 8,	/* the port is taken */
	PAL_ENOTSUP = 9,	/* not available on this platform/runtime */
	PAL_EIO = 10,		/* hardware or health-check failure */
	PAL_ENOBUFS = 11,	/* no transmit buffer right now */
};

/* Opaque handles.  Owned by the runtime; valid until their close call. */
typedef struct pal_thread pal_thread_t;
typedef struct pal_event pal_event_t;
typedef struct pal_timer pal_timer_t;
typedef struct pal_sock pal_sock_t;

/* Time: nanoseconds.  PAL_FOREVER as a deadline never expires. */
typedef uint64_t pal_time_t;
#define PAL_FOREVER UINT64_MAX

/*
 * A zero-copy network buffer.  Received buffers are lent to the workload
 * by pal_sock_recv_buf and MUST be returned with pal_buf_free.  Transmit
 * buffers come from pal_buf_alloc; the workload fills data[0..len) and
 * hands ownership back with pal_sock_send_buf (whether or not it succeeds)
 * or pal_buf_free.
 */
struct pal_buf {
	uint8_t *data;		/* payload start */
	size_t len;		/* payload bytes in use */
	size_t cap;		/* writable bytes from data (tx only) */
	void *priv;		/* runtime's; do not touch */
};

/* An IPv4 endpoint, host byte order. */
struct pal_addr {
	uint32_t ip;
	uint16_t port;
};

enum pal_log_level { PAL_LOG_ERR = 0, PAL_LOG_WARN, PAL_LOG_INFO, PAL_LOG_DEBUG };

/* Counters for /stats-like reporting: a flat list of name/value pairs. */
struct pal_counter {
	const char *name;	/* e.g. "net.rx_packets"; runtime-owned, static */
	uint64_t value;
};

typedef void (*pal_thread_fn)(void *arg);
typedef void (*pal_timer_fn)(void *arg);

struct pal_api {
	uint32_t abi_major;	/* PAL_ABI_MAJOR of the runtime */
	uint32_t abi_minor;
	uint32_t size;		/* sizeof(struct pal_api) in the runtime */
	uint32_t reserved;

	/* -- Memory.  Never blocks.  Counted against the manifest limit. */
	/* Returns zeroed memory aligned to 16 bytes, or NULL. Caller owns it. */
	void *(*mem_alloc)(size_t size);
	/* Frees a mem_alloc block; NULL is a no-op. */
	void (*mem_free)(void *p);
	/* Bytes in use and the limit (0 = unlimited). */
	void (*mem_stats)(size_t *used, size_t *limit);

	/* -- Clocks.  Never block. */
	/* Monotonic nanoseconds since boot; never goes backwards. */
	pal_time_t (*clock_monotonic)(void);
	/* Wall clock, ns since the Unix epoch; 0 if unknown (today always:
	 * no RTC or NTP client yet). */
	pal_time_t (*clock_wall)(void);

	/* -- Threads.  All cooperative on one CPU. */
	/* Creates a runnable thread with its own stack (a guard page below;
	 * stack_size 0 = 64 KiB, at most 8 MiB).  With out == NULL the thread
	 * is detached (freed when it returns); otherwise *out is valid until
	 * thread_join.  -PAL_ENOMEM, -PAL_EINVAL. Never blocks. */
	int (*thread_create)(pal_thread_fn fn, void *arg, size_t stack_size,
	    pal_thread_t **out);
	/* Waits for t to return, then frees it. MAY BLOCK. */
	int (*thread_join)(pal_thread_t *t);
	/* Lets every other runnable thread run once.  MAY BLOCK (briefly). */
	void (*yield)(void);
	/* Sleeps at least ns nanoseconds.  MAY BLOCK. */
	void (*sleep)(pal_time_t ns);
	/* Ends the whole workload with exit code (the runtime prints
	 * TERN APP_EXIT and applies the restart policy).  Does not return. */
	void (*exit)(int code);

	/* -- Events: a level-triggered flag with waiters. */
	int (*event_create)(pal_event_t **out);		/* -PAL_ENOMEM */
	void (*event_destroy)(pal_event_t *e);		/* no waiters allowed */
	/* Sets the flag and wakes every waiter.  Never blocks. */
	void (*event_set)(pal_event_t *e);
	void (*event_clear)(pal_event_t *e);
	/* Waits until the flag is set or the absolute monotonic deadline
	 * passes: 0 or -PAL_ETIMEDOUT.  MAY BLOCK. */
	int (*event_wait)(pal_event_t *e, pal_time_t deadline);

	/* -- Timers: fn(arg) runs at or after the deadline on the workload's
	 * timer thread (made by the first timer_create), one callback at a
	 * time; it should not block (that delays every other timer). */
	int (*timer_create)(pal_timer_fn fn, void *arg, pal_timer_t **out);
	/* Arms at an absolute deadline, re-arming replaces; period 0 = once. */
	int (*timer_arm)(pal_timer_t *t, pal_time_t deadline, pal_time_t period);
	void (*timer_cancel)(pal_timer_t *t);
	void (*timer_destroy)(pal_timer_t *t);

	/* -- Sockets (TCP and UDP over IPv4). */
	/* TCP listener on port (0.0.0.0).  backlog bounds un-accepted
	 * connections.  -PAL_EADDRINUSE. Never blocks.  The first listener
	 * on the manifest's listen port makes the runtime print TERN READY. */
	int (*tcp_listen)(uint16_t port, int backlog, pal_sock_t **out);
	/* Next connection, or -PAL_ETIMEDOUT at deadline (0 = poll, giving
	 * -PAL_EAGAIN).  MAY BLOCK. Caller owns *out. */
	int (*tcp_accept)(pal_sock_t *l, pal_time_t deadline, pal_sock_t **out,
	    struct pal_addr *peer);
	/* Active open.  MAY BLOCK until connected or the deadline.
	 * -PAL_ECONNRESET if refused, -PAL_ETIMEDOUT, -PAL_ENOBUFS when no
	 * connection slot or port is free. */
	int (*tcp_connect)(const struct pal_addr *dst, pal_time_t deadline,
	    pal_sock_t **out);
	/* UDP socket bound to port (0 = ephemeral). Never blocks. */
	int (*udp_bind)(uint16_t port, pal_sock_t **out);

	/* Zero-copy receive: lends the next buffer of in-order TCP data (or
	 * one datagram, sender in *from for UDP).  -PAL_ECLOSED at EOF,
	 * -PAL_ECONNRESET, -PAL_ETIMEDOUT.  MAY BLOCK until deadline. */
	int (*sock_recv_buf)(pal_sock_t *s, pal_time_t deadline,
	    struct pal_buf *out, struct pal_addr *from);
	/* Returns a buffer from sock_recv_buf or buf_alloc.  Never blocks. */
	void (*buf_free)(struct pal_buf *b);
	/* A transmit buffer with cap >= size (size <= one segment); -PAL_ENOBUFS
	 * if none are free (wait with sock_wait_writable). Never blocks. */
	int (*buf_alloc)(pal_sock_t *s, size_t size, struct pal_buf *out);
	/* Queues b for sending; ownership passes to the runtime in every case.
	 * to is the destination for UDP, NULL for TCP.  Never blocks. */
	int (*sock_send_buf)(pal_sock_t *s, struct pal_buf *b,
	    const struct pal_addr *to);
	/* Sends memory the workload promises not to change or free until the
	 * socket is closed (e.g. package file data): no copy.  TCP only.
	 * MAY BLOCK until all is queued or the deadline. Returns bytes queued. */
	long (*sock_send_ref)(pal_sock_t *s, const void *data, size_t len,
	    pal_time_t deadline);
	/* Copying API: receive up to len bytes into the caller's buf (returns
	 * the count, -PAL_ECLOSED at EOF) and send a copy of data (returns the
	 * bytes queued).  MAY BLOCK until the deadline. */
	long (*sock_recv)(pal_sock_t *s, void *buf, size_t len, pal_time_t deadline);
	long (*sock_send)(pal_sock_t *s, const void *data, size_t len,
	    pal_time_t deadline);
	/* Waits until a tx buffer/window is available.  MAY BLOCK. */
	int (*sock_wait_writable)(pal_sock_t *s, pal_time_t deadline);
	/* Graceful close (FIN after queued data) and frees the handle.  Any
	 * lent buffers stay valid until freed.  Never blocks. */
	void (*sock_close)(pal_sock_t *s);
	/* Aborts (RST) and frees the handle.  Never blocks. */
	void (*sock_abort)(pal_sock_t *s);

	/* -- Read-only package files.  Data lives in package memory for the
	 * workload's lifetime: the caller MUST NOT write or free it. */
	int (*file_get)(const char *path, const void **data, size_t *len);
	/* i-th file's path (for listings); -PAL_ENOENT past the end. */
	int (*file_name)(size_t i, const char **path);

	/* -- Configuration.  Strings are runtime-owned and read-only. */
	/* The workload's command line (manifest `args`, split at blanks, at
	 * most 16 words): argv[0] is the workload name. */
	void (*config_args)(int *argc, const char *const **argv);
	/* Manifest `env.KEY=VALUE`; NULL if absent. */
	const char *(*config_env)(const char *key);
	/* Cloud user-data (IMDS / Azure custom data) when the platform
	 * provides it; -PAL_ENOENT if none (today always: no IMDS or
	 * WireServer client yet).  MAY BLOCK on the first call. */
	int (*config_user_data)(const void **data, size_t *len);

	/* -- Entropy.  RDSEED, then RDRAND, then a jitter/time-seeded
	 * ChaCha-style fallback; the runtime health-checks the hardware
	 * source at boot (repetition and stuck-bit tests).  Never blocks.
	 * Returns 0, or -PAL_EIO if no source passed the health check (the
	 * buffer is still filled from the fallback, which is NOT suitable for
	 * keys). */
	int (*entropy)(void *buf, size_t len);

	/* -- Logging: one console line "[<time>] <level> <name>: <msg>" (no
	 * newline needed; control characters become '?').  Never blocks;
	 * long lines are truncated to 200 bytes. */
	void (*log)(int level, const char *msg, size_t len);

	/* -- Runtime counters (netstack, driver, scheduler).  Copies at most
	 * max entries into out and returns how many exist. Never blocks. */
	size_t (*counters)(struct pal_counter *out, size_t max);
};

/*
 * The workload's entry point (manifest `entry`, default "pal_main").
 * Returning ends the workload with that exit code, like api->exit.
 */
typedef int (*pal_entry_fn)(const struct pal_api *api, int argc,
    const char *const *argv);
int pal_main(const struct pal_api *api, int argc, const char *const *argv);

/*
 * Thin wrappers.  A workload calls pal_init(api) first thing in pal_main;
 * pal_api_ptr is one hidden, per-workload pointer (weak, so every
 * translation unit of the workload shares it without a definition file).
 */
__attribute__((weak, visibility("hidden"))) const struct pal_api *pal_api_ptr;

static inline bool pal_init(const struct pal_api *api)
{
	if (api == NULL || api->abi_major != PAL_ABI_MAJOR)
		return false;
	pal_api_ptr = api;
	return true;
}
/* True if the runtime's table contains the named member. */
#define pal_has(member) \
	(offsetof(struct pal_api, member) + sizeof(void *) <= pal_api_ptr->size)

#define PAL_ (pal_api_ptr)
static inline void *pal_alloc(size_t n) { return PAL_->mem_alloc(n); }
static inline void pal_free(void *p) { PAL_->mem_free(p); }
static inline pal_time_t pal_now(void) { return PAL_->clock_monotonic(); }
static inline pal_time_t pal_wall(void) { return PAL_->clock_wall(); }
static inline pal_time_t pal_deadline(pal_time_t rel)
{
	pal_time_t n = pal_now();
	return rel >= PAL_FOREVER - n ? PAL_FOREVER : n + rel;
}
static inline void pal_yield(void) { PAL_->yield(); }
static inline void pal_sleep(pal_time_t ns) { PAL_->sleep(ns); }
static inline void pal_exit(int code) { PAL_->exit(code); }
static inline int pal_thread_create(pal_thread_fn fn, void *arg, size_t st,
    pal_thread_t **out) { return PAL_->thread_create(fn, arg, st, out); }
static inline int pal_event_wait(pal_event_t *e, pal_time_t dl)
{ return PAL_->event_wait(e, dl); }
static inline void pal_event_set(pal_event_t *e) { PAL_->event_set(e); }
static inline int pal_tcp_listen(uint16_t port, int backlog, pal_sock_t **out)
{ return PAL_->tcp_listen(port, backlog, out); }
static inline int pal_tcp_accept(pal_sock_t *l, pal_time_t dl, pal_sock_t **out,
    struct pal_addr *peer) { return PAL_->tcp_accept(l, dl, out, peer); }
static inline int pal_recv_buf(pal_sock_t *s, pal_time_t dl, struct pal_buf *b)
{ return PAL_->sock_recv_buf(s, dl, b, NULL); }
static inline void pal_buf_free(struct pal_buf *b) { PAL_->buf_free(b); }
static inline int pal_buf_alloc(pal_sock_t *s, size_t n, struct pal_buf *b)
{ return PAL_->buf_alloc(s, n, b); }
static inline int pal_send_buf(pal_sock_t *s, struct pal_buf *b)
{ return PAL_->sock_send_buf(s, b, NULL); }
static inline int pal_wait_writable(pal_sock_t *s, pal_time_t dl)
{ return PAL_->sock_wait_writable(s, dl); }
static inline long pal_send_ref(pal_sock_t *s, const void *d, size_t n,
    pal_time_t dl) { return PAL_->sock_send_ref(s, d, n, dl); }
static inline long pal_send(pal_sock_t *s, const void *d, size_t n,
    pal_time_t dl) { return PAL_->sock_send(s, d, n, dl); }
static inline long pal_recv(pal_sock_t *s, void *b, size_t n, pal_time_t dl)
{ return PAL_->sock_recv(s, b, n, dl); }
static inline void pal_close(pal_sock_t *s) { PAL_->sock_close(s); }
static inline int pal_file(const char *path, const void **d, size_t *n)
{ return PAL_->file_get(path, d, n); }
static inline const char *pal_env(const char *key) { return PAL_->config_env(key); }
static inline int pal_entropy(void *b, size_t n) { return PAL_->entropy(b, n); }
static inline void pal_log(int level, const char *msg)
{
	size_t n = 0;

	while (msg[n] != '\0')
		n++;
	PAL_->log(level, msg, n);
}
#undef PAL_

#endif /* TERN_PAL_H */
