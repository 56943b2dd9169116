/*
 * hv.c - Hyper-V enlightenments (PROTOCOLS.md B.1-B.6): detection, guest
 * OS id, hypercall page, SynIC, reference time, crash MSRs.  See hv.h for
 * the contract.  Every value read from the hypervisor (CPUID, MSRs, the
 * message and TSC pages) is checked before use and counted when wrong.
 */
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"

#define HV_POST_TRIES		100
#define HV_TSC_TRIES		8
#define TERN_VERSION_WORD	0x00000100u	/* 0.1.0 in B.3 bits 47:16 */

int
hv_probe(struct hv *hv, struct hw_dev *d)
{
	uint32_t r[4];

	hv->dev = d;
	hw_cpuid(d, 1, 0, r);
	if (!(r[2] & (1u << 31)))
		return TERN_ENODEV;
	hw_cpuid(d, HV_CPUID_VENDOR, 0, r);
	if (r[1] != HV_VENDOR_EBX || r[2] != HV_VENDOR_ECX ||
	    r[3] != HV_VENDOR_EDX)
		return TERN_ENODEV;
	hv->max_leaf = r[0];
	memcpy(hv->leaf[0], r, sizeof(r));
	/* A host that claims fewer than the feature leaves is not one we
	   can drive; higher leaves are read only when offered. */
	if (hv->max_leaf < HV_CPUID_RECOMMEND) {
		log_warn("hv", "cpuid max leaf 0x%08x < 0x%08x; not using Hyper-V",
		    hv->max_leaf, HV_CPUID_RECOMMEND);
		return TERN_ENODEV;
	}
	for (uint32_t l = HV_CPUID_IFACE; l <= HV_CPUID_LAST; l++) {
		if (l > hv->max_leaf)
			break;
		hw_cpuid(d, l, 0, hv->leaf[l - HV_CPUID_VENDOR]);
	}
	if (hv->leaf[1][0] != HV_IFACE_SIG) {
		log_warn("hv", "vendor Microsoft Hv but interface 0x%08x, not Hv#1",
		    hv->leaf[1][0]);
		return TERN_ENODEV;
	}
	hv->priv_lo = hv->leaf[3][0];
	hv->priv_hi = hv->leaf[3][1];
	hv->misc = hv->leaf[3][3];
	hv->recommend = hv->leaf[4][0];
	hv->vp_index = 0;
	if (hv->priv_lo & HV_P_VP_INDEX) {
		uint64_t vp = hw_msr_read(d, HV_MSR_VP_INDEX);
		if (vp > 0xffffffffull)
			log_warn("hv", "VP_INDEX 0x%llx out of range; using 0",
			    (unsigned long long)vp);
		else
			hv->vp_index = (uint32_t)vp;
	}
	return TERN_OK;
}

size_t
hv_format(const struct hv *hv, char *buf, size_t n)
{
	const uint32_t *v = hv->leaf[2];
	int len = ksnprintf(buf, n,
	    "HV version=%u.%u.%u features=%08x:%08x:%08x rec=%08x max_leaf=0x%08x",
	    v[1] >> 16, v[1] & 0xffff, v[0], hv->priv_lo, hv->priv_hi,
	    hv->misc, hv->recommend, hv->max_leaf);
	if (len < 0)
		return 0;
	return (size_t)len < n ? (size_t)len : n - 1;
}

uint64_t
hv_guest_os_id(void)
{
	return HV_OSID_OPEN_SOURCE | HV_OSID_TYPE_TERN << HV_OSID_TYPE_SHIFT |
	    (uint64_t)TERN_VERSION_WORD << 16;
}

/* Write a page-address MSR: keep the reserved bits 11:1 the hypervisor
   gave us, put in the page number and the enable bit. */
static void
hv_page_msr(struct hv *hv, uint32_t msr, uint64_t pa, bool on)
{
	uint64_t v = hw_msr_read(hv->dev, msr) & HV_PAGE_KEEP;
	if (on)
		v |= (pa & HV_PAGE_MASK) | HV_PAGE_ENABLE;
	hw_msr_write(hv->dev, msr, v);
}

