/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme namespace formats: metadata (separate or extended LBA), protection information and
 * zones, from the address options (the names of QEMU's nvme-ns properties: ms, mset, pi, pil,
 * pif; zoned, zone_size, zone_cap, max_active, max_open, zasl; and msgl, SGLs for a separate
 * metadata buffer: 0 refused, 1 offered and taken, 2 (the default) taken but not reported, as
 * QEMU's NVMe before 9.2 does), and what Identify says of them:
 * the LBA format, MC, DPC, DPS (NVM Command Set 1.0 §4.1.5.1), the NVM and Zoned Namespace
 * I/O Command Set specific structures (NVM Command Set 1.0 §4.1.5.3, ZNS 1.1 §4.1.5.1-2).
 */
#include <errno.h>
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define CSI_NVM 0x00
#define CSI_ZNS 0x02

static int fmt_check(struct nvme_ctrl *c, const struct nvme_fmt *f, uint64_t zsze, uint64_t zcap,
		     uint64_t mar, uint64_t mor)
{
	const char *name = c->sd->name;
	uint64_t lba = 1ull << c->lbads;

	if (f->pi && f->ms < f->pi_size) {
		log_err("%s: pi=%u needs ms=%u or more (the protection information is %u bytes)",
			name, f->pi, f->pi_size, f->pi_size);
		return -EINVAL;
	}
	if (!f->zoned)
		return 0;
	if (f->pi) {
		log_err("%s: pi= with zoned=1 is not modelled: use one or the other", name);
		return -EINVAL;
	}
	if (!zsze || zsze % lba || c->ns_bytes % zsze) {
		log_err("%s: zone_size=%llu must be a multiple of the LBA size %llu that divides the "
			"namespace size %llu",
			name, (unsigned long long)zsze, (unsigned long long)lba,
			(unsigned long long)c->ns_bytes);
		return -EINVAL;
	}
	if (!zcap || zcap % lba || zcap > zsze) {
		log_err("%s: zone_cap=%llu must be a multiple of the LBA size, at most zone_size",
			name, (unsigned long long)zcap);
		return -EINVAL;
	}
	if (mar && mor > mar) {
		log_err("%s: max_open=%llu is above max_active=%llu", name, (unsigned long long)mor,
			(unsigned long long)mar);
		return -EINVAL;
	}
	return 0;
}

int fmt_parse_opts(struct nvme_ctrl *c, const struct sim_opts *opts)
{
	static const struct opt_range r_ms = { "ms", 0, 0, 256 }, r_mset = { "mset", 0, 0, 1 },
				      r_pi = { "pi", 0, 0, 3 }, r_pil = { "pil", 0, 0, 1 },
				      r_pif = { "pif", 0, 0, 2 }, r_zoned = { "zoned", 0, 0, 1 },
				      r_zsze = { "zone_size", 0, 0, 1ull << 40 },
				      r_zcap = { "zone_cap", 0, 0, 1ull << 40 },
				      r_mar = { "max_active", 0, 0, UINT32_MAX },
				      r_mor = { "max_open", 0, 0, UINT32_MAX },
				      r_zasl = { "zasl", 0, 0, 15 }, r_msgl = { "msgl", 2, 0, 2 };
	const struct opt_range *r[] = { &r_ms,	 &r_mset, &r_pi,  &r_pil, &r_pif,  &r_zoned,
					&r_zsze, &r_zcap, &r_mar, &r_mor, &r_zasl, &r_msgl };
	uint64_t v[12];
	struct nvme_fmt *f = &c->fmt;
	int rc;

	for (unsigned i = 0; i < 12; i++) {
		rc = opt_get(c->sd, opts, r[i], &v[i]);
		if (rc)
			return rc;
	}
	/* A zone of 64 MiB unless said (or the namespace, when smaller); capacity = size. */
	if (!v[6])
		v[6] = c->ns_bytes < (64u << 20) ? c->ns_bytes : 64u << 20;
	if (!v[7])
		v[7] = v[6];
	memset(f, 0, sizeof(*f));
	f->ms = (uint16_t)v[0];
	f->ext = v[1];
	f->pi = (uint8_t)v[2];
	f->pi_first = v[3];
	f->pif = (uint8_t)v[4];
	f->pi_size = f->pif ? 16 : 8;
	f->zoned = v[5];
	c->msgl = (uint8_t)v[11];
	rc = fmt_check(c, f, v[6], v[7], v[8], v[9]);
	if (rc)
		return rc;
	if (f->zoned) {
		f->zsze = v[6] >> c->lbads;
		f->zcap = v[7] >> c->lbads;
		/* max_active/max_open count zones, 0 for no limit; MAR/MOR are 0-based */
		f->mar = v[8] ? (uint32_t)(v[8] - 1) : UINT32_MAX;
		f->mor = v[9] ? (uint32_t)(v[9] - 1) : UINT32_MAX;
		f->zasl = (uint8_t)v[10];
	}
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* The format's part of Identify Namespace (CNS 00h), NVM Command Set 1.0 Figure 97. */
void fmt_id_ns(const struct nvme_ctrl *c, uint8_t *d)
{
	const struct nvme_fmt *f = &c->fmt;

	d[26] = f->ext ? 1u << 4 : 0; /* FLBAS: format 0; bit 4 metadata at the end of data */
	if (f->ms)
		d[27] = 0x3; /* MC: extended LBA (bit 0) and separate buffer (bit 1) */
	/* DPC: types 1, 2, 3 (bits 2:0), PI first (bit 3) or last (bit 4) of the metadata */
	d[28] = 0x1f;
	d[29] = (uint8_t)(f->pi | (f->pi_first ? 1u << 3 : 0)); /* DPS */
	memcpy(d + 128, &f->ms, 2); /* LBAF0 MS */
}

/* CNS 05h: the I/O Command Set specific Identify Namespace of CSI (CDW11 31:24). */
static uint16_t id_ns_csi(struct nvme_ctrl *c, uint32_t nsid, uint8_t csi, uint8_t *d)
{
	const struct nvme_fmt *f = &c->fmt;

	if (nsid == 0 || nsid > c->nns)
		return NVME_SC_INVALID_NS;
	if (!ns_get(c, nsid))
		return 0; /* inactive: zero filled */
	if (csi == CSI_NVM) {
		/* ELBAF0 (byte 12): PIF in bits 8:7, Storage Tag Size in 6:0: 0, but 16 with
		 * the 32b Guard, whose 80 bits then leave a 64-bit Reference Tag */
		put32(d + 12, (uint32_t)f->pif << 7 | (f->pif == 1 ? 16u : 0u));
		return 0;
	}
	if (csi != CSI_ZNS || !f->zoned)
		return NVME_SC_INVALID_FIELD;
	d[2] = 1; /* OZCS bit 0: reads may cross zone boundaries */
	put32(d + 4, f->mar); /* MAR */
	put32(d + 8, f->mor); /* MOR */
	put64(d + 2816, f->zsze); /* LBAFE0 ZSZE; ZDES 0: no descriptor extensions */
	return 0;
}

uint16_t fmt_id_csi(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint8_t *d)
{
	uint8_t cns = cmd->cdw10 & 0xff, csi = (uint8_t)(cmd->cdw11 >> 24);

	if (cns == 0x05)
		return id_ns_csi(c, cmd->nsid, csi, d);
	/* CNS 06h: the NVM one is all zeroes (no limits); the ZNS one has ZASL in byte 0 */
	if (csi == CSI_ZNS)
		d[0] = c->fmt.zasl;
	else if (csi != CSI_NVM)
		return NVME_SC_INVALID_FIELD;
	return 0;
}
