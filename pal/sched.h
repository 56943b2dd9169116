/*
 * sched.h - the PAL's cooperative scheduler.  Portable (kernel and host
 * tests): the caller provides thread structs and stacks (the kernel's come
 * from stack_alloc, with a guard page below), a clock, a poll hook (the
 * kernel polls the NIC and netstack there) and an idle hook (the kernel
 * halts until the next interrupt).  One CPU; a thread runs until it
 * yields, sleeps, waits or ends.  The run queue is FIFO, so every
 * runnable thread runs once before any runs twice.
 */
#ifndef TERN_PAL_SCHED_H
#define TERN_PAL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_FOREVER UINT64_MAX

struct sched;

/* A level-triggered flag: set wakes every waiter; it stays set until
   cleared. */
struct sched_event {
	bool set;
	/* Threads inside sched_wait on it: never below the truth (a thread
	   killed while waiting leaves it one high), so 0 lets
	   sched_event_set skip the walk over every thread. */
	uint32_t waiting;
	/* The thread that last began to wait on it, NULL once it stopped
	   waiting (or was killed): when waiting is 1 and it still waits
	   here, the only one to wake. */
	struct sched_thread *waiter;
};

enum sched_state { SCHED_READY = 1, SCHED_WAITING, SCHED_DONE };

struct sched_thread {
	uint64_t sp;			/* saved stack pointer */
	enum sched_state state;
	uint64_t deadline;		/* while WAITING; SCHED_FOREVER: none */
	struct sched_event *ev;		/* while WAITING on an event, or NULL */
	bool timed_out;
	void (*fn)(void *);
	void *arg;
	uint32_t group;			/* owner's tag (sched_kill_group) */
	struct sched *s;
	struct sched_thread *next;	/* run queue link */
	struct sched_thread *all;	/* every live thread */
};

struct sched {
	struct sched_thread *head, *tail, *all, *cur;
	uint64_t main_sp;
	uint64_t (*now)(void *ctx);
	/* Called every round before a thread is picked: returns work done
	   (device and protocol processing happens here). May be NULL. */
	int (*poll)(void *ctx);
	/* Nothing runnable: sleep until about `deadline` (SCHED_FOREVER: the
	   next event).  MAY return early; MUST NOT oversleep by much. */
	void (*idle)(void *ctx, uint64_t deadline);
	/* The idle hook returns at once when work is waiting (the kernel's
	   asks the NIC whether frames came in): then a round that ran a
	   thread and left nothing runnable goes straight to it, without a
	   poll.  Work the poll would have found and the idle check does not
	   look for (transmit completions) waits for the next poll. */
	bool idle_checks;
	/* A thread ended (or was killed) and left the scheduler: its stack and
	   struct may be reused.  May be NULL. */
	void (*reap)(void *ctx, struct sched_thread *t);
	/* Housekeeping that is not the NIC (host messages on a bus: a
	   rescinded or newly offered device): called after every idle and
	   after at most SCHED_SERVICE_ROUNDS rounds when the loop never
	   idles, so a busy guest still hears its host.  May be NULL. */
	void (*service)(void *ctx);
	void *ctx;
	bool stop;			/* sched_run returns at the next round */
	uint32_t since_service;		/* rounds since the last service call */
	uint64_t next_deadline;		/* wake_expired: nothing waits for less */
	bool reap_due;			/* killed threads wait to be reaped */
	uint64_t switches, idles, services, polls;
};

#define SCHED_SERVICE_ROUNDS	64

void sched_init(struct sched *s, uint64_t (*now)(void *), int (*poll)(void *),
    void (*idle)(void *, uint64_t), void *ctx);
/* Makes t runnable on stack[0..size) running fn(arg) in `group`. */
void sched_thread_init(struct sched *s, struct sched_thread *t, void *stack,
    size_t size, void (*fn)(void *), void *arg, uint32_t group);
/* Runs threads until none is left or s->stop is set.  Called from the
   boot context, never from a thread. */
void sched_run(struct sched *s);

/* From a thread. */
void sched_yield(struct sched *s);
void sched_sleep_until(struct sched *s, uint64_t deadline);
/* 0 when the event is (or becomes) set, -1 when the deadline passes. */
int sched_wait(struct sched *s, struct sched_event *ev, uint64_t deadline);
/* Ends the calling thread.  Does not return. */
void sched_exit(struct sched *s) __attribute__((noreturn));

/* From a thread, a poll/idle hook or a timer. */
void sched_event_set(struct sched *s, struct sched_event *ev);
static inline void sched_event_clear(struct sched_event *ev) { ev->set = false; }
/* Ends every thread of `group` except the caller's own (which must then
   call sched_exit): they are dropped wherever they wait and reaped.
   Returns how many were ended. */
int sched_kill_group(struct sched *s, uint32_t group);
/* Threads not yet reaped, all groups. */
int sched_live(const struct sched *s);

#endif /* TERN_PAL_SCHED_H */
