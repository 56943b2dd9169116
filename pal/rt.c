/*
 * rt.c - the hosted runtime: loads the workload package the loader put in
 * memory, runs the workload on the PAL scheduler and supervises it.
 *
 *   rt_run (boot context, never returns)
 *     package: bootinfo module (app= picks one by name) -> pkg_parse ->
 *              elf_load_check; any defect: TERN FAIL stage=app reason=<r>
 *     scheduler loop: poll = NIC + netstack, idle = hlt until the next
 *              interrupt (NIC or the 1 kHz tick)
 *     supervisor thread (group 0):
 *       load the ELF into its image region (RW), relocate, then set page
 *       permissions per segment (text RX, data RW NX, rodata R)
 *       TERN APP_START, run pal_main on a workload thread (group gen)
 *       wait for the exit -> TERN APP_EXIT, free everything the run made
 *       (sockets first, then wait - bounded - for the NIC to give back
 *       every send_ref frame pointing into the run's memory, then the
 *       rest; on timeout that memory and the image region are abandoned)
 *       restart per policy after backoff_ms (doubling up to
 *       backoff_max_ms; reset after a run longer than backoff_max_ms),
 *       else power off.
 *
 * TERN READY port=<p> is printed once per run when the address is
 * configured and the workload listens on the manifest's port.
 *
 * A CPU exception in the workload's own code (rip inside its image, on
 * one of its threads) ends the run like pal_exit does: rt_exception is
 * the kernel's exception_hook; it records the fault and leaves the
 * faulting thread through rt_exit, which switches to the scheduler and
 * never returns to the trap frame.  Faults in kernel code, also inside
 * PAL calls, are not taken and panic.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/kernel.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "netstack/netstack.h"
#include "pal/elf_load.h"
#include "pal/entropy.h"
#include "pal/pal_boot.h"
#include "pal/rt.h"

struct sched rt_sched;
struct rt_app rt_app;
struct rt_stats rt_stats;
struct netstack *rt_ns;
static bool net_up;

#define MS 1000000ULL
#define MAIN_STACK (256u << 10)
/* How long an exit waits for the NIC to give back send_ref frames. */
#define TXREF_WAIT (2000 * MS)
#define RFLAGS_IF (1ULL << 9)

void
rt_own(struct rt_res *r, int kind)
{
	struct rt_res *h = &rt_app.res;
	r->kind = kind;
	r->next = h->next;
	r->prev = h;
	h->next->prev = r;
	h->next = r;
}

