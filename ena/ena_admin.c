/*
 * ena_admin.c - ENA register access and the admin queue (PROTOCOLS.md
 * A.3 read-less MMIO, A.4 step 3 reset, A.5 admin queue mechanics, A.6.1
 * GET/SET_FEATURE).  Used by the control path in ena.c.
 *
 * Callers may rely on: every wait is bounded (read-less: 200,000 x 1 us;
 * reset: the CAPS reset timeout; admin: the CAPS admin timeout) and names
 * the register or opcode when it gives up; every value the device writes
 * is checked before use (response register offset, completion phase and
 * command id, status) and counted in sc->st when wrong.  Admin commands
 * run one at a time, polled.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "kernel/log.h"

#define MOD "ena"
void
ena_reg_write(struct ena_softc *sc, uint32_t off, uint32_t v)
{
	hw_write32(&sc->regs, off, v);
}

void
ena_mem_addr(struct ena_mem_addr *a, uint64_t pa)
{
	a->lo = (uint32_t)pa;
	a->hi = (uint16_t)(pa >> 32);
	a->rsvd = 0;
}

/* A.3: the device DMA-writes the value; we spin on req_id, bounded. */
uint32_t
ena_reg_read(struct ena_softc *sc, uint32_t off)
{
	if (!sc->readless)
		return hw_read32(&sc->regs, off);
	struct ena_mmio_resp *r = sc->mmio_resp.va;
	uint16_t seq = ++sc->mmio_seq;
	r->req_id = (uint16_t)(seq + 0xdead);	/* cannot match seq */
	hw_dma_sync_dev(&sc->hw, &r->req_id, sizeof(r->req_id));
	hw_wmb();
	ena_reg_write(sc, ENA_REG_MMIO_REG_READ, off << 16 | seq);
	for (uint32_t i = 0; i < ENA_READLESS_SPINS; i++) {
		if (hw_dma_load16(&sc->hw, &r->req_id) == seq) {
			hw_rmb();
			hw_dma_sync_cpu(&sc->hw, r, sizeof(*r));
			if (r->reg_off != off) {
				sc->st.readless_bad++;
				log_warn(MOD, "%s: read-less read of 0x%x answered for 0x%x",
				    sc->hw.name, off, r->reg_off);
				return 0xffffffffu;
			}
			return r->reg_val;
		}
		hw_delay_us(&sc->hw, 1);
	}
	sc->st.readless_timeouts++;
	log_warn(MOD, "%s: read-less read of register 0x%x: no response in %u us",
	    sc->hw.name, off, ENA_READLESS_SPINS);
	return 0xffffffffu;
}

void
ena_set_mmio_resp(struct ena_softc *sc)
{
	if (!sc->readless)
		return;
	ena_reg_write(sc, ENA_REG_MMIO_RESP_LO, (uint32_t)sc->mmio_resp.pa);
	ena_reg_write(sc, ENA_REG_MMIO_RESP_HI, (uint32_t)(sc->mmio_resp.pa >> 32));
}

/* Poll DEV_STS until (sts & mask) == want, back-off 100 us .. 5 ms,
   for at most to_ms.  0xffffffff (a failed read) never matches. */
static int
wait_sts(struct ena_softc *sc, uint32_t mask, uint32_t want, uint32_t to_ms,
    const char *what)
{
	uint64_t end = hw_now_ns(&sc->hw) + ena_ms_ns(to_ms);
	uint32_t step = 100;
	for (;;) {
		uint32_t sts = ena_reg_read(sc, ENA_REG_DEV_STS);
		if (sts != 0xffffffffu && (sts & mask) == want)
			return TERN_OK;
		if (hw_now_ns(&sc->hw) >= end) {
			log_error(MOD, "%s: %s: DEV_STS 0x%x after %u ms", sc->hw.name,
			    what, sts, to_ms);
			return TERN_ETIMEDOUT;
		}
		hw_delay_us(&sc->hw, step);
		if (step < 5000)
			step *= 2;
	}
}

