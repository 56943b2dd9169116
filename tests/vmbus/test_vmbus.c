/*
 * test_vmbus.c - the VMBus core (vmbus/, PROTOCOLS.md B.7-B.10) against
 * the strict host simulator: version negotiation and its fallbacks,
 * offers (also late, delayed and malformed), binding by class GUID
 * through the driver model, GPADL header/body split, open/close, ring
 * data both ways with the signalling rules, hostile ring indices and
 * packet lengths, rescind while open and re-offer, UNLOAD, a host that
 * never answers, and random host messages.  Each test ends with no
 * protocol error at the host (unless it expects one) and no leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/hw/kstubs.h"
#include "vmbus/vmbus_var.h"

#define RELID_NET	14
#define RELID_STOR	15
#define CONN_NET	0x2e
#define CONN_STOR	0x2f
#define RING		(4 * 4096)

struct fx {
	struct hv_sim s;
	struct hv hv;
	struct hw_dma hcpage;
	struct vmbus vb;
	bool expect_errors;
};

/* ---- a test driver bound to the netvsc class ------------------------- */

struct tdrv {
	struct vmbus_chan *ch;
	int cb_calls, rx;
	uint8_t last[64];
	size_t last_len;
};
static int td_attached, td_detached, td_open_rc;

static void
td_cb(struct vmbus_chan *ch, void *arg)
{
	struct tdrv *t = arg;
	uint8_t buf[1024];
	struct vmbus_pkt p;

	t->cb_calls++;
	while (vmbus_chan_recv(ch, buf, sizeof(buf), &p) == TERN_OK) {
		t->rx++;
		t->last_len = p.len - p.hdr_len;
		if (t->last_len > sizeof(t->last))
			t->last_len = sizeof(t->last);
		memcpy(t->last, buf + p.hdr_len, t->last_len);
	}
}

static int
td_attach(struct device *dev, void *softc)
{
	struct tdrv *t = softc;
	t->ch = vmbus_chan_of(dev);
	if (t->ch == NULL)
		return TERN_EINVAL;
	td_open_rc = vmbus_chan_open(t->ch, RING, RING, NULL, 0, td_cb, t);
	if (td_open_rc != TERN_OK)
		return td_open_rc;
	td_attached++;
	return TERN_OK;
}

static void
td_detach(struct device *dev, void *softc)
{
	struct tdrv *t = softc;
	vmbus_chan_close(t->ch);
	td_detached++;
}

static const struct driver_guid td_ids[] = {
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ { 0 } },
};
static const struct driver td_driver = {
	.name = "tnet", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = td_ids,
	.softc_size = sizeof(struct tdrv), .attach = td_attach,
	.detach = td_detach,
};
static const struct driver *const td_table[] = { &td_driver, NULL };

/* softc memory: plain calloc (cmocka would free test_calloc blocks at the
   end of the test, before the fixture's unload detaches), counted. */
static int softcs_live;
static void *tzalloc(size_t n) { softcs_live++; return calloc(1, n); }
static void tfree(void *p) { if (p != NULL) softcs_live--; free(p); }

/* ---- fixture ---------------------------------------------------------- */

static int
fx_setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	hv_sim_init(&f->s);
	hv_sim_offer(&f->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
	hv_sim_offer(&f->s, hv_sim_guid_storvsc, 2, RELID_STOR, CONN_STOR);
	f->hv.read_tsc = hv_sim_read_tsc;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &f->hcpage), 0);
	assert_int_equal(hv_hypercall_enable(&f->hv, f->hcpage.pa), TERN_OK);
	assert_int_equal(hv_synic_init(&f->hv, 0x41), TERN_OK);
	f->vb.bus.zalloc = tzalloc;
	f->vb.bus.free = tfree;
	td_attached = td_detached = 0;
	td_open_rc = 0;
	kstub_reset();
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	if (f->vb.connected) {
		f->s.f_mute = false;
		f->s.f_mute_open = false;
		vmbus_unload(&f->vb);
	}
	vmbus_fini(&f->vb);
	hv_synic_fini(&f->hv);
	hv_hypercall_disable(&f->hv);
	hw_dma_free(&f->s.dev, &f->hcpage);
	int leaked = hv_sim_fini(&f->s);
	int errs = hv_sim_error_count(&f->s);
	bool expect = f->expect_errors;
	char first[160];
	memcpy(first, f->s.err[0], sizeof(first));
	test_free(f);
	if (!expect && errs != 0)
		fail_msg("host saw %d protocol errors, first: %s", errs, first);
	assert_int_equal(leaked, 0);
	assert_int_equal(softcs_live, 0);
	return 0;
}

