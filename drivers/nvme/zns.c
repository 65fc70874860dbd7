/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Zoned namespaces (NVM Express Zoned Namespace Command Set 1.1, <updk/nvme_zns.h>): the zone
 * geometry read with each zoned namespace (the I/O Command Set specific Identify Namespace and
 * Identify Controller, CNS 05h and 06h with CSI 02h), and the zone commands: Zone Management
 * Receive (Report Zones), Zone Management Send and Zone Append. Each checks what the driver can
 * know without the zones' state (a zone's first LBA, the append limit, the report's size) and
 * leaves the rest to the controller, whose statuses say which rule a command broke.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include <updk/nvme_zns.h>

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

/* Identify CNS values for the I/O Command Set specific data (NVMe Base 2.0 §5.17.2) */
#define CNS_NS_IOCS 0x05
#define CNS_CTRL_IOCS 0x06

/* Zone Management Send CDW13 bit 8, Select All; Receive CDW13 bit 16, Partial Report */
#define ZSA_SELECT_ALL (1u << 8)
#define ZRA_PARTIAL (1u << 16)

struct nvme_zns {
	struct updk_nvme_zns_id_ns id;
	uint64_t zsze; /* zone size in blocks, > 0 */
	uint64_t nzones;
	uint32_t append_max; /* blocks per Zone Append */
};

static int identify_iocs(struct updk_nvme_ctrlr *c, uint8_t cns, uint32_t nsid, void *buf)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY,
				     .nsid = nsid,
				     .cdw10 = cns,
				     .cdw11 = (uint32_t)UPDK_NVME_CSI_ZNS << 24 };

	return nvme_admin_sync_quiet(c, &cmd, buf, 4096, NULL);
}

void nvme_zns_ns_free(struct updk_nvme_ns *ns)
{
	free(ns->zns);
	ns->zns = NULL;
}

int nvme_zns_ns_read(struct updk_nvme_ctrlr *c, struct updk_nvme_ns *ns)
{
	/* FLBAS bits 3:0 and 6:5 index the LBA format, and the LBA Format Extension with it */
	unsigned fmt = (ns->id.flbas & 0xf) | (((unsigned)ns->id.flbas >> 5 & 3) << 4);
	uint64_t page = 1ull << (12 + ((c->cap >> 48) & 0xf)); /* CAP.MPSMIN */
	struct updk_nvme_zns_id_ctrl *idc;
	struct nvme_zns *z;
	uint64_t append;
	int rc;

	if (ns->ids.csi != UPDK_NVME_CSI_ZNS) {
		nvme_zns_ns_free(ns);
		return 0;
	}
	z = ns->zns ? ns->zns : malloc(sizeof(*z));
	idc = malloc(sizeof(*idc));
	if (!z || !idc) {
		if (z != ns->zns)
			free(z);
		free(idc);
		return -ENOMEM;
	}
	ns->zns = NULL;
	rc = identify_iocs(c, CNS_NS_IOCS, ns->nsid, &z->id);
	if (!rc)
		rc = identify_iocs(c, CNS_CTRL_IOCS, 0, idc);
	if (rc) {
		log_warn("%s: namespace %u is zoned but its zone geometry cannot be read (Identify "
			 "CSI 02h: %s): zone calls on it are refused",
			 c->name, ns->nsid, strerror(-rc));
		goto fail;
	}
	z->zsze = fmt < 64 ? z->id.lbafe[fmt].zsze : 0;
	if (z->zsze == 0 || z->zsze > ns->nsze) {
		log_err("%s: namespace %u: zone size %llu blocks for a namespace of %llu makes no "
			"sense: zone calls on it are refused",
			c->name, ns->nsid, (unsigned long long)z->zsze,
			(unsigned long long)ns->nsze);
		goto fail;
	}
	z->nzones = ns->nsze / z->zsze;
	/* ZASL: 2^n minimum memory pages, 0: MDTS; never above the driver's transfer limit */
	append = idc->zasl ? page << (idc->zasl < 32 ? idc->zasl : 32) : c->max_xfer;
	if (append > c->max_xfer)
		append = c->max_xfer;
	z->append_max = (uint32_t)(append / ns->xfer_block);
	if (z->append_max > 65536)
		z->append_max = 65536; /* NLB is 16 bits */
	free(idc);
	ns->zns = z;
	return 0;
fail:
	free(idc);
	free(z);
	return 0;
}

