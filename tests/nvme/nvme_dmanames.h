/*
 * nvme_dmanames.h - names of the fields of device-readable NVMe memory
 * (submission queue entries, NVMe Base 2.0 4.2 and the per-command
 * CDW10-12 meanings of 5.x / NVM Command Set 3.x; PRP lists 4.1.1), for
 * the replay backend's messages (hw_replay_set_namer).  Host only.
 */
#ifndef TERN_TESTS_NVME_DMANAMES_H
#define TERN_TESTS_NVME_DMANAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "nvme/nvme_var.h"
#include "tests/hw/hw_replay.h"

/* Namer; arg is the nvme_softc.  E.g. "nvme sq 1 sqe[0].cdw10 (SLBA low)",
   "nvme sq 1 slot 3 PRP list[7]". */
bool nvme_dma_name(void *sc, uint64_t pa, struct hw_replay_field *f);

#endif