static struct vmbus_chan *
chan(struct fx *f, uint32_t relid)
{
	for (uint32_t i = 0; i < f->vb.nchans; i++)
		if (f->vb.ch[i].state != VMBUS_CH_FREE && f->vb.ch[i].relid == relid)
			return &f->vb.ch[i];
	return NULL;
}

/* ---- connection -------------------------------------------------------- */

static void
test_connect_5_3(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.version, VMBUS_V5_3);
	assert_int_equal(f->vb.msg_conn_id, 4);
	assert_int_equal(f->s.contacts, 1);
	assert_int_equal(f->vb.nchans, 2);
	assert_non_null(strstr(kstub_markers, "TERN VMBUS version=5.3 offers=2\n"));
	assert_non_null(strstr(kstub_markers,
	    "TERN VMBUS offer class=netvsc instance=a3a2a1a0-a5a4-a7a6-a8a9-aaabacadae01 relid=14"));
	assert_non_null(strstr(kstub_markers, "class=storvsc"));
	assert_non_null(strstr(kstub_markers, "relid=15"));
	/* Every host message was an EOM'd slot: nothing is left queued. */
	assert_int_equal(f->s.qlen, 0);
}

static void
test_connect_uses_returned_conn_id(void **state)
{
	struct fx *f = *state;

	f->s.msg_conn_id = 7;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.msg_conn_id, 7);
	/* REQUEST_OFFERS went to 7, or the host would have complained. */
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_REQUESTOFFERS], 1);
}

static void
test_version_fallback_5_0(void **state)
{
	struct fx *f = *state;

	f->s.ver_max = VMBUS_V5_0;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.version, VMBUS_V5_0);
	assert_int_equal(f->s.contacts, 4);	/* 5.3 5.2 5.1 5.0 */
	assert_non_null(strstr(kstub_markers, "version=5.0 offers=2"));
}

static void
test_version_old_host_conn1(void **state)
{
	struct fx *f = *state;

	/* A WS2016 host: connection 4 unknown, 4.0 on connection 1. */
	f->s.ver_max = VMBUS_V4_0;
	f->s.conn4_unknown = true;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.version, VMBUS_V4_0);
	assert_int_equal(f->vb.msg_conn_id, 1);
	assert_int_equal(f->s.contacts, 2);	/* 4.1 refused, 4.0 */
}

static void
test_version_3_0(void **state)
{
	struct fx *f = *state;

	f->s.ver_max = VMBUS_V3_0;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.version, VMBUS_V3_0);
	assert_int_equal(f->s.contacts, 7);
}

static void
test_version_all_refused(void **state)
{
	struct fx *f = *state;

	f->s.ver_max = VMBUS_VERSION(2, 4);
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_ENOTSUP);
	assert_int_equal(f->s.contacts, 7);
	assert_false(f->vb.connected);
	assert_null(strstr(kstub_markers, "VMBUS version"));
}

static void
test_host_never_answers(void **state)
{
	struct fx *f = *state;

	f->s.f_mute = true;
	uint64_t t0 = f->s.now_ns;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_ETIMEDOUT);
	uint64_t waited = f->s.now_ns - t0;
	assert_true(waited >= VMBUS_TIMEOUT_NS && waited < VMBUS_TIMEOUT_NS + 10000000ull);
	assert_non_null(strstr(kstub_last, "VERSION_RESPONSE"));
	assert_int_equal(f->vb.st.timeouts, 1);
}

static void
test_offers_delayed(void **state)
{
	struct fx *f = *state;

	f->s.f_offer_delay_ns = 2000000000ull;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.nchans, 2);
}

static void
test_offers_too_late(void **state)
{
	struct fx *f = *state;

	f->s.f_offer_delay_ns = 6000000000ull;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_ETIMEDOUT);
	assert_non_null(strstr(kstub_last, "ALLOFFERS_DELIVERED"));
	/* The host still thinks we are connected: it gets no UNLOAD from a
	   failed connect, so do not expect one. */
}

