/*
 * rt_api.c - struct pal_api for the kernel: memory, clocks, threads,
 * events, timers, files, configuration, entropy, logging and counters
 * (sockets are in rt_sock.c).  Every handle is checked before use where a
 * check is cheap (a magic in each header); a workload passing garbage gets
 * -PAL_EINVAL and a counter, not a kernel crash - though a workload runs
 * in the kernel's address space and can corrupt anything it likes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/blk.h"
#include "kernel/dev/nic.h"
#include "kernel/heap.h"
#include "kernel/intr.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/time.h"
#include "netstack/netstack.h"
#include "pal/entropy.h"
#include "pal/rt.h"

#define MEM_MAGIC	0x6d656d21u	/* "mem!" */
#define EV_MAGIC	0x65766e74u
#define TM_MAGIC	0x746d7221u
#define STACK_DEFAULT	(64u << 10)
#define STACK_MAX	(8u << 20)

/* ---- memory ---------------------------------------------------------- */

struct rt_mem {
	struct rt_res res;
	uint32_t magic;
	size_t size;
} __attribute__((aligned(16)));

static void *
api_mem_alloc(size_t size)
{
	const struct pkg_manifest *m = &rt_app.pkg.m;
	if (size == 0)
		size = 1;
	if (size > (1ULL << 40) || (m->mem_limit != 0 &&
	    rt_app.mem_used + size > m->mem_limit)) {
		rt_stats.mem_fail++;
		return NULL;
	}
	struct rt_mem *h = kmalloc_aligned(sizeof(*h) + size, 16);
	if (h == NULL) {
		rt_stats.mem_fail++;
		return NULL;
	}
	h->magic = MEM_MAGIC;
	h->size = size;
	rt_own(&h->res, RT_MEM);
	rt_app.mem_used += size;
	memset(h + 1, 0, size);
	return h + 1;
}

static void
api_mem_free(void *p)
{
	if (p == NULL)
		return;
	struct rt_mem *h = (struct rt_mem *)p - 1;
	if (((uintptr_t)p & 15) != 0 || h->magic != MEM_MAGIC || h->res.next == NULL) {
		rt_stats.mem_bad_free++;
		log_error("pal", "%s: mem_free of %p that mem_alloc did not return "
		    "(or freed twice): ignored", rt_app.name, p);
		return;
	}
	h->magic = 0;
	rt_disown(&h->res);
	rt_app.mem_used -= h->size;
	kfree(h);
}

static void
api_mem_stats(size_t *used, size_t *limit)
{
	if (used != NULL)
		*used = rt_app.mem_used;
	if (limit != NULL)
		*limit = rt_app.pkg.m.mem_limit;
}

/* ---- clocks ---------------------------------------------------------- */

static pal_time_t api_clock_monotonic(void) { return time_now_ns(); }
static pal_time_t api_clock_wall(void) { return 0; }	/* no RTC/NTP yet */

/* ---- threads --------------------------------------------------------- */

struct pal_thread {
	struct rt_res res;
	struct sched_thread st;
	uint64_t stack_top;
	size_t stack_size;
	pal_thread_fn fn;
	void *arg;
	struct sched_event done;
	bool detached;
};

/* Freed stacks, reused by size (stack_alloc has no free).  The node lives
   at the bottom of the stack it describes. */
struct rt_stack {
	struct rt_stack *next;
	uint64_t top;
	size_t size;
};
static struct rt_stack *stack_pool;

static uint64_t
stack_get(size_t size)
{
	for (struct rt_stack **pp = &stack_pool; *pp != NULL; pp = &(*pp)->next) {
		struct rt_stack *s = *pp;
		if (s->size == size) {
			*pp = s->next;
			rt_stats.stacks_reused++;
			return s->top;
		}
	}
	uint64_t top = stack_alloc(size);
	if (top != 0)
		rt_stats.stacks_made++;
	return top;
}

static void
stack_put(uint64_t top, size_t size)
{
	struct rt_stack *s = (struct rt_stack *)(uintptr_t)(top - size);
	s->top = top;
	s->size = size;
	s->next = stack_pool;
	stack_pool = s;
}

static void
thread_main(void *arg)
{
	pal_thread_t *t = arg;
	t->fn(t->arg);
}

void rt_thread_reaped(struct sched_thread *st);
void
rt_thread_reaped(struct sched_thread *st)
{
	pal_thread_t *t = (pal_thread_t *)((char *)st - offsetof(pal_thread_t, st));
	stack_put(t->stack_top, t->stack_size);
	t->stack_top = 0;
	sched_event_set(&rt_sched, &t->done);
	if (t->detached) {
		rt_disown(&t->res);
		kfree(t);
	}
}

