/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme Identify (NVMe Base 2.0 §5.17): controller, namespace, active namespace list,
 * namespace identification descriptors and the I/O Command Set specific structures (format.c),
 * with the corruptions sim_nvme_fault_identify() asks for.
 */
#include <stdio.h>
#include <string.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define CNS_NS 0x00
#define CNS_CTRL 0x01
#define CNS_NS_ACTIVE_LIST 0x02
#define CNS_NS_DESC_LIST 0x03
#define CNS_NS_CSI 0x05 /* I/O Command Set specific, CSI in CDW11 31:24 (§5.17.2) */
#define CNS_CTRL_CSI 0x06

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ASCII, space padded, not NUL terminated (§1.5 "ASCII string"). */
static void put_str(uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	memset(p, ' ', len);
	memcpy(p, s, n < len ? n : len);
}

/* Identify Controller data structure, §5.17.2.1; offsets in bytes. */
static void id_ctrl(struct nvme_ctrl *c, uint8_t *d)
{
	char sn[21];

	snprintf(sn, sizeof(sn), "UPDKSIM%08u", c->instance);
	put16(d + 0, SIM_NVME_VID); /* VID */
	put16(d + 2, SIM_NVME_VID); /* SSVID */
	put_str(d + 4, 20, sn); /* SN */
	put_str(d + 24, 40, "updk simulated NVMe"); /* MN */
	put_str(d + 64, 8, "1.0"); /* FR */
	d[72] = 6; /* RAB: 64 commands */
	d[77] = c->mdts; /* MDTS, units of CAP.MPSMIN */
	put16(d + 78, 1); /* CNTLID */
	put32(d + 80, 0x00010400); /* VER 1.4.0 */
	put32(d + 92, 1u << 8); /* OAES: namespace attribute notices */
	/* CTRATT bit 15: Extended LBA Formats (the 64b Guard's PIF lives there) */
	put32(d + 96, c->fmt.pif ? 1u << 15 : 0);
	d[111] = 1; /* CNTRLTYPE: I/O controller */
	/* OACS bit 8: Doorbell Buffer Config, unless dbbuf=0 */
	put16(d + 256, c->no_dbbuf ? 0 : 1u << 8);
	d[258] = 3; /* ACL, 0-based */
	d[259] = SIM_NVME_AERL; /* AERL, 0-based */
	d[260] = 0x03; /* FRMW: one slot, slot 1 read-only */
	d[261] = 0x04; /* LPA: extended data for Get Log Page */
	d[262] = SIM_NVME_ELPE; /* ELPE, 0-based */
	d[263] = 0; /* NPSS: one power state */
	put16(d + 266, 343); /* WCTEMP, kelvin */
	put16(d + 268, 373); /* CCTEMP */
	d[512] = 0x66; /* SQES: 64 bytes required and maximum */
	d[513] = 0x44; /* CQES: 16 bytes */
	put32(d + 516, c->nns); /* NN */
	/* ONCS: Compare (0), Dataset Management (2), Write Zeroes (3); Flush is mandatory. */
	put16(d + 520, 1u << 0 | 1u << 2 | 1u << 3);
	d[525] = 0x07; /* VWC: present, Flush with NSID FFFFFFFFh applies to all namespaces */
	/* SGLS bits 1:0 (Figure 275): 01b no alignment or granularity requirement for Data
	 * Blocks, 10b dword alignment and granularity, 00b no SGLs (address option sgls=) */
	/* bit 19: MPTR may hold the address of an SGL segment of one descriptor (PSDT 10b):
	 * msgl=1 only (msgl=2, the default, takes it without saying so, as QEMU's NVMe before
	 * 9.2; msgl=0 refuses it) */
	put32(d + 536, c->sgls ? c->sgls | (c->msgl == 1 ? 1u << 19 : 0) : 0);
	snprintf((char *)d + 768, 256, "nqn.2026-01.io.updk:sim-nvme:%s", sn); /* SUBNQN */
	put16(d + 2048, 500); /* PSD0 MP: 5.00 W */

	if (c->f.id_flags & SIM_NVME_ID_BAD_STRINGS) {
		memset(d + 4, 0xff, 20);
		memset(d + 24, 0x80, 40);
		memset(d + 64, 0x07, 8);
	}
	if (c->f.id_flags & SIM_NVME_ID_BAD_NN)
		put32(d + 516, 0xffffffff);
	if (c->f.id_flags & SIM_NVME_ID_BAD_MDTS)
		d[77] = 0xff;
}