static void
test_offers_malformed(void **state)
{
	struct fx *f = *state;
	struct vmbus_offer o;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	memset(&o, 0, sizeof(o));
	o.h.msgtype = VMBUS_MSG_OFFERCHANNEL;
	memcpy(o.if_type, hv_sim_guid_netvsc, 16);
	o.connection_id = 0x40;
	o.child_relid = 0;			/* relid 0 */
	hv_sim_queue(&f->s, &o, sizeof(o));
	o.child_relid = 5000;			/* beyond the event page */
	hv_sim_queue(&f->s, &o, sizeof(o));
	o.child_relid = RELID_NET;		/* duplicate of a live relid */
	hv_sim_queue(&f->s, &o, sizeof(o));
	o.child_relid = 30;
	o.connection_id = 0;			/* no connection id */
	hv_sim_queue(&f->s, &o, sizeof(o));
	o.connection_id = 0x40;
	hv_sim_queue(&f->s, &o, 100);		/* truncated */
	memset(o.if_type, 0, 16);		/* no class */
	hv_sim_queue(&f->s, &o, sizeof(o));
	memcpy(o.if_type, hv_sim_guid_storvsc, 16);
	o.child_relid = 31;			/* and one good late offer */
	hv_sim_queue(&f->s, &o, sizeof(o));
	for (int i = 0; i < 4; i++)
		vmbus_poll(&f->vb);
	assert_int_equal(f->vb.st.offers_bad, 5);
	assert_int_equal(f->vb.st.msgs_bad, 1);
	assert_int_equal(f->vb.nchans, 3);
	assert_non_null(chan(f, 31));
	assert_int_equal(f->s.qlen, 0);
}

/* ---- binding, GPADL, open -------------------------------------------- */

static void
test_probe_binds_by_class(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(vmbus_probe(&f->vb, td_table), 1);
	assert_int_equal(td_attached, 1);
	struct vmbus_chan *net = chan(f, RELID_NET);
	assert_ptr_equal(net->dev.driver, &td_driver);
	assert_int_equal(net->state, VMBUS_CH_OPEN);
	assert_null(chan(f, RELID_STOR)->dev.driver);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	assert_true(sc->open);
	assert_int_equal(sc->in.dsize, RING - 4096);
	assert_int_equal(sc->out.dsize, RING - 4096);
	uint8_t tag[3];
	hw_dev_tag(vmbus_chan_hw(net), tag);
	assert_int_equal(tag[2], 1);		/* instance GUID byte 15 */
	assert_string_equal(vmbus_chan_hw(net)->name, "vmbus/14");
}

static void
test_gpadl_split(void **state)
{
	struct fx *f = *state;
	struct hw_dma buf;
	uint32_t h;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	struct vmbus_chan *ch = chan(f, RELID_STOR);
	/* 100 pages: header 26, bodies 28 + 28 + 18. */
	assert_int_equal(hw_dma_alloc(vmbus_chan_hw(ch), 100 * 4096, 4096, &buf), 0);
	assert_int_equal(vmbus_gpadl_create(ch, &buf, &h), TERN_OK);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_HEADER], 1);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_BODY], 3);
	assert_int_equal(vmbus_gpadl_teardown(ch, h), TERN_OK);
	/* Exactly 26 pages: no body at all. */
	struct hw_dma b26 = buf;
	b26.len = 26 * 4096;
	assert_int_equal(vmbus_gpadl_create(ch, &b26, &h), TERN_OK);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_BODY], 3);
	assert_int_equal(vmbus_gpadl_teardown(ch, h), TERN_OK);
	hw_dma_free(vmbus_chan_hw(ch), &buf);
	struct hw_dma odd = { buf.va, buf.pa, 4095 };
	assert_int_equal(vmbus_gpadl_create(ch, &odd, &h), TERN_EINVAL);
}

static void
test_gpadl_refused(void **state)
{
	struct fx *f = *state;

	f->s.f_gpadl_status = 0xC0000001u;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(vmbus_probe(&f->vb, td_table), 0);
	assert_int_equal(td_open_rc, TERN_EIO);
	assert_null(chan(f, RELID_NET)->dev.driver);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_OPENCHANNEL], 0);
}

static void
test_open_refused(void **state)
{
	struct fx *f = *state;

	f->s.f_open_status = 5;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(vmbus_probe(&f->vb, td_table), 0);
	assert_int_equal(td_open_rc, TERN_EIO);
	/* The ring GPADL was torn down again. */
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_TEARDOWN], 1);
	for (int i = 0; i < SIM_MAX_GPADLS; i++)
		assert_false(f->s.gp[i].used);
	f->s.f_open_status = 0;
	assert_int_equal(bus_attach_all(&f->vb.bus, td_table), 1);
}

static void
test_open_no_answer(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	f->s.f_mute_open = true;
	uint64_t t0 = f->s.now_ns;
	assert_int_equal(vmbus_probe(&f->vb, td_table), 0);
	assert_int_equal(td_open_rc, TERN_ETIMEDOUT);
	assert_true(f->s.now_ns - t0 < 2 * VMBUS_TIMEOUT_NS);
	/* It closed what the host may have opened, then tore down. */
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_CLOSECHANNEL], 1);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_TEARDOWN], 1);
	assert_int_equal(f->vb.st.timeouts, 1);
}

