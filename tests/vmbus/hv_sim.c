/*
 * hv_sim.c - the strict Hyper-V host simulator (see hv_sim.h), written
 * from PROTOCOLS.md B.1-B.10 and B.15.  It shares no code with the guest
 * (kernel/hv, vmbus/): its ring and message handling are its own, so a
 * rule both sides got wrong the same way is the only thing it can miss.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/hv/hv_reg.h"
#include "tests/vmbus/hv_sim.h"
#include "vmbus/vmbus_reg.h"

#define PG 4096u
#define S(d) ((struct hv_sim *)(d)->backend)

const uint8_t hv_sim_guid_netvsc[16] = {
	0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e };
const uint8_t hv_sim_guid_storvsc[16] = {
	0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
	0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f };

static void __attribute__((format(printf, 2, 3)))
sim_err(struct hv_sim *s, const char *fmt, ...)
{
	va_list ap;
	char line[160];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (getenv("TERN_TEST_VERBOSE") != NULL)
		fprintf(stderr, "hv_sim: protocol error: %s\n", line);
	if (s->nerr < SIM_MAX_ERRS)
		snprintf(s->err[s->nerr], sizeof(s->err[0]), "%s", line);
	s->nerr++;
}

void
hv_sim_error(struct hv_sim *s, const char *fmt, ...)
{
	va_list ap;
	char line[160];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sim_err(s, "%s", line);
}

int hv_sim_error_count(const struct hv_sim *s) { return s->nerr; }
void hv_sim_clear_errors(struct hv_sim *s) { s->nerr = 0; }

bool
hv_sim_has_error(const struct hv_sim *s, const char *sub)
{
	for (int i = 0; i < s->nerr && i < SIM_MAX_ERRS; i++)
		if (strstr(s->err[i], sub) != NULL)
			return true;
	return false;
}

/* Guest memory: only what the guest allocated is addressable. */
static void *
gpa(struct hv_sim *s, uint64_t pa, size_t len, const char *what)
{
	if (s->gpa_any && pa != 0)
		return (void *)(uintptr_t)pa;
	for (int i = 0; i < s->nalloc; i++) {
		uint64_t b = (uint64_t)(uintptr_t)s->mem[i].va;
		if (pa >= b && pa + len <= b + s->mem[i].len)
			return (void *)(uintptr_t)pa;
	}
	sim_err(s, "%s: GPA 0x%llx (+%zu) is not guest memory", what,
	    (unsigned long long)pa, len);
	return NULL;
}

/* ---- SynIC message delivery (B.5) ------------------------------------ */

static struct hv_message *
sim_slot(struct hv_sim *s)
{
	if (!(s->simp & 1) || !(s->scontrol & 1) ||
	    (s->sint[HV_SINT_VMBUS] & HV_SINT_MASKED))
		return NULL;
	return (struct hv_message *)(uintptr_t)(s->simp & ~0xfffull) +
	    HV_SINT_VMBUS;
}

static void
sim_pump(struct hv_sim *s)
{
	struct hv_message *slot = sim_slot(s);
	if (slot == NULL || s->qlen == 0 || s->q[s->qhead].at_ns > s->now_ns)
		return;
	/* Once msg_pending was shown, only an EOM brings the next one:
	   a guest that frees the slot without EOM gets nothing more. */
	if (s->eom_needed)
		return;
	if (__atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE) != 0) {
		/* Busy: the guest must EOM before it gets the next one. */
		slot->flags |= HV_MSGFLAG_PENDING;
		s->eom_needed = true;
		return;
	}
	struct sim_msg *m = &s->q[s->qhead];
	s->qhead = (s->qhead + 1) % SIM_QLEN;
	s->qlen--;
	memset(slot, 0, sizeof(*slot));
	slot->payload_size = m->len;
	memcpy(slot->payload, m->data, m->len);
	slot->flags = s->qlen > 0 ? HV_MSGFLAG_PENDING : 0;
	s->eom_needed = s->qlen > 0;
	__atomic_store_n(&slot->message_type, HV_MSGTYPE_VMBUS, __ATOMIC_RELEASE);
	s->irq_pending = true;
	s->irqs++;
}

static void
sim_enqueue(struct hv_sim *s, const void *msg, size_t len, uint64_t delay)
{
	if (s->qlen == SIM_QLEN) {
		sim_err(s, "host message queue overflow");
		return;
	}
	/* A lost reply: what a host that never answers looks like to the
	   one wait that expected it. */
	if (s->f_drop_at != 0 && --s->f_drop_at == 0)
		return;
	struct sim_msg *m = &s->q[(s->qhead + s->qlen) % SIM_QLEN];
	memset(m, 0, sizeof(*m));
	m->len = (uint8_t)len;
	m->at_ns = s->now_ns + delay;
	memcpy(m->data, msg, len);
	s->qlen++;
	sim_pump(s);
}

void
hv_sim_queue(struct hv_sim *s, const void *msg, size_t len)
{
	sim_enqueue(s, msg, len > 240 ? 240 : len, 0);
}

static void
sim_signal_guest(struct hv_sim *s, struct sim_chan *c)
{
	if (!(s->siefp & 1))
		return;
	uint32_t *w = (uint32_t *)((uint8_t *)(uintptr_t)(s->siefp & ~0xfffull) +
	    HV_SINT_VMBUS * HV_EVENT_AREA) + c->relid / 32;
	__atomic_fetch_or(w, 1u << (c->relid % 32), __ATOMIC_SEQ_CST);
	s->irq_pending = true;
	s->irqs++;
	c->guest_irqs++;
}

/* ---- synthetic timer 0 (B.6) ------------------------------------------ */

/* Message mode: HVMSG_TIMER_EXPIRED into SINTx's slot with the B.5
   rules (a busy slot gets msg_pending and the expiry waits for EOM;
   expiries meanwhile coalesce into that one). */
static void
sim_stimer_msg(struct hv_sim *s, uint64_t exp100)
{
	unsigned x = (unsigned)((s->stimer_config & HV_STIMER_SINT_MASK) >>
	    HV_STIMER_SINT_SHIFT);
	if (!(s->simp & 1) || !(s->scontrol & 1) ||
	    (s->sint[x] & HV_SINT_MASKED) || (s->sint[x] & 0xff) < 16) {
		s->stimer_lost++;
		sim_err(s, "STIMER0 expired into SINT%u, which is masked or has no SynIC", x);
		return;
	}
	struct hv_message *slot = (struct hv_message *)(uintptr_t)(s->simp & ~0xfffull) + x;
	if (__atomic_load_n(&slot->message_type, __ATOMIC_ACQUIRE) != 0) {
		slot->flags |= HV_MSGFLAG_PENDING;
		if (!s->stimer_msg_wait)
			s->stimer_msg_exp = exp100;
		s->stimer_msg_wait = true;
		return;
	}
	struct hv_timer_msg tm = { 0, 0, exp100, s->now_ns / 100 };
	memset(slot, 0, sizeof(*slot));
	slot->payload_size = sizeof(tm);
	memcpy(slot->payload, &tm, sizeof(tm));
	s->stimer_msg_wait = false;
	__atomic_store_n(&slot->message_type, HV_MSGTYPE_TIMER, __ATOMIC_RELEASE);
	s->stimer_msgs++;
	s->irq_pending = true;
	s->irqs++;
}