const char *updk_nvme_zone_state_str(uint8_t zs)
{
	switch (zs) {
	case UPDK_NVME_ZS_EMPTY:
		return "EMPTY";
	case UPDK_NVME_ZS_IMPLICIT_OPEN:
		return "IMP_OPENED";
	case UPDK_NVME_ZS_EXPLICIT_OPEN:
		return "EXP_OPENED";
	case UPDK_NVME_ZS_CLOSED:
		return "CLOSED";
	case UPDK_NVME_ZS_READ_ONLY:
		return "READONLY";
	case UPDK_NVME_ZS_FULL:
		return "FULL";
	case UPDK_NVME_ZS_OFFLINE:
		return "OFFLINE";
	default:
		return "Unknown State";
	}
}

bool updk_nvme_ns_is_zoned(const struct updk_nvme_ns *ns)
{
	return ns->zns != NULL;
}

const struct updk_nvme_zns_id_ns *updk_nvme_zns_ns_data(const struct updk_nvme_ns *ns)
{
	return ns->zns ? &ns->zns->id : NULL;
}

uint64_t updk_nvme_zns_zone_size(const struct updk_nvme_ns *ns)
{
	return ns->zns ? ns->zns->zsze : 0;
}

uint64_t updk_nvme_zns_num_zones(const struct updk_nvme_ns *ns)
{
	return ns->zns ? ns->zns->nzones : 0;
}

/* MOR and MAR are 0's based, all ones for no limit */
static uint32_t limit(uint32_t v)
{
	return v == UINT32_MAX ? 0 : v + 1;
}

uint32_t updk_nvme_zns_max_open_zones(const struct updk_nvme_ns *ns)
{
	return ns->zns ? limit(ns->zns->id.mor) : 0;
}

uint32_t updk_nvme_zns_max_active_zones(const struct updk_nvme_ns *ns)
{
	return ns->zns ? limit(ns->zns->id.mar) : 0;
}

uint32_t updk_nvme_zns_append_max_sectors(const struct updk_nvme_ns *ns)
{
	return ns->zns ? ns->zns->append_max : 0;
}

int updk_nvme_zns_identify_ctrlr(struct updk_nvme_ctrlr *ctrlr, struct updk_nvme_zns_id_ctrl *id)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY,
				     .cdw10 = CNS_CTRL_IOCS,
				     .cdw11 = (uint32_t)UPDK_NVME_CSI_ZNS << 24 };

	if (!ctrlr || !id)
		return -EINVAL;
	return updk_nvme_admin_sync(ctrlr, &cmd, id, sizeof(*id), NULL);
}

static int not_zoned(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const char *what)
{
	nvme_qp_log(qp,
		    "%s: namespace %u: %s needs a zoned namespace (Zoned Namespace Command Set, "
		    "CSI 02h); this one is not",
		    ns->ctrlr->name, ns->nsid, what);
	return -EINVAL;
}

/* @slba is the first LBA of a zone of @ns; else logged, naming @what. */
static bool zone_start(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t slba,
		       const char *what)
{
	const struct nvme_zns *z = ns->zns;

	if (slba < z->nzones * z->zsze && slba % z->zsze == 0)
		return true;
	nvme_qp_log(qp,
		    "%s: namespace %u: %s: LBA %llu is not the start of a zone (zones of %llu "
		    "blocks, %llu of them)",
		    ns->ctrlr->name, ns->nsid, what, (unsigned long long)slba,
		    (unsigned long long)z->zsze, (unsigned long long)z->nzones);
	return false;
}

int updk_nvme_zns_report_zones(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf,
			       uint32_t len, uint64_t slba, enum updk_nvme_zone_filter filter,
			       bool partial, updk_nvme_cb cb, void *arg)
{
	struct iovec iov = { buf, len };
	struct nvme_payload pl = { .iov = &iov, .iovcnt = 1, .len = len };
	struct updk_nvme_cmd cmd;

	if (!ns->zns)
		return not_zoned(ns, qp, "report zones");
	if (!buf || len < 64 || len % 4 || len > ns->ctrlr->max_xfer ||
	    (unsigned)filter > UPDK_NVME_ZRASF_OFFLINE) {
		nvme_qp_log(qp,
			    "%s: namespace %u: report zones needs a buffer of 64..%u bytes, a "
			    "multiple of 4 (got %u), and a filter 0..7 (got %d)",
			    ns->ctrlr->name, ns->nsid, ns->ctrlr->max_xfer, len, (int)filter);
		return -EINVAL;
	}
	if (slba >= ns->nsze) {
		nvme_qp_log(qp,
			    "%s: namespace %u: report zones from LBA %llu, beyond its %llu blocks",
			    ns->ctrlr->name, ns->nsid, (unsigned long long)slba,
			    (unsigned long long)ns->nsze);
		return -EINVAL;
	}
	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_ZONE_MGMT_RECV, ns->nsid, slba, len / 4 - 1);
	/* Zone Receive Action 00h Report Zones, the filter in 15:8 */
	cmd.cdw13 = (uint32_t)filter << 8 | (partial ? ZRA_PARTIAL : 0);
	return nvme_io_one(ns, qp, &cmd, &pl, cb, arg);
}