static int
api_thread_create(pal_thread_fn fn, void *arg, size_t stack_size,
    pal_thread_t **out)
{
	if (fn == NULL || stack_size > STACK_MAX)
		return -PAL_EINVAL;
	size_t size = stack_size == 0 ? STACK_DEFAULT :
	    (stack_size + 4095) & ~(size_t)4095;
	pal_thread_t *t = kzalloc(sizeof(*t));
	uint64_t top = t != NULL ? stack_get(size) : 0;
	if (top == 0) {
		kfree(t);
		rt_stats.thread_fail++;
		return -PAL_ENOMEM;
	}
	t->stack_top = top;
	t->stack_size = size;
	t->fn = fn;
	t->arg = arg;
	t->detached = out == NULL;
	rt_own(&t->res, RT_THREAD);
	sched_thread_init(&rt_sched, &t->st, (void *)(uintptr_t)(top - size), size,
	    thread_main, t, rt_app.gen);
	rt_stats.threads++;
	if (out != NULL)
		*out = t;
	return 0;
}

static int
api_thread_join(pal_thread_t *t)
{
	if (t == NULL || t->detached || t->res.next == NULL || &t->st == rt_sched.cur)
		return -PAL_EINVAL;
	sched_wait(&rt_sched, &t->done, SCHED_FOREVER);
	rt_disown(&t->res);
	kfree(t);
	return 0;
}

static void api_yield(void) { sched_yield(&rt_sched); }

static void
api_sleep(pal_time_t ns)
{
	uint64_t now = time_now_ns();
	sched_sleep_until(&rt_sched, ns >= SCHED_FOREVER - now ? SCHED_FOREVER : now + ns);
}

static void api_exit(int code) { rt_exit(code); }

/* ---- events ---------------------------------------------------------- */

struct pal_event {
	struct rt_res res;
	uint32_t magic;
	struct sched_event ev;
};

static bool
ev_ok(pal_event_t *e)
{
	return e != NULL && e->magic == EV_MAGIC;
}

static int
api_event_create(pal_event_t **out)
{
	if (out == NULL)
		return -PAL_EINVAL;
	pal_event_t *e = kzalloc(sizeof(*e));
	if (e == NULL)
		return -PAL_ENOMEM;
	e->magic = EV_MAGIC;
	rt_own(&e->res, RT_EVENT);
	*out = e;
	return 0;
}

static void
api_event_destroy(pal_event_t *e)
{
	if (!ev_ok(e))
		return;
	/* Waiters are woken (their wait reports success) before it goes. */
	sched_event_set(&rt_sched, &e->ev);
	e->magic = 0;
	rt_disown(&e->res);
	kfree(e);
}

static void api_event_set(pal_event_t *e) { if (ev_ok(e)) sched_event_set(&rt_sched, &e->ev); }
static void api_event_clear(pal_event_t *e) { if (ev_ok(e)) sched_event_clear(&e->ev); }

static int
api_event_wait(pal_event_t *e, pal_time_t deadline)
{
	if (!ev_ok(e))
		return -PAL_EINVAL;
	return sched_wait(&rt_sched, &e->ev, deadline) == 0 ? 0 : -PAL_ETIMEDOUT;
}

/* ---- timers: run on one workload thread ------------------------------ */

struct pal_timer {
	struct rt_res res;
	uint32_t magic;
	pal_timer_fn fn;
	void *arg;
	uint64_t deadline, period;
	bool armed;
};

static void
timer_thread(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t now = time_now_ns(), next = SCHED_FOREVER;
		pal_timer_t *due = NULL;
		for (struct rt_res *r = rt_app.res.next; r != &rt_app.res; r = r->next) {
			if (r->kind != RT_TIMER)
				continue;
			pal_timer_t *t = (pal_timer_t *)r;
			if (!t->armed)
				continue;
			if (t->deadline <= now) {
				due = t;
				break;
			}
			if (t->deadline < next)
				next = t->deadline;
		}
		if (due != NULL) {
			if (due->period != 0) {
				due->deadline += due->period;
				if (due->deadline <= now)	/* fell behind: skip */
					due->deadline = now + due->period;
			} else {
				due->armed = false;
			}
			rt_stats.timer_fires++;
			due->fn(due->arg);	/* may re-arm or destroy timers */
			continue;
		}
		sched_event_clear(&rt_app.timers_changed);
		sched_wait(&rt_sched, &rt_app.timers_changed, next);
	}
}