static void
sim_stimer_run(struct hv_sim *s)
{
	while ((s->stimer_config & HV_STIMER_ENABLE) && s->stimer_next_ns != 0 &&
	    s->stimer_next_ns <= s->now_ns) {
		uint64_t exp = s->stimer_next_ns;
		s->stimer_fires++;
		if (s->stimer_config & HV_STIMER_PERIODIC) {
			s->stimer_next_ns += s->stimer_count * 100;
		} else {
			/* A one-shot disables itself when it fires. */
			s->stimer_config &= ~HV_STIMER_ENABLE;
			s->stimer_next_ns = 0;
		}
		if (s->stimer_config & HV_STIMER_DIRECT) {
			s->stimer_direct_irqs++;
			s->stimer_vec = (int)((s->stimer_config & HV_STIMER_VECTOR_MASK) >>
			    HV_STIMER_VECTOR_SHIFT);
			s->irq_pending = true;
			s->irqs++;
		} else {
			sim_stimer_msg(s, exp / 100);
		}
	}
}

/* After EOM: an expiry that waited for its slot goes in now. */
static void
sim_stimer_eom(struct hv_sim *s)
{
	if (s->stimer_msg_wait)
		sim_stimer_msg(s, s->stimer_msg_exp);
}

static void
sim_stimer_arm(struct hv_sim *s)
{
	s->stimer_next_ns = 0;
	if (!(s->stimer_config & HV_STIMER_ENABLE) || s->stimer_count == 0)
		return;
	if (s->stimer_config & HV_STIMER_PERIODIC) {
		s->stimer_next_ns = s->now_ns + s->stimer_count * 100;
	} else {
		/* Absolute reference time; one in the past fires at once. */
		uint64_t at = s->stimer_count * 100;
		s->stimer_next_ns = at > s->now_ns ? at : s->now_ns;
	}
}

static void
sim_stimer_config(struct hv_sim *s, uint64_t v)
{
	if (v & HV_STIMER_RESERVED) {
		sim_err(s, "#GP: STIMER0_CONFIG reserved bits set (0x%llx)",
		    (unsigned long long)v);
		return;
	}
	if ((v & HV_STIMER_DIRECT) && !(s->misc & HV_M_STIMER_DIRECT)) {
		sim_err(s, "#GP: STIMER0_CONFIG direct mode not offered by CPUID");
		return;
	}
	if ((v & HV_STIMER_DIRECT) &&
	    ((v & HV_STIMER_VECTOR_MASK) >> HV_STIMER_VECTOR_SHIFT) < 16) {
		sim_err(s, "#GP: STIMER0_CONFIG direct vector %llu < 16",
		    (unsigned long long)((v & HV_STIMER_VECTOR_MASK) >>
		    HV_STIMER_VECTOR_SHIFT));
		return;
	}
	/* Enabling with a zero count leaves the timer disabled. */
	if ((v & HV_STIMER_ENABLE) && s->stimer_count == 0)
		v &= ~HV_STIMER_ENABLE;
	s->stimer_config = v;
	sim_stimer_arm(s);
}

static void
sim_stimer_count(struct hv_sim *s, uint64_t v)
{
	s->stimer_count = v;
	if (v == 0)
		s->stimer_config &= ~HV_STIMER_ENABLE;
	else if (s->stimer_config & HV_STIMER_AUTO_ENABLE)
		s->stimer_config |= HV_STIMER_ENABLE;
	sim_stimer_arm(s);
}

void
hv_sim_advance(struct hv_sim *s, uint64_t ns)
{
	uint64_t until = s->now_ns + ns;
	while ((s->stimer_config & HV_STIMER_ENABLE) && s->stimer_next_ns != 0 &&
	    s->stimer_next_ns <= until) {
		if (s->stimer_next_ns > s->now_ns)
			s->now_ns = s->stimer_next_ns;
		sim_stimer_run(s);
		sim_pump(s);
	}
	s->now_ns = until;
	sim_stimer_run(s);
	sim_pump(s);
}

/* ---- CPUID, MSRs, TSC (B.1, B.2, B.6) -------------------------------- */

static void
sim_cpuid(struct hw_dev *d, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	struct hv_sim *s = S(d);
	memset(r, 0, 16);
	if (leaf == 1) {
		r[2] = 1u << 31;
		return;
	}
	if (leaf < HV_CPUID_VENDOR || leaf > s->max_leaf)
		return;
	switch (leaf) {
	case HV_CPUID_VENDOR:
		r[0] = s->max_leaf;
		if (s->not_hyperv) {
			memcpy(&r[1], "KVMKVMKVM\0\0\0", 12);
		} else {
			r[1] = HV_VENDOR_EBX;
			r[2] = HV_VENDOR_ECX;
			r[3] = HV_VENDOR_EDX;
		}
		break;
	case HV_CPUID_IFACE:
		r[0] = HV_IFACE_SIG;
		break;
	case HV_CPUID_VERSION:
		r[0] = 20348;
		r[1] = 10u << 16;
		break;
	case HV_CPUID_FEATURES:
		r[0] = s->priv_lo;
		r[1] = s->priv_hi;
		r[3] = s->misc;
		break;
	case HV_CPUID_RECOMMEND:
		r[0] = s->recommend;
		r[1] = 0xffffffffu;
		break;
	case HV_CPUID_LIMITS:
		r[0] = 64;
		r[1] = 64;
		break;
	}
}

uint64_t
hv_sim_read_tsc(struct hw_dev *d)
{
	struct hv_sim *s = S(d);
	if (s->f_tsc_bump > 0 && (s->ref_tsc & 1)) {
		/* The host rewrites the page between the guest's two
		   sequence reads, as after a live migration. */
		s->f_tsc_bump--;
		struct hv_tsc_page *p = (void *)(uintptr_t)(s->ref_tsc & ~0xfffull);
		if (++s->tsc_seq == 0)
			s->tsc_seq = 1;
		__atomic_store_n(&p->sequence, s->tsc_seq, __ATOMIC_RELEASE);
	}
	return (uint64_t)((unsigned __int128)s->now_ns * s->tsc_hz / 1000000000u);
}

static void
sim_tsc_page(struct hv_sim *s)
{
	struct hv_tsc_page *p = (void *)(uintptr_t)(s->ref_tsc & ~0xfffull);
	p->scale = (uint64_t)(((unsigned __int128)10000000u << 64) / s->tsc_hz);
	p->offset = 0;
	p->sequence = s->f_tsc_seq0 ? 0 : s->tsc_seq;
}

static bool
sim_priv(struct hv_sim *s, uint32_t bit, uint32_t msr)
{
	if (s->priv_lo & bit)
		return true;
	sim_err(s, "#GP: MSR 0x%x without its CPUID privilege", msr);
	return false;
}