/* A.4 step 3. */
int
ena_dev_reset(struct ena_softc *sc, uint8_t reason)
{
	uint32_t sts = ena_reg_read(sc, ENA_REG_DEV_STS);
	uint32_t caps = ena_reg_read(sc, ENA_REG_CAPS);
	if (sts == 0xffffffffu || caps == 0xffffffffu) {
		log_error(MOD, "%s: reset: DEV_STS/CAPS unreadable", sc->hw.name);
		return TERN_ENODEV;
	}
	if (!(sts & ENA_DEV_STS_READY)) {
		log_error(MOD, "%s: reset: device not ready (DEV_STS 0x%x)", sc->hw.name, sts);
		return TERN_ENODEV;
	}
	sc->caps = caps;
	sc->reset_to_ms = ENA_CAPS_RESET_TO(caps) * 100;
	if (sc->reset_to_ms == 0) {
		log_error(MOD, "%s: CAPS 0x%x gives no reset timeout", sc->hw.name, caps);
		return TERN_EPROTO;
	}
	uint32_t ctl = ENA_DEV_CTL_RESET;
	if ((sc->capabilities & ENA_CAP_EXT_RESET_REASONS) || reason < 16) {
		ctl |= (uint32_t)(reason & 0xf) << ENA_DEV_CTL_REASON_SHIFT;
		ctl |= (uint32_t)((reason >> 4) & 0xf) << 24;
	} else {
		ctl |= (uint32_t)ENA_RESET_GENERIC << ENA_DEV_CTL_REASON_SHIFT;
	}
	ena_reg_write(sc, ENA_REG_DEV_CTL, ctl);
	/* The reset forgets the response address (A.3 step 1). */
	ena_set_mmio_resp(sc);
	int rc = wait_sts(sc, ENA_DEV_STS_RESET_IN_PROGRESS,
	    ENA_DEV_STS_RESET_IN_PROGRESS, sc->reset_to_ms, "reset start");
	if (rc != TERN_OK)
		return rc;
	ena_reg_write(sc, ENA_REG_DEV_CTL, 0);
	rc = wait_sts(sc, ENA_DEV_STS_RESET_IN_PROGRESS, 0, sc->reset_to_ms, "reset end");
	if (rc != TERN_OK)
		return rc;
	uint32_t ato = ENA_CAPS_ADMIN_TO(caps);
	sc->admin_to_ms = ato ? ato * 100 : ENA_ADMIN_TO_DEFAULT_MS;
	return TERN_OK;
}

/*
 * A.5: submit one command and wait for its completion, polled, bounded
 * by the CAPS admin timeout.  `cmd` is a 64-byte entry whose common
 * header this fills in; the 64-byte completion goes to `resp` (MAY be
 * NULL).  A completion with another command id is counted and skipped.
 */