static int
api_timer_create(pal_timer_fn fn, void *arg, pal_timer_t **out)
{
	if (fn == NULL || out == NULL)
		return -PAL_EINVAL;
	if (!rt_app.timer_thread) {
		int rc = api_thread_create(timer_thread, NULL, 0, NULL);
		if (rc != 0)
			return rc;
		rt_app.timer_thread = true;
	}
	pal_timer_t *t = kzalloc(sizeof(*t));
	if (t == NULL)
		return -PAL_ENOMEM;
	t->magic = TM_MAGIC;
	t->fn = fn;
	t->arg = arg;
	rt_own(&t->res, RT_TIMER);
	*out = t;
	return 0;
}

static int
api_timer_arm(pal_timer_t *t, pal_time_t deadline, pal_time_t period)
{
	if (t == NULL || t->magic != TM_MAGIC)
		return -PAL_EINVAL;
	t->deadline = deadline;
	t->period = period;
	t->armed = true;
	sched_event_set(&rt_sched, &rt_app.timers_changed);
	return 0;
}

static void
api_timer_cancel(pal_timer_t *t)
{
	if (t != NULL && t->magic == TM_MAGIC)
		t->armed = false;
}

static void
api_timer_destroy(pal_timer_t *t)
{
	if (t == NULL || t->magic != TM_MAGIC)
		return;
	t->magic = 0;
	rt_disown(&t->res);
	kfree(t);
}

/* ---- files ----------------------------------------------------------- */

static int
api_file_get(const char *path, const void **data, size_t *len)
{
	if (path == NULL || data == NULL || len == NULL)
		return -PAL_EINVAL;
	const struct pkg_ent *e = pkg_find(&rt_app.pkg, path);
	if (e == NULL)
		return -PAL_ENOENT;
	*data = e->data;
	*len = e->len;
	return 0;
}

static int
api_file_name(size_t i, const char **path)
{
	for (unsigned k = 0; k < rt_app.pkg.nent; k++) {
		const struct pkg_ent *e = &rt_app.pkg.ent[k];
		if (e->type != PKG_T_FILE)
			continue;
		if (i-- == 0) {
			*path = e->name;
			return 0;
		}
	}
	return -PAL_ENOENT;
}

/* ---- configuration --------------------------------------------------- */

static void
api_config_args(int *argc, const char *const **argv)
{
	*argc = rt_app.argc;
	*argv = rt_app.argv;
}

/* Values are handed out NUL-terminated: copied once into this buffer. */
static char env_vals[PKG_MAX_ENV][128];

static const char *
api_config_env(const char *key)
{
	const struct pkg_manifest *m = &rt_app.pkg.m;
	if (key == NULL)
		return NULL;
	size_t kl = strlen(key);
	for (unsigned i = 0; i < m->nenv; i++) {
		const struct pkg_kv *kv = &m->env[i];
		if (kv->klen != kl || memcmp(kv->key, key, kl) != 0)
			continue;
		size_t n = kv->vlen < sizeof(env_vals[i]) - 1 ? kv->vlen :
		    sizeof(env_vals[i]) - 1;
		memcpy(env_vals[i], kv->val, n);
		env_vals[i][n] = '\0';
		return env_vals[i];
	}
	return NULL;
}

static int
api_config_user_data(const void **data, size_t *len)
{
	(void)data;
	(void)len;
	return -PAL_ENOENT;	/* IMDS / Azure custom data: not fetched yet */
}

/* ---- entropy, log ---------------------------------------------------- */

static int
api_entropy(void *buf, size_t len)
{
	if (buf == NULL && len != 0)
		return -PAL_EINVAL;
	return entropy_get(buf, len) == 0 ? 0 : -PAL_EIO;
}

