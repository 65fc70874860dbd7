/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme controller registers and the CC/CSTS state machine (NVMe Base 2.0 §3.1.3, §3.5),
 * the address options, and the sim_model entry points.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define BAR0_SIZE 0x4000 /* registers + doorbells of 512 queue pairs at DSTRD 0 */

static uint64_t reg64(const struct sim_dev *sd, uint32_t off)
{
	return sim_reg32(sd, 0, off) | (uint64_t)sim_reg32(sd, 0, off + 4) << 32;
}

static void set_reg64(struct sim_dev *sd, uint32_t off, uint64_t val)
{
	sim_set_reg32(sd, 0, off, (uint32_t)val);
	sim_set_reg32(sd, 0, off + 4, (uint32_t)(val >> 32));
}

uint32_t ctrl_csts(struct nvme_ctrl *c)
{
	return sim_reg32(c->sd, 0, NVME_REG_CSTS);
}

void ctrl_set_csts(struct nvme_ctrl *c, uint32_t set, uint32_t clear)
{
	sim_set_reg32(c->sd, 0, NVME_REG_CSTS, (ctrl_csts(c) & ~clear) | set);
}

/* A fatal error the host can only see in CSTS.CFS (§3.1.3.6); processing stops. */
void ctrl_fatal(struct nvme_ctrl *c, const char *why)
{
	log_warn("%s: controller fatal status (CSTS.CFS): %s", c->sd->name, why);
	ctrl_set_csts(c, NVME_CSTS_CFS, 0);
}

/*
 * CAP, §3.1.3.1: MQES, CQR=1 (queues must be physically contiguous), TO in 500 ms units
 * covering the ready delay, DSTRD 0, CSS bits 37 (NVM command set) and 43 (I/O Command Sets:
 * CC.CSS 110b enables every set, the Zoned Namespace one included), MPSMIN 4 KiB, MPSMAX 64 KiB.
 */
static uint64_t cap_value(const struct nvme_ctrl *c)
{
	uint64_t to = 2 + c->rdy_us / 500000;

	if (to > 255)
		to = 255;
	return (uint64_t)c->mqes | 1ull << 16 | to << 24 | 1ull << 37 | 1ull << 43 | 0ull << 48 |
	       4ull << 52;
}

static void features_default(struct nvme_ctrl *c)
{
	c->feat_arb = 3; /* Arbitration Burst 2^3, §5.27.1.1 */
	c->feat_pm = 0; /* power state 0 */
	c->feat_temp = 343; /* over temperature threshold 70 °C in kelvin, §5.27.1.3 */
	c->feat_err = 0;
	c->feat_vwc = 1; /* volatile write cache enabled */
	c->feat_coal = 0;
	c->feat_wan = 0;
	c->feat_aec = 0; /* no asynchronous events until the host asks, §5.27.1.7 */
	c->nsqa = c->nqpairs - 1;
	c->ncqa = c->nqpairs - 1;
}

/* Controller reset (CC.EN 1→0, §3.7.2): queues, pending work and features go. */
void ctrl_reset_state(struct nvme_ctrl *c)
{
	queue_delete_all(c);
	memset((uint8_t *)c->sd->bar[0] + NVME_REG_DB, 0, BAR0_SIZE - NVME_REG_DB);
	c->enabled = false;
	c->rdy_due = 0;
	c->io_queues_made = false;
	c->aen_ns_pending = c->aen_ns_masked = false;
	c->aen_err_pending = c->aen_err_masked = false;
	features_default(c);
	intr_reset(c);
	ctrl_set_csts(c, 0, NVME_CSTS_RDY | NVME_CSTS_CFS);
}

