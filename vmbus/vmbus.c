/*
 * vmbus.c - the VMBus control path (PROTOCOLS.md B.7-B.9): version
 * negotiation, offers and rescinds, GPADLs, channel open and close,
 * UNLOAD, and the VMBus as a struct bus of the driver model.
 *
 * Host messages arrive in the SynIC SINT2 slot (kernel/hv).  A wait for
 * one reply (vmbus_await) handles every other message it takes on the
 * way: offers are recorded, rescinds are deferred to vmbus_poll so no
 * driver detach runs inside another wait.  Every message is checked
 * against the size of its type before a field is read.
 */
#include <string.h>

#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "vmbus/vmbus_var.h"

#define VMBUS_GPADL_FIRST	0xE1E10u	/* any non-zero start works */

static const uint32_t vmbus_versions[] = {
	VMBUS_V5_3, VMBUS_V5_2, VMBUS_V5_1, VMBUS_V5_0,
	VMBUS_V4_1, VMBUS_V4_0, VMBUS_V3_0,
};

/* Minimum sizes of host->guest messages, by type (0: not accepted). */
static const uint8_t vmbus_msg_min[VMBUS_MSG_COUNT] = {
	[VMBUS_MSG_OFFERCHANNEL] = sizeof(struct vmbus_offer),
	[VMBUS_MSG_RESCIND_OFFER] = sizeof(struct vmbus_relid_msg),
	[VMBUS_MSG_ALLOFFERS_DELIVERED] = sizeof(struct vmbus_msg_hdr),
	[VMBUS_MSG_OPENCHANNEL_RESULT] = sizeof(struct vmbus_open_result),
	[VMBUS_MSG_GPADL_CREATED] = sizeof(struct vmbus_gpadl_created),
	[VMBUS_MSG_GPADL_TORNDOWN] = sizeof(struct vmbus_gpadl_torndown),
	[VMBUS_MSG_VERSION_RESPONSE] = sizeof(struct vmbus_version_response),
	[VMBUS_MSG_UNLOAD_RESPONSE] = sizeof(struct vmbus_msg_hdr),
};

struct vmbus_class {
	uint8_t guid[16];
	const char *name;
};

/* B.14, in wire (mixed-endian) byte order. */
static const struct vmbus_class vmbus_classes[] = {
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e }, "netvsc" },
	{ { 0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
	    0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f }, "storvsc" },
	{ { 0x32, 0x26, 0x41, 0x32, 0xcb, 0x86, 0xa2, 0x44,
	    0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5 }, "ide" },
	{ { 0x31, 0x60, 0x0b, 0x0e, 0x13, 0x52, 0x34, 0x49,
	    0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb }, "shutdown" },
	{ { 0x30, 0xe6, 0x27, 0x95, 0xae, 0xd0, 0x7b, 0x49,
	    0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf }, "timesync" },
	{ { 0x39, 0x4f, 0x16, 0x57, 0x15, 0x91, 0x78, 0x4e,
	    0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d }, "heartbeat" },
	{ { 0xe7, 0xf4, 0xa0, 0xa9, 0x45, 0x5a, 0x96, 0x4d,
	    0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6 }, "kvp" },
	{ { 0x1d, 0xf6, 0xc4, 0x44, 0x44, 0x44, 0x00, 0x44,
	    0x9d, 0x52, 0x80, 0x2e, 0x27, 0xed, 0xe1, 0x9f }, "vpci" },
};

const char *
vmbus_class_name(const uint8_t guid[16])
{
	for (size_t i = 0; i < sizeof(vmbus_classes) / sizeof(vmbus_classes[0]); i++)
		if (memcmp(guid, vmbus_classes[i].guid, 16) == 0)
			return vmbus_classes[i].name;
	return "unknown";
}

static uint64_t
vmbus_timeout(const struct vmbus *vb)
{
	return vb->timeout_ns != 0 ? vb->timeout_ns : VMBUS_TIMEOUT_NS;
}

static int
vmbus_post(struct vmbus *vb, const void *msg, size_t len)
{
	uint16_t st;
	const struct vmbus_msg_hdr *h = msg;
	int rc = hv_post_message(vb->hv, vb->msg_conn_id, msg, len, &st);
	if (rc != TERN_OK)
		log_warn("vmbus", "post message type %u to connection %u: status %u",
		    h->msgtype, vb->msg_conn_id, st);
	return rc;
}

static struct vmbus_chan *
vmbus_chan_by_relid(struct vmbus *vb, uint32_t relid)
{
	for (uint32_t i = 0; i < vb->nchans; i++)
		if (vb->ch[i].state != VMBUS_CH_FREE && vb->ch[i].relid == relid)
			return &vb->ch[i];
	return NULL;
}