static void
api_log(int level, const char *msg, size_t len)
{
	static const int map[] = { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
	char line[201];
	if (msg == NULL)
		return;
	if (len > 200)
		len = 200;
	/* Control characters would let a workload forge console lines. */
	for (size_t i = 0; i < len; i++)
		line[i] = (msg[i] < 0x20 || msg[i] == 0x7f) ? '?' : msg[i];
	line[len] = '\0';
	klog(level >= 0 && level <= 3 ? map[level] : LOG_INFO, rt_app.name, "%s", line);
}

/* ---- counters -------------------------------------------------------- */

/* The NIC driver's own counters (struct nic.counters) into the list. */
struct drv_counters {
	struct pal_counter *out;
	size_t max, n;
};

static void
drv_counter(void *arg, const char *name, uint64_t v)
{
	struct drv_counters *d = arg;
	if (d->n < d->max && d->out != NULL) {
		d->out[d->n].name = name;
		d->out[d->n].value = v;
	}
	d->n++;
}

static size_t
api_counters(struct pal_counter *out, size_t max)
{
	size_t n = 0;
#define C(nm, v) do { if (n < max && out != NULL) { out[n].name = nm; \
	out[n].value = (uint64_t)(v); } n++; } while (0)
	C("uptime_ns", time_now_ns());
	if (rt_ns != NULL) {
		const struct netstack_counters *c = &rt_ns->cnt;
		const struct tcp_stats *t = &rt_ns->tcp.st;
		uint64_t drops = 0;
		for (int i = 0; i < ND_NDROPS; i++)
			drops += c->drops[i];
		C("net.rx_frames", c->rx_frames);
		C("net.tx_frames", c->tx_frames);
		C("net.drops", drops);
		C("net.payload_copied", c->payload_copied);
		C("net.icmp_echo_in", c->icmp_echo_in);
		C("net.tx_waits", c->tx_waits);
		C("net.tx_held", c->tx_held);
		C("net.tx_wakeups", c->tx_wakeups);
		C("net.tx_wait_expired", c->tx_wait_expired);
		C("net.txbuf_wakeups", c->txbuf_wakeups);
		C("net.rx_csum_good", c->rx_csum_good);
		C("net.rx_csum_partial", c->rx_csum_partial);
		C("net.rx_csum_hw_bad", c->rx_csum_hw_bad);
		C("net.rx_csum_sw", c->rx_csum_sw);
		C("tcp.bad_csum", t->bad_csum);
		C("tcp.segs_in", t->segs_in);
		C("tcp.segs_out", t->segs_out);
		C("tcp.accepted", t->accepted);
		C("tcp.retransmits", t->retransmits);
		C("tcp.resets_in", t->resets_in);
		C("tcp.resets_out", t->resets_out);
		C("tcp.challenge_acks", t->challenge_acks);
		C("tcp.syn_dropped_full", t->syn_dropped_full);
		C("tcp.connected", t->connected);
		C("tcp.connect_failed", t->connect_failed);
		C("tcp.out_of_order", t->out_of_order);
		C("tcp.ooo_dropped", t->ooo_dropped);
		C("tcp.fast_retransmits", t->fast_retransmits);
		C("tcp.sack_retransmits", t->sack_retransmits);
		C("tcp.timeouts", t->timeouts);
		C("tcp.persist_probes", t->persist_probes);
		C("tcp.keepalive_probes", t->keepalive_probes);
		C("tcp.syn_cookies_sent", t->syn_cookies_sent);
		C("tcp.syn_cookies_ok", t->syn_cookies_ok);
		C("tcp.syn_cookies_bad", t->syn_cookies_bad);
		C("tcp.tw_recycled", t->tw_recycled);
		C("tcp.zc_frames", t->zc_frames);
		C("tcp.tso_frames", t->tso_frames);
		C("tcp.timer_scans", t->timer_scans);
		/* Between nic_unregister and a rebind the stack has no NIC. */
		static const struct nic_stats none;
		const struct nic_stats *s = rt_ns->nic != NULL ? &rt_ns->nic->stats : &none;
		C("net.nic_rebinds", rt_ns->nic_rebinds);
		C("nic.rx_packets", s->rx_packets);
		C("nic.tx_packets", s->tx_packets);
		C("nic.rx_drops", s->rx_drops);
		C("nic.tx_ring_full", s->tx_ring_full);
		C("nic.tso_frames", s->tso_frames);
		C("nic.rx_rekicks", s->rx_rekicks);
		C("nic.tx_rekicks", s->tx_rekicks);
		C("nic.bad_completions", s->bad_completions);
		C("nic.rx_bad_offload", s->rx_bad_offload);
		C("nic.intrs", s->intrs);
		/* Per queue (kernel/dev/nic.h): the names must outlive the call. */
		static const char *const qn[4][4] = {
			{ "nic.q0.rx_packets", "nic.q0.tx_packets", "nic.q0.rx_drops", "nic.q0.polls" },
			{ "nic.q1.rx_packets", "nic.q1.tx_packets", "nic.q1.rx_drops", "nic.q1.polls" },
			{ "nic.q2.rx_packets", "nic.q2.tx_packets", "nic.q2.rx_drops", "nic.q2.polls" },
			{ "nic.q3.rx_packets", "nic.q3.tx_packets", "nic.q3.rx_drops", "nic.q3.polls" },
		};
		for (int q = 0; rt_ns->nic != NULL && q < rt_ns->nic->nqueues && q < 4; q++) {
			const struct nic_queue_stats *qs = &rt_ns->nic->queue[q].stats;
			C(qn[q][0], qs->rx_packets);
			C(qn[q][1], qs->tx_packets);
			C(qn[q][2], qs->rx_drops);
			C(qn[q][3], qs->polls);
		}
		if (rt_ns->nic != NULL && rt_ns->nic->counters != NULL) {
			struct drv_counters d = { out, max, n };
			rt_ns->nic->counters(rt_ns->nic, drv_counter, &d);
			n = d.n;
		}
	}
	struct blk_dev *b = blk_first();
	if (b != NULL) {
		C("blk.reads", b->stats.reads);
		C("blk.writes", b->stats.writes);
		C("blk.errors", b->stats.errors);
	}
	C("pal.mem_used", rt_app.mem_used);
	C("pal.mem_fail", rt_stats.mem_fail);
	C("pal.threads_created", rt_stats.threads);
	C("pal.threads_live", sched_live(&rt_sched));
	C("pal.switches", rt_sched.switches);
	C("pal.idles", rt_sched.idles);
	C("pal.services", rt_sched.services);
	C("pal.intr_arms", pal_net_stats.intr_arms);
	C("pal.intr_disarms", pal_net_stats.intr_disarms);
	C("pal.intr_late_work", pal_net_stats.late_work);
	C("pal.timer_fires", rt_stats.timer_fires);
	C("pal.restarts", rt_stats.restarts);
	C("pal.faults", rt_stats.faults);
	C("pal.image_abandoned", rt_stats.image_abandoned);
	C("pal.send_ref_stale", rt_app.txref.stale);
	C("pal.sockets", rt_stats.socks);
	C("pal.accept_overflow", rt_stats.accept_overflow);
	C("pal.rx_overflow", rt_stats.rx_overflow);
	C("pal.rx_copied", rt_stats.rx_copied);
	C("pal.rx_lent", rt_stats.rx_lent);
	C("pal.rx_chunk_allocs", rt_stats.rx_chunk_allocs);
	C("pal.tx_copied", rt_stats.tx_copied);
	C("pal.send_ref_bytes", rt_stats.send_ref_bytes);
	C("intr.spurious", intr_spurious);
