/*
 * virtio_dmanames.h - names of the fields of device-readable virtio
 * memory (split virtqueue rings, virtio v1.2 2.7; virtio-blk request
 * headers 5.2.6; virtio-net headers 5.1.6), for the replay backend's
 * messages when what a driver wrote differs from the recording
 * (hw_replay_set_namer).  Host only.
 */
#ifndef TERN_TESTS_VIRTIO_DMANAMES_H
#define TERN_TESTS_VIRTIO_DMANAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/hw/hw_replay.h"
#include "virtio/virtio_var.h"

/* The field of q's descriptor table, available ring or indirect tables
   at recorded bus address pa, e.g. "virtq 0 desc[3].addr"; false when pa
   is not in them (or the queue is not set up yet). */
bool virtq_dma_name(const struct virtq *q, uint64_t pa, struct hw_replay_field *f);
/* Namers for hw_replay_set_namer; arg is the driver's softc.  Besides
   the queues: "virtio-blk slot[2].hdr.sector", "virtio-net tx hdr[5].flags". */
bool virtio_blk_dma_name(void *sc, uint64_t pa, struct hw_replay_field *f);
bool virtio_net_dma_name(void *sc, uint64_t pa, struct hw_replay_field *f);

#endif
