/*
 * sched.c - the cooperative scheduler of sched.h.  The context switch
 * saves only what the SysV ABI makes callee-saved (rbx, rbp, r12-r15 and
 * rsp): threads switch only inside a call to this file, and the kernel
 * has no vector state, so nothing else is live.
 */
#include <string.h>

#include "pal/sched.h"

void sched_switch(uint64_t *save_sp, uint64_t new_sp);
void sched_trampoline(void);
void sched_thread_entry(struct sched_thread *t);

__asm__(
	".text\n"
	".globl sched_switch\n"
	".type sched_switch,@function\n"
	"sched_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size sched_switch, .-sched_switch\n"
	/* First switch into a thread lands here with the thread in r12 and
	   rsp 16-byte aligned, so the call below enters C as the ABI wants. */
	".globl sched_trampoline\n"
	".type sched_trampoline,@function\n"
	"sched_trampoline:\n"
	"	movq %r12, %rdi\n"
	"	call sched_thread_entry\n"
	"	ud2\n"
	".size sched_trampoline, .-sched_trampoline\n");

static void
enqueue(struct sched *s, struct sched_thread *t)
{
	t->state = SCHED_READY;
	t->next = NULL;
	if (s->tail != NULL)
		s->tail->next = t;
	else
		s->head = t;
	s->tail = t;
}

static void
dequeue(struct sched *s, struct sched_thread *t)
{
	struct sched_thread *prev = NULL;
	for (struct sched_thread *q = s->head; q != NULL; prev = q, q = q->next) {
		if (q != t)
			continue;
		if (prev != NULL)
			prev->next = q->next;
		else
			s->head = q->next;
		if (s->tail == q)
			s->tail = prev;
		return;
	}
}

void
sched_init(struct sched *s, uint64_t (*now)(void *), int (*poll)(void *),
    void (*idle)(void *, uint64_t), void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->now = now;
	s->poll = poll;
	s->idle = idle;
	s->ctx = ctx;
}

void
sched_thread_init(struct sched *s, struct sched_thread *t, void *stack,
    size_t size, void (*fn)(void *), void *arg, uint32_t group)
{
	uint64_t top = ((uint64_t)(uintptr_t)stack + size) & ~(uint64_t)15;
	/* Six saved registers and the return address, 16 below the top. */
	uint64_t *sp = (uint64_t *)(uintptr_t)(top - 72);

	memset(t, 0, sizeof(*t));
	memset(sp, 0, 72);
	sp[3] = (uint64_t)(uintptr_t)t;			/* r12 */
	sp[6] = (uint64_t)(uintptr_t)sched_trampoline;	/* return address */
	t->sp = (uint64_t)(uintptr_t)sp;
	t->fn = fn;
	t->arg = arg;
	t->group = group;
	t->s = s;
	t->all = s->all;
	s->all = t;
	enqueue(s, t);
}

/* Back to sched_run; returns when this thread is picked again. */
static void
to_sched(struct sched *s)
{
	struct sched_thread *t = s->cur;
	s->switches++;
	sched_switch(&t->sp, s->main_sp);
}

void
sched_thread_entry(struct sched_thread *t)
{
	t->fn(t->arg);
	sched_exit(t->s);
}

void
sched_exit(struct sched *s)
{
	s->cur->state = SCHED_DONE;
	to_sched(s);
	__builtin_unreachable();
}

/* Wakes waiters whose deadline passed; returns the earliest remaining.
   s->next_deadline is never later than the earliest deadline of a
   waiting thread (a wait lowers it, the walk sets it), so before it
   there is nothing to walk for. */
static uint64_t
wake_expired(struct sched *s)
{
	uint64_t now = s->now(s->ctx), next = SCHED_FOREVER;

	if (now < s->next_deadline)
		return s->next_deadline;
	for (struct sched_thread *t = s->all; t != NULL; t = t->all) {
		if (t->state != SCHED_WAITING)
			continue;
		if (t->deadline <= now) {
			t->timed_out = true;
			enqueue(s, t);
		} else if (t->deadline < next) {
			next = t->deadline;
		}
	}
	s->next_deadline = next;
	return next;
}

static void
set_deadline(struct sched *s, struct sched_thread *t, uint64_t deadline)
{
	t->deadline = deadline;
	if (deadline < s->next_deadline)
		s->next_deadline = deadline;
}