static uint64_t
sim_msr_read(struct hw_dev *d, uint32_t msr)
{
	struct hv_sim *s = S(d);
	switch (msr) {
	case HV_MSR_GUEST_OS_ID: return s->guest_os_id;
	case HV_MSR_HYPERCALL: return s->hypercall;
	case HV_MSR_VP_INDEX: return sim_priv(s, HV_P_VP_INDEX, msr) ? s->vp_index : 0;
	case HV_MSR_TIME_REF_COUNT:
		return sim_priv(s, HV_P_TIME_REF_COUNT, msr) ? s->now_ns / 100 : 0;
	case HV_MSR_REFERENCE_TSC: return sim_priv(s, HV_P_REF_TSC, msr) ? s->ref_tsc : 0;
	case HV_MSR_TSC_FREQUENCY: return sim_priv(s, HV_P_FREQ_MSRS, msr) ? s->tsc_hz : 0;
	case HV_MSR_SCONTROL: return sim_priv(s, HV_P_SYNIC, msr) ? s->scontrol : 0;
	case HV_MSR_SVERSION: return sim_priv(s, HV_P_SYNIC, msr) ? 1 : 0;
	case HV_MSR_SIEFP: return sim_priv(s, HV_P_SYNIC, msr) ? s->siefp : 0;
	case HV_MSR_SIMP: return sim_priv(s, HV_P_SYNIC, msr) ? s->simp : 0;
	case HV_MSR_STIMER0_CONFIG:
		return sim_priv(s, HV_P_STIMER, msr) ? s->stimer_config : 0;
	case HV_MSR_STIMER0_COUNT:
		return sim_priv(s, HV_P_STIMER, msr) ? s->stimer_count : 0;
	}
	if (msr >= HV_MSR_SINT0 && msr < HV_MSR_SINT0 + 16)
		return sim_priv(s, HV_P_SYNIC, msr) ? s->sint[msr - HV_MSR_SINT0] : 0;
	sim_err(s, "#GP: read of MSR 0x%x", msr);
	return 0;
}

/* A page-address MSR write: reserved bits 11:1 (zero here) kept, the
   page in guest memory. */
static bool
sim_page_msr(struct hv_sim *s, uint32_t msr, uint64_t v, const char *name)
{
	if (v & HV_PAGE_KEEP) {
		sim_err(s, "%s: reserved bits 11:1 changed (0x%llx)", name,
		    (unsigned long long)v);
		return false;
	}
	if ((v & 1) && gpa(s, v & ~0xfffull, PG, name) == NULL)
		return false;
	return true;
}

static void
sim_msr_write(struct hw_dev *d, uint32_t msr, uint64_t v)
{
	struct hv_sim *s = S(d);
	switch (msr) {
	case HV_MSR_GUEST_OS_ID:
		s->guest_os_id = v;
		if (v == 0)
			s->hypercall &= ~1ull;
		return;
	case HV_MSR_HYPERCALL:
		if ((v & 1) && s->guest_os_id == 0) {
			sim_err(s, "HYPERCALL enabled before GUEST_OS_ID");
			return;	/* the enable bit does not stick */
		}
		if (sim_page_msr(s, msr, v, "HYPERCALL"))
			s->hypercall = v;
		return;
	case HV_MSR_REFERENCE_TSC:
		if (!sim_priv(s, HV_P_REF_TSC, msr) ||
		    !sim_page_msr(s, msr, v, "REFERENCE_TSC"))
			return;
		s->ref_tsc = v;
		if (v & 1)
			sim_tsc_page(s);
		return;
	case HV_MSR_SCONTROL:
		if (sim_priv(s, HV_P_SYNIC, msr))
			s->scontrol = v;
		sim_pump(s);
		return;
	case HV_MSR_SIEFP:
		if (sim_priv(s, HV_P_SYNIC, msr) && sim_page_msr(s, msr, v, "SIEFP"))
			s->siefp = v;
		return;
	case HV_MSR_SIMP:
		if (sim_priv(s, HV_P_SYNIC, msr) && sim_page_msr(s, msr, v, "SIMP"))
			s->simp = v;
		sim_pump(s);
		return;
	case HV_MSR_EOM:
		if (!sim_priv(s, HV_P_SYNIC, msr))
			return;
		if (v != 0)
			sim_err(s, "EOM written with 0x%llx, not 0",
			    (unsigned long long)v);
		s->eoms++;
		s->eom_needed = false;
		sim_pump(s);
		sim_stimer_eom(s);
		return;
	case HV_MSR_STIMER0_CONFIG:
		if (sim_priv(s, HV_P_STIMER, msr))
			sim_stimer_config(s, v);
		return;
	case HV_MSR_STIMER0_COUNT:
		if (sim_priv(s, HV_P_STIMER, msr))
			sim_stimer_count(s, v);
		return;
	case HV_MSR_CRASH_CTL:
		if (!(s->misc & HV_M_CRASH_MSRS))
			sim_err(s, "#GP: CRASH_CTL without the crash feature");
		s->crash[5] = v;
		return;
	}
	if (msr >= HV_MSR_SINT0 && msr < HV_MSR_SINT0 + 16) {
		if (!sim_priv(s, HV_P_SYNIC, msr))
			return;
		if (!(v & HV_SINT_MASKED) && (v & 0xff) < 16)
			sim_err(s, "SINT%u unmasked with vector %llu < 16",
			    msr - HV_MSR_SINT0, (unsigned long long)(v & 0xff));
		s->sint[msr - HV_MSR_SINT0] = v;
		sim_pump(s);
		return;
	}
	if (msr >= HV_MSR_CRASH_P0 && msr < HV_MSR_CRASH_CTL) {
		if (!(s->misc & HV_M_CRASH_MSRS))
			sim_err(s, "#GP: CRASH_P%u without the crash feature",
			    msr - HV_MSR_CRASH_P0);
		s->crash[msr - HV_MSR_CRASH_P0] = v;
		return;
	}
	sim_err(s, "#GP: write of MSR 0x%x", msr);
}

/* ---- VMBus host (B.7-B.9) -------------------------------------------- */

static bool
ver_known(uint32_t v)
{
	static const uint32_t known[] = { VMBUS_V3_0, VMBUS_V4_0, VMBUS_V4_1,
	    VMBUS_V5_0, VMBUS_V5_1, VMBUS_V5_2, VMBUS_V5_3 };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i] == v)
			return true;
	return false;
}

struct sim_chan *
hv_sim_chan(struct hv_sim *s, uint32_t relid)
{
	for (int i = 0; i < SIM_MAX_CHANS; i++)
		if ((s->ch[i].present || s->ch[i].rescinded) && s->ch[i].relid == relid)
			return &s->ch[i];
	return NULL;
}

static void
sim_send_offer(struct hv_sim *s, struct sim_chan *c, uint64_t delay)
{
	struct vmbus_offer o;
	memset(&o, 0, sizeof(o));
	o.h.msgtype = VMBUS_MSG_OFFERCHANNEL;
	memcpy(o.if_type, c->class_guid, 16);
	memcpy(o.if_instance, c->instance, 16);
	o.chn_flags = 0;
	o.sub_channel_index = c->sub_index;
	o.child_relid = c->relid;
	o.connection_id = c->conn_id;
	sim_enqueue(s, &o, sizeof(o), delay);
}

struct sim_chan *
hv_sim_offer(struct hv_sim *s, const uint8_t class_guid[16], uint8_t inst_last,
    uint32_t relid, uint32_t conn_id)
{
	return hv_sim_offer_sub(s, class_guid, inst_last, relid, conn_id, 0);
}