/* CC.EN 0→1, §3.5.1: check the configuration and the admin queue, then become ready. */
static void ctrl_enable(struct nvme_ctrl *c)
{
	struct sim_dev *sd = c->sd;
	uint32_t cc = c->cc, aqa = sim_reg32(sd, 0, NVME_REG_AQA);
	uint64_t asq = reg64(sd, NVME_REG_ASQ), acq = reg64(sd, NVME_REG_ACQ);
	uint32_t asqs = (aqa & 0xfff) + 1, acqs = ((aqa >> 16) & 0xfff) + 1;

	if (NVME_CC_CSS(cc) != NVME_CC_CSS_NVM && NVME_CC_CSS(cc) != NVME_CC_CSS_ALL)
		return ctrl_fatal(c,
				  "CC.CSS is neither 000b (NVM) nor 110b (all I/O Command Sets)");
	if (NVME_CC_AMS(cc) != 0)
		return ctrl_fatal(c, "CC.AMS is not round robin");
	if (NVME_CC_MPS(cc) > 4)
		return ctrl_fatal(c, "CC.MPS outside CAP.MPSMIN..MPSMAX (4 KiB..64 KiB)");
	/* Identify SQES/CQES say 64 and 16 bytes, required and maximum (§5.17.2.1). */
	if (NVME_CC_IOSQES(cc) != 6 || NVME_CC_IOCQES(cc) != 4)
		return ctrl_fatal(c, "CC.IOSQES/IOCQES are not 6 (64 bytes) and 4 (16 bytes)");
	if (asqs < 2 || acqs < 2)
		return ctrl_fatal(c, "AQA: admin queues need at least two entries");
	if ((asq & 0xfff) || (acq & 0xfff))
		return ctrl_fatal(c, "ASQ/ACQ are not 4 KiB aligned");
	c->mps = 4096u << NVME_CC_MPS(cc);
	if (queue_make_cq(c, 0, acqs, acq) || queue_make_sq(c, 0, 0, asqs, asq))
		return ctrl_fatal(c, "admin queue memory is not mapped for DMA");
	c->enabled = true;
	if (c->f.never_ready)
		return;
	if (c->rdy_us == 0) {
		ctrl_set_csts(c, NVME_CSTS_RDY, 0);
		return;
	}
	c->rdy_due = updk_tsc() + c->rdy_us * c->tsc_hz / 1000000;
	if (!c->rdy_due)
		c->rdy_due = 1;
}

/* A new CC value, from a register hook or noticed in BAR memory by poll(). */
static void cc_write(struct nvme_ctrl *c, uint32_t val)
{
	uint32_t old = c->cc;

	sim_set_reg32(c->sd, 0, NVME_REG_CC, val);
	c->cc = val;
	if (!(old & NVME_CC_EN) && (val & NVME_CC_EN)) {
		ctrl_enable(c);
	} else if ((old & NVME_CC_EN) && !(val & NVME_CC_EN)) {
		ctrl_reset_state(c);
	}
	/* Shutdown notification, §3.6.1: done at once, nothing is cached that could be lost. */
	if (NVME_CC_SHN(val) && !NVME_CC_SHN(old))
		ctrl_set_csts(c, NVME_CSTS_SHST_DONE, NVME_CSTS_SHST_MASK);
	else if (!NVME_CC_SHN(val) && NVME_CC_SHN(old))
		ctrl_set_csts(c, 0, NVME_CSTS_SHST_MASK);
}

static uint32_t nvme_reg_read32(struct sim_dev *sd, int bar, uint32_t off)
{
	struct nvme_ctrl *c = sd->priv;

	if (c->f.removed || bar != 0 || off > BAR0_SIZE - 4 || (off & 3))
		return UINT32_MAX;
	return sim_reg32(sd, 0, off);
}

static void nvme_reg_write32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val)
{
	struct nvme_ctrl *c = sd->priv;

	if (c->f.removed || bar != 0 || off > BAR0_SIZE - 4 || (off & 3))
		return;
	switch (off) {
	case NVME_REG_CC:
		cc_write(c, val);
		break;
	case NVME_REG_INTMS: /* §3.1.3.3/4: write 1 to set or clear a vector mask bit */
		c->intms |= val;
		goto intm;
	case NVME_REG_INTMC:
		c->intms &= ~val;
intm:
		sim_set_reg32(sd, 0, NVME_REG_INTMS, c->intms);
		sim_set_reg32(sd, 0, NVME_REG_INTMC, c->intms);
		intr_unmasked(c);
		break;
	case NVME_REG_AQA:
		sim_set_reg32(sd, 0, off, val & 0x0fff0fff);
		break;
	case NVME_REG_ASQ:
	case NVME_REG_ACQ:
		sim_set_reg32(sd, 0, off, val & ~0xfffu);
		break;
	case NVME_REG_ASQ + 4:
	case NVME_REG_ACQ + 4:
		sim_set_reg32(sd, 0, off, val);
		break;
	default:
		/* Doorbells are plain memory that poll() watches; the rest is read-only. */
		if (off >= NVME_REG_DB)
			sim_set_reg32(sd, 0, off, val);
		break;
	}
}

static uint64_t nvme_reg_read64(struct sim_dev *sd, int bar, uint32_t off)
{
	return nvme_reg_read32(sd, bar, off) | (uint64_t)nvme_reg_read32(sd, bar, off + 4) << 32;
}

static void nvme_reg_write64(struct sim_dev *sd, int bar, uint32_t off, uint64_t val)
{
	nvme_reg_write32(sd, bar, off, (uint32_t)val);
	nvme_reg_write32(sd, bar, off + 4, (uint32_t)(val >> 32));
}

