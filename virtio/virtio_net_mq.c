/*
 * virtio_net_mq.c - virtio-net multiqueue (virtio v1.2 5.1.6.5 and
 * 5.1.6.5.5): how many queue pairs a device offers, the control queue,
 * and VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET with a bounded wait for the
 * device's ack.  The control path of virtio_net.c's attach and
 * recovery; the datapath never comes here.
 *
 * Callers may rely on: max_virtqueue_pairs is checked before use (1 to
 * 0x7fff; anything else is one pair and no control queue, counted and
 * logged); the command waits at most VNET_CTRL_WAIT_NS on the device's
 * clock and is taken as accepted only for a completion of exactly the
 * one ack byte reading VIRTIO_NET_OK; on any failure nic.nqueues is 1,
 * what a device starts with.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/log.h"
#include "virtio/virtio_var.h"

/* How long a control command may wait for its ack byte. */
#define VNET_CTRL_WAIT_NS	500000000ULL
/* Largest max_virtqueue_pairs whose control queue (2 * max) a 16-bit
   queue_select can name; the spec's 0x8000 cannot. */
#define VNET_PAIRS_USABLE	0x7fff

void
virtio_net_ctrl_free(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	if (sc->ctrl_mem.va != NULL)
		hw_dma_free(vd->hw, &sc->ctrl_mem);
	virtq_free(vd, &sc->ctrlq);
}

/* The control queue, index 2 * max_virtqueue_pairs, and its one command
   buffer.  Polled: the driver waits for each answer. */
int
virtio_net_ctrl_setup(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	int rc = virtq_setup(vd, &sc->ctrlq, (uint16_t)(2 * sc->max_pairs), 8);
	if (rc != TERN_OK)
		return rc;
	virtq_intr(&sc->ctrlq, false);
	if (hw_dma_alloc(vd->hw, 64, 64, &sc->ctrl_mem) != 0) {
		virtq_free(vd, &sc->ctrlq);
		return TERN_ENOMEM;
	}
	memset(sc->ctrl_mem.va, 0, sc->ctrl_mem.len);
	return TERN_OK;
}

/*
 * After negotiation: how many pairs to set up.  1 without MQ; with it,
 * max_virtqueue_pairs read from the device and checked (a device value
 * is input): outside 1..VNET_PAIRS_USABLE the device is run with one
 * pair and no control queue, counted and logged.
 */
uint16_t
virtio_net_pairs_offered(struct virtio_net_softc *sc)
{
	struct virtio_dev *vd = &sc->bus.vd;
	sc->max_pairs = 0;
	if (!virtio_has(vd, VIRTIO_NET_F_MQ))
		return 1;
	uint16_t max = virtio_cfg16(vd, VIRTIO_NET_CFG_MAX_PAIRS);
	if (max < VIRTIO_NET_CTRL_MQ_PAIRS_MIN || max > VNET_PAIRS_USABLE) {
		sc->nic.stats.bad_completions++;
		log_warn("virtio-net", "%s: max_virtqueue_pairs %u outside 1..%u: one queue pair, "
		    "no control queue", sc->nic.name, max, VNET_PAIRS_USABLE);
		return 1;
	}
	sc->max_pairs = max;
	return max < VNET_MAX_PAIRS ? max : VNET_MAX_PAIRS;
}

/*
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET(pairs) on the control queue: header,
 * le16 count, ack byte (5.1.6.5.5), after DRIVER_OK.  The ack starts as
 * 0xff so a device that completes without writing it is not taken for
 * VIRTIO_NET_OK.  Waits at most VNET_CTRL_WAIT_NS.  TERN_OK only for a
 * completion of exactly the one ack byte reading VIRTIO_NET_OK.  An
 * unanswered command stays the device's until the next reset (its
 * buffer is kept till then, and no other command is sent).
 */
static int
vnet_ctrl_mq(struct virtio_net_softc *sc, uint16_t pairs)
{
	struct virtio_dev *vd = &sc->bus.vd;
	struct nic *n = &sc->nic;
	uint8_t *m = sc->ctrl_mem.va;
	struct virtio_net_ctrl_hdr h = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET };
	struct virtio_net_ctrl_mq c = { pairs };
	memcpy(m, &h, sizeof(h));
	memcpy(m + 2, &c, sizeof(c));
	m[4] = 0xff;
	hw_dma_sync_dev(vd->hw, m, 5);
	struct virtq_buf b[3] = {
		{ sc->ctrl_mem.pa, sizeof(h), false },
		{ sc->ctrl_mem.pa + 2, sizeof(c), false },
		{ sc->ctrl_mem.pa + 4, 1, true },
	};
	int rc = virtq_add(&sc->ctrlq, b, 3, m);
	if (rc != TERN_OK)
		return rc;
	virtq_kick(&sc->ctrlq);
	uint64_t end = hw_now_ns(vd->hw) + VNET_CTRL_WAIT_NS;
	uint32_t len = 0;
	while (virtq_get(&sc->ctrlq, &len) == NULL) {
		if (vd->broken || hw_now_ns(vd->hw) > end) {
			log_error("virtio-net", "%s: no answer to VQ_PAIRS_SET(%u) within %llu ms "
			    "(control queue %u used index)", n->name, pairs,
			    (unsigned long long)(VNET_CTRL_WAIT_NS / 1000000), sc->ctrlq.index);
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(vd->hw, 10);
	}
	hw_dma_sync_cpu(vd->hw, m + 4, 1);
	uint8_t ack = m[4];
	if (len != 1) {
		n->stats.bad_completions++;
		log_error("virtio-net", "%s: VQ_PAIRS_SET(%u) completed with %u bytes written, "
		    "not the 1-byte ack", n->name, pairs, len);
		return TERN_EIO;
	}
	if (ack != VIRTIO_NET_OK) {
		log_warn("virtio-net", "%s: device answered VQ_PAIRS_SET(%u) with %s (ack %u)",
		    n->name, pairs, ack == VIRTIO_NET_ERR ? "VIRTIO_NET_ERR" : "garbage", ack);
		return TERN_EIO;
	}
	return TERN_OK;
}

/* Once live: the pairs in use.  More than one only when the device
   confirmed them; otherwise one, as the device starts (5.1.6.5.5). */
void
virtio_net_mq_start(struct virtio_net_softc *sc)
{
	struct nic *n = &sc->nic;
	n->nqueues = 1;
	if (sc->nrings < 2)
		return;
	if (vnet_ctrl_mq(sc, sc->nrings) != TERN_OK) {
		sc->ctrl_failures++;
		log_warn("virtio-net", "%s: multiqueue not confirmed: falling back to one "
		    "queue pair", n->name);
		return;
	}
	n->nqueues = sc->nrings;
	log_info("virtio-net", "%s: %u queue pairs (device offers %u)", n->name,
	    sc->nrings, sc->max_pairs);
}