#undef C
	return n;
}

const struct pal_api rt_api = {
	.abi_major = PAL_ABI_MAJOR,
	.abi_minor = PAL_ABI_MINOR,
	.size = sizeof(struct pal_api),
	.mem_alloc = api_mem_alloc,
	.mem_free = api_mem_free,
	.mem_stats = api_mem_stats,
	.clock_monotonic = api_clock_monotonic,
	.clock_wall = api_clock_wall,
	.thread_create = api_thread_create,
	.thread_join = api_thread_join,
	.yield = api_yield,
	.sleep = api_sleep,
	.exit = api_exit,
	.event_create = api_event_create,
	.event_destroy = api_event_destroy,
	.event_set = api_event_set,
	.event_clear = api_event_clear,
	.event_wait = api_event_wait,
	.timer_create = api_timer_create,
	.timer_arm = api_timer_arm,
	.timer_cancel = api_timer_cancel,
	.timer_destroy = api_timer_destroy,
	.tcp_listen = rt_tcp_listen,
	.tcp_accept = rt_tcp_accept,
	.tcp_connect = rt_tcp_connect,
	.udp_bind = rt_udp_bind,
	.sock_recv_buf = rt_sock_recv_buf,
	.buf_free = rt_buf_free,
	.buf_alloc = rt_buf_alloc,
	.sock_send_buf = rt_sock_send_buf,
	.sock_send_ref = rt_sock_send_ref,
	.sock_recv = rt_sock_recv,
	.sock_send = rt_sock_send,
	.sock_wait_writable = rt_sock_wait_writable,
	.sock_close = rt_sock_close,
	.sock_abort = rt_sock_abort,
	.file_get = api_file_get,
	.file_name = api_file_name,
	.config_args = api_config_args,
	.config_env = api_config_env,
	.config_user_data = api_config_user_data,
	.entropy = api_entropy,
	.log = api_log,
	.counters = api_counters,
};