/* poll() hook of the register file: a CC stored straight into the BAR, the ready delay. */
bool regs_poll(struct nvme_ctrl *c)
{
	uint32_t cc = sim_reg32(c->sd, 0, NVME_REG_CC);

	if (cc != c->cc) {
		cc_write(c, cc);
		return true;
	}
	if (c->rdy_due && updk_tsc() >= c->rdy_due) {
		c->rdy_due = 0;
		if (c->enabled && !c->f.never_ready && !(ctrl_csts(c) & NVME_CSTS_CFS))
			ctrl_set_csts(c, NVME_CSTS_RDY, 0);
		return true;
	}
	return false;
}

static void regs_init(struct nvme_ctrl *c)
{
	struct sim_dev *sd = c->sd;

	memset(sd->bar[0], 0, BAR0_SIZE);
	set_reg64(sd, NVME_REG_CAP, cap_value(c));
	sim_set_reg32(sd, 0, NVME_REG_VS, 0x00010400); /* §3.1.3.2: 1.4.0 */
	c->cc = 0;
	c->intms = 0;
	/* CMBLOC/CMBSZ and the optional registers after them stay zero: not supported. */
}

int opt_get(struct sim_dev *sd, const struct sim_opts *opts, const struct opt_range *r,
	    uint64_t *val)
{
	int rc = sim_opt_u64(opts, r->key, r->def, val);

	if (rc)
		return rc;
	if (*val < r->min || *val > r->max) {
		log_err("%s: %s=%s is out of range: %llu..%llu", sd->name, r->key,
			sim_opt(opts, r->key), (unsigned long long)r->min,
			(unsigned long long)r->max);
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(struct nvme_ctrl *c, const struct sim_opts *opts)
{
	static const char *const allowed[] = {
		"ns",	       "size",		 "lba",	       "mdts",	      "mqes",
		"qpairs",      "rdy_us",	 "jitter_us",  "sgls",	      "faults",
		"fault_kinds", "fault_delay_us", "seed",       "never_ready", "bad_identify",
		"dbbuf",       "drop_io",	 "hang_abort", FMT_OPT_KEYS,  NULL
	};
	static const struct opt_range r_ns = { "ns", 1, 0, SIM_NVME_MAX_NS },
				      r_size = { "size", 256ull << 20, 4096, 1ull << 40 },
				      r_lba = { "lba", 512, 512, 65536 },
				      r_mdts = { "mdts", 5, 0, 15 },
				      r_mqes = { "mqes", 4095, 1, 65535 },
				      r_qp = { "qpairs", 64, 1, SIM_NVME_MAX_QPAIRS },
				      r_rdy = { "rdy_us", 0, 0, 60000000 },
				      r_jit = { "jitter_us", 0, 0, 1000000 },
				      r_sgls = { "sgls", 1, 0, 2 }, r_dbbuf = { "dbbuf", 1, 0, 1 };
	struct sim_dev *sd = c->sd;
	uint64_t ns, size, lba, mdts, mqes, qp, rdy, jit, sgls, dbbuf;
	int rc;

	rc = sim_opts_check(sd, opts, allowed);
	if (!rc)
		rc = opt_get(sd, opts, &r_ns, &ns);
	if (!rc)
		rc = opt_get(sd, opts, &r_size, &size);
	if (!rc)
		rc = opt_get(sd, opts, &r_lba, &lba);
	if (!rc)
		rc = opt_get(sd, opts, &r_mdts, &mdts);
	if (!rc)
		rc = opt_get(sd, opts, &r_mqes, &mqes);
	if (!rc)
		rc = opt_get(sd, opts, &r_qp, &qp);
	if (!rc)
		rc = opt_get(sd, opts, &r_rdy, &rdy);
	if (!rc)
		rc = opt_get(sd, opts, &r_jit, &jit);
	if (!rc)
		rc = opt_get(sd, opts, &r_sgls, &sgls);
	if (!rc)
		rc = opt_get(sd, opts, &r_dbbuf, &dbbuf);
	if (!rc)
		rc = faults_parse_opts(c, opts);
	if (rc)
		return rc;
	if (lba & (lba - 1)) {
		log_err("%s: lba=%s is not a power of two (512, 4096, ...)", sd->name,
			sim_opt(opts, "lba"));
		return -EINVAL;
	}
	if (size % lba) {
		log_err("%s: size=%s is not a multiple of the LBA size %llu", sd->name,
			sim_opt(opts, "size") ? sim_opt(opts, "size") : "256M",
			(unsigned long long)lba);
		return -EINVAL;
	}
	c->nns = (uint32_t)ns;
	c->ns_bytes = size;
	c->lbads = (uint32_t)__builtin_ctzll(lba);
	c->mdts = (uint8_t)mdts;
	c->mqes = (uint16_t)mqes;
	c->nqpairs = (uint16_t)qp;
	c->rdy_us = (uint32_t)rdy;
	c->jitter_us = (uint32_t)jit;
	c->sgls = (uint8_t)sgls;
	c->no_dbbuf = !dbbuf;
	/* MDTS is in units of CAP.MPSMIN (4 KiB), §5.17.2.1; 0 means no limit. */
	c->max_xfer = mdts ? 4096ull << mdts : UINT64_MAX;
	return fmt_parse_opts(c, opts);
}

static void ctrl_free(struct nvme_ctrl *c)
{
	ns_destroy_all(c);
	intr_free(c);
	free(c->sq);
	free(c->cq);
	free(c->active);
	free(c->pend);
	free(c->segs);
	free(c->page);
	free(c->xfer);
	free(c->mdbuf);
	free(c->mdhost);
	free(c);
}

static uint32_t instances;

static int nvme_create(struct sim_dev *sd, const struct sim_opts *opts)
{
	struct nvme_ctrl *c = calloc(1, sizeof(*c));
	uint64_t xfer;
	int rc;

	if (!c)
		return -ENOMEM;
	c->sd = sd;
	c->instance = __atomic_add_fetch(&instances, 1, __ATOMIC_RELAXED);
	rc = parse_opts(c, opts);
	if (rc) {
		free(c);
		return rc;
	}
	/* Longest data transfer: MDTS, or 64 Ki blocks (the NLB field, metadata included) when
	 * unlimited. */
	xfer = c->max_xfer != UINT64_MAX ? c->max_xfer :
					   65536ull * ((1ull << c->lbads) + c->fmt.ms);
	c->max_segs = (unsigned)(xfer / 4096) + 2;
	c->sq = calloc(c->nqpairs + 1u, sizeof(*c->sq));
	c->cq = calloc(c->nqpairs + 1u, sizeof(*c->cq));
	c->active = calloc(c->nqpairs + 1u, sizeof(*c->active));
	c->pend = calloc(SIM_NVME_MAX_PEND, sizeof(*c->pend));
	c->segs = calloc(c->max_segs, sizeof(*c->segs));
	c->page = calloc(1, 4096);
	if (!c->sq || !c->cq || !c->active || !c->pend || !c->segs || !c->page) {
		log_err("%s: out of memory for the controller state", sd->name);
		ctrl_free(c);
		return -ENOMEM;
	}
	rc = ns_create_all(c);
	if (!rc && intr_init(c))
		rc = -ENOMEM;
	if (rc) {
		ctrl_free(c);
		return rc;
	}
	c->f.drop_sqid = c->f.bogus_sqid = c->f.phase_sqid = c->f.sqhd_sqid = c->f.hang_sqid = -2;
	if (c->f.hang_abort) {
		/* hang_abort=1: the first Abort, as sim_nvme_fault_hang(dev, 0, Abort) */
		c->f.hang_sqid = 0;
		c->f.hang_opc = 0x08;
	}
	c->tsc_hz = updk_tsc_hz();
	c->f.jitter_ticks = (uint64_t)c->jitter_us * c->tsc_hz / 1000000;
	faults_update(c);
	c->mps = 4096;
	sd->priv = c;
	regs_init(c);
	features_default(c);
	log_debug("%s: %u namespace(s) of %llu bytes, LBA %u, MDTS %u, MQES %u, %u queue pairs",
		  sd->name, c->nns, (unsigned long long)c->ns_bytes, 1u << c->lbads, c->mdts,
		  c->mqes, c->nqpairs);
	return 0;
}

static void nvme_destroy(struct sim_dev *sd)
{
	struct nvme_ctrl *c = sd->priv;

	if (!c)
		return;
	sd->priv = NULL;
	ctrl_free(c);
}

/* Function level reset: the registers as at power-on; namespace contents survive. */
static int nvme_reset(struct sim_dev *sd)
{
	struct nvme_ctrl *c = sd->priv;

	if (c->f.removed) {
		log_err("%s: reset of a removed device", sd->name);
		return -ENODEV;
	}
	ctrl_reset_state(c);
	regs_init(c);
	return 0;
}

const struct sim_model sim_nvme_model = {
	.name = "nvme",
	.vendor_id = SIM_NVME_VID,
	.device_id = SIM_NVME_DID,
	.class_code = 0x010802, /* mass storage, NVM, NVM Express I/O controller */
	.bar_size = { BAR0_SIZE },
	/* As QEMU's NVMe: 65 MSI-X vectors (msix_qsize), no MSI, a pin; the table in BAR 4. */
	.irq = { .msix = 65, .msix_bar = 4, .intx = true },
	.create = nvme_create,
	.destroy = nvme_destroy,
	.reg_read32 = nvme_reg_read32,
	.reg_write32 = nvme_reg_write32,
	.reg_read64 = nvme_reg_read64,
	.reg_write64 = nvme_reg_write64,
	.poll = nvme_poll,
	.reset = nvme_reset,
};
