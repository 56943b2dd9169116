/*
 * hv_timer.c - Hyper-V synthetic timer 0 as the kernel's tick
 * (PROTOCOLS.md B.2 STIMER0_CONFIG/COUNT, B.5 message slots, B.6).
 *
 * Direct mode when CPUID 0x40000003 EDX bit 19 offers it: the timer
 * raises our vector like a LAPIC interrupt, no message.  Otherwise
 * message mode: the hypervisor posts HVMSG_TIMER_EXPIRED into the slot
 * of SINT3 (tern's choice, see HV_SINT_TIMER) and raises SINT3's vector;
 * the slot is consumed with the usual EOM rule (hv_msg_take).  The
 * expiry message is host input: its type, size and timer index are
 * checked and a wrong one is counted, never a tick.
 *
 * Portable: everything goes through the seam on hv->dev, so the host
 * tests run it against tests/vmbus/hv_sim.c.
 */
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/log.h"

const char *
hv_stimer_mode_name(int mode)
{
	switch (mode) {
	case HV_STIMER_MODE_DIRECT: return "direct";
	case HV_STIMER_MODE_MESSAGE: return "message";
	}
	return "off";
}

/* One-shot: write the absolute expiry of the next tick.  A tick that
   is already late (we were held up) is armed one period from now. */
static int
hv_stimer_arm(struct hv_stimer *t)
{
	uint64_t now;

	if (hv_ref_time(t->hv, &now) != TERN_OK) {
		t->rearm_fail++;
		return TERN_EIO;
	}
	t->next += t->period;
	if (t->next <= now) {
		t->late++;
		t->next = now + t->period;
	}
	hw_msr_write(t->hv->dev, HV_MSR_STIMER0_COUNT, t->next);
	return TERN_OK;
}

int
hv_stimer_start(struct hv_stimer *t, struct hv *hv, int vector,
    uint32_t hz, bool periodic)
{
	uint64_t cfg, now;

	memset(t, 0, sizeof(*t));
	t->hv = hv;
	if (hz == 0 || hz > 10000 || vector < 16 || vector > 255)
		return TERN_EINVAL;
	if (!(hv->priv_lo & HV_P_STIMER)) {
		log_info("hv", "no synthetic timer privilege (0x%08x)", hv->priv_lo);
		return TERN_ENOTSUP;
	}
	if (!periodic && hv_ref_time(hv, &now) != TERN_OK) {
		log_info("hv", "one-shot synthetic timer needs reference time");
		return TERN_ENOTSUP;
	}
	if (hv->misc & HV_M_STIMER_DIRECT) {
		t->mode = HV_STIMER_MODE_DIRECT;
		cfg = HV_STIMER_DIRECT |
		    (uint64_t)vector << HV_STIMER_VECTOR_SHIFT;
	} else {
		if (!hv->synic_on) {
			log_info("hv", "synthetic timer: no direct mode and no SynIC for its messages");
			return TERN_ENOTSUP;
		}
		t->mode = HV_STIMER_MODE_MESSAGE;
		cfg = (uint64_t)HV_SINT_TIMER << HV_STIMER_SINT_SHIFT;
		/* SINT3: our vector, unmasked, no AutoEOI (as SINT2). */
		uint32_t sint = HV_MSR_SINT0 + HV_SINT_TIMER;
		uint64_t v = hw_msr_read(hv->dev, sint);
		v &= ~(HV_SINT_VECTOR_MASK | HV_SINT_MASKED | HV_SINT_AUTOEOI);
		hw_msr_write(hv->dev, sint, v | (uint64_t)vector);
	}
	t->vector = vector;
	t->periodic = periodic;
	t->period = 10000000u / hz;
	/* COUNT before CONFIG: enabling a timer whose count is 0 leaves
	   it disabled.  A one-shot uses auto-enable, so each re-arm (a
	   COUNT write) enables it again after it fired. */
	if (periodic) {
		hw_msr_write(hv->dev, HV_MSR_STIMER0_COUNT, t->period);
		hw_msr_write(hv->dev, HV_MSR_STIMER0_CONFIG,
		    cfg | HV_STIMER_PERIODIC | HV_STIMER_ENABLE);
	} else {
		hw_msr_write(hv->dev, HV_MSR_STIMER0_CONFIG,
		    cfg | HV_STIMER_AUTO_ENABLE);
		t->next = now;
		hv_stimer_arm(t);
	}
	uint64_t back = hw_msr_read(hv->dev, HV_MSR_STIMER0_CONFIG);
	if (!(back & HV_STIMER_ENABLE)) {
		log_warn("hv", "STIMER0_CONFIG reads 0x%llx: not enabled",
		    (unsigned long long)back);
		hv_stimer_stop(t);
		return TERN_EIO;
	}
	return TERN_OK;
}

unsigned
hv_stimer_isr(struct hv_stimer *t)
{
	struct hv_message m;

	memset(&m, 0, sizeof(m));
	if (t->mode == HV_STIMER_OFF)
		return 0;
	if (t->mode == HV_STIMER_MODE_MESSAGE) {
		int rc = hv_msg_take(t->hv, HV_SINT_TIMER, &m);
		if (rc == TERN_EAGAIN) {
			t->spurious++;
			return 0;
		}
		struct hv_timer_msg tm;
		memcpy(&tm, m.payload, sizeof(tm));
		if (rc != TERN_OK || m.message_type != HV_MSGTYPE_TIMER ||
		    m.payload_size < sizeof(tm) || tm.timer_index != 0) {
			/* Logged once: a host that fills the slot with
			   something else would otherwise flood the log. */
			if (t->msgs_bad++ == 0)
				log_warn("hv", "SINT%u: message type 0x%x size %u timer %u is not timer 0's expiry",
				    HV_SINT_TIMER, m.message_type, m.payload_size,
				    tm.timer_index);
			return 0;
		}
	}
	t->ticks++;
	if (!t->periodic)
		hv_stimer_arm(t);
	return 1;
}

void
hv_stimer_stop(struct hv_stimer *t)
{
	if (t->mode == HV_STIMER_OFF)
		return;
	hw_msr_write(t->hv->dev, HV_MSR_STIMER0_CONFIG, 0);
	hw_msr_write(t->hv->dev, HV_MSR_STIMER0_COUNT, 0);
	if (t->mode == HV_STIMER_MODE_MESSAGE) {
		uint32_t sint = HV_MSR_SINT0 + HV_SINT_TIMER;
		hw_msr_write(t->hv->dev, sint,
		    hw_msr_read(t->hv->dev, sint) | HV_SINT_MASKED);
	}
	t->mode = HV_STIMER_OFF;
}
