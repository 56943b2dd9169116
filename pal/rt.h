/*
 * rt.h - the hosted runtime's internals (pal/rt*.c, kernel only).
 *
 * One workload runs at a time.  Everything it creates through struct
 * pal_api (memory, events, timers, sockets, threads) is linked on the
 * workload's resource list, so an exit - returned, pal_exit, or a restart
 * - gives all of it back; the next run starts clean.  Threads run on the
 * scheduler of pal/sched.h in the workload's group (rt_app.gen), the
 * supervisor thread in group 0.
 */
#ifndef TERN_PAL_RT_H
#define TERN_PAL_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pal/pal.h"
#include "pal/pkg.h"
#include "pal/sched.h"
#include "pal/txref.h"

struct netstack;

/* RT_BUF: a socket buffer lent to the workload (rt_sock.c), reclaimed
   with rt_buf_reclaim at exit. */
enum rt_kind { RT_MEM = 1, RT_EVENT, RT_TIMER, RT_SOCK, RT_THREAD, RT_BUF };

/* A node on the workload's resource list. */
struct rt_res {
	struct rt_res *prev, *next;
	int kind;
};

#define RT_ARGV_MAX 16

struct rt_app {
	struct pkg pkg;
	char name[32];
	uint32_t gen;			/* sched group of the current run */
	void *image;			/* image_alloc region, reused on restart */
	size_t span;
	uintptr_t entry;
	int argc;
	const char *argv[RT_ARGV_MAX + 1];
	char argbuf[256];
	size_t mem_used;
	struct rt_res res;		/* list head */
	bool running;
	int code;			/* exit code of the last run */
	/* The last run ended by a CPU exception in its own code (rt.c
	   rt_exception): vector, faulting rip, cr2 for page faults. */
	bool faulted;
	int fault_vector;
	uint64_t fault_rip, fault_cr2;
	/* send_ref references into the run's memory still held by the
	   netstack or a NIC (rt_sock.c takes and puts them). */
	struct txref txref;
	struct sched_event exited;
	bool ready;			/* TERN READY printed for this run */
	bool listening;			/* a listener on the manifest port */
	/* Timers run on a workload thread (created with the first timer). */
	struct sched_event timers_changed;
	bool timer_thread;
	unsigned restarts;
};

struct rt_stats {
	uint64_t threads, thread_fail, stacks_made, stacks_reused;
	uint64_t mem_fail, mem_bad_free;
	uint64_t accept_overflow, rx_overflow, rx_copied, tx_copied;
	uint64_t rx_lent;		/* received bytes lent in the driver's buffer */
	uint64_t rx_chunk_allocs;	/* receive chunks from kmalloc (not the cache) */
	uint64_t send_ref_bytes, socks;
	uint64_t timer_fires, restarts;
	uint64_t faults, image_abandoned;
};

extern struct sched rt_sched;
extern struct rt_app rt_app;
extern struct rt_stats rt_stats;
extern struct netstack *rt_ns;		/* NULL without a NIC */
extern const struct pal_api rt_api;

/* rt.c */
void rt_own(struct rt_res *r, int kind);
void rt_buf_reclaim(struct rt_res *r);
void rt_disown(struct rt_res *r);
void rt_net_up(void);			/* pal_net.c: address configured */
void rt_listening(uint16_t port);	/* rt_sock.c: a listener exists */
void rt_exit(int code) __attribute__((noreturn));
bool rt_in_workload(void);		/* called from a workload thread */

/* rt_sock.c: the socket half of struct pal_api, and cleanup. */
int rt_tcp_listen(uint16_t port, int backlog, pal_sock_t **out);
int rt_tcp_accept(pal_sock_t *l, pal_time_t deadline, pal_sock_t **out,
    struct pal_addr *peer);
int rt_tcp_connect(const struct pal_addr *dst, pal_time_t deadline,
    pal_sock_t **out);
int rt_udp_bind(uint16_t port, pal_sock_t **out);
int rt_sock_recv_buf(pal_sock_t *s, pal_time_t deadline, struct pal_buf *out,
    struct pal_addr *from);
void rt_buf_free(struct pal_buf *b);
int rt_buf_alloc(pal_sock_t *s, size_t size, struct pal_buf *out);
int rt_sock_send_buf(pal_sock_t *s, struct pal_buf *b, const struct pal_addr *to);
long rt_sock_send_ref(pal_sock_t *s, const void *data, size_t len,
    pal_time_t deadline);
long rt_sock_recv(pal_sock_t *s, void *buf, size_t len, pal_time_t deadline);
long rt_sock_send(pal_sock_t *s, const void *data, size_t len,
    pal_time_t deadline);
int rt_sock_wait_writable(pal_sock_t *s, pal_time_t deadline);
void rt_sock_close(pal_sock_t *s);
void rt_sock_abort(pal_sock_t *s);
/* Frees a socket at workload exit (aborting its connection). */
void rt_sock_destroy(pal_sock_t *s);

/* pal_net.c: interrupt-to-poll switching (NAPI-style).  The NIC's
   receive interrupts are on only while the loop sleeps: pal_net_poll
   (the scheduler's poll) turns them off on the first pass that finds
   work after a sleep, pal_net_sleep_prepare (the scheduler's idle, just
   before halting) turns them on and polls once more for what arrived in
   between, returning that work (halt only when 0). */
int pal_net_poll(void);
int pal_net_sleep_prepare(void);
struct pal_net_stats {
	uint64_t intr_arms;	/* interrupts turned on before a sleep */
	uint64_t intr_disarms;	/* turned off on the first busy pass */
	uint64_t late_work;	/* work found after arming: no sleep */
};
extern struct pal_net_stats pal_net_stats;

/* pal_cloud.c: the metadata clients (cloud=aws|azure; no-ops without). */
void pal_cloud_net_up(struct netstack *ns);	/* pal_net.c on_up */
void pal_cloud_poll(void);			/* the scheduler's poll */
/* Supervisor, before the first start: bounded wait for metadata, then
   user data applied to m; bad user data ends the boot (TERN FAIL
   stage=config) after a NotReady report on Azure. */
void pal_cloud_configure(struct pkg_manifest *m);
void pal_cloud_ready(void);			/* TERN READY printed */
void pal_cloud_failed(const char *reason);	/* exited before READY */

#endif