int updk_nvme_zns_zone_send(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t slba,
			    enum updk_nvme_zone_action action, bool select_all, updk_nvme_cb cb,
			    void *arg)
{
	struct nvme_payload none = { 0 };
	struct updk_nvme_cmd cmd;

	if (!ns->zns)
		return not_zoned(ns, qp, "zone management send");
	if (action < UPDK_NVME_ZSA_CLOSE || action > UPDK_NVME_ZSA_OFFLINE) {
		nvme_qp_log(qp,
			    "%s: namespace %u: zone action %d: close 1, finish 2, open 3, reset 4 "
			    "or offline 5",
			    ns->ctrlr->name, ns->nsid, (int)action);
		return -EINVAL;
	}
	if (select_all)
		slba = 0;
	else if (!zone_start(ns, qp, slba, "zone management send"))
		return -EINVAL;
	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_ZONE_MGMT_SEND, ns->nsid, slba, 0);
	cmd.cdw13 = (uint32_t)action | (select_all ? ZSA_SELECT_ALL : 0);
	return nvme_io_one(ns, qp, &cmd, &none, cb, arg);
}

int updk_nvme_zns_zone_append(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			      uint64_t zslba, uint32_t nlb, updk_nvme_cb cb, void *arg,
			      uint32_t io_flags)
{
	struct iovec iov = { (void *)buf, (size_t)nlb * ns->xfer_block };
	struct nvme_payload pl = { .iov = &iov, .iovcnt = 1, .len = (uint32_t)iov.iov_len };
	struct updk_nvme_cmd cmd;

	if (!ns->zns)
		return not_zoned(ns, qp, "zone append");
	if (!buf || nlb == 0) {
		nvme_qp_log(qp, "%s: namespace %u: zone append needs a buffer and blocks (got %u)",
			    ns->ctrlr->name, ns->nsid, nlb);
		return -EINVAL;
	}
	/* Not split as a write is: the controller picks where each command's data goes, so the
	 * parts of one append could land apart, with other appends between them. */
	if (nlb > ns->zns->append_max) {
		nvme_qp_log(qp,
			    "%s: namespace %u: a zone append of %u blocks is above the Zone Append "
			    "Size Limit (%u blocks) and cannot be split (the controller chooses "
			    "where each part goes): append at most %u blocks at a time, or write "
			    "at the write pointer",
			    ns->ctrlr->name, ns->nsid, nlb, ns->zns->append_max,
			    ns->zns->append_max);
		return -EINVAL;
	}
	if (!zone_start(ns, qp, zslba, "zone append"))
		return -EINVAL;
	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_ZONE_APPEND, ns->nsid, zslba,
		      (nlb - 1) | (io_flags & (UPDK_NVME_IO_FUA | UPDK_NVME_IO_LIMITED_RETRY)));
	return nvme_io_one(ns, qp, &cmd, &pl, cb, arg);
}

int nvme_zns_split_check(struct updk_nvme_qpair *qp, struct updk_nvme_ns *ns, uint64_t lba,
			 uint32_t nlb)
{
	uint64_t zsze = ns->zns->zsze, first = lba / zsze, last = (lba + nlb - 1) / zsze;

	/* A write names blocks of one zone (ZNS 1.1 §3.3, Write: Zone Boundary Error): refused here
	 * before its first part is written, not by the controller halfway through. */
	if (first == last)
		return 0;
	nvme_qp_log(
		qp,
		"%s: namespace %u is zoned: a write of %u blocks at %llu crosses from zone %llu "
		"into zone %llu (zones of %llu blocks): write each zone's part on its own",
		ns->ctrlr->name, ns->nsid, nlb, (unsigned long long)lba, (unsigned long long)first,
		(unsigned long long)last, (unsigned long long)zsze);
	return -EINVAL;
}