static void
vmbus_offer_add(struct vmbus *vb, const struct vmbus_offer *o)
{
	uint32_t relid = o->child_relid;
	static const uint8_t zero[16];

	if (relid == 0 || relid > VMBUS_MAX_RELID ||
	    memcmp(o->if_type, zero, 16) == 0 ||
	    o->connection_id == 0 || o->connection_id > 0xffffff) {
		vb->st.offers_bad++;
		log_warn("vmbus", "offer relid %u connection %u (class %s) malformed; ignored",
		    relid, o->connection_id, vmbus_class_name(o->if_type));
		return;
	}
	if (vmbus_chan_by_relid(vb, relid) != NULL) {
		vb->st.offers_bad++;
		log_warn("vmbus", "second offer for live relid %u; ignored", relid);
		return;
	}
	/* A re-offer gets its old slot back; otherwise a new slot, so a
	   pointer a driver kept to a rescinded (sub-)channel never turns
	   into another device.  Only a full table reuses any free slot. */
	struct vmbus_chan *ch = NULL;
	for (uint32_t i = 0; i < vb->nchans && ch == NULL; i++)
		if (vb->ch[i].state == VMBUS_CH_FREE && vb->ch[i].relid == relid)
			ch = &vb->ch[i];
	for (uint32_t i = 0; vb->nchans == VMBUS_MAX_CHANS && i < vb->nchans &&
	    ch == NULL; i++)
		if (vb->ch[i].state == VMBUS_CH_FREE && vb->ch[i].dev.driver == NULL)
			ch = &vb->ch[i];
	if (ch == NULL) {
		if (vb->nchans == VMBUS_MAX_CHANS) {
			vb->st.offers_bad++;
			log_warn("vmbus", "offer relid %u: channel table full (%u); ignored",
			    relid, VMBUS_MAX_CHANS);
			return;
		}
		ch = &vb->ch[vb->nchans++];
	}
	memset(ch, 0, sizeof(*ch));
	ch->vb = vb;
	ch->state = VMBUS_CH_OFFERED;
	ch->offer = *o;
	ch->relid = relid;
	ch->conn_id = o->connection_id;
	ch->dev.bus = &vb->bus;
	ksnprintf(ch->dev.name, sizeof(ch->dev.name), "vmbus/%u", relid);
	/* The channel's seam device shares the bus's backend. */
	hw_dev_copy(&ch->hw, vb->dev);	/* one trace numbering with hv */
	ksnprintf(ch->hw.name, sizeof(ch->hw.name), "vmbus/%u", relid);
	ch->hw.bus = HW_BUS_VMBUS;
	ch->hw.trace = false;
	ch->hw.seq = 0;
	memcpy(ch->hw.vmbus_instance, o->if_instance, 16);
	vb->st.offers++;
	vb->new_offers = true;
	if (vb->offers_done)
		log_info("vmbus", "late offer relid %u class %s", relid,
		    vmbus_class_name(o->if_type));
}

static uint32_t
vmbus_msg_key(uint32_t type, const uint8_t *p)
{
	uint32_t k = 0;
	switch (type) {
	case VMBUS_MSG_OPENCHANNEL_RESULT:
		memcpy(&k, p + 8, 4);		/* child_relid */
		break;
	case VMBUS_MSG_GPADL_CREATED:
		memcpy(&k, p + 12, 4);		/* gpadl */
		break;
	case VMBUS_MSG_GPADL_TORNDOWN:
		memcpy(&k, p + 8, 4);		/* gpadl */
		break;
	}
	return k;
}

/* A message nobody waits for: offers, rescinds, the end of offers. */
static void
vmbus_handle(struct vmbus *vb, const struct hv_message *m)
{
	struct vmbus_relid_msg r;

	switch (((const struct vmbus_msg_hdr *)m->payload)->msgtype) {
	case VMBUS_MSG_OFFERCHANNEL:
		vmbus_offer_add(vb, (const struct vmbus_offer *)m->payload);
		break;
	case VMBUS_MSG_RESCIND_OFFER: {
		memcpy(&r, m->payload, sizeof(r));
		struct vmbus_chan *ch = vmbus_chan_by_relid(vb, r.child_relid);
		vb->st.rescinds++;
		if (ch == NULL) {
			log_warn("vmbus", "rescind of unknown relid %u", r.child_relid);
			break;
		}
		ch->rescind_pending = true;
		break;
	}
	case VMBUS_MSG_ALLOFFERS_DELIVERED:
		vb->offers_done = true;
		break;
	default:
		vb->st.msgs_unexpected++;
		log_debug("vmbus", "unexpected message type %u",
		    ((const struct vmbus_msg_hdr *)m->payload)->msgtype);
	}
}

/*
 * Take one host message: TERN_OK with *m filled and checked (type known,
 * payload long enough), TERN_EAGAIN when none, TERN_EPROTO for a bad one
 * (dropped, counted).
 */