int
hv_hypercall_enable(struct hv *hv, uint64_t page_pa)
{
	if (!(hv->priv_lo & HV_P_HYPERCALL)) {
		log_info("hv", "no hypercall MSR privilege; no hypercalls");
		return TERN_ENOTSUP;
	}
	if (page_pa == 0 || (page_pa & 0xfff) != 0)
		return TERN_EINVAL;
	/* B.2: the guest OS id must be non-zero before the page is enabled. */
	hw_msr_write(hv->dev, HV_MSR_GUEST_OS_ID, hv_guest_os_id());
	hv_page_msr(hv, HV_MSR_HYPERCALL, page_pa, true);
	uint64_t back = hw_msr_read(hv->dev, HV_MSR_HYPERCALL);
	if (!(back & HV_PAGE_ENABLE) || (back & HV_PAGE_MASK) != page_pa) {
		log_warn("hv", "HYPERCALL MSR reads 0x%llx after writing page 0x%llx; no hypercalls",
		    (unsigned long long)back, (unsigned long long)page_pa);
		hw_msr_write(hv->dev, HV_MSR_GUEST_OS_ID, 0);
		return TERN_EIO;
	}
	hv->hypercall_on = true;
	return TERN_OK;
}

void
hv_hypercall_disable(struct hv *hv)
{
	if (!hv->hypercall_on)
		return;
	hv_page_msr(hv, HV_MSR_HYPERCALL, 0, false);
	hw_msr_write(hv->dev, HV_MSR_GUEST_OS_ID, 0);
	hv->hypercall_on = false;
}

static int
hv_page(struct hv *hv, struct hw_dma *p)
{
	if (hw_dma_alloc(hv->dev, HV_PAGE_SIZE, HV_PAGE_SIZE, p) != 0)
		return TERN_ENOMEM;
	memset(p->va, 0, HV_PAGE_SIZE);
	return TERN_OK;
}

static void
hv_page_free(struct hv *hv, struct hw_dma *p)
{
	if (p->va != NULL)
		hw_dma_free(hv->dev, p);
	memset(p, 0, sizeof(*p));
}

int
hv_synic_init(struct hv *hv, int vector)
{
	int rc;

	if (!(hv->priv_lo & HV_P_SYNIC) || !(hv->priv_hi & HV_PH_POST_MESSAGES) ||
	    !(hv->priv_hi & HV_PH_SIGNAL_EVENTS)) {
		log_info("hv", "no SynIC/PostMessages/SignalEvents privilege (0x%08x:0x%08x); no VMBus",
		    hv->priv_lo, hv->priv_hi);
		return TERN_ENOTSUP;
	}
	if (!hv->hypercall_on)
		return TERN_ENOTSUP;
	if (vector < 16 || vector > 255)
		return TERN_EINVAL;
	uint64_t sver = hw_msr_read(hv->dev, HV_MSR_SVERSION);
	if (sver != 1)
		log_warn("hv", "SVERSION %llu, expected 1; continuing",
		    (unsigned long long)sver);
	if ((rc = hv_page(hv, &hv->simp)) != TERN_OK)
		goto fail;
	if ((rc = hv_page(hv, &hv->siefp)) != TERN_OK)
		goto fail_simp;
	if ((rc = hv_page(hv, &hv->post_page)) != TERN_OK)
		goto fail_siefp;
	hw_dma_sync_dev(hv->dev, hv->simp.va, HV_PAGE_SIZE);
	hw_dma_sync_dev(hv->dev, hv->siefp.va, HV_PAGE_SIZE);
	hv_page_msr(hv, HV_MSR_SIMP, hv->simp.pa, true);
	hv_page_msr(hv, HV_MSR_SIEFP, hv->siefp.pa, true);
	/* SINT2: our vector, unmasked.  No AutoEOI: the kernel's interrupt
	   path EOIs the LAPIC for every vector, and with AutoEOI that EOI
	   would retire some other in-service interrupt. */
	uint32_t sint = HV_MSR_SINT0 + HV_SINT_VMBUS;
	uint64_t v = hw_msr_read(hv->dev, sint);
	v &= ~(HV_SINT_VECTOR_MASK | HV_SINT_MASKED | HV_SINT_AUTOEOI);
	v |= (uint64_t)vector;
	hw_msr_write(hv->dev, sint, v);
	hw_msr_write(hv->dev, HV_MSR_SCONTROL,
	    hw_msr_read(hv->dev, HV_MSR_SCONTROL) | 1);
	hv->vector = vector;
	hv->synic_on = true;
	return TERN_OK;

fail_siefp:
	hv_page_free(hv, &hv->siefp);
fail_simp:
	hv_page_free(hv, &hv->simp);
fail:
	return rc;
}