/* ---- data path ---------------------------------------------------------- */

static struct tdrv *
open_net(struct fx *f)
{
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(vmbus_probe(&f->vb, td_table), 1);
	return chan(f, RELID_NET)->dev.softc;
}

static void
test_send_recv(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	uint8_t buf[64];
	uint16_t type;
	uint64_t tid;

	/* Guest -> host: three packets, one signal (empty -> non-empty). */
	for (int i = 0; i < 3; i++) {
		char msg[13];
		memcpy(msg, "hello, host!", 13);
		msg[0] = (char)('a' + i);
		assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND,
		    VMBUS_PKT_FLAG_COMPLETION, 100 + i, NULL, 0, msg, 13), TERN_OK);
	}
	assert_int_equal(sc->signals, 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), &type, &tid), 16);
		assert_int_equal(type, VMBUS_PKT_DATA_INBAND);
		assert_int_equal(tid, 100 + i);
		assert_int_equal(buf[0], 'a' + i);
		assert_memory_equal(buf + 1, "ello, host!", 12);
	}
	assert_int_equal(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), NULL, NULL), -1);
	/* Host -> guest: event bit and vector, the callback drains. */
	assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_COMP, 0, 100,
	    "done", 4), 0);
	assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_COMP, 0, 101,
	    "more", 4), 0);
	assert_int_equal(sc->guest_irqs, 1);
	vmbus_poll(&f->vb);
	assert_int_equal(t->rx, 2);
	assert_int_equal(t->cb_calls, 1);
	assert_memory_equal(t->last, "more", 4);
	/* Nothing pending: poll does not run the callback again. */
	vmbus_poll(&f->vb);
	assert_int_equal(t->cb_calls, 1);
}

/* A device hook answering every packet, as a VSP will (issue 18). */
static void
echo_vsp(struct hv_sim *s, struct sim_chan *c, void *ctx)
{
	uint8_t buf[256];
	uint64_t tid;
	int n;

	while ((n = hv_sim_chan_recv(s, c, buf, sizeof(buf), NULL, &tid)) >= 0) {
		(*(int *)ctx)++;
		hv_sim_chan_send(s, c, VMBUS_PKT_COMP, 0, tid, buf, (size_t)n);
	}
}

static void
test_device_hook(void **state)
{
	struct fx *f = *state;
	int served = 0;

	f->s.hook = echo_vsp;
	f->s.hook_ctx = &served;
	struct tdrv *t = open_net(f);
	for (int i = 0; i < 3; i++) {
		char msg[8] = "req-0";
		msg[4] = (char)('0' + i);
		assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND,
		    VMBUS_PKT_FLAG_COMPLETION, (uint64_t)i, NULL, 0, msg, 8), TERN_OK);
	}
	assert_int_equal(served, 3);
	vmbus_poll(&f->vb);
	assert_int_equal(t->rx, 3);
	assert_memory_equal(t->last, "req-2", 6);
}

static void
test_host_masked_no_signal(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);

	((struct vmbus_ring_hdr *)sc->in.base)->interrupt_mask = 1;
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, "x", 1), TERN_OK);
	assert_int_equal(sc->signals, 0);
}

static void
test_ring_full_pending_send(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	uint8_t payload[1000] = { 0 }, buf[1024];
	int sent = 0, rc;

	/* 12 KiB of data, 1024-byte packets: 11 fit (never exactly full). */
	while ((rc = vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, sizeof(payload))) == TERN_OK && sent < 64)
		sent++;
	assert_int_equal(rc, TERN_EAGAIN);
	assert_int_equal(sent, 11);
	assert_int_equal(t->ch->tx.full, 1);
	struct vmbus_ring_hdr *ih = (void *)sc->in.base;
	assert_int_equal(ih->pending_send_sz, 1016 + 8);	/* packet + trailer */
	uint64_t irqs = sc->guest_irqs;
	assert_true(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), NULL, NULL) > 0);
	/* Freeing space for the blocked writer signals it, once. */
	assert_int_equal(sc->guest_irqs, irqs + 1);
	assert_true(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), NULL, NULL) > 0);
	assert_int_equal(sc->guest_irqs, irqs + 1);
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, sizeof(payload)), TERN_OK);
	assert_int_equal(ih->pending_send_sz, 0);
	/* A packet that can never fit. */
	static uint8_t huge[RING];
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, huge, sizeof(huge)), TERN_ERANGE);
}