static int
vmbus_take(struct vmbus *vb, struct hv_message *m)
{
	int rc = hv_msg_take(vb->hv, HV_SINT_VMBUS, m);
	if (rc == TERN_EAGAIN)
		return rc;
	if (rc != TERN_OK) {
		vb->st.msgs_bad++;
		return TERN_EPROTO;
	}
	if (m->message_type != HV_MSGTYPE_VMBUS || m->payload_size < 8) {
		vb->st.msgs_bad++;
		log_warn("vmbus", "SINT2 message type 0x%x size %u not a VMBus message; dropped",
		    m->message_type, m->payload_size);
		return TERN_EPROTO;
	}
	uint32_t t = ((const struct vmbus_msg_hdr *)m->payload)->msgtype;
	if (t >= VMBUS_MSG_COUNT || vmbus_msg_min[t] == 0 ||
	    m->payload_size < vmbus_msg_min[t]) {
		vb->st.msgs_bad++;
		log_warn("vmbus", "host message type %u size %u malformed; dropped",
		    t, m->payload_size);
		return TERN_EPROTO;
	}
	/* Zero what the host did not send so no stale byte is read. */
	memset(m->payload + m->payload_size, 0, HV_MSG_PAYLOAD - m->payload_size);
	vb->st.msgs[t]++;
	return TERN_OK;
}

/*
 * Wait for host message `type` (with `key` for keyed replies, see
 * vmbus_msg_key), handling others on the way.  `relid` non-zero: give up
 * with TERN_ENODEV if that channel is rescinded meanwhile.
 */
static int
vmbus_await(struct vmbus *vb, uint32_t type, uint32_t key, uint32_t relid,
    void *out, size_t outlen, const char *what)
{
	struct hv_message m;
	uint64_t start = hw_now_ns(vb->dev);
	uint64_t limit = vmbus_timeout(vb);

	for (;;) {
		int rc = vmbus_take(vb, &m);
		if (rc == TERN_OK) {
			uint32_t t = ((const struct vmbus_msg_hdr *)m.payload)->msgtype;
			if (t == type && vmbus_msg_key(t, m.payload) == key) {
				memcpy(out, m.payload, outlen);
				return TERN_OK;
			}
			vmbus_handle(vb, &m);
			if (relid != 0) {
				struct vmbus_chan *ch = vmbus_chan_by_relid(vb, relid);
				if (ch == NULL || ch->rescind_pending)
					return TERN_ENODEV;
			}
			continue;
		}
		if (rc == TERN_EPROTO)
			continue;
		uint64_t now = hw_now_ns(vb->dev);
		if (now - start >= limit) {
			vb->st.timeouts++;
			log_warn("vmbus", "no %s (message %u) from the host after %llu ms",
			    what, type, (unsigned long long)(limit / 1000000));
			return TERN_ETIMEDOUT;
		}
		uint64_t left = limit - (now - start);
		hw_intr_wait(vb->dev, vb->hv->vector,
		    left < 1000000 ? left : 1000000);
	}
}

static int
vmbus_bus_enumerate(struct bus *b)
{
	struct vmbus *vb = (struct vmbus *)(void *)((char *)b -
	    offsetof(struct vmbus, bus));
	return (int)vb->nchans;
}

static struct device *
vmbus_bus_child(struct bus *b, uint32_t i)
{
	struct vmbus *vb = (struct vmbus *)(void *)((char *)b -
	    offsetof(struct vmbus, bus));
	return i < vb->nchans ? &vb->ch[i].dev : NULL;
}

static bool
vmbus_bus_match(const struct bus *b, const struct driver *drv,
    const struct device *dev)
{
	const struct vmbus_chan *ch = (const struct vmbus_chan *)(const void *)
	    ((const char *)dev - offsetof(struct vmbus_chan, dev));
	struct driver_guid g;

	/* Only primary channels of a live offer carry a device. */
	if (ch->state != VMBUS_CH_OFFERED || ch->rescind_pending ||
	    ch->offer.sub_channel_index != 0 || drv->vmbus_ids == NULL)
		return false;
	memcpy(g.b, ch->offer.if_type, 16);
	return driver_guid_match(drv->vmbus_ids, &g);
}

static const struct bus_ops vmbus_bus_ops = {
	.enumerate = vmbus_bus_enumerate,
	.child = vmbus_bus_child,
	.match = vmbus_bus_match,
};

struct vmbus_chan *
vmbus_chan_of(struct device *dev)
{
	if (dev == NULL || dev->bus == NULL || dev->bus->ops != &vmbus_bus_ops)
		return NULL;
	return (struct vmbus_chan *)(void *)((char *)dev -
	    offsetof(struct vmbus_chan, dev));
}

struct hw_dev *
vmbus_chan_hw(struct vmbus_chan *ch)
{
	return &ch->hw;
}