struct sim_chan *
hv_sim_offer_sub(struct hv_sim *s, const uint8_t class_guid[16],
    uint8_t inst_last, uint32_t relid, uint32_t conn_id, uint16_t sub_index)
{
	for (int i = 0; i < SIM_MAX_CHANS; i++) {
		struct sim_chan *c = &s->ch[i];
		if (c->present || c->rescinded)
			continue;
		memset(c, 0, sizeof(*c));
		c->present = true;
		memcpy(c->class_guid, class_guid, 16);
		for (int k = 0; k < 16; k++)
			c->instance[k] = (uint8_t)(0xa0 + k);
		c->instance[15] = inst_last;
		c->relid = relid;
		c->conn_id = conn_id;
		c->sub_index = sub_index;
		if (s->connected)
			sim_send_offer(s, c, 0);
		return c;
	}
	return NULL;
}

static void
sim_gpadl_free_relid(struct hv_sim *s, uint32_t relid)
{
	for (int i = 0; i < SIM_MAX_GPADLS; i++)
		if (s->gp[i].used && s->gp[i].relid == relid)
			s->gp[i].used = false;
}

void
hv_sim_rescind(struct hv_sim *s, uint32_t relid)
{
	struct sim_chan *c = hv_sim_chan(s, relid);
	if (c == NULL || !c->present)
		return;
	c->present = false;
	c->rescinded = true;
	c->open = false;
	sim_gpadl_free_relid(s, relid);
	struct vmbus_relid_msg m = { { VMBUS_MSG_RESCIND_OFFER, 0 }, relid };
	sim_enqueue(s, &m, sizeof(m), 0);
}

static struct sim_gpadl *
sim_gpadl(struct hv_sim *s, uint32_t h)
{
	for (int i = 0; i < SIM_MAX_GPADLS; i++)
		if (s->gp[i].used && s->gp[i].handle == h)
			return &s->gp[i];
	return NULL;
}

static void
sim_gpadl_done(struct hv_sim *s, struct sim_gpadl *g)
{
	for (uint32_t i = 0; i < g->npfn; i++)
		if (gpa(s, g->pfn[i] << 12, PG, "GPADL page") == NULL) {
			g->used = false;
			return;	/* a host would fail the guest; we just stop */
		}
	struct vmbus_gpadl_created r = { { VMBUS_MSG_GPADL_CREATED, 0 },
		g->relid, g->handle, s->f_gpadl_status };
	if (s->f_gpadl_status != 0)
		g->used = false;
	else
		g->created = true;
	if (!s->f_mute)
		sim_enqueue(s, &r, sizeof(r), 0);
}

static void
sim_ring_map(struct sim_ring *r, uint8_t *base, uint32_t pages)
{
	r->base = base;
	r->dsize = (pages - 1) * PG;
}

static void
sim_open(struct hv_sim *s, const struct vmbus_open *o)
{
	struct sim_chan *c = hv_sim_chan(s, o->child_relid);
	if (c == NULL || !c->present) {
		sim_err(s, "OPENCHANNEL for unknown relid %u", o->child_relid);
		return;
	}
	if (c->open) {
		sim_err(s, "OPENCHANNEL for open relid %u", o->child_relid);
		return;
	}
	struct sim_gpadl *g = sim_gpadl(s, o->gpadl);
	if (g == NULL || !g->created || g->relid != c->relid) {
		sim_err(s, "OPENCHANNEL relid %u with GPADL 0x%x not created for it",
		    c->relid, o->gpadl);
		return;
	}
	if (o->target_vp != s->vp_index)
		sim_err(s, "OPENCHANNEL target_vp %u, VP index is %u",
		    o->target_vp, s->vp_index);
	uint32_t off = o->downstream_pageoffset;
	if (off < 2 || off + 2 > g->npfn) {
		sim_err(s, "OPENCHANNEL downstream offset %u of %u pages", off,
		    g->npfn);
		return;
	}
	/* The simulator maps the rings as one run of guest memory. */
	for (uint32_t i = 1; i < g->npfn; i++)
		if (g->pfn[i] != g->pfn[0] + i) {
			sim_err(s, "ring GPADL pages not contiguous (sim limit)");
			return;
		}
	uint8_t *base = (uint8_t *)(uintptr_t)(g->pfn[0] << 12);
	sim_ring_map(&c->in, base, off);
	sim_ring_map(&c->out, base + (size_t)off * PG, g->npfn - off);
	struct vmbus_ring_hdr *ih = (void *)c->in.base, *oh = (void *)c->out.base;
	if (ih->write_index || ih->read_index || oh->write_index || oh->read_index)
		sim_err(s, "OPENCHANNEL relid %u: ring indices not zero", c->relid);
	oh->feature_bits |= VMBUS_RING_FEAT_PENDING;
	if (s->f_rescind_on_open) {
		hv_sim_rescind(s, c->relid);
		return;
	}
	struct vmbus_open_result r = { { VMBUS_MSG_OPENCHANNEL_RESULT, 0 },
		c->relid, o->openid, s->f_open_status };
	if (s->f_open_status == 0) {
		c->open = true;
		c->gpadl = o->gpadl;
		c->audited = false;
	}
	if (!s->f_mute && !s->f_mute_open)
		sim_enqueue(s, &r, sizeof(r), 0);
}