/* The writer's side of pending_send_sz: the largest refused packet sets
   it, a smaller write that fits (an ack) leaves it, and
   vmbus_chan_send_ready says yes, and clears it, only once the host has
   freed more than it. */
static void
test_ring_pending_largest_wins(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	struct vmbus_ring_hdr *ih = (void *)sc->in.base;
	static uint8_t payload[2400];
	uint8_t buf[2400];

	assert_true(vmbus_chan_send_ready(t->ch));	/* nothing waits */
	/* 12 KiB of data; five packets of 2016 + 8 leave 2168 bytes. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
		    NULL, 0, payload, 2000), TERN_OK);
	/* 2216 + 8 does not fit: it waits for 2224. */
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, 2200), TERN_EAGAIN);
	assert_int_equal(ih->pending_send_sz, 2224);
	/* An ack-sized packet fits and leaves the mark alone. */
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, 8), TERN_OK);
	assert_int_equal(ih->pending_send_sz, 2224);
	/* A smaller refusal (2168 + 8 into 2136) does not lower it. */
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, 2150), TERN_EAGAIN);
	assert_int_equal(ih->pending_send_sz, 2224);
	assert_false(vmbus_chan_send_ready(t->ch));
	assert_int_equal(ih->pending_send_sz, 2224);
	assert_int_equal(sc->pend_signals, 0);
	/* The host reads one packet: 4160 free, more than 2224. */
	assert_true(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), NULL, NULL) > 0);
	assert_int_equal(sc->pend_signals, 1);
	assert_true(vmbus_chan_send_ready(t->ch));
	assert_int_equal(ih->pending_send_sz, 0);
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, payload, 2200), TERN_OK);
}

static void
test_ring_wraps(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	uint8_t payload[700], buf[1024];

	/* Many packets of a size that does not divide the ring. */
	for (int i = 0; i < 200; i++) {
		memset(payload, i, sizeof(payload));
		assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0,
		    (uint64_t)i, NULL, 0, payload, sizeof(payload)), TERN_OK);
		uint64_t tid;
		assert_int_equal(hv_sim_chan_recv(&f->s, sc, buf, sizeof(buf), NULL, &tid), 704);
		assert_int_equal(tid, (uint64_t)i);
		assert_int_equal(buf[699], (uint8_t)i);
		assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_DATA_INBAND, 0,
		    (uint64_t)i, payload, sizeof(payload)), 0);
		vmbus_poll(&f->vb);
		assert_int_equal(t->rx, i + 1);
		assert_int_equal(t->last[0], (uint8_t)i);
	}
}

static void
test_recv_small_buffer(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	uint8_t payload[100] = { 7 }, buf[256];
	struct vmbus_pkt p;

	assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_DATA_INBAND, 0, 9,
	    payload, sizeof(payload)), 0);
	assert_int_equal(vmbus_chan_recv(t->ch, buf, 64, &p), TERN_ERANGE);
	assert_int_equal(p.len, 120);
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_OK);
	assert_int_equal(p.hdr_len, 16);
	assert_int_equal(p.trans_id, 9);
	assert_int_equal(buf[16], 7);
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_EAGAIN);
}

static void
test_bad_ring_index(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	struct vmbus_ring_hdr *oh = (void *)sc->out.base;
	uint8_t buf[256];
	struct vmbus_pkt p;

	oh->write_index = 0x13;			/* not 8-aligned */
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_EPROTO);
	oh->write_index = 0;
	/* Broken stays broken: a reset is the driver's call. */
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_EPROTO);
	assert_int_equal(t->ch->rx.errs, 1);
	/* The host scribbles our outbound read index past the ring. */
	struct vmbus_ring_hdr *ih = (void *)sc->in.base;
	ih->read_index = RING;
	assert_int_equal(vmbus_chan_send(t->ch, VMBUS_PKT_DATA_INBAND, 0, 1,
	    NULL, 0, "x", 1), TERN_EPROTO);
	ih->read_index = 0;
	f->expect_errors = false;
}

static void
test_oversize_packet_length(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	struct vmbus_pkt_desc *d = (void *)(sc->out.base + 4096);
	uint8_t buf[256];
	struct vmbus_pkt p;

	((struct vmbus_ring_hdr *)sc->out.base)->interrupt_mask = 1;
	assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_DATA_INBAND, 0, 1,
	    "abcd", 4), 0);
	d->len8 = 0xffff;			/* claims 512 KiB */
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_EPROTO);
	assert_true(t->ch->rx.broken);
}

