/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A namespace's format beyond its block size: the metadata and its layout, and the end-to-end
 * protection information (NVM Command Set 1.0 §5.2): the type and place of the PI (Identify
 * Namespace DPS), the Guard format and Storage Tag Size (the Extended LBA Format of the I/O
 * Command Set specific Identify Namespace, CNS 05h, §4.1.5.2), how many bytes a block takes in
 * the data and metadata buffers of an I/O, and the format in words for messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

/* Identify Controller CTRATT bit 15: Extended LBA Formats Supported (NVMe Base 2.0 Fig. 275). */
#define NVME_CTRATT_ELBAS (1u << 15)
/* Identify CNS 05h: I/O Command Set specific Identify Namespace, CSI in CDW11 bits 31:24. */
#define NVME_CNS_NS_CSI 0x05
#define NVME_CSI_NVM 0x00
#define NVME_CSI_ZNS 0x02

/*
 * The Extended LBA Format of LBA format @fmt (NVM Command Set 1.0 §4.1.5.2, Figure 100): bits
 * 6:0 Storage Tag Size, 8:7 the Protection Information Format (0 16b, 1 32b, 2 64b Guard).
 */
static int read_elbaf(struct updk_nvme_ctrlr *c, struct updk_nvme_ns *ns, unsigned fmt,
		      uint32_t *elbaf)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_IDENTIFY,
				     .nsid = ns->nsid,
				     .cdw10 = NVME_CNS_NS_CSI,
				     .cdw11 = (uint32_t)NVME_CSI_NVM << 24 };
	uint8_t *page = malloc(4096);
	int rc;

	if (!page)
		return -ENOMEM;
	rc = nvme_admin_sync_quiet(c, &cmd, page, 4096, NULL);
	if (!rc)
		*elbaf = (uint32_t)page[12 + 4 * fmt] | (uint32_t)page[13 + 4 * fmt] << 8 |
			 (uint32_t)page[14 + 4 * fmt] << 16 | (uint32_t)page[15 + 4 * fmt] << 24;
	free(page);
	return rc;
}

int nvme_ns_fmt_read(struct updk_nvme_ctrlr *c, struct updk_nvme_ns *ns,
		     const struct updk_nvme_id_ns *id)
{
	unsigned fmt = (id->flbas & 0xf) | (((unsigned)id->flbas >> 5 & 3) << 4);
	uint32_t elbaf = 0;
	int rc;

	/* DPS bits 2:0 the type, bit 3 PI in the first bytes of the metadata (Figure 97) */
	ns->pi_type = id->dps & 7;
	ns->pi_first = (id->dps >> 3) & 1;
	ns->pif = ns->sts = 0;
	if (ns->pi_type > 3) {
		log_err("%s: namespace %u: DPS names protection information type %u, which does "
			"not exist: taken as none",
			c->name, ns->nsid, ns->pi_type);
		ns->pi_type = 0;
	}
	/* Before Extended LBA Formats every PI had the 16b Guard. */
	if (ns->pi_type && (c->id.ctratt & NVME_CTRATT_ELBAS)) {
		rc = read_elbaf(c, ns, fmt, &elbaf);
		if (rc == -ENOMEM)
			return rc;
		if (rc)
			log_warn("%s: namespace %u: the NVM Identify Namespace (CNS 05h) failed: "
				 "taking the 16b Guard format",
				 c->name, ns->nsid);
		ns->sts = elbaf & 0x7f;
		ns->pif = (elbaf >> 7) & 3;
		if (ns->pif == 3) {
			log_err("%s: namespace %u: Protection Information Format 3 is reserved: "
				"taken as the 16b Guard",
				c->name, ns->nsid);
			ns->pif = 0;
		}
	}
	ns->pi_size = ns->pif ? 16 : 8;
	if (ns->pi_type && ns->md_size < ns->pi_size) {
		log_err("%s: namespace %u: %u bytes of metadata cannot hold %u bytes of protection "
			"information: taken as a namespace without PI",
			c->name, ns->nsid, ns->md_size, ns->pi_size);
		ns->pi_type = 0;
	}
	return 0;
}

enum updk_pi_type updk_nvme_ns_pi_fmt(const struct updk_nvme_ns *ns, struct updk_pi_fmt *fmt)
{
	*fmt = (struct updk_pi_fmt){ .block_size = ns->sector_size,
				     .md_size = (uint16_t)ns->md_size,
				     .extended = ns->md_extended,
				     .pi_first = ns->pi_first,
				     .type = ns->pi_type,
				     .guard = ns->pif };
	return (enum updk_pi_type)ns->pi_type;
}

/* PRACT with a PI that is the whole metadata: nothing of it crosses the bus (§5.2.2.1). */
static bool md_stays(const struct updk_nvme_ns *ns, uint32_t io_flags)
{
	return (io_flags & UPDK_NVME_IO_PRACT) && ns->pi_type && ns->md_size == ns->pi_size;
}

uint32_t updk_nvme_ns_io_block_size(const struct updk_nvme_ns *ns, uint32_t io_flags)
{
	return ns->md_extended && !md_stays(ns, io_flags) ? ns->xfer_block : ns->sector_size;
}

uint32_t updk_nvme_ns_io_md_size(const struct updk_nvme_ns *ns, uint32_t io_flags)
{
	return ns->md_extended || md_stays(ns, io_flags) ? 0 : ns->md_size;
}

const char *updk_nvme_ns_fmt_str(const struct updk_nvme_ns *ns, char *buf, size_t len)
{
	static const char *const guard[] = { "16b", "32b", "64b" };
	int n = snprintf(buf, len, "%u-byte blocks", ns->sector_size);

	if (ns->md_size && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %u bytes of metadata %s", ns->md_size,
			      ns->md_extended ? "after each block's data (extended LBA)" :
						"in a separate buffer");
	if (ns->pi_type && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", PI type %u (%s Guard, %s%s)",
			      ns->pi_type, guard[ns->pif], ns->pi_first ? "first" : "last",
			      ns->sts ? ", with a Storage Tag" : "");
	if (ns->ids.csi == NVME_CSI_ZNS && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", zoned");
	return buf;
}