/* Unlinks finished threads and hands them to the reap hook. */
static int
reap(struct sched *s)
{
	int live = 0;
	for (struct sched_thread **pp = &s->all; *pp != NULL;) {
		struct sched_thread *t = *pp;
		if (t->state == SCHED_DONE) {
			*pp = t->all;
			if (s->reap != NULL)
				s->reap(s->ctx, t);
			continue;
		}
		live++;
		pp = &t->all;
	}
	return live;
}

static void
service(struct sched *s)
{
	s->since_service = 0;
	if (s->service == NULL)
		return;
	s->services++;
	s->service(s->ctx);
}

void
sched_run(struct sched *s)
{
	bool ran = false;
	while (!s->stop) {
		/* A round after a thread ran that finds nothing runnable skips
		   the poll when the idle hook looks for work itself: the hook's
		   check (cheaper than a pass) stands in for it. */
		int work = 0;
		if (s->poll != NULL && !(ran && s->idle_checks && s->head == NULL)) {
			work = s->poll(s->ctx);
			s->polls++;
		}
		ran = false;
		if (++s->since_service >= SCHED_SERVICE_ROUNDS)
			service(s);
		uint64_t next = wake_expired(s);
		struct sched_thread *t = s->head;
		if (t == NULL) {
			/* Threads that ended were reaped when they switched
			   back; only sched_kill_group leaves any behind. */
			if (s->reap_due) {
				s->reap_due = false;
				reap(s);
			}
			if (s->all == NULL)
				return;
			if (work == 0) {
				s->idles++;
				s->idle(s->ctx, next);
				service(s);
			}
			continue;
		}
		s->head = t->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->cur = t;
		sched_switch(&s->main_sp, t->sp);
		s->cur = NULL;
		ran = true;
		if (t->state == SCHED_DONE)
			reap(s);
	}
}

void
sched_yield(struct sched *s)
{
	enqueue(s, s->cur);
	to_sched(s);
}

void
sched_sleep_until(struct sched *s, uint64_t deadline)
{
	struct sched_thread *t = s->cur;
	t->ev = NULL;
	set_deadline(s, t, deadline);
	t->state = SCHED_WAITING;
	to_sched(s);
}

int
sched_wait(struct sched *s, struct sched_event *ev, uint64_t deadline)
{
	struct sched_thread *t = s->cur;
	if (ev->set)
		return 0;
	t->ev = ev;
	set_deadline(s, t, deadline);
	t->timed_out = false;
	t->state = SCHED_WAITING;
	ev->waiting++;
	ev->waiter = t;
	to_sched(s);
	ev->waiting--;
	if (ev->waiter == t)
		ev->waiter = NULL;
	t->ev = NULL;
	return t->timed_out ? -1 : 0;
}

void
sched_event_set(struct sched *s, struct sched_event *ev)
{
	ev->set = true;
	if (ev->waiting == 0)
		return;
	struct sched_thread *w = ev->waiter;
	if (ev->waiting == 1 && w != NULL && w->state == SCHED_WAITING && w->ev == ev) {
		w->timed_out = false;
		enqueue(s, w);
		return;
	}
	for (struct sched_thread *t = s->all; t != NULL; t = t->all) {
		if (t->state == SCHED_WAITING && t->ev == ev) {
			t->timed_out = false;
			enqueue(s, t);
		}
	}
}

int
sched_kill_group(struct sched *s, uint32_t group)
{
	int n = 0;
	for (struct sched_thread *t = s->all; t != NULL; t = t->all) {
		if (t->group != group || t == s->cur || t->state == SCHED_DONE)
			continue;
		if (t->state == SCHED_READY)
			dequeue(s, t);
		/* Its struct may be freed once reaped: no event names it. */
		if (t->state == SCHED_WAITING && t->ev != NULL && t->ev->waiter == t)
			t->ev->waiter = NULL;
		t->state = SCHED_DONE;
		n++;
	}
	if (s->cur == NULL)
		reap(s);
	else if (n > 0)
		s->reap_due = true;
	return n;
}

int
sched_live(const struct sched *s)
{
	int n = 0;
	for (const struct sched_thread *t = s->all; t != NULL; t = t->all)
		n += t->state != SCHED_DONE;
	return n;
}
