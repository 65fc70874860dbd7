// SPDX-License-Identifier: BSD-3-Clause
/* sim:dmacopy, a DMA-copy engine model; its register map is in sim/dmacopy.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "sim"
#include "lib/util/log.h"
#include "sim/dmacopy.h"
#include "sim/sim.h"

struct dmacopy {
	uint64_t maxlen;
};

static void regs_reset(struct sim_dev *sd)
{
	memset(sd->bar[0], 0, DMACOPY_BAR_SIZE);
	sim_set_reg32(sd, 0, DMACOPY_ID, DMACOPY_ID_VALUE);
}

static int dmacopy_create(struct sim_dev *sd, const struct sim_opts *opts)
{
	static const char *const allowed[] = { "maxlen", "serial", NULL };
	/* Vendor-specific capability: a length byte (§6.7 leaves the rest to the vendor). */
	static const uint8_t vendor_cap[] = { 7, 'D', 'M', 'A', 'C' };
	struct dmacopy *dc;
	uint64_t maxlen, serial;
	uint8_t dsn[8];
	int err;

	err = sim_opts_check(sd, opts, allowed);
	if (!err)
		err = sim_opt_u64(opts, "maxlen", DMACOPY_DEFAULT_MAXLEN, &maxlen);
	if (!err)
		err = sim_opt_u64(opts, "serial", DMACOPY_DEFAULT_SERIAL, &serial);
	if (err)
		return err;
	if (!maxlen || maxlen > UINT32_MAX) {
		log_err("%s: maxlen=%llu must be from 1 to 4294967295 (LEN is 32 bits)", sd->name,
			(unsigned long long)maxlen);
		return -EINVAL;
	}
	for (int i = 0; i < 8; i++)
		dsn[i] = (uint8_t)(serial >> (8 * i));
	if (sim_cfg_add_cap(sd, DMACOPY_CAP_VENDOR, vendor_cap, sizeof(vendor_cap)) < 0 ||
	    sim_cfg_add_ext_cap(sd, DMACOPY_EXT_CAP_DSN, 1, dsn, sizeof(dsn)) < 0)
		return -ENOSPC;
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return -ENOMEM;
	dc->maxlen = maxlen;
	sd->priv = dc;
	regs_reset(sd);
	return 0;
}

static void dmacopy_destroy(struct sim_dev *sd)
{
	free(sd->priv);
	sd->priv = NULL;
}

static bool read_only(uint32_t off)
{
	return off == DMACOPY_ID || (off >= DMACOPY_TAG_DONE && off != DMACOPY_INTCTL) ||
	       (off >= DMACOPY_ID + 4 && off < DMACOPY_SRC);
}

static void dmacopy_write32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val)
{
	if (off == DMACOPY_STATUS) {
		uint32_t w1c =
			val & (DMACOPY_STATUS_DONE | DMACOPY_STATUS_FAULT | DMACOPY_STATUS_BADLEN);

		sim_set_reg32(sd, 0, off, sim_reg32(sd, 0, off) & ~w1c);
		return;
	}
	if (!read_only(off))
		sim_set_reg32(sd, 0, off, val);
}

static void dmacopy_write64(struct sim_dev *sd, int bar, uint32_t off, uint64_t val)
{
	if (off == DMACOPY_SRC || off == DMACOPY_DST) {
		sim_set_reg64(sd, 0, off, val);
		return;
	}
	dmacopy_write32(sd, bar, off, (uint32_t)val);
	dmacopy_write32(sd, bar, off + 4, (uint32_t)(val >> 32));
}

/* One job per pass: take the doorbell, check, copy, report. */
static bool dmacopy_poll(struct sim_dev *sd)
{
	struct dmacopy *dc = sd->priv;
	uint32_t tag = sim_reg32(sd, 0, DMACOPY_DOORBELL), len, status;
	uint64_t src, dst;
	void *s, *d;

	if (!tag)
		return false;
	src = sim_reg64(sd, 0, DMACOPY_SRC);
	dst = sim_reg64(sd, 0, DMACOPY_DST);
	len = sim_reg32(sd, 0, DMACOPY_LEN);
	sim_set_reg32(sd, 0, DMACOPY_DOORBELL, 0);
	sim_set_reg32(sd, 0, DMACOPY_STATUS, DMACOPY_STATUS_BUSY);

	if (!len || len > dc->maxlen) {
		log_err("%s: job %u: LEN %u is not in 1..%llu", sd->name, tag, len,
			(unsigned long long)dc->maxlen);
		status = DMACOPY_STATUS_BADLEN;
	} else {
		/* Both ends are resolved before a byte moves: a refused job writes nothing. */
		s = sim_dma_ptr(sd, src, len);
		d = s ? sim_dma_ptr(sd, dst, len) : NULL;
		if (s && d) {
			memmove(d, s, len);
			status = DMACOPY_STATUS_DONE;
		} else {
			sim_set_reg64(sd, 0, DMACOPY_FAULT_IOVA, s ? dst : src);
			status = DMACOPY_STATUS_FAULT;
		}
	}
	if (status == DMACOPY_STATUS_DONE)
		sim_set_reg32(sd, 0, DMACOPY_COMPLETED, sim_reg32(sd, 0, DMACOPY_COMPLETED) + 1);
	else
		sim_set_reg32(sd, 0, DMACOPY_ERRORS, sim_reg32(sd, 0, DMACOPY_ERRORS) + 1);
	sim_set_reg32(sd, 0, DMACOPY_STATUS, status);
	/* Last, with release: whoever sees the tag sees the status, counters and data. */
	sim_set_reg32(sd, 0, DMACOPY_TAG_DONE, tag);
	if (sim_reg32(sd, 0, DMACOPY_INTCTL) & DMACOPY_INTCTL_IEN)
		sim_irq_raise(sd, DMACOPY_INTCTL_VECTOR(sim_reg32(sd, 0, DMACOPY_INTCTL)));
	return true;
}

static int dmacopy_reset(struct sim_dev *sd)
{
	regs_reset(sd);
	return 0;
}

const struct sim_model sim_dmacopy_model = {
	.name = "dmacopy",
	.vendor_id = DMACOPY_VENDOR_ID,
	.device_id = DMACOPY_DEVICE_ID,
	.class_code = DMACOPY_CLASS,
	.bar_size = { DMACOPY_BAR_SIZE },
	/* No interrupts unless asked for (msix=N, msi=N, intx=1): the table goes in BAR 2. */
	.irq = { .msix_bar = DMACOPY_MSIX_BAR },
	.create = dmacopy_create,
	.destroy = dmacopy_destroy,
	.reg_write32 = dmacopy_write32,
	.reg_write64 = dmacopy_write64,
	.poll = dmacopy_poll,
	.reset = dmacopy_reset,
};
