/*
 * virtio_regnames.h - register names of the QEMU modern virtio-pci layout
 * (virtio v1.2 section 4.1.4: common cfg at BAR4+0x0, ISR at +0x1000,
 * device cfg at +0x2000, notify at +0x3000 with multiplier 4), for replay
 * diagnostics and tools/trace-pretty.  Host only.
 */
#ifndef TERN_TESTS_VIRTIO_REGNAMES_H
#define TERN_TESTS_VIRTIO_REGNAMES_H

#include "kernel/hw/hw.h"
#include "virtio/virtio_var.h"

#define VIRTIO_QEMU_BAR		4
#define VIRTIO_QEMU_COMMON	0x0000
#define VIRTIO_QEMU_ISR		0x1000
#define VIRTIO_QEMU_DEVICE	0x2000
#define VIRTIO_QEMU_NOTIFY	0x3000
#define VIRTIO_QEMU_NOTIFY_MULT	4

/* Names for a virtio-blk or virtio-net function's BAR4; terminated by a
   NULL name. */
extern const struct hw_regname virtio_blk_regnames[];
extern const struct hw_regname virtio_net_regnames[];

/* Point a virtio_bus's four windows at QEMU's BAR4 layout (what
   virtio_pci.c's find_windows reads from the capabilities), with MSI-X
   table entry 0 bound as the PCI glue does on QEMU. */
void virtio_qemu_windows(struct virtio_bus *vb, const struct hw_regname *names);

#endif