static uint16_t
sim_vmbus_msg(struct hv_sim *s, uint32_t conn, const uint8_t *p, uint32_t len)
{
	struct vmbus_msg_hdr h;

	if (len < sizeof(h)) {
		sim_err(s, "VMBus message of %u bytes", len);
		return HV_STATUS_INVALID_INPUT;
	}
	memcpy(&h, p, sizeof(h));
	if (h.padding != 0)
		sim_err(s, "message %u: header padding 0x%x", h.msgtype, h.padding);
	if (h.msgtype < 32)
		s->post_msgs[h.msgtype]++;
	bool v5 = s->version >= VMBUS_V5_0;
	if (h.msgtype != VMBUS_MSG_INITIATE_CONTACT) {
		uint32_t want = v5 ? s->msg_conn_id : VMBUS_CONN_MESSAGE;
		if (!s->connected) {
			sim_err(s, "message %u before the connection is up", h.msgtype);
			return HV_STATUS_INVALID_CONNECTION_ID;
		}
		if (conn != want) {
			sim_err(s, "message %u on connection %u, expected %u",
			    h.msgtype, conn, want);
			return HV_STATUS_INVALID_CONNECTION_ID;
		}
	}
#define NEEDLEN(n) do { if (len != (n)) { \
	sim_err(s, "message %u: %u bytes, expected %u", h.msgtype, len, (unsigned)(n)); \
	return HV_STATUS_INVALID_INPUT; } } while (0)
	switch (h.msgtype) {
	case VMBUS_MSG_INITIATE_CONTACT: {
		struct vmbus_initiate_contact c;
		NEEDLEN(sizeof(c));
		memcpy(&c, p, sizeof(c));
		s->contacts++;
		bool cv5 = c.version >= VMBUS_V5_0;
		if (conn != (cv5 ? VMBUS_CONN_MESSAGE_V5 : VMBUS_CONN_MESSAGE))
			sim_err(s, "INITIATE_CONTACT %x on connection %u", c.version, conn);
		if (c.target_vcpu != s->vp_index)
			sim_err(s, "INITIATE_CONTACT target_vcpu %u", c.target_vcpu);
		if (cv5 && (c.u.v5.msg_sint != HV_SINT_VMBUS || c.u.v5.msg_vtl != 0))
			sim_err(s, "INITIATE_CONTACT msg_sint %u vtl %u",
			    c.u.v5.msg_sint, c.u.v5.msg_vtl);
		if ((c.monitor_page1 & 0xfff) || (c.monitor_page2 & 0xfff) ||
		    c.monitor_page1 == c.monitor_page2 ||
		    gpa(s, c.monitor_page1, PG, "monitor page 1") == NULL ||
		    gpa(s, c.monitor_page2, PG, "monitor page 2") == NULL)
			sim_err(s, "INITIATE_CONTACT monitor pages bad");
		struct vmbus_version_response r;
		memset(&r, 0, sizeof(r));
		r.h.msgtype = VMBUS_MSG_VERSION_RESPONSE;
		if (ver_known(c.version) && c.version >= s->ver_min &&
		    c.version <= s->ver_max) {
			r.version_supported = 1;
			r.msg_conn_id = cv5 ? s->msg_conn_id : 0;
			s->connected = true;
			s->version = c.version;
		}
		if (!s->f_mute)
			sim_enqueue(s, &r, sizeof(r), 0);
		return 0;
	}
	case VMBUS_MSG_REQUESTOFFERS:
		NEEDLEN(8);
		for (int i = 0; i < SIM_MAX_CHANS; i++)
			if (s->ch[i].present)
				sim_send_offer(s, &s->ch[i], s->f_offer_delay_ns);
		if (!s->f_mute) {
			struct vmbus_msg_hdr d = { VMBUS_MSG_ALLOFFERS_DELIVERED, 0 };
			sim_enqueue(s, &d, sizeof(d), s->f_offer_delay_ns);
		}
		return 0;
	case VMBUS_MSG_GPADL_HEADER: {
		struct vmbus_gpadl_header g;
		if (len < sizeof(g) || (len - sizeof(g)) % 8 != 0) {
			sim_err(s, "GPADL_HEADER of %u bytes", len);
			return HV_STATUS_INVALID_INPUT;
		}
		memcpy(&g, p, sizeof(g));
		struct sim_chan *c = hv_sim_chan(s, g.child_relid);
		uint32_t npfn = g.byte_count / PG;
		uint32_t n = (len - (uint32_t)sizeof(g)) / 8;
		if (c == NULL || !c->present) {
			sim_err(s, "GPADL_HEADER for unknown relid %u", g.child_relid);
			return 0;
		}
		if (g.gpadl == 0 || sim_gpadl(s, g.gpadl) != NULL) {
			sim_err(s, "GPADL_HEADER handle 0x%x zero or in use", g.gpadl);
			return 0;
		}
		if (g.rangecount != 1 || g.byte_offset != 0 || g.byte_count == 0 ||
		    g.byte_count % PG != 0 || npfn > SIM_MAX_PFNS ||
		    g.range_buflen != 8 + 8 * npfn ||
		    n != (npfn < VMBUS_GPADL_HDR_PFNS ? npfn : VMBUS_GPADL_HDR_PFNS)) {
			sim_err(s, "GPADL_HEADER 0x%x: ranges %u offset %u count %u buflen %u pfns %u",
			    g.gpadl, g.rangecount, g.byte_offset, g.byte_count,
			    g.range_buflen, n);
			return 0;
		}
		struct sim_gpadl *sg = NULL;
		for (int i = 0; i < SIM_MAX_GPADLS && sg == NULL; i++)
			if (!s->gp[i].used)
				sg = &s->gp[i];
		if (sg == NULL)
			return HV_STATUS_INSUFFICIENT_MEMORY;
		memset(sg, 0, sizeof(*sg));
		sg->used = true;
		sg->handle = g.gpadl;
		sg->relid = g.child_relid;
		sg->npfn = npfn;
		sg->byte_count = g.byte_count;
		memcpy(sg->pfn, p + sizeof(g), 8 * n);
		sg->got = n;
		if (sg->got == sg->npfn)
			sim_gpadl_done(s, sg);
		return 0;
	}
	case VMBUS_MSG_GPADL_BODY: {
		struct vmbus_gpadl_body b;
		if (len <= sizeof(b) || (len - sizeof(b)) % 8 != 0) {
			sim_err(s, "GPADL_BODY of %u bytes", len);
			return HV_STATUS_INVALID_INPUT;
		}
		memcpy(&b, p, sizeof(b));
		struct sim_gpadl *g = sim_gpadl(s, b.gpadl);
		uint32_t n = (len - (uint32_t)sizeof(b)) / 8;
		if (g == NULL || g->got == g->npfn) {
			sim_err(s, "GPADL_BODY for handle 0x%x not in progress", b.gpadl);
			return 0;
		}
		uint32_t left = g->npfn - g->got;
		if (n != (left < VMBUS_GPADL_BODY_PFNS ? left : VMBUS_GPADL_BODY_PFNS)) {
			sim_err(s, "GPADL_BODY 0x%x carries %u PFNs, %u left", b.gpadl,
			    n, left);
			return 0;
		}
		memcpy(&g->pfn[g->got], p + sizeof(b), 8 * n);
		g->got += n;
		if (g->got == g->npfn)
			sim_gpadl_done(s, g);
		return 0;
	}
	case VMBUS_MSG_OPENCHANNEL: {
		struct vmbus_open o;
		NEEDLEN(sizeof(o));
		memcpy(&o, p, sizeof(o));
		sim_open(s, &o);
		return 0;
	}
	case VMBUS_MSG_CLOSECHANNEL: {
		struct vmbus_relid_msg m;
		NEEDLEN(sizeof(m));
		memcpy(&m, p, sizeof(m));
		struct sim_chan *c = hv_sim_chan(s, m.child_relid);
		if (c == NULL || !c->open) {
			sim_err(s, "CLOSECHANNEL for relid %u not open", m.child_relid);
			return 0;
		}
		c->open = false;
		return 0;
	}
	case VMBUS_MSG_GPADL_TEARDOWN: {
		struct vmbus_gpadl_teardown t;
		NEEDLEN(sizeof(t));
		memcpy(&t, p, sizeof(t));
		struct sim_gpadl *g = sim_gpadl(s, t.gpadl);
		if (g == NULL || g->relid != t.child_relid) {
			sim_err(s, "GPADL_TEARDOWN 0x%x relid %u unknown", t.gpadl,
			    t.child_relid);
			return 0;
		}
		struct sim_chan *c = hv_sim_chan(s, t.child_relid);
		if (c != NULL && c->open && c->gpadl == t.gpadl)
			sim_err(s, "GPADL_TEARDOWN 0x%x before CLOSECHANNEL", t.gpadl);
		g->used = false;
		struct vmbus_gpadl_torndown r = { { VMBUS_MSG_GPADL_TORNDOWN, 0 }, t.gpadl };
		if (!s->f_mute)
			sim_enqueue(s, &r, sizeof(r), 0);
		return 0;
	}
	case VMBUS_MSG_RELID_RELEASED: {
		struct vmbus_relid_msg m;
		NEEDLEN(sizeof(m));
		memcpy(&m, p, sizeof(m));
		struct sim_chan *c = hv_sim_chan(s, m.child_relid);
		if (c == NULL || !c->rescinded) {
			sim_err(s, "RELID_RELEASED for relid %u not rescinded", m.child_relid);
			return 0;
		}
		c->rescinded = false;
		s->relid_released++;
		return 0;
	}
	case VMBUS_MSG_UNLOAD: {
		NEEDLEN(8);
		s->unloads++;
		for (int i = 0; i < SIM_MAX_CHANS; i++)
			if (s->ch[i].open)
				sim_err(s, "UNLOAD with relid %u still open", s->ch[i].relid);
		struct vmbus_msg_hdr r = { VMBUS_MSG_UNLOAD_RESPONSE, 0 };
		if (!s->f_mute)
			sim_enqueue(s, &r, sizeof(r), 0);
		s->connected = false;
		return 0;
	}
	default:
		sim_err(s, "guest sent message type %u", h.msgtype);
		return HV_STATUS_INVALID_INPUT;
	}