void
rt_disown(struct rt_res *r)
{
	if (r->next == NULL)
		return;
	r->prev->next = r->next;
	r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

bool
rt_in_workload(void)
{
	return rt_sched.cur != NULL && rt_sched.cur->group == rt_app.gen &&
	    rt_app.running;
}

static void
check_ready(void)
{
	if (rt_app.ready || !net_up || !rt_app.listening || !rt_app.running)
		return;
	rt_app.ready = true;
	marker("READY port=%u", rt_app.pkg.m.listen_port);
	pal_cloud_ready();
	log_info("pal", "ready %llu ms after the loader started",
	    (unsigned long long)(time_now_ns() / MS));
	if (kernel.cmdline.exit_after == CMDLINE_EXIT_READY)
		machine_exit(EXIT_READY);
}

void
rt_net_up(void)
{
	net_up = true;
	check_ready();
}

void
rt_listening(uint16_t port)
{
	if (port != 0 && port == rt_app.pkg.m.listen_port) {
		rt_app.listening = true;
		check_ready();
	}
}

/* Ends the current run from one of its threads. */
void
rt_exit(int code)
{
	rt_app.code = code;
	rt_app.running = false;
	sched_kill_group(&rt_sched, rt_app.gen);
	sched_event_set(&rt_sched, &rt_app.exited);
	sched_exit(&rt_sched);
}

/* exception_hook (kernel/panic.h): runs in the trap handler, interrupts
   off, on the faulting thread's stack or the vector's IST stack. */
static void
rt_exception(const struct exc_info *ei)
{
	uint64_t base = (uint64_t)(uintptr_t)rt_app.image;
	if (!rt_in_workload() || ei->rip < base || ei->rip - base >= rt_app.span)
		return;		/* kernel code (a PAL call too): panic */
	/* NMI, double fault and machine check say nothing about the
	   workload's code; the kernel's state is suspect. */
	if (ei->vector == 2 || ei->vector == 8 || ei->vector == 18)
		return;
	rt_app.faulted = true;
	rt_app.fault_vector = ei->vector;
	rt_app.fault_rip = ei->rip;
	rt_app.fault_cr2 = ei->vector == 14 ? ei->cr2 : 0;
	rt_stats.faults++;
	log_error("pal", "%s: %s (vector %d, error 0x%llx) at image+0x%llx, "
	    "rsp 0x%llx", rt_app.name, ei->name, ei->vector,
	    (unsigned long long)ei->error, (unsigned long long)(ei->rip - base),
	    (unsigned long long)ei->rsp);
	if (ei->vector == 14)
		log_error("pal", "%s: page fault at 0x%llx: %s %s%s", rt_app.name,
		    (unsigned long long)ei->cr2,
		    (ei->error & 1) ? "protection violation" : "not present",
		    (ei->error & 2) ? "on write" : "on read",
		    (ei->error & 16) ? " (instruction fetch)" : "");
	/* The exception came in through an interrupt gate (IF cleared) and
	   is never returned from with iretq: give the scheduler its
	   interrupts back before leaving this context for good. */
	if (ei->rflags & RFLAGS_IF)
		intr_enable();
	rt_exit(-1);
}

static void
app_main(void *arg)
{
	(void)arg;
	pal_entry_fn entry = (pal_entry_fn)rt_app.entry;
	rt_exit(entry(&rt_api, rt_app.argc, rt_app.argv));
}

/* Page permissions: the union of the segments covering each page. */
struct prot_ctx {
	uint8_t *flags;		/* per page, or NULL: apply directly */
	size_t npages;
};

static void
seg_flags(void *ctx, uint64_t vaddr, uint64_t memsz, uint32_t f)
{
	struct prot_ctx *p = ctx;
	for (uint64_t pg = vaddr / 4096; pg < (vaddr + memsz + 4095) / 4096 &&
	    pg < p->npages; pg++)
		p->flags[pg] |= (uint8_t)f;
}

static int
protect_image(void)
{
	struct prot_ctx p = { NULL, rt_app.span / 4096 };
	p.flags = kzalloc(p.npages);
	if (p.flags == NULL)
		return -1;
	const struct pkg_ent *e = rt_app.pkg.elf;
	elf_segments(e->data, e->len, seg_flags, &p);
	int rc = 0, wx = 0;
	for (size_t i = 0; i < p.npages && rc == 0; i++) {
		bool w = p.flags[i] & ELF_PF_W, x = p.flags[i] & ELF_PF_X;
		wx += w && x;
		rc = image_protect((uint8_t *)rt_app.image + i * 4096, 4096, w, x);
	}
	if (wx > 0)
		log_warn("pal", "%s: %d page(s) both writable and executable "
		    "(segments share pages; link with -z separate-code)", rt_app.name, wx);
	kfree(p.flags);
	if (rc == 0)
		vm_wx_check("app");	/* the text's direct-map alias is read-only */
	return rc;
}

static void
app_start(void)
{
	const struct pkg_ent *e = rt_app.pkg.elf;
	const char *reason = "image_protect";

	if (image_protect(rt_app.image, rt_app.span, true, false) != 0 ||
	    elf_load(e->data, e->len, rt_app.image, rt_app.span, &rt_app.entry,
	    &reason) != 0 || protect_image() != 0)
		fail("app", reason);
	rt_app.gen++;
	rt_app.running = true;
	rt_app.ready = false;
	rt_app.listening = false;
	rt_app.mem_used = 0;
	rt_app.timer_thread = false;
	rt_app.faulted = false;
	sched_event_clear(&rt_app.exited);
	marker("APP_START name=%s", rt_app.name);
	/* No listener expected: started is as ready as it gets. */
	if (rt_app.pkg.m.listen_port == 0)
		pal_cloud_ready();
	/* Detached: app_main ends the run instead of returning. */
	if (rt_api.thread_create(app_main, NULL, MAIN_STACK, NULL) != 0)
		fail("app", "no_memory_for_thread");
	/* ptfail=N (test hook): the run may make N page-table pages. */
	if (kernel.cmdline.ptfail >= 0)
		vm_pt_fail_after(kernel.cmdline.ptfail);
}

/* Sockets go first: aborting their connections makes the netstack give
   back every reference it holds itself.  Frames still in a NIC's TX ring
   come back when the NIC completes them; until then nothing they point
   into (the image, the run's allocations) may be reused or freed.  Gives
   up after TXREF_WAIT: that memory is then never reused (the allocations
   stay allocated, the next run gets a fresh image region). */
static void
app_cleanup(void)
{
	unsigned n[RT_BUF + 1] = { 0 };
	for (;;) {
		/* From the head each time: destroying a listener can free the
		   connections queued on it. */
		struct rt_res *r = rt_app.res.next;
		while (r != &rt_app.res && r->kind != RT_SOCK)
			r = r->next;
		if (r == &rt_app.res)
			break;
		rt_disown(r);
		n[RT_SOCK]++;
		rt_sock_destroy((pal_sock_t *)r);
	}
	uint64_t t0 = time_now_ns();
	uint32_t out = rt_app.txref.out;
	uint32_t left = txref_drain(&rt_sched, &rt_app.txref, t0 + TXREF_WAIT);
	bool abandon = left > 0;
	if (abandon) {
		log_warn("pal", "%s: gave up after %llu ms waiting for the NIC to "
		    "release %u of %u send_ref frames into the workload's memory; "
		    "its image region and allocations are abandoned", rt_app.name,
		    (unsigned long long)(TXREF_WAIT / MS), left, out);
	} else if (out > 0) {
		log_info("pal", "%s: waited %llu ms for the NIC to release %u "
		    "send_ref frames", rt_app.name,
		    (unsigned long long)((time_now_ns() - t0) / MS), out);
	}
	while (rt_app.res.next != &rt_app.res) {
		struct rt_res *r = rt_app.res.next;
		rt_disown(r);
		if (r->kind > 0 && r->kind <= RT_BUF)
			n[r->kind]++;
		if (r->kind == RT_BUF)
			rt_buf_reclaim(r);	/* gives back a held driver buffer */
		else if (r->kind != RT_MEM || !abandon)
			kfree(r);	/* the header of every other kind */
	}
	log_info("pal", "%s: freed %u allocations (%zu bytes), %u events, "
	    "%u timers, %u sockets, %u threads, %u buffers", rt_app.name, n[RT_MEM],
	    rt_app.mem_used, n[RT_EVENT], n[RT_TIMER], n[RT_SOCK], n[RT_THREAD],
	    n[RT_BUF]);
	rt_app.mem_used = 0;
	if (abandon) {
		rt_stats.image_abandoned++;
		rt_app.image = image_alloc(rt_app.span);
		if (rt_app.image == NULL)
			fail("app", "no_memory_for_image");
	}
}

static void build_argv(void);

static void
supervisor(void *arg)
{
	(void)arg;
	const struct pkg_manifest *m = &rt_app.pkg.m;
	uint64_t backoff = (uint64_t)m->backoff_ms * MS;
	/* cloud=: metadata and user data first (bounded; pal_cloud.c). */
	pal_cloud_configure(&rt_app.pkg.m);
	build_argv();
	for (;;) {
		uint64_t started = time_now_ns();
		app_start();
		sched_wait(&rt_sched, &rt_app.exited, SCHED_FOREVER);
		/* The run is over: page-table allocations are not limited
		   outside it (ptfail=). */
		vm_pt_fail_after(-1);
		if (!rt_app.faulted)
			marker("APP_EXIT name=%s code=%d", rt_app.name, rt_app.code);
		else if (rt_app.fault_vector == 14)
			marker("APP_EXIT name=%s reason=fault vector=14 addr=0x%llx "
			    "cr2=0x%llx", rt_app.name,
			    (unsigned long long)rt_app.fault_rip,
			    (unsigned long long)rt_app.fault_cr2);
		else
			marker("APP_EXIT name=%s reason=fault vector=%d addr=0x%llx",
			    rt_app.name, rt_app.fault_vector,
			    (unsigned long long)rt_app.fault_rip);
		/* Azure: a run that ended before TERN READY is a failed start
		   (ignored once a report was made). */
		if (!rt_app.ready) {
			char why[96];
			if (rt_app.faulted)
				ksnprintf(why, sizeof(why), "stage=app reason=fault vector=%d",
				    rt_app.fault_vector);
			else
				ksnprintf(why, sizeof(why), "stage=app reason=exit code=%d",
				    rt_app.code);
			pal_cloud_failed(why);
		}
		app_cleanup();
		/* A fault is a failure (rt_exception exits with -1). */
		bool again = m->restart == PKG_RESTART_ALWAYS ||
		    (m->restart == PKG_RESTART_ON_FAILURE && rt_app.code != 0);
		if (!again) {
			log_info("pal", "%s ended and restart=%s: powering off",
			    rt_app.name, m->restart == PKG_RESTART_NEVER ?
			    "never" : "on-failure");
			machine_exit(EXIT_POWEROFF);
		}
		if (time_now_ns() - started > (uint64_t)m->backoff_max_ms * MS)
			backoff = (uint64_t)m->backoff_ms * MS;
		rt_app.restarts++;
		rt_stats.restarts++;
		log_info("pal", "restarting %s in %llu ms (restart %u)", rt_app.name,
		    (unsigned long long)(backoff / MS), rt_app.restarts);
		sched_sleep_until(&rt_sched, time_now_ns() + backoff);
		backoff *= 2;
		if (backoff > (uint64_t)m->backoff_max_ms * MS)
			backoff = (uint64_t)m->backoff_max_ms * MS;
	}
}

static void
build_argv(void)
{
	const struct pkg_kv *a = &rt_app.pkg.m.args;
	size_t o = 0;
	rt_app.argv[0] = rt_app.name;
	rt_app.argc = 1;
	for (uint32_t i = 0; i < a->vlen && rt_app.argc < RT_ARGV_MAX;) {
		while (i < a->vlen && (a->val[i] == ' ' || a->val[i] == '\t'))
			i++;
		if (i == a->vlen)
			break;
		uint32_t j = i;
		while (j < a->vlen && a->val[j] != ' ' && a->val[j] != '\t')
			j++;
		if (o + (j - i) + 1 > sizeof(rt_app.argbuf)) {
			log_warn("pal", "%s: args longer than %zu bytes truncated",
			    rt_app.name, sizeof(rt_app.argbuf));
			break;
		}
		memcpy(rt_app.argbuf + o, a->val + i, j - i);
		rt_app.argbuf[o + (j - i)] = '\0';
		rt_app.argv[rt_app.argc++] = rt_app.argbuf + o;
		o += (j - i) + 1;
		i = j;
	}
	rt_app.argv[rt_app.argc] = NULL;
}

static void
load_package(void)
{
	const struct tern_bootinfo *bi = kernel.bi;
	const struct tern_module *mod = NULL;
	const char *reason;
	size_t span;

	for (uint32_t i = 0; i < bi->module_count && i < TERN_MAX_MODULES; i++) {
		const struct tern_module *m = &bi->modules[i];
		if (kernel.cmdline.app[0] == '\0' ||
		    strncmp(m->name, kernel.cmdline.app, sizeof(m->name)) == 0) {
			mod = m;
			break;
		}
	}
	if (mod == NULL) {
		log_error("pal", "no workload package%s%s", kernel.cmdline.app[0] ?
		    " named " : " (\\tern\\app.pkg) in the image", kernel.cmdline.app);
		fail("app", "no_package");
	}
	if (pkg_parse(phys_to_virt(mod->phys), mod->size, &rt_app.pkg, &reason) != 0) {
		log_error("pal", "package %.48s (%llu bytes) refused: %s", mod->name,
		    (unsigned long long)mod->size, reason);
		fail("app", reason);
	}
	const struct pkg_ent *e = rt_app.pkg.elf;
	if (elf_load_check(e->data, e->len, &span, &reason) != 0) {
		log_error("pal", "package %.48s: ELF %s refused: %s", mod->name,
		    e->name, reason);
		fail("app", reason);
	}
	const struct pkg_kv *n = &rt_app.pkg.m.name;
	size_t nl = n->vlen < sizeof(rt_app.name) - 1 ? n->vlen : sizeof(rt_app.name) - 1;
	memcpy(rt_app.name, n->val, nl);
	rt_app.name[nl] = '\0';
	rt_app.span = span;
	rt_app.image = image_alloc(span);
	if (rt_app.image == NULL)
		fail("app", "no_memory_for_image");
	build_argv();
	log_info("pal", "workload %s: %u files, image %zu KiB, listen port %u, "
	    "restart %d, memory limit %llu", rt_app.name, rt_app.pkg.nent - 2,
	    span >> 10, rt_app.pkg.m.listen_port, (int)rt_app.pkg.m.restart,
	    (unsigned long long)rt_app.pkg.m.mem_limit);
}

static uint64_t rt_now(void *ctx) { (void)ctx; return time_now_ns(); }

static int
rt_poll(void *ctx)
{
	(void)ctx;
	if (rt_ns == NULL)
		return 0;
	int n = pal_net_poll();
	pal_cloud_poll();	/* nothing unless cloud= started a client */
	return n;
}

/* Nothing runnable: halt until an interrupt (NIC, or the 1 kHz tick that
   bounds every deadline's lateness to about a millisecond). */
static void
rt_idle(void *ctx, uint64_t deadline)
{
	(void)ctx;
	if (deadline != SCHED_FOREVER && time_now_ns() >= deadline)
		return;
	if (pal_net_sleep_prepare() > 0)
		return;		/* frames came in before the interrupt was on */
	cpu_idle();
}

void (*rt_service_hook)(void);

static void
rt_service(void *ctx)
{
	(void)ctx;
	if (rt_service_hook != NULL)
		rt_service_hook();
}

void rt_thread_reaped(struct sched_thread *st);	/* rt_api.c */

static void
rt_reap(void *ctx, struct sched_thread *st)
{
	(void)ctx;
	if (st->group != 0)
		rt_thread_reaped(st);
}

void
rt_run(void)
{
	static struct sched_thread sup;

	rt_app.res.next = rt_app.res.prev = &rt_app.res;
	txref_init(&rt_app.txref);
	sched_init(&rt_sched, rt_now, rt_poll, rt_idle, NULL);
	rt_sched.reap = rt_reap;
	rt_sched.idle_checks = true;	/* rt_idle: pal_net_sleep_prepare */
	rt_sched.service = rt_service;
	entropy_init();
	load_package();
	uint64_t top = stack_alloc(64u << 10);
	if (top == 0)
		fail("app", "no_memory_for_thread");
	sched_thread_init(&rt_sched, &sup, (void *)(top - (64u << 10)), 64u << 10,
	    supervisor, NULL, 0);
	exception_hook = rt_exception;
	sched_run(&rt_sched);
	panic("pal: scheduler loop ended");
}