/* Identify Namespace data structure, NVM Command Set 1.0 §4.1.5.1. */
static void id_ns(struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t *d)
{
	put64(d + 0, ns->nsze); /* NSZE */
	put64(d + 8, ns->nsze); /* NCAP */
	put64(d + 16, ns->nsze); /* NUSE: not thin provisioned */
	d[25] = 0; /* NLBAF: one format, 0-based */
	fmt_id_ns(c, d); /* FLBAS, MC, DPC, DPS, LBAF0 MS */
	d[33] = 0x09; /* DLFEAT: deallocated blocks read as zeroes, Write Zeroes may deallocate */
	put64(d + 48, ns->bytes); /* NVMCAP, low 64 bits */
	memcpy(d + 104, ns->nguid, 16); /* NGUID */
	d[128 + 2] = (uint8_t)c->lbads; /* LBAF0: LBADS, RP 0 (best) */

	if (c->f.id_flags & SIM_NVME_ID_BAD_LBAF) {
		d[25] = 0xff;
		d[26] = 15;
		for (int i = 0; i < 16; i++)
			d[128 + 4 * i + 2] = 63;
	}
	if (c->f.id_flags & SIM_NVME_ID_BAD_FLBAS)
		d[26] = 5; /* NLBAF stays 0: the index points past the formats */
}

/* Namespace Identification Descriptor list, §5.17.2.3: NGUID, UUID and CSI. */
static void id_ns_desc(const struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t *d)
{
	d[0] = 2; /* NIDT NGUID */
	d[1] = 16;
	memcpy(d + 4, ns->nguid, 16);
	d += 20;
	d[0] = 3; /* NIDT UUID */
	d[1] = 16;
	memcpy(d + 4, ns->uuid, 16);
	d += 20;
	d[0] = 4; /* NIDT CSI: 00h NVM, 02h Zoned Namespace */
	d[1] = 1;
	d[4] = c->fmt.zoned ? 2 : 0;
}

uint16_t admin_identify(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint8_t cns = cmd->cdw10 & 0xff, *d = c->page;
	const struct nvme_ns *ns;
	unsigned nseg, n = 0;
	uint16_t st;

	memset(d, 0, 4096);
	switch (cns) {
	case CNS_NS:
		if (cmd->nsid == 0 || cmd->nsid > c->nns)
			return NVME_SC_INVALID_NS;
		ns = ns_get(c, cmd->nsid);
		if (ns) /* an inactive NSID gets a zero-filled structure (§5.17.2.1) */
			id_ns(c, ns, d);
		break;
	case CNS_CTRL:
		id_ctrl(c, d);
		break;
	case CNS_NS_ACTIVE_LIST:
		if (cmd->nsid >= 0xfffffffe)
			return NVME_SC_INVALID_NS;
		for (uint32_t id = cmd->nsid + 1; id <= c->nns && n < 1024; id++)
			if (ns_get(c, id))
				put32(d + 4 * n++, id);
		break;
	case CNS_NS_DESC_LIST:
		ns = ns_get(c, cmd->nsid);
		if (!ns)
			return NVME_SC_INVALID_NS;
		id_ns_desc(c, ns, d);
		break;
	case CNS_NS_CSI:
	case CNS_CTRL_CSI:
		st = fmt_id_csi(c, cmd, d);
		if (st)
			return st;
		break;
	default:
		return NVME_SC_INVALID_FIELD;
	}
	st = dptr_map(c, cmd, 4096, true, &nseg);
	if (st)
		return st;
	dptr_to_host(c, nseg, d);
	return 0;
}