#undef NEEDLEN
}

/* ---- hypercalls (B.4) ------------------------------------------------- */

static uint64_t
sim_hypercall(struct hw_dev *d, uint64_t control, uint64_t in_pa, uint64_t out_pa)
{
	struct hv_sim *s = S(d);
	uint16_t code = control & 0xffff;
	bool fast = (control >> 16) & 1;

	if (!(s->hypercall & 1)) {
		sim_err(s, "hypercall 0x%x without an enabled hypercall page", code);
		return HW_HYPERCALL_NO_PAGE;
	}
	if (control & ~0x1ffffull) {
		sim_err(s, "hypercall 0x%x: control 0x%llx has rep/header bits",
		    code, (unsigned long long)control);
		return HV_STATUS_INVALID_INPUT;
	}
	if (code == HV_CALL_POST_MESSAGE) {
		if (fast || !(s->priv_hi & HV_PH_POST_MESSAGES)) {
			sim_err(s, "PostMessage fast=%d or without privilege", fast);
			return HV_STATUS_INVALID_CODE;
		}
		if ((in_pa & 7) || (in_pa & 0xfff) + 256 > PG)
			return sim_err(s, "PostMessage input 0x%llx misaligned",
			    (unsigned long long)in_pa), HV_STATUS_INVALID_ALIGNMENT;
		const struct hv_post_msg *m = gpa(s, in_pa, 256, "PostMessage input");
		if (m == NULL)
			return HV_STATUS_INVALID_INPUT;
		s->posts++;
		if (m->reserved != 0 || m->message_type != HV_MSGTYPE_VMBUS ||
		    m->payload_size > HV_MSG_PAYLOAD || m->connection_id > 0xffffff) {
			sim_err(s, "PostMessage conn %u type %u size %u reserved %u",
			    m->connection_id, m->message_type, m->payload_size,
			    m->reserved);
			return HV_STATUS_INVALID_PARAMETER;
		}
		if (s->f_busy_posts > 0) {
			s->f_busy_posts--;
			return HV_STATUS_INSUFFICIENT_BUFFERS;
		}
		uint32_t conn = m->connection_id;
		if (conn == VMBUS_CONN_MESSAGE_V5 && s->conn4_unknown)
			return HV_STATUS_INVALID_CONNECTION_ID;
		if (conn != VMBUS_CONN_MESSAGE && conn != VMBUS_CONN_MESSAGE_V5 &&
		    !(s->connected && conn == s->msg_conn_id)) {
			sim_err(s, "PostMessage to unknown connection %u", conn);
			return HV_STATUS_INVALID_CONNECTION_ID;
		}
		return sim_vmbus_msg(s, conn, m->payload, m->payload_size);
	}
	if (code == HV_CALL_SIGNAL_EVENT) {
		if (!fast || !(s->priv_hi & HV_PH_SIGNAL_EVENTS)) {
			sim_err(s, "SignalEvent not fast or without privilege");
			return HV_STATUS_INVALID_CODE;
		}
		uint32_t conn = (uint32_t)in_pa;
		if ((in_pa >> 32) != 0)
			sim_err(s, "SignalEvent flag %llu, VMBus uses 0",
			    (unsigned long long)(in_pa >> 32));
		s->signals++;
		for (int i = 0; i < SIM_MAX_CHANS; i++) {
			struct sim_chan *c = &s->ch[i];
			if (c->open && c->conn_id == conn) {
				c->signals++;
				if (s->hook != NULL)
					s->hook(s, c, s->hook_ctx);
				return HV_STATUS_SUCCESS;
			}
		}
		/* A channel the host rescinded but the guest has not yet
		   released: the guest cannot know until it takes the
		   message, so its signals are ignored, not errors. */
		for (int i = 0; i < SIM_MAX_CHANS; i++)
			if (s->ch[i].rescinded && s->ch[i].conn_id == conn) {
				s->signals_after_rescind++;
				return HV_STATUS_SUCCESS;
			}
		sim_err(s, "SignalEvent on connection %u: no open channel", conn);
		return HV_STATUS_INVALID_CONNECTION_ID;
	}
	sim_err(s, "unknown hypercall 0x%x", code);
	return HV_STATUS_INVALID_CODE;
}

/* ---- host ends of channel rings (B.10) --------------------------------- */

static void
ring_cpy_in(const struct sim_ring *r, uint32_t off, const void *src, size_t n)
{
	uint8_t *data = r->base + PG;
	for (size_t i = 0; i < n; i++)
		data[(off + i) % r->dsize] = ((const uint8_t *)src)[i];
}

static void
ring_cpy_out(const struct sim_ring *r, uint32_t off, void *dst, size_t n)
{
	const uint8_t *data = r->base + PG;
	for (size_t i = 0; i < n; i++)
		((uint8_t *)dst)[i] = data[(off + i) % r->dsize];
}

int
hv_sim_chan_send(struct hv_sim *s, struct sim_chan *c, uint16_t type,
    uint16_t flags, uint64_t trans_id, const void *data, size_t len)
{
	return hv_sim_chan_send_ext(s, c, type, flags, trans_id, NULL, 0, data,
	    len);
}