int
ena_admin_exec(struct ena_softc *sc, void *cmd, struct ena_acq_entry *resp)
{
	if (sc->admin_dead)
		return TERN_EIO;
	struct ena_aq_common *c = cmd;
	uint16_t mask = ENA_AQ_DEPTH - 1;
	uint16_t id = (uint16_t)(sc->cmd_seq++ & mask);
	c->command_id = id;
	c->flags = (uint8_t)((c->flags & ~ENA_AQ_FLAG_PHASE) | sc->aq_phase);
	uint8_t *slot = (uint8_t *)sc->aq.va + (sc->aq_tail & mask) * ENA_AQ_ENTRY_SIZE;
	memcpy(slot, cmd, ENA_AQ_ENTRY_SIZE);
	hw_dma_sync_dev(&sc->hw, slot, ENA_AQ_ENTRY_SIZE);
	sc->aq_tail++;
	if ((sc->aq_tail & mask) == 0)
		sc->aq_phase ^= 1;
	hw_wmb();
	ena_reg_write(sc, ENA_REG_AQ_DB, sc->aq_tail);
	sc->st.admin_cmds++;

	uint64_t end = hw_now_ns(&sc->hw) + ena_ms_ns(sc->admin_to_ms);
	uint32_t step = 1;
	for (;;) {
		struct ena_acq_entry *e = (struct ena_acq_entry *)
		    ((uint8_t *)sc->acq.va + (sc->acq_head & mask) * ENA_ACQ_ENTRY_SIZE);
		uint32_t w0 = hw_dma_load32(&sc->hw, e);
		if (((w0 >> 24) & ENA_AQ_FLAG_PHASE) == sc->acq_phase) {
			hw_rmb();
			hw_dma_sync_cpu(&sc->hw, e, ENA_ACQ_ENTRY_SIZE);
			struct ena_acq_entry got;
			memcpy(&got, e, sizeof(got));
			sc->acq_head++;
			if ((sc->acq_head & mask) == 0)
				sc->acq_phase ^= 1;
			if ((got.command_id & ENA_AQ_CMD_ID_MASK) != id) {
				sc->st.admin_bad_resp++;
				log_warn(MOD, "%s: admin completion for command %u while "
				    "waiting for %u (opcode %u): ignored", sc->hw.name,
				    got.command_id & ENA_AQ_CMD_ID_MASK, id, c->opcode);
				continue;
			}
			if (resp != NULL)
				*resp = got;
			if (got.status != ENA_ADMIN_SUCCESS) {
				sc->st.admin_errors++;
				log_warn(MOD, "%s: admin opcode %u: status %u ext %u",
				    sc->hw.name, c->opcode, got.status, got.ext_status);
				return got.status == ENA_ADMIN_UNSUPPORTED ||
				    got.status == ENA_ADMIN_BAD_OPCODE ? TERN_ENOTSUP : TERN_EIO;
			}
			return TERN_OK;
		}
		if (hw_now_ns(&sc->hw) >= end)
			break;
		hw_delay_us(&sc->hw, step);
		if (step < 1000)
			step *= 2;
	}
	sc->st.admin_timeouts++;
	sc->admin_dead = true;
	log_error(MOD, "%s: admin opcode %u (command %u): no completion in %u ms "
	    "(ACQ head %u)", sc->hw.name, c->opcode, id, sc->admin_to_ms, sc->acq_head);
	ena_request_reset(sc, ENA_RESET_ADMIN_TO, "admin timeout");
	return TERN_ETIMEDOUT;
}

bool
ena_feature_ok(const struct ena_softc *sc, uint8_t id)
{
	return id == ENA_FEAT_DEVICE_ATTRIBUTES || (sc->features & (1u << id)) != 0;
}

/* GET_FEATURE: up to `len` payload bytes (ACQ offset 8) into out. */
int
ena_get_feature(struct ena_softc *sc, uint8_t id, uint8_t ver, void *out, size_t len)
{
	if (!ena_feature_ok(sc, id))
		return TERN_ENOTSUP;
	struct ena_aq_feature cmd;
	struct ena_acq_entry resp;
	memset(&cmd, 0, sizeof(cmd));
	cmd.c.opcode = ENA_ADMIN_GET_FEATURE;
	cmd.flags = ENA_FEAT_SELECT_CURRENT;
	cmd.feature_id = id;
	cmd.feature_version = ver;
	int rc = ena_admin_exec(sc, &cmd, &resp);
	if (rc == TERN_OK)
		memcpy(out, resp.data, len);
	return rc;
}

int
ena_set_feature(struct ena_softc *sc, uint8_t id, uint8_t ver, const void *in, size_t len)
{
	if (id != ENA_FEAT_HOST_ATTR_CONFIG && !ena_feature_ok(sc, id))
		return TERN_ENOTSUP;
	struct ena_aq_feature cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.c.opcode = ENA_ADMIN_SET_FEATURE;
	cmd.feature_id = id;
	cmd.feature_version = ver;
	memcpy(cmd.payload, in, len);
	return ena_admin_exec(sc, &cmd, NULL);
}