static void
test_bad_header_offset(void **state)
{
	struct fx *f = *state;
	struct tdrv *t = open_net(f);
	struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
	struct vmbus_pkt_desc *d = (void *)(sc->out.base + 4096);
	uint8_t buf[256];
	struct vmbus_pkt p;

	assert_int_equal(hv_sim_chan_send(&f->s, sc, VMBUS_PKT_DATA_INBAND, 0, 1,
	    "abcd", 4), 0);
	d->offset8 = 9;				/* header past the packet end */
	assert_int_equal(vmbus_chan_recv(t->ch, buf, sizeof(buf), &p), TERN_EPROTO);
}

/* ---- rescind, unload ------------------------------------------------------ */

static void
test_rescind_open_and_reoffer(void **state)
{
	struct fx *f = *state;
	open_net(f);
	struct vmbus_chan *before = chan(f, RELID_NET);

	hv_sim_rescind(&f->s, RELID_NET);
	vmbus_poll(&f->vb);
	assert_int_equal(td_detached, 1);
	assert_null(chan(f, RELID_NET));
	assert_int_equal(f->s.relid_released, 1);
	/* No CLOSECHANNEL or teardown for a channel the host took away. */
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_CLOSECHANNEL], 0);
	assert_int_equal(f->vb.st.rescinds, 1);
	/* The device comes back when offered again. */
	hv_sim_offer(&f->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
	vmbus_poll(&f->vb);
	assert_int_equal(td_attached, 2);
	assert_int_equal(chan(f, RELID_NET)->state, VMBUS_CH_OPEN);
	assert_ptr_equal(chan(f, RELID_NET), before);	/* its own slot */
}

static void
test_rescind_unknown_and_unbound(void **state)
{
	struct fx *f = *state;
	struct vmbus_relid_msg m = { { VMBUS_MSG_RESCIND_OFFER, 0 }, 99 };

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	hv_sim_queue(&f->s, &m, sizeof(m));
	hv_sim_rescind(&f->s, RELID_STOR);	/* never bound */
	vmbus_poll(&f->vb);
	assert_int_equal(f->vb.st.rescinds, 2);
	assert_null(chan(f, RELID_STOR));
	assert_int_equal(f->s.relid_released, 1);
	/* Another device does not take the rescinded one's slot. */
	hv_sim_offer(&f->s, hv_sim_guid_storvsc, 3, 33, 0x33);
	vmbus_poll(&f->vb);
	assert_int_equal(f->vb.nchans, 3);
	assert_non_null(chan(f, 33));
}

static void
test_rescind_during_open(void **state)
{
	struct fx *f = *state;

	f->s.f_rescind_on_open = true;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	uint64_t t0 = f->s.now_ns;
	assert_int_equal(vmbus_probe(&f->vb, td_table), 0);
	assert_int_equal(td_open_rc, TERN_ENODEV);
	/* It stopped waiting at the rescind, not at the timeout. */
	assert_true(f->s.now_ns - t0 < 1000000000ull);
	/* The host dropped the GPADL with the channel: no teardown. */
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_GPADL_TEARDOWN], 0);
	vmbus_poll(&f->vb);
	assert_int_equal(f->s.relid_released, 1);
	assert_null(chan(f, RELID_NET));
}

static void
test_subchannel_not_bound(void **state)
{
	struct fx *f = *state;

	struct sim_chan *sub = hv_sim_offer(&f->s, hv_sim_guid_netvsc, 1, 40, 0x50);
	sub->sub_index = 1;
	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	assert_int_equal(f->vb.nchans, 3);
	assert_non_null(strstr(kstub_markers, "relid=40 sub=1"));
	assert_int_equal(vmbus_probe(&f->vb, td_table), 1);
	assert_null(chan(f, 40)->dev.driver);
	assert_non_null(chan(f, RELID_NET)->dev.driver);
	/* Not a VMBus device: no channel. */
	struct device other = { 0 };
	assert_null(vmbus_chan_of(&other));
}