void
hv_synic_fini(struct hv *hv)
{
	if (!hv->synic_on)
		return;
	uint32_t sint = HV_MSR_SINT0 + HV_SINT_VMBUS;
	hw_msr_write(hv->dev, sint, hw_msr_read(hv->dev, sint) | HV_SINT_MASKED);
	hw_msr_write(hv->dev, HV_MSR_SCONTROL,
	    hw_msr_read(hv->dev, HV_MSR_SCONTROL) & ~1ull);
	hv_page_msr(hv, HV_MSR_SIMP, 0, false);
	hv_page_msr(hv, HV_MSR_SIEFP, 0, false);
	hv_page_free(hv, &hv->post_page);
	hv_page_free(hv, &hv->siefp);
	hv_page_free(hv, &hv->simp);
	hv->synic_on = false;
}

int
hv_msg_take(struct hv *hv, unsigned sint, struct hv_message *out)
{
	if (!hv->synic_on || sint >= HV_SINT_COUNT)
		return TERN_EINVAL;
	struct hv_message *slot = (struct hv_message *)hv->simp.va + sint;
	uint32_t type = hw_dma_load32(hv->dev, &slot->message_type);
	if (type == HV_MSGTYPE_NONE)
		return TERN_EAGAIN;
	hw_dma_sync_cpu(hv->dev, slot, sizeof(*slot));
	memcpy(out, slot, sizeof(*out));
	out->message_type = type;
	/* Free the slot only if it still holds what we read; the host never
	   rewrites a busy slot, so a lost exchange is a host bug. */
	uint32_t expect = type;
	if (!__atomic_compare_exchange_n(&slot->message_type, &expect, 0,
	    false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		hv->st.cmpxchg_lost++;
	hw_dma_sync_dev(hv->dev, &slot->message_type, 4);
	hw_mb();
	/* B.5: without this EOM no further message arrives on the SINT.
	   The host may have set msg_pending after our copy (it tried to
	   deliver into the busy slot), so look at the slot again too. */
	hw_dma_sync_cpu(hv->dev, &slot->flags, 1);
	uint8_t live = ((volatile struct hv_message *)slot)->flags;
	if ((out->flags | live) & HV_MSGFLAG_PENDING) {
		hw_msr_write(hv->dev, HV_MSR_EOM, 0);
		hv->st.eoms++;
	}
	hv->st.msgs++;
	if (out->payload_size > HV_MSG_PAYLOAD) {
		hv->st.msgs_bad++;
		log_warn("hv", "SINT%u message type 0x%x payload_size %u > %u; dropped",
		    sint, type, out->payload_size, HV_MSG_PAYLOAD);
		return TERN_EPROTO;
	}
	return TERN_OK;
}

bool
hv_event_test_clear(struct hv *hv, unsigned sint, uint32_t bit)
{
	if (!hv->synic_on || sint >= HV_SINT_COUNT || bit >= HV_EVENT_BITS)
		return false;
	uint32_t *w = (uint32_t *)((uint8_t *)hv->siefp.va +
	    sint * HV_EVENT_AREA) + bit / 32;
	uint32_t m = 1u << (bit % 32);
	hw_dma_sync_cpu(hv->dev, w, 4);
	if (!(__atomic_load_n(w, __ATOMIC_ACQUIRE) & m))
		return false;
	uint32_t old = __atomic_fetch_and(w, ~m, __ATOMIC_SEQ_CST);
	hw_dma_sync_dev(hv->dev, w, 4);
	return (old & m) != 0;
}

int
hv_post_message(struct hv *hv, uint32_t conn_id, const void *msg,
    size_t len, uint16_t *status)
{
	uint16_t st = HV_STATUS_INVALID_INPUT;

	if (!hv->synic_on || len > HV_MSG_PAYLOAD || conn_id > 0xffffff) {
		if (status != NULL)
			*status = st;
		return TERN_EINVAL;
	}
	struct hv_post_msg *in = hv->post_page.va;
	for (int i = 0; i < HV_POST_TRIES; i++) {
		memset(in, 0, sizeof(*in));
		in->connection_id = conn_id;
		in->message_type = HV_MSGTYPE_VMBUS;
		in->payload_size = (uint32_t)len;
		memcpy(in->payload, msg, len);
		hw_dma_sync_dev(hv->dev, in, 16 + len);
		uint64_t r = hw_hypercall(hv->dev, HV_CALL_POST_MESSAGE,
		    hv->post_page.pa, 0);
		st = HV_CALL_STATUS(r);
		hv->st.posts++;
		if (st != HV_STATUS_INSUFFICIENT_MEMORY &&
		    st != HV_STATUS_INSUFFICIENT_BUFFERS)
			break;
		/* The host's message buffers are full: back off and retry. */
		hv->st.post_retries++;
		hw_delay_us(hv->dev, 20 + 20 * (uint32_t)i);
	}
	if (status != NULL)
		*status = st;
	if (st != HV_STATUS_SUCCESS) {
		hv->st.post_fail++;
		return TERN_EIO;
	}
	return TERN_OK;
}

int
hv_signal_event(struct hv *hv, uint32_t conn_id)
{
	if (!hv->hypercall_on)
		return TERN_ENOTSUP;
	uint64_t r = hw_hypercall(hv->dev, HV_CALL_SIGNAL_EVENT | HV_CALL_FAST,
	    conn_id, 0);
	hv->st.signals++;
	if (HV_CALL_STATUS(r) != HV_STATUS_SUCCESS) {
		hv->st.signal_fail++;
		log_warn("hv", "HvSignalEvent conn %u: status %u", conn_id,
		    HV_CALL_STATUS(r));
		return TERN_EIO;
	}
	return TERN_OK;
}

int
hv_time_init(struct hv *hv)
{
	if ((hv->priv_lo & HV_P_FREQ_MSRS) && (hv->misc & HV_M_FREQ_MSRS)) {
		uint64_t hz = hw_msr_read(hv->dev, HV_MSR_TSC_FREQUENCY);
		/* 1 MHz..20 GHz: anything else is not a TSC we believe. */
		if (hz >= 1000000ull && hz <= 20000000000ull)
			hv->tsc_hz = hz;
		else
			log_warn("hv", "TSC_FREQUENCY %llu Hz implausible; calibrating instead",
			    (unsigned long long)hz);
	}
	if ((hv->priv_lo & HV_P_REF_TSC) && hv->read_tsc != NULL) {
		if (hv_page(hv, &hv->tsc_page) == TERN_OK) {
			hw_dma_sync_dev(hv->dev, hv->tsc_page.va, HV_PAGE_SIZE);
			hv_page_msr(hv, HV_MSR_REFERENCE_TSC, hv->tsc_page.pa, true);
			hv->tsc_page_on = true;
		} else {
			log_warn("hv", "no memory for the reference TSC page");
		}
	}
	if (!hv->tsc_page_on && !(hv->priv_lo & HV_P_TIME_REF_COUNT))
		return TERN_ENOTSUP;
	if (!hv->tsc_page_on)
		log_info("hv", "no reference TSC page; time from TIME_REF_COUNT (slow)");
	return TERN_OK;
}

void
hv_time_fini(struct hv *hv)
{
	if (!hv->tsc_page_on)
		return;
	hv_page_msr(hv, HV_MSR_REFERENCE_TSC, 0, false);
	hv_page_free(hv, &hv->tsc_page);
	hv->tsc_page_on = false;
}

int
hv_ref_time(struct hv *hv, uint64_t *t100ns)
{
	if (hv->tsc_page_on) {
		volatile struct hv_tsc_page *p = hv->tsc_page.va;
		for (int i = 0; i < HV_TSC_TRIES; i++) {
			uint32_t seq = hw_dma_load32(hv->dev, &p->sequence);
			if (seq == 0)
				break;	/* invalid now: the MSR is the clock */
			hw_rmb();
			hw_dma_sync_cpu(hv->dev, (const void *)p, sizeof(*p));
			uint64_t scale = p->scale;
			int64_t off = p->offset;
			uint64_t tsc = hv->read_tsc(hv->dev);
			hw_rmb();
			if (hw_dma_load32(hv->dev, &p->sequence) != seq) {
				/* The host rewrote the page under us (live
				   migration): read it again. */
				hv->st.tsc_retries++;
				continue;
			}
			unsigned __int128 prod = (unsigned __int128)tsc * scale;
			*t100ns = (uint64_t)(prod >> 64) + (uint64_t)off;
			hv->st.tsc_reads++;
			return TERN_OK;
		}
	}
	if (!(hv->priv_lo & HV_P_TIME_REF_COUNT))
		return TERN_ENOTSUP;
	if (hv->tsc_page_on)
		hv->st.tsc_fallbacks++;
	*t100ns = hw_msr_read(hv->dev, HV_MSR_TIME_REF_COUNT);
	return TERN_OK;
}

const char *
hv_clock_source(const struct hv *hv)
{
	if (hv->tsc_page_on)
		return "hv-tsc-page";
	if (hv->priv_lo & HV_P_TIME_REF_COUNT)
		return "hv-ref-count";
	return "none";
}

bool
hv_crash_report(struct hv *hv, const uint64_t p[5])
{
	if (!(hv->misc & HV_M_CRASH_MSRS))
		return false;
	for (uint32_t i = 0; i < 5; i++)
		hw_msr_write(hv->dev, HV_MSR_CRASH_P0 + i, p[i]);
	hw_msr_write(hv->dev, HV_MSR_CRASH_CTL, HV_CRASH_CTL_NOTIFY);
	return true;
}

bool
hv_crash_report_reason(struct hv *hv, const char *reason)
{
	uint64_t p[5] = { HV_CRASH_P0_TERN, 0, 0, 0, 0 };
	uint8_t text[32];
	size_t n = 0;

	memset(text, 0, sizeof(text));
	while (reason != NULL && n < sizeof(text) && reason[n] != '\0') {
		text[n] = (uint8_t)reason[n];
		n++;
	}
	for (int w = 0; w < 4; w++)
		for (int b = 7; b >= 0; b--)
			p[1 + w] = p[1 + w] << 8 | text[8 * w + b];
	return hv_crash_report(hv, p);
}

/* The TSC page's scale under a stable, non-zero sequence (up to
   HV_TSC_TRIES reads); 0 when there is none. */
static uint64_t
hv_page_scale(struct hv *hv, uint32_t *seq_out)
{
	volatile struct hv_tsc_page *p = hv->tsc_page.va;

	for (int i = 0; i < HV_TSC_TRIES; i++) {
		uint32_t seq = hw_dma_load32(hv->dev, &p->sequence);
		if (seq == 0)
			return 0;
		hw_rmb();
		hw_dma_sync_cpu(hv->dev, (const void *)p, sizeof(*p));
		uint64_t scale = p->scale;
		hw_rmb();
		if (hw_dma_load32(hv->dev, &p->sequence) == seq && scale != 0) {
			*seq_out = seq;
			return scale;
		}
		hv->st.tsc_retries++;
	}
	return 0;
}

const char *
hv_clock_rate(struct hv *hv, uint64_t *scale, uint64_t *hz)
{
	*scale = 0;
	*hz = 0;
	if (hv->tsc_page_on) {
		uint32_t seq = 0;
		uint64_t sc = hv_page_scale(hv, &seq);
		if (sc != 0) {
			hv->clock_seq = seq;
			hv->clock_scale = sc;
			*scale = sc;
			return "hv-tsc-page";
		}
	}
	if (hv->tsc_hz != 0) {
		*hz = hv->tsc_hz;
		return "hv-tsc-freq";
	}
	return NULL;
}

bool
hv_clock_rate_changed(struct hv *hv, uint64_t *scale)
{
	if (!hv->tsc_page_on || hv->clock_seq == 0)
		return false;
	volatile struct hv_tsc_page *p = hv->tsc_page.va;
	uint32_t now = hw_dma_load32(hv->dev, &p->sequence);
	if (now == 0 || now == hv->clock_seq)
		return false;
	uint32_t seq = 0;
	uint64_t sc = hv_page_scale(hv, &seq);
	if (sc == 0)
		return false;
	hv->clock_seq = seq;
	if (sc == hv->clock_scale)
		return false;
	hv->clock_scale = sc;
	*scale = sc;
	return true;
}