uint32_t
vmbus_chan_relid(const struct vmbus_chan *ch)
{
	return ch->relid;
}

static void
vmbus_guid_str(const uint8_t g[16], char *s, size_t n)
{
	ksnprintf(s, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9],
	    g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* One INITIATE_CONTACT; TERN_OK when accepted, TERN_ENOTSUP when refused. */
static int
vmbus_try_version(struct vmbus *vb, uint32_t ver, uint32_t conn)
{
	struct vmbus_initiate_contact c;
	struct vmbus_version_response r;
	uint16_t st;

	memset(&c, 0, sizeof(c));
	c.h.msgtype = VMBUS_MSG_INITIATE_CONTACT;
	c.version = ver;
	c.target_vcpu = vb->hv->vp_index;
	if (ver >= VMBUS_V5_0)
		c.u.v5.msg_sint = HV_SINT_VMBUS;
	else
		c.u.interrupt_page = 0;	/* WIN8+: the SynIC event page is used */
	c.monitor_page1 = vb->monitor[0].pa;
	c.monitor_page2 = vb->monitor[1].pa;
	int rc = hv_post_message(vb->hv, conn, &c, sizeof(c), &st);
	if (rc != TERN_OK) {
		/* B.7: a host that knows only <= 4.x does not know
		   connection 4. */
		if (st == HV_STATUS_INVALID_CONNECTION_ID && conn == VMBUS_CONN_MESSAGE_V5)
			return TERN_ECONNREFUSED;
		log_warn("vmbus", "INITIATE_CONTACT %u.%u on connection %u: status %u",
		    ver >> 16, ver & 0xffff, conn, st);
		return TERN_EIO;
	}
	rc = vmbus_await(vb, VMBUS_MSG_VERSION_RESPONSE, 0, 0, &r, sizeof(r),
	    "VERSION_RESPONSE");
	if (rc != TERN_OK)
		return rc;
	if (!r.version_supported)
		return TERN_ENOTSUP;
	if (ver >= VMBUS_V5_0) {
		if (r.msg_conn_id == 0 || r.msg_conn_id > 0xffffff) {
			log_warn("vmbus", "VERSION_RESPONSE msg_conn_id %u invalid",
			    r.msg_conn_id);
			return TERN_EPROTO;
		}
		vb->msg_conn_id = r.msg_conn_id;
	} else {
		vb->msg_conn_id = VMBUS_CONN_MESSAGE;
	}
	vb->version = ver;
	return TERN_OK;
}

int
vmbus_connect(struct vmbus *vb, struct hv *hv)
{
	char inst[40];
	int rc = TERN_ENOTSUP;

	vb->hv = hv;
	vb->dev = hv->dev;
	vb->bus.name = "vmbus";
	vb->bus.kind = DRIVER_BUS_VMBUS;
	vb->bus.ops = &vmbus_bus_ops;
	vb->next_gpadl = VMBUS_GPADL_FIRST;
	if (!hv->synic_on)
		return TERN_ENOTSUP;
	for (int i = 0; i < 2; i++) {
		if (hw_dma_alloc(vb->dev, HV_PAGE_SIZE, HV_PAGE_SIZE,
		    &vb->monitor[i]) != 0) {
			rc = TERN_ENOMEM;
			goto fail;
		}
		memset(vb->monitor[i].va, 0, HV_PAGE_SIZE);
		hw_dma_sync_dev(vb->dev, vb->monitor[i].va, HV_PAGE_SIZE);
	}
	uint32_t minv = vb->min_version != 0 ? vb->min_version : VMBUS_V3_0;
	bool conn4_unknown = false;
	for (size_t i = 0; i < sizeof(vmbus_versions) / sizeof(vmbus_versions[0]); i++) {
		uint32_t ver = vmbus_versions[i];
		if (ver < minv)
			break;
		bool v5 = ver >= VMBUS_V5_0;
		if (v5 && conn4_unknown)
			continue;
		rc = vmbus_try_version(vb, ver, v5 ? VMBUS_CONN_MESSAGE_V5 :
		    VMBUS_CONN_MESSAGE);
		if (rc == TERN_OK)
			break;
		/* Connection 4 unknown: go straight to 4.x on connection 1. */
		if (rc == TERN_ECONNREFUSED) {
			conn4_unknown = true;
			rc = TERN_ENOTSUP;
			continue;
		}
		if (rc != TERN_ENOTSUP)
			goto fail;
	}
	if (rc != TERN_OK) {
		log_warn("vmbus", "host accepted no version from 5.3 down to %u.%u",
		    minv >> 16, minv & 0xffff);
		goto fail;
	}
	vb->connected = true;
	struct vmbus_msg_hdr req = { VMBUS_MSG_REQUESTOFFERS, 0 };
	if ((rc = vmbus_post(vb, &req, sizeof(req))) != TERN_OK)
		goto fail;
	struct vmbus_msg_hdr done;
	rc = vmbus_await(vb, VMBUS_MSG_ALLOFFERS_DELIVERED, 0, 0, &done,
	    sizeof(done), "ALLOFFERS_DELIVERED");
	if (rc != TERN_OK)
		goto fail;
	vb->offers_done = true;
	marker("VMBUS version=%u.%u offers=%u", vb->version >> 16,
	    vb->version & 0xffff, vb->nchans);
	for (uint32_t i = 0; i < vb->nchans; i++) {
		struct vmbus_chan *ch = &vb->ch[i];
		vmbus_guid_str(ch->offer.if_instance, inst, sizeof(inst));
		marker("VMBUS offer class=%s instance=%s relid=%u sub=%u",
		    vmbus_class_name(ch->offer.if_type), inst, ch->relid,
		    ch->offer.sub_channel_index);
	}
	return TERN_OK;

fail:
	vb->connected = false;
	vmbus_fini(vb);
	return rc;
}

void
vmbus_fini(struct vmbus *vb)
{
	for (int i = 0; i < 2; i++)
		if (vb->monitor[i].va != NULL) {
			hw_dma_free(vb->dev, &vb->monitor[i]);
			memset(&vb->monitor[i], 0, sizeof(vb->monitor[i]));
		}
}

int
vmbus_probe(struct vmbus *vb, const struct driver *const *table)
{
	vb->table = table;
	vb->new_offers = false;
	return bus_probe(&vb->bus, table);
}

/* ---- sub-channels --------------------------------------------------- */

int
vmbus_subchan_list(struct vmbus_chan *ch, struct vmbus_chan **out, int n)
{
	struct vmbus *vb = ch->vb;
	int k = 0;

	for (uint32_t i = 0; i < vb->nchans; i++) {
		struct vmbus_chan *c = &vb->ch[i];
		if (c->state == VMBUS_CH_FREE || c->rescind_pending ||
		    c->offer.sub_channel_index == 0 ||
		    memcmp(c->offer.if_instance, ch->offer.if_instance, 16) != 0)
			continue;
		if (k < n && out != NULL)
			out[k] = c;
		k++;
	}
	return k;
}

int
vmbus_subchan_wait(struct vmbus_chan *ch, int want)
{
	struct vmbus *vb = ch->vb;
	struct hv_message m;
	uint64_t start = hw_now_ns(vb->dev);
	int have;

	while ((have = vmbus_subchan_list(ch, NULL, 0)) < want) {
		int rc = vmbus_take(vb, &m);
		if (rc == TERN_OK) {
			vmbus_handle(vb, &m);
			continue;
		}
		if (rc == TERN_EPROTO)
			continue;
		uint64_t now = hw_now_ns(vb->dev);
		if (now - start >= vmbus_timeout(vb)) {
			vb->st.timeouts++;
			log_warn(ch->hw.name, "%d of %d sub-channel OFFERCHANNELs after %llu ms",
			    have, want, (unsigned long long)(vmbus_timeout(vb) / 1000000));
			break;
		}
		hw_intr_wait(vb->dev, vb->hv->vector, 1000000);
	}
	return have;
}

/* ---- GPADL ---------------------------------------------------------- */

int
vmbus_gpadl_create(struct vmbus_chan *ch, const struct hw_dma *buf,
    uint32_t *handle)
{
	struct vmbus *vb = ch->vb;
	uint8_t msg[VMBUS_MSG_MAX];
	struct vmbus_gpadl_created cr;

	if (ch->rescinded || ch->rescind_pending)
		return TERN_ENODEV;
	if (buf->len == 0 || (buf->len & (HV_PAGE_SIZE - 1)) != 0 ||
	    ((uintptr_t)buf->va & (HV_PAGE_SIZE - 1)) != 0)
		return TERN_EINVAL;
	size_t npfn = buf->len / HV_PAGE_SIZE;
	/* range_buflen is a u16 (B.8). */
	if (8 + 8 * npfn > 0xffff || buf->len > 0xffffffffu)
		return TERN_ERANGE;
	uint32_t h = vb->next_gpadl++;
	if (vb->next_gpadl == 0)
		vb->next_gpadl = VMBUS_GPADL_FIRST;

	struct vmbus_gpadl_header *gh = (struct vmbus_gpadl_header *)msg;
	memset(msg, 0, sizeof(msg));
	gh->h.msgtype = VMBUS_MSG_GPADL_HEADER;
	gh->child_relid = ch->relid;
	gh->gpadl = h;
	gh->range_buflen = (uint16_t)(8 + 8 * npfn);
	gh->rangecount = 1;
	gh->byte_count = (uint32_t)buf->len;
	gh->byte_offset = 0;
	size_t n = npfn < VMBUS_GPADL_HDR_PFNS ? npfn : VMBUS_GPADL_HDR_PFNS;
	size_t next = 0;
	for (; next < n; next++) {
		uint64_t pfn = hw_virt_to_phys(&ch->hw,
		    (uint8_t *)buf->va + next * HV_PAGE_SIZE) >> 12;
		memcpy(msg + sizeof(*gh) + 8 * next, &pfn, 8);
	}
	int rc = vmbus_post(vb, msg, sizeof(*gh) + 8 * n);
	while (rc == TERN_OK && next < npfn) {
		struct vmbus_gpadl_body *gb = (struct vmbus_gpadl_body *)msg;
		memset(msg, 0, sizeof(msg));
		gb->h.msgtype = VMBUS_MSG_GPADL_BODY;
		gb->msgnumber = 0;	/* as Linux (B.9) */
		gb->gpadl = h;
		size_t k = 0;
		for (; k < VMBUS_GPADL_BODY_PFNS && next < npfn; k++, next++) {
			uint64_t pfn = hw_virt_to_phys(&ch->hw,
			    (uint8_t *)buf->va + next * HV_PAGE_SIZE) >> 12;
			memcpy(msg + sizeof(*gb) + 8 * k, &pfn, 8);
		}
		rc = vmbus_post(vb, msg, sizeof(*gb) + 8 * k);
	}
	if (rc != TERN_OK)
		return rc;
	rc = vmbus_await(vb, VMBUS_MSG_GPADL_CREATED, h, ch->relid, &cr,
	    sizeof(cr), "GPADL_CREATED");
	if (rc == TERN_ETIMEDOUT) {
		/* The host may have created it and lost only the answer:
		   take it back, and if even that is not confirmed, the
		   buffer must never be reused. */
		if (vmbus_gpadl_teardown(ch, h) != TERN_OK)
			return TERN_EBUSY;
		return rc;
	}
	if (rc != TERN_OK)
		return rc;
	if (cr.status != 0 || cr.child_relid != ch->relid) {
		log_warn(ch->hw.name, "GPADL 0x%x refused: status 0x%x relid %u",
		    h, cr.status, cr.child_relid);
		return TERN_EIO;
	}
	*handle = h;
	return TERN_OK;
}

int
vmbus_gpadl_teardown(struct vmbus_chan *ch, uint32_t handle)
{
	struct vmbus_gpadl_teardown t;
	struct vmbus_gpadl_torndown d;

	/* A rescinded channel's GPADLs went with it on the host side. */
	if (ch->rescinded)
		return TERN_OK;
	memset(&t, 0, sizeof(t));
	t.h.msgtype = VMBUS_MSG_GPADL_TEARDOWN;
	t.child_relid = ch->relid;
	t.gpadl = handle;
	int rc = vmbus_post(ch->vb, &t, sizeof(t));
	if (rc != TERN_OK)
		return rc;
	return vmbus_await(ch->vb, VMBUS_MSG_GPADL_TORNDOWN, handle, 0, &d,
	    sizeof(d), "GPADL_TORNDOWN");
}

/* ---- channels ------------------------------------------------------- */

static bool
ring_size_ok(uint32_t b)
{
	return b >= 2 * HV_PAGE_SIZE && (b & (HV_PAGE_SIZE - 1)) == 0 &&
	    b <= (1u << 30);
}

int
vmbus_chan_open(struct vmbus_chan *ch, uint32_t send_bytes,
    uint32_t recv_bytes, const void *userdata, size_t udlen,
    vmbus_chan_cb cb, void *arg)
{
	struct vmbus *vb = ch->vb;
	struct vmbus_open o;
	struct vmbus_open_result r;
	int rc;

	if (ch->state != VMBUS_CH_OFFERED)
		return ch->state == VMBUS_CH_OPEN ? TERN_EBUSY : TERN_ENODEV;
	if (ch->rescind_pending)
		return TERN_ENODEV;
	if (!ring_size_ok(send_bytes) || !ring_size_ok(recv_bytes) || udlen > 120)
		return TERN_EINVAL;
	if (hw_dma_alloc(&ch->hw, (size_t)send_bytes + recv_bytes, HV_PAGE_SIZE,
	    &ch->ring_mem) != 0)
		return TERN_ENOMEM;
	uint8_t *base = ch->ring_mem.va;
	vmbus_ring_init(&ch->tx, &ch->hw, base, send_bytes);
	vmbus_ring_init(&ch->rx, &ch->hw, base + send_bytes, recv_bytes);
	ch->send_bytes = send_bytes;
	if ((rc = vmbus_gpadl_create(ch, &ch->ring_mem, &ch->ring_gpadl)) != TERN_OK) {
		if (rc != TERN_EBUSY)
			goto fail_mem;
		log_warn(ch->hw.name, "ring GPADL state unknown; %u bytes leaked on purpose",
		    send_bytes + recv_bytes);
		memset(&ch->ring_mem, 0, sizeof(ch->ring_mem));
		return TERN_ETIMEDOUT;
	}

	memset(&o, 0, sizeof(o));
	o.h.msgtype = VMBUS_MSG_OPENCHANNEL;
	o.child_relid = ch->relid;
	o.openid = ch->relid;
	o.gpadl = ch->ring_gpadl;
	o.target_vp = vb->hv->vp_index;
	o.downstream_pageoffset = send_bytes / HV_PAGE_SIZE;
	if (udlen > 0)
		memcpy(o.userdata, userdata, udlen);
	if ((rc = vmbus_post(vb, &o, sizeof(o))) != TERN_OK)
		goto fail_gpadl;
	rc = vmbus_await(vb, VMBUS_MSG_OPENCHANNEL_RESULT, ch->relid, ch->relid,
	    &r, sizeof(r), "OPENCHANNEL_RESULT");
	if (rc == TERN_ETIMEDOUT) {
		/* The host may still open it later: close so it does not. */
		struct vmbus_relid_msg c = { { VMBUS_MSG_CLOSECHANNEL, 0 }, ch->relid };
		vmbus_post(vb, &c, sizeof(c));
		goto fail_gpadl;
	}
	if (rc != TERN_OK)
		goto fail_gpadl;
	if (r.status != 0 || r.openid != ch->relid) {
		log_warn(ch->hw.name, "OPENCHANNEL refused: status 0x%x openid %u",
		    r.status, r.openid);
		rc = TERN_EIO;
		goto fail_gpadl;
	}
	ch->cb = cb;
	ch->cb_arg = arg;
	ch->state = VMBUS_CH_OPEN;
	return TERN_OK;

fail_gpadl:
	/* A rescinded channel's GPADL is gone with it on the host. */
	if (ch->rescind_pending)
		goto fail_mem;
	if (vmbus_gpadl_teardown(ch, ch->ring_gpadl) != TERN_OK) {
		/* The host may still map the rings: never reuse that memory. */
		log_warn(ch->hw.name, "ring GPADL 0x%x not torn down; %u bytes leaked on purpose",
		    ch->ring_gpadl, send_bytes + recv_bytes);
		memset(&ch->ring_mem, 0, sizeof(ch->ring_mem));
		return rc;
	}
fail_mem:
	hw_dma_free(&ch->hw, &ch->ring_mem);
	memset(&ch->ring_mem, 0, sizeof(ch->ring_mem));
	return rc;
}

void
vmbus_chan_close(struct vmbus_chan *ch)
{
	if (ch->state != VMBUS_CH_OPEN)
		return;
	ch->state = VMBUS_CH_OFFERED;
	ch->cb = NULL;
	bool keep = false;
	if (!ch->rescinded) {
		/* B.9: WIN10+ hosts want the teardown after the close. */
		struct vmbus_relid_msg c = { { VMBUS_MSG_CLOSECHANNEL, 0 }, ch->relid };
		if (vmbus_post(ch->vb, &c, sizeof(c)) == TERN_OK &&
		    vmbus_gpadl_teardown(ch, ch->ring_gpadl) != TERN_OK) {
			log_warn(ch->hw.name, "ring GPADL 0x%x not torn down; rings leaked on purpose",
			    ch->ring_gpadl);
			keep = true;
		}
	}
	if (!keep)
		hw_dma_free(&ch->hw, &ch->ring_mem);
	memset(&ch->ring_mem, 0, sizeof(ch->ring_mem));
}

int
vmbus_chan_send(struct vmbus_chan *ch, uint16_t type, uint16_t flags,
    uint64_t trans_id, const void *ext, size_t extlen, const void *data,
    size_t len)
{
	static const uint8_t pad[8];
	struct vmbus_pkt_desc d;
	bool sig;

	if (ch->state != VMBUS_CH_OPEN || ch->rescind_pending)
		return TERN_ENODEV;
	if ((extlen & 7) != 0)
		return TERN_EINVAL;
	size_t hlen = sizeof(d) + extlen;
	size_t plen = (hlen + len + 7) & ~(size_t)7;
	if (plen / 8 > 0xffff || hlen / 8 > 0xffff)
		return TERN_ERANGE;
	d.type = type;
	d.offset8 = (uint16_t)(hlen / 8);
	d.len8 = (uint16_t)(plen / 8);
	d.flags = flags;
	d.trans_id = trans_id;
	struct vmbus_iov iov[4] = {
		{ &d, sizeof(d) }, { ext, extlen }, { data, len },
		{ pad, plen - hlen - len },
	};
	int rc = vmbus_ring_write(&ch->tx, iov, 4, &sig);
	if (rc != TERN_OK)
		return rc;
	ch->tx_pkts++;
	if (sig) {
		ch->signals++;
		hv_signal_event(ch->vb->hv, ch->conn_id);
	}
	return TERN_OK;
}

bool
vmbus_chan_send_ready(struct vmbus_chan *ch)
{
	if (ch->state != VMBUS_CH_OPEN)
		return false;
	return vmbus_ring_send_ready(&ch->tx);
}

int
vmbus_chan_recv(struct vmbus_chan *ch, void *buf, size_t buflen,
    struct vmbus_pkt *pkt)
{
	uint32_t plen;
	bool sig;

	if (ch->state != VMBUS_CH_OPEN)
		return TERN_ENODEV;
	int rc = vmbus_ring_read(&ch->rx, buf, buflen, &plen, &sig);
	pkt->len = plen;
	if (rc != TERN_OK)
		return rc;
	const struct vmbus_pkt_desc *d = buf;
	pkt->type = d->type;
	pkt->flags = d->flags;
	pkt->trans_id = d->trans_id;
	pkt->hdr_len = (uint32_t)d->offset8 * 8;
	ch->rx_pkts++;
	if (sig) {
		ch->signals++;
		hv_signal_event(ch->vb->hv, ch->conn_id);
	}
	return TERN_OK;
}

/* Run the callback with the inbound ring masked, then unmask and look
   again: data that arrived in between got no interrupt (B.10). */
static void
vmbus_chan_service(struct vmbus_chan *ch)
{
	for (int round = 0; round < 16 && ch->state == VMBUS_CH_OPEN &&
	    ch->cb != NULL; round++) {
		ch->rx.hdr->interrupt_mask = 1;
		hw_dma_sync_dev(&ch->hw, &ch->rx.hdr->interrupt_mask, 4);
		ch->cb(ch, ch->cb_arg);
		ch->rx.hdr->interrupt_mask = 0;
		hw_dma_sync_dev(&ch->hw, &ch->rx.hdr->interrupt_mask, 4);
		hw_mb();
		if (ch->rx.broken || vmbus_ring_empty(&ch->rx))
			break;
	}
}

static void
vmbus_rescind(struct vmbus *vb, struct vmbus_chan *ch)
{
	struct vmbus_relid_msg rel;

	log_info("vmbus", "relid %u (%s) rescinded by the host", ch->relid,
	    vmbus_class_name(ch->offer.if_type));
	ch->rescinded = true;
	if (ch->dev.driver != NULL)
		bus_detach(&ch->dev);
	vmbus_chan_close(ch);
	memset(&rel, 0, sizeof(rel));
	rel.h.msgtype = VMBUS_MSG_RELID_RELEASED;
	rel.child_relid = ch->relid;
	vmbus_post(vb, &rel, sizeof(rel));
	ch->state = VMBUS_CH_FREE;
	ch->rescind_pending = false;
}

int
vmbus_poll(struct vmbus *vb)
{
	struct hv_message m;
	int n = 0;

	if (!vb->connected)
		return 0;
	/* Bounded: a host that floods messages cannot keep us here. */
	for (int i = 0; i < 64; i++) {
		int rc = vmbus_take(vb, &m);
		if (rc == TERN_EAGAIN)
			break;
		n++;
		if (rc == TERN_OK)
			vmbus_handle(vb, &m);
	}
	for (uint32_t i = 0; i < vb->nchans; i++) {
		struct vmbus_chan *ch = &vb->ch[i];
		if (ch->state != VMBUS_CH_FREE && ch->rescind_pending)
			vmbus_rescind(vb, ch);
	}
	if (vb->new_offers && vb->table != NULL) {
		vb->new_offers = false;
		bus_attach_all(&vb->bus, vb->table);
	}
	for (uint32_t i = 0; i < vb->nchans; i++) {
		struct vmbus_chan *ch = &vb->ch[i];
		if (ch->state == VMBUS_CH_OPEN &&
		    hv_event_test_clear(vb->hv, HV_SINT_VMBUS, ch->relid))
			vmbus_chan_service(ch);
	}
	return n;
}

int
vmbus_unload(struct vmbus *vb)
{
	struct vmbus_msg_hdr req = { VMBUS_MSG_UNLOAD, 0 }, resp;

	if (!vb->connected)
		return TERN_OK;
	bus_detach_all(&vb->bus);
	for (uint32_t i = 0; i < vb->nchans; i++)
		vmbus_chan_close(&vb->ch[i]);
	int rc = vmbus_post(vb, &req, sizeof(req));
	if (rc == TERN_OK)
		rc = vmbus_await(vb, VMBUS_MSG_UNLOAD_RESPONSE, 0, 0, &resp,
		    sizeof(resp), "UNLOAD_RESPONSE");
	vb->connected = false;
	vmbus_fini(vb);
	return rc;
}