static void
test_subchannels(void **state)
{
	struct fx *f = *state;
	struct vmbus_chan *sub[4];
	struct tdrv *t = open_net(f);

	assert_int_equal(vmbus_subchan_list(t->ch, sub, 4), 0);
	/* The VSP offers two (as after an NVSP sub-channel request), one of
	   another device in between. */
	hv_sim_offer_sub(&f->s, hv_sim_guid_netvsc, 1, 40, 0x50, 1);
	hv_sim_offer_sub(&f->s, hv_sim_guid_netvsc, 9, 41, 0x51, 1);
	hv_sim_offer_sub(&f->s, hv_sim_guid_netvsc, 1, 42, 0x52, 2);
	assert_int_equal(vmbus_subchan_wait(t->ch, 2), 2);
	assert_int_equal(vmbus_subchan_list(t->ch, sub, 4), 2);
	assert_int_equal(vmbus_chan_relid(sub[0]), 40);
	assert_int_equal(vmbus_chan_relid(sub[1]), 42);
	assert_int_equal(vmbus_chan_open(sub[1], RING, RING, NULL, 0, NULL, NULL), TERN_OK);
	struct sim_chan *sc = hv_sim_chan(&f->s, 42);
	assert_int_equal(vmbus_chan_send(sub[1], VMBUS_PKT_DATA_INBAND, 0, 5,
	    NULL, 0, "q", 1), TERN_OK);
	assert_int_equal(sc->signals, 1);	/* on the sub-channel's own id */
	vmbus_chan_close(sub[1]);
	/* Asking for more than the host gives: bounded, and says so. */
	uint64_t t0 = f->s.now_ns;
	assert_int_equal(vmbus_subchan_wait(t->ch, 3), 2);
	assert_true(f->s.now_ns - t0 >= VMBUS_TIMEOUT_NS);
	assert_non_null(strstr(kstub_last, "2 of 3 sub-channel"));
}

static void
test_unload(void **state)
{
	struct fx *f = *state;
	open_net(f);

	assert_int_equal(vmbus_unload(&f->vb), TERN_OK);
	assert_int_equal(td_detached, 1);
	assert_int_equal(f->s.unloads, 1);
	assert_int_equal(f->s.post_msgs[VMBUS_MSG_CLOSECHANNEL], 1);
	assert_false(f->vb.connected);
}

static void
test_unload_no_answer(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vmbus_connect(&f->vb, &f->hv), TERN_OK);
	f->s.f_mute = true;
	assert_int_equal(vmbus_unload(&f->vb), TERN_ETIMEDOUT);
	assert_non_null(strstr(kstub_last, "UNLOAD_RESPONSE"));
}

/* ---- a hostile host --------------------------------------------------------- */

static void
test_random_host_messages(void **state)
{
	struct fx *f = *state;
	uint8_t msg[240];

	open_net(f);
	srand(17);
	for (int i = 0; i < 3000; i++) {
		size_t len = (size_t)(rand() % 241);
		for (size_t k = 0; k < len; k++)
			msg[k] = (uint8_t)rand();
		if (len >= 4 && (rand() & 1))
			msg[0] = (uint8_t)(rand() % 20);	/* known types */
		if (len >= 8)
			memset(msg + 4, 0, 4);
		hv_sim_queue(&f->s, msg, len);
		vmbus_poll(&f->vb);
	}
	/* Whatever arrived, the bus is consistent and still talks. */
	assert_true(f->vb.st.msgs_bad + f->vb.st.offers_bad > 0);
	assert_true(f->vb.nchans <= VMBUS_MAX_CHANS);
	/* and the host saw no protocol error from us (fixture) */
}

/* ---- fault matrix ------------------------------------------------------ */

/* The whole life (connect, probe with open, data, close, unload) once. */
static int
life(struct fx *f)
{
	int rc = vmbus_connect(&f->vb, &f->hv);
	if (rc != TERN_OK)
		return rc;
	vmbus_probe(&f->vb, td_table);
	struct vmbus_chan *ch = chan(f, RELID_NET);
	if (ch != NULL && ch->dev.driver != NULL) {
		struct sim_chan *sc = hv_sim_chan(&f->s, RELID_NET);
		vmbus_chan_send(ch, VMBUS_PKT_DATA_INBAND, 0, 1, NULL, 0, "ping", 4);
		hv_sim_chan_send(&f->s, sc, VMBUS_PKT_COMP, 0, 1, "pong", 4);
		vmbus_poll(&f->vb);
	}
	return vmbus_unload(&f->vb);
}

/* Fail the n-th DMA allocation, for every n until a run needs no more:
   each ends in a clean error or success, frees everything (the fixture
   checks the simulator's allocations) and breaks no host rule. */