int
hv_sim_chan_send_ext(struct hv_sim *s, struct sim_chan *c, uint16_t type,
    uint16_t flags, uint64_t trans_id, const void *ext, size_t extlen,
    const void *data, size_t len)
{
	if (!c->open || (extlen & 7) != 0)
		return -1;
	struct vmbus_ring_hdr *h = (void *)c->out.base;
	uint32_t w = h->write_index;
	uint32_t r = __atomic_load_n(&h->read_index, __ATOMIC_ACQUIRE);
	if (r >= c->out.dsize || (r & 7)) {
		sim_err(s, "relid %u: guest read_index 0x%x bad", c->relid, r);
		return -2;
	}
	uint32_t hlen = (uint32_t)(16 + extlen);
	uint32_t plen = (uint32_t)((hlen + len + 7) & ~7ull);
	uint32_t total = plen + 8;
	uint32_t avail = w >= r ? c->out.dsize - (w - r) : r - w;
	if (avail <= total)
		return -1;
	struct vmbus_pkt_desc d = { type, (uint16_t)(hlen / 8),
		(uint16_t)(plen / 8), flags, trans_id };
	uint8_t pad[8] = { 0 };
	ring_cpy_in(&c->out, w, &d, 16);
	if (extlen > 0)
		ring_cpy_in(&c->out, (w + 16) % c->out.dsize, ext, extlen);
	ring_cpy_in(&c->out, (w + hlen) % c->out.dsize, data, len);
	ring_cpy_in(&c->out, (uint32_t)((w + hlen + len) % c->out.dsize), pad,
	    plen - hlen - len);
	uint64_t trailer = (uint64_t)w << 32;
	ring_cpy_in(&c->out, (w + plen) % c->out.dsize, &trailer, 8);
	__atomic_store_n(&h->write_index, (w + total) % c->out.dsize, __ATOMIC_RELEASE);
	if (__atomic_load_n(&h->interrupt_mask, __ATOMIC_ACQUIRE) == 0 &&
	    __atomic_load_n(&h->read_index, __ATOMIC_ACQUIRE) == w)
		sim_signal_guest(s, c);
	return 0;
}

static int sim_chan_read(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, void *ext, size_t extcap, size_t *extlen, uint16_t *type,
    uint64_t *trans_id, uint16_t *flags, uint32_t *whole_hlen);

uint32_t
hv_sim_chan_audit(struct hv_sim *s, struct sim_chan *c)
{
	if (!c->open)
		return 0;
	struct vmbus_ring_hdr *h = (void *)c->in.base;
	uint32_t w = __atomic_load_n(&h->write_index, __ATOMIC_ACQUIRE);
	uint32_t r = h->read_index;
	if (w >= c->in.dsize || (w & 7))
		return 0;	/* sim_chan_read reports the index */
	uint32_t used = w >= r ? w - r : c->in.dsize - r + w;
	uint32_t free = c->in.dsize - used;
	if (c->audited) {
		/* Bytes the guest wrote since the last look; a write that did
		   not fit would have run over unread packets (or made the
		   ring exactly full, which reads as empty). */
		uint32_t wrote = (w + c->in.dsize - c->audit_w) % c->in.dsize;
		if (wrote >= c->audit_free)
			sim_err(s, "relid %u: guest wrote %u bytes into a ring with %u free (B.10)",
			    c->relid, wrote, c->audit_free);
	}
	uint32_t pend = __atomic_load_n(&h->pending_send_sz, __ATOMIC_ACQUIRE);
	if (pend >= c->in.dsize)
		sim_err(s, "relid %u: pending_send_sz %u not below the ring's %u bytes",
		    c->relid, pend, c->in.dsize);
	c->audited = true;
	c->audit_w = w;
	c->audit_free = free;
	return free;
}

int
hv_sim_chan_recv(struct hv_sim *s, struct sim_chan *c, void *buf, size_t buflen,
    uint16_t *type, uint64_t *trans_id)
{
	return sim_chan_read(s, c, buf, buflen, NULL, 0, NULL, type, trans_id, NULL, NULL);
}

int
hv_sim_chan_recv_pkt(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, uint16_t *type, uint64_t *trans_id, uint32_t *hdr_len)
{
	return sim_chan_read(s, c, buf, buflen, NULL, 0, NULL, type, trans_id, NULL, hdr_len);
}

int
hv_sim_chan_recv_ext(struct hv_sim *s, struct sim_chan *c, void *buf,
    size_t buflen, void *ext, size_t extcap, size_t *extlen, uint16_t *type,
    uint64_t *trans_id, uint16_t *flags)
{
	return sim_chan_read(s, c, buf, buflen, ext, extcap, extlen, type, trans_id, flags,
	    NULL);
}

void *
hv_sim_gpa(struct hv_sim *s, uint64_t pa, size_t len, const char *what)
{
	if (s->gpa_any && pa != 0)
		return (void *)(uintptr_t)pa;
	return gpa(s, pa, len, what);
}

/* whole_hlen NULL: copy the payload (after offset8 * 8); otherwise copy
   the whole packet from its descriptor and store offset8 * 8 there.  ext:
   the type-specific header after the descriptor, up to extcap bytes, its
   length in *extlen; flags: the descriptor's. */
static int
sim_chan_read(struct hv_sim *s, struct sim_chan *c, void *buf, size_t buflen,
    void *ext, size_t extcap, size_t *extlen, uint16_t *type,
    uint64_t *trans_id, uint16_t *flags, uint32_t *whole_hlen)
{
	if (!c->open)
		return -1;
	struct vmbus_ring_hdr *h = (void *)c->in.base;
	uint32_t w = __atomic_load_n(&h->write_index, __ATOMIC_ACQUIRE);
	uint32_t r = h->read_index;
	if (w >= c->in.dsize || (w & 7)) {
		sim_err(s, "relid %u: guest write_index 0x%x bad", c->relid, w);
		return -2;
	}
	uint32_t avail = w >= r ? w - r : c->in.dsize - r + w;
	if (avail == 0)
		return -1;
	hv_sim_chan_audit(s, c);
	struct vmbus_pkt_desc d;
	ring_cpy_out(&c->in, r, &d, 16);
	uint32_t plen = d.len8 * 8u, hlen = d.offset8 * 8u;
	if (plen < 16 || hlen < 16 || hlen > plen || plen + 8 > avail) {
		sim_err(s, "relid %u: guest packet len %u header %u avail %u",
		    c->relid, plen, hlen, avail);
		return -2;
	}
	uint64_t trailer;
	ring_cpy_out(&c->in, (r + plen) % c->in.dsize, &trailer, 8);
	if (trailer != (uint64_t)r << 32)
		sim_err(s, "relid %u: trailer 0x%llx, expected 0x%llx", c->relid,
		    (unsigned long long)trailer, (unsigned long long)r << 32);
	uint32_t from = whole_hlen != NULL ? 0 : hlen;
	uint32_t n = plen - from;
	if (n > buflen)
		n = (uint32_t)buflen;
	ring_cpy_out(&c->in, (r + from) % c->in.dsize, buf, n);
	if (whole_hlen != NULL)
		*whole_hlen = hlen;
	if (extlen != NULL) {
		size_t e = hlen - 16 < extcap ? hlen - 16 : extcap;
		ring_cpy_out(&c->in, (r + 16) % c->in.dsize, ext, e);
		*extlen = hlen - 16;
	}
	if (flags != NULL)
		*flags = d.flags;
	if (type != NULL)
		*type = d.type;
	if (trans_id != NULL)
		*trans_id = d.trans_id;
	uint32_t before = c->in.dsize - avail;
	__atomic_store_n(&h->read_index, (r + plen + 8) % c->in.dsize, __ATOMIC_RELEASE);
	c->audit_free += plen + 8;	/* the guest may fill what we read */
	/* B.10: a blocked writer is signalled once, when this read moves
	   the free space from at most pending_send_sz to more than it. */
	uint32_t pend = __atomic_load_n(&h->pending_send_sz, __ATOMIC_ACQUIRE);
	if ((h->feature_bits & VMBUS_RING_FEAT_PENDING) && pend != 0 &&
	    before <= pend && before + plen + 8 > pend) {
		c->pend_signals++;
		sim_signal_guest(s, c);
	}
	return (int)(plen - from);
}

