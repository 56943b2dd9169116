/*
 * virtio_regnames.c - register names of QEMU's virtio-pci BAR4 layout
 * (common cfg, virtio v1.2 section 4.1.4.3; blk config 5.2.4; net config
 * 5.1.4), used by replay messages and tools/trace-pretty.
 */
#include "tests/virtio/virtio_regnames.h"

#define COMMON \
	{ 0x00, 4, "device_feature_select" }, \
	{ 0x04, 4, "device_feature" }, \
	{ 0x08, 4, "driver_feature_select" }, \
	{ 0x0c, 4, "driver_feature" }, \
	{ 0x10, 2, "config_msix_vector" }, \
	{ 0x12, 2, "num_queues" }, \
	{ 0x14, 1, "device_status" }, \
	{ 0x15, 1, "config_generation" }, \
	{ 0x16, 2, "queue_select" }, \
	{ 0x18, 2, "queue_size" }, \
	{ 0x1a, 2, "queue_msix_vector" }, \
	{ 0x1c, 2, "queue_enable" }, \
	{ 0x1e, 2, "queue_notify_off" }, \
	{ 0x20, 4, "queue_desc_lo" }, \
	{ 0x24, 4, "queue_desc_hi" }, \
	{ 0x28, 4, "queue_driver_lo" }, \
	{ 0x2c, 4, "queue_driver_hi" }, \
	{ 0x30, 4, "queue_device_lo" }, \
	{ 0x34, 4, "queue_device_hi" }, \
	{ 0x1000, 0, "isr_status" }, \
	{ 0x3000, 0, "notify_q0" }, \
	{ 0x3004, 0, "notify_q1" }, \
	{ 0x3008, 0, "notify_q2" }

const struct hw_regname virtio_blk_regnames[] = {
	COMMON,
	{ 0x2000, 0, "blk.capacity_lo" },
	{ 0x2004, 0, "blk.capacity_hi" },
	{ 0x2008, 0, "blk.size_max" },
	{ 0x200c, 0, "blk.seg_max" },
	{ 0x2014, 0, "blk.blk_size" },
	{ 0, 0, NULL },
};

const struct hw_regname virtio_net_regnames[] = {
	COMMON,
	{ 0x2000, 0, "net.mac[0]" },
	{ 0x2001, 0, "net.mac[1]" },
	{ 0x2002, 0, "net.mac[2]" },
	{ 0x2003, 0, "net.mac[3]" },
	{ 0x2004, 0, "net.mac[4]" },
	{ 0x2005, 0, "net.mac[5]" },
	{ 0x2006, 0, "net.status" },
	{ 0x2008, 0, "net.max_virtqueue_pairs" },
	{ 0x200a, 0, "net.mtu" },
	{ 0, 0, NULL },
};

void
virtio_qemu_windows(struct virtio_bus *vb, const struct hw_regname *names)
{
	struct hw_bar *b = &vb->bars[VIRTIO_QEMU_BAR];
	b->dev = &vb->hw;
	b->index = VIRTIO_QEMU_BAR;
	b->len = 0x4000;
	b->names = names;
	vb->vd.hw = &vb->hw;
	vb->vd.common = (struct virtio_win){ b, VIRTIO_QEMU_COMMON, 0x1000 };
	vb->vd.isr = (struct virtio_win){ b, VIRTIO_QEMU_ISR, 0x1000 };
	vb->vd.device = (struct virtio_win){ b, VIRTIO_QEMU_DEVICE, 0x1000 };
	vb->vd.notify = (struct virtio_win){ b, VIRTIO_QEMU_NOTIFY, 0x1000 };
	vb->vd.notify_mult = VIRTIO_QEMU_NOTIFY_MULT;
	/* virtio_pci.c binds MSI-X table entry 0 when the function has
	   MSI-X, as QEMU's virtio-pci functions do. */
	vb->vd.msix = true;
	vb->vd.msix_entry = 0;
}