static void
test_fault_dma_countdown(void **state)
{
	struct fx *f = *state;
	int n;

	for (n = 1; n < 64; n++) {
		struct fx *g = test_calloc(1, sizeof(*g));
		hv_sim_init(&g->s);
		hv_sim_offer(&g->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
		g->hv.read_tsc = hv_sim_read_tsc;
		assert_int_equal(hv_probe(&g->hv, &g->s.dev), TERN_OK);
		assert_int_equal(hw_dma_alloc(&g->s.dev, 4096, 4096, &g->hcpage), 0);
		assert_int_equal(hv_hypercall_enable(&g->hv, g->hcpage.pa), TERN_OK);
		assert_int_equal(hv_synic_init(&g->hv, 0x41), TERN_OK);
		g->vb.bus.zalloc = tzalloc;
		g->vb.bus.free = tfree;
		g->s.f_dma_fail_at = n;
		int rc = life(g);
		bool fired = g->s.f_dma_fail_at == 0;
		vmbus_fini(&g->vb);
		hv_synic_fini(&g->hv);
		hv_hypercall_disable(&g->hv);
		hw_dma_free(&g->s.dev, &g->hcpage);
		assert_int_equal(hv_sim_fini(&g->s), 0);
		if (hv_sim_error_count(&g->s) != 0)
			fail_msg("dma fault %d: host error %s", n, g->s.err[0]);
		assert_int_equal(softcs_live, 0);
		test_free(g);
		if (!fired) {
			assert_int_equal(rc, TERN_OK);
			break;
		}
	}
	assert_true(n > 3 && n < 64);	/* it did reach a clean full run */
	(void)f;
}

/* Lose the n-th host reply, for every n: each wait gives up after its
   bound, nothing leaks, nothing hangs. */
static void
test_fault_lost_reply_countdown(void **state)
{
	struct fx *f = *state;
	int n;

	for (n = 1; n < 64; n++) {
		struct fx *g = test_calloc(1, sizeof(*g));
		hv_sim_init(&g->s);
		hv_sim_offer(&g->s, hv_sim_guid_netvsc, 1, RELID_NET, CONN_NET);
		g->hv.read_tsc = hv_sim_read_tsc;
		assert_int_equal(hv_probe(&g->hv, &g->s.dev), TERN_OK);
		assert_int_equal(hw_dma_alloc(&g->s.dev, 4096, 4096, &g->hcpage), 0);
		assert_int_equal(hv_hypercall_enable(&g->hv, g->hcpage.pa), TERN_OK);
		assert_int_equal(hv_synic_init(&g->hv, 0x41), TERN_OK);
		g->vb.bus.zalloc = tzalloc;
		g->vb.bus.free = tfree;
		g->s.f_drop_at = n;
		uint64_t t0 = g->s.now_ns;
		int rc = life(g);
		bool fired = g->s.f_drop_at == 0;
		/* At most a few bounded waits, never forever. */
		assert_true(g->s.now_ns - t0 <= 4 * VMBUS_TIMEOUT_NS);
		vmbus_fini(&g->vb);
		hv_synic_fini(&g->hv);
		hv_hypercall_disable(&g->hv);
		/* A GPADL whose teardown was lost stays allocated on purpose
		   (the host may still map it): that is the one allowed
		   "leak", and the simulator still owns it. */
		hw_dma_free(&g->s.dev, &g->hcpage);
		int leaked = hv_sim_fini(&g->s);
		if (getenv("TERN_TEST_VERBOSE") != NULL)
			fprintf(stderr, "lost reply %d: rc %d leaked %d errors %d %s\n",
			    n, rc, leaked, g->s.nerr, g->s.nerr ? g->s.err[0] : "");
		assert_true(leaked <= 1);
		assert_int_equal(hv_sim_error_count(&g->s), 0);
		assert_int_equal(softcs_live, 0);
		test_free(g);
		if (!fired) {
			assert_int_equal(rc, TERN_OK);
			break;
		}
	}
	assert_true(n > 3 && n < 64);
	(void)f;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect_5_3),
		T(test_connect_uses_returned_conn_id),
		T(test_version_fallback_5_0),
		T(test_version_old_host_conn1),
		T(test_version_3_0),
		T(test_version_all_refused),
		T(test_host_never_answers),
		T(test_offers_delayed),
		T(test_offers_too_late),
		T(test_offers_malformed),
		T(test_probe_binds_by_class),
		T(test_gpadl_split),
		T(test_gpadl_refused),
		T(test_open_refused),
		T(test_open_no_answer),
		T(test_send_recv),
		T(test_device_hook),
		T(test_host_masked_no_signal),
		T(test_ring_full_pending_send),
		T(test_ring_pending_largest_wins),
		T(test_ring_wraps),
		T(test_recv_small_buffer),
		T(test_bad_ring_index),
		T(test_oversize_packet_length),
		T(test_bad_header_offset),
		T(test_rescind_open_and_reoffer),
		T(test_rescind_unknown_and_unbound),
		T(test_rescind_during_open),
		T(test_subchannel_not_bound),
		T(test_subchannels),
		T(test_unload),
		T(test_unload_no_answer),
		T(test_random_host_messages),
		T(test_fault_dma_countdown),
		T(test_fault_lost_reply_countdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