void *
hv_sim_guest_va(struct hv_sim *s, uint64_t pa, size_t len, const char *what)
{
	return gpa(s, pa, len, what);
}

void *
hv_sim_gpadl_va(struct hv_sim *s, uint32_t handle, uint32_t relid,
    uint64_t off, size_t len)
{
	struct sim_gpadl *g = sim_gpadl(s, handle);
	if (g == NULL || !g->created || g->relid != relid) {
		sim_err(s, "GPADL 0x%x of relid %u not created", handle, relid);
		return NULL;
	}
	if (len == 0 || off + len > (uint64_t)g->npfn * PG || off + len < off)
		return NULL;
	uint32_t first = (uint32_t)(off / PG), last = (uint32_t)((off + len - 1) / PG);
	for (uint32_t i = first; i < last; i++)
		if (g->pfn[i + 1] != g->pfn[i] + 1)
			return NULL;	/* not contiguous: the VSP copies pagewise */
	return gpa(s, (g->pfn[first] << 12) + off % PG, len, "GPADL range");
}

/* ---- seam plumbing ------------------------------------------------------ */

/* Arena memory is never reused: only heap memory is freed. */
static void
sim_mem_release(struct hv_sim *s, uint8_t *va)
{
	if (s->arena != NULL && va >= s->arena && va < s->arena + s->arena_len)
		return;
	free(va);
}

bool
hv_sim_use_arena(struct hv_sim *s, uint64_t base, size_t len)
{
	void *p = mmap((void *)(uintptr_t)base, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	if (p != (void *)(uintptr_t)base) {
		munmap(p, len);
		return false;
	}
	s->arena = p;
	s->arena_len = len;
	s->arena_used = 0;
	return true;
}

static int
sim_dma_alloc(struct hw_dev *d, size_t len, size_t align, struct hw_dma *out)
{
	struct hv_sim *s = S(d);
	size_t n = (len + PG - 1) & ~(size_t)(PG - 1);
	if (s->nalloc == SIM_MAX_ALLOCS)
		return -1;
	if (s->f_dma_fail_at != 0 && --s->f_dma_fail_at == 0)
		return -1;
	void *p;
	if (s->arena != NULL) {
		size_t a = align < PG ? PG : align;
		size_t at = (s->arena_used + a - 1) & ~(a - 1);
		if (at + n > s->arena_len)
			return -1;
		p = s->arena + at;
		s->arena_used = at + n;
	} else if ((p = aligned_alloc(align < PG ? PG : align, n)) == NULL) {
		return -1;
	}
	memset(p, 0, n);
	s->mem[s->nalloc].va = p;
	s->mem[s->nalloc].len = n;
	s->nalloc++;
	out->va = p;
	out->pa = (uint64_t)(uintptr_t)p;
	out->len = len;
	return 0;
}

static void
sim_dma_free(struct hw_dev *d, struct hw_dma *dma)
{
	struct hv_sim *s = S(d);
	for (int i = 0; i < s->nalloc; i++)
		if (s->mem[i].va == dma->va) {
			/* A page the host still uses must not go away. */
			uint64_t b = (uint64_t)(uintptr_t)dma->va;
			if ((s->simp & 1) && (s->simp & ~0xfffull) == b)
				sim_err(s, "freed the SIMP page while enabled");
			if ((s->hypercall & 1) && (s->hypercall & ~0xfffull) == b)
				sim_err(s, "freed the hypercall page while enabled");
			for (int k = 0; k < SIM_MAX_GPADLS; k++)
				if (s->gp[k].used && s->gp[k].pfn[0] << 12 >= b &&
				    s->gp[k].pfn[0] << 12 < b + s->mem[i].len)
					sim_err(s, "freed memory of live GPADL 0x%x",
					    s->gp[k].handle);
			sim_mem_release(s, s->mem[i].va);
			s->mem[i] = s->mem[--s->nalloc];
			dma->va = NULL;
			return;
		}
	sim_err(s, "dma_free of memory never allocated");
}

static uint64_t sim_v2p(struct hw_dev *d, const void *va) { return (uint64_t)(uintptr_t)va; }
static uint64_t sim_now(struct hw_dev *d) { return S(d)->now_ns; }

static void
sim_delay(struct hw_dev *d, uint32_t us)
{
	hv_sim_advance(S(d), (uint64_t)us * 1000);
}

static bool
sim_intr_wait(struct hw_dev *d, int vec, uint64_t timeout_ns)
{
	struct hv_sim *s = S(d);
	sim_pump(s);
	if (!s->irq_pending) {
		uint64_t until = s->now_ns + timeout_ns;
		if (s->qlen > 0 && s->q[s->qhead].at_ns > s->now_ns &&
		    s->q[s->qhead].at_ns < until)
			until = s->q[s->qhead].at_ns;
		if ((s->stimer_config & HV_STIMER_ENABLE) && s->stimer_next_ns > s->now_ns &&
		    s->stimer_next_ns < until)
			until = s->stimer_next_ns;
		s->now_ns = until;
		sim_stimer_run(s);
		sim_pump(s);
	}
	bool was = s->irq_pending;
	s->irq_pending = false;
	return was;
}

const struct hw_ops hv_sim_ops = {
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.virt_to_phys = sim_v2p,
	.now_ns = sim_now,
	.delay_us = sim_delay,
	.intr_wait = sim_intr_wait,
	.msr_read = sim_msr_read,
	.msr_write = sim_msr_write,
	.cpuid = sim_cpuid,
	.hypercall = sim_hypercall,
};

void
hv_sim_init(struct hv_sim *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dev.name, sizeof(s->dev.name), "hv-cpu");
	s->dev.ops = &hv_sim_ops;
	s->dev.backend = s;
	s->now_ns = 1000000000ull;
	s->tsc_hz = 2500000000ull;
	s->tsc_seq = 1;
	s->max_leaf = 0x4000000B;	/* as WSL2 reports */
	s->priv_lo = HV_P_VP_RUNTIME | HV_P_TIME_REF_COUNT | HV_P_SYNIC |
	    HV_P_STIMER | HV_P_HYPERCALL | HV_P_VP_INDEX | HV_P_REF_TSC |
	    HV_P_FREQ_MSRS;
	s->priv_hi = HV_PH_POST_MESSAGES | HV_PH_SIGNAL_EVENTS;
	s->misc = HV_M_FREQ_MSRS | HV_M_CRASH_MSRS | HV_M_STIMER_DIRECT;
	s->vp_index = 0;
	for (int i = 0; i < 16; i++)
		s->sint[i] = HV_SINT_MASKED;
	s->ver_max = VMBUS_V5_3;
	s->ver_min = VMBUS_V3_0;
	s->msg_conn_id = VMBUS_CONN_MESSAGE_V5;
}

int
hv_sim_fini(struct hv_sim *s)
{
	int n = s->nalloc;
	for (int i = 0; i < s->nalloc; i++)
		sim_mem_release(s, s->mem[i].va);
	s->nalloc = 0;
	if (s->arena != NULL)
		munmap(s->arena, s->arena_len);
	s->arena = NULL;
	return n;
}
