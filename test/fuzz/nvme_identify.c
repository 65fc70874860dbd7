// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the NVMe driver's reading of Identify data (drivers/nvme/ns.c, ns_fmt.c): the
 * Active Namespace ID list (CNS 02h), Identify Namespace (CNS 00h), the Namespace
 * Identification Descriptor list (CNS 03h), the NVM Command Set Identify Namespace (CNS 05h,
 * the Extended LBA Formats), and for a namespace whose CSI is 02h the Zoned Identify Namespace
 * and Controller pages (CNS 05h, 06h: drivers/nvme/zns.c), all written by the device and
 * untrusted.
 *
 * Input: one byte picking the controller version (1.0, 1.1, 1.3) and, in bit 7, whether it
 * offers Extended LBA Formats (CTRATT bit 15), NN (4 bytes), the transfer
 * limit (4 bytes), then the pages the controller returns, in the order the driver asks for
 * them (a short last page is padded with zeroes; once the input is used up Identify fails).
 * Properties: no crash or overread; the namespaces kept are sorted, unique, within NN, and each
 * active one has a sector size of 512 B..64 KiB, a usable I/O size, and protection information
 * that exists (type 1..3, a Guard format 0..2) and fits its metadata.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nvme/ns.c"
#include "drivers/nvme/zns.c"
#include "drivers/nvme/ns_fmt.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t in_left;

int nvme_identify(struct updk_nvme_ctrlr *ctrlr, uint8_t cns, uint32_t nsid, void *buf)
{
	size_t n = in_left < 4096 ? in_left : 4096;

	if (!in_left)
		return -EIO;
	memset(buf, 0, 4096);
	memcpy(buf, in, n);
	in += n;
	in_left -= n;
	return 0;
}

/* zns.c's admin commands (the Zoned Identify pages) come from the input too */
int nvme_admin_sync_quiet(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			  uint32_t len, struct updk_nvme_cpl *cpl)
{
	(void)cpl;
	return len == 4096 ? nvme_identify(ctrlr, (uint8_t)cmd->cdw10, cmd->nsid, buf) : -EIO;
}

/* What zns.c calls on the data path, never reached from a scan */
int updk_nvme_admin_sync(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			 uint32_t len, struct updk_nvme_cpl *cpl)
{
	abort();
}

void nvme_qp_log(struct updk_nvme_qpair *qp, const char *fmt, ...)
{
	abort();
}

int nvme_io_one(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
		const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl, updk_nvme_cb cb,
		void *arg)
{
	abort();
}

void nvme_cmd_fill(struct updk_nvme_cmd *cmd, uint8_t opc, uint32_t nsid, uint64_t lba,
		   uint32_t cdw12)
{
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t versions[] = { 0x10000, 0x10100, 0x10300 };
	struct updk_nvme_ctrlr c;
	uint32_t prev = 0;

	if (size < 9)
		return 0;
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "fuzz");
	c.vs = versions[(data[0] & 0x7f) % 3];
	c.id.ctratt = data[0] & 0x80 ? 1u << 15 : 0;
	memcpy(&c.id.nn, data + 1, 4);
	memcpy(&c.max_xfer, data + 5, 4);
	in = data + 9;
	in_left = size - 9;
	(void)nvme_ns_scan(&c);
	for (uint32_t i = 0; i < c.ns_count; i++) {
		const struct updk_nvme_ns *ns = c.ns[i];

		if (ns->nsid <= prev || ns->nsid > c.id.nn || ns->nsid > NVME_MAX_NS)
			abort();
		prev = ns->nsid;
		if (!ns->active)
			continue;
		if (ns->sector_size < 512 || ns->sector_size > 65536 || ns->max_io_sectors == 0 ||
		    ns->max_io_sectors > 65536 ||
		    (uint64_t)ns->max_io_sectors * ns->xfer_block > c.max_xfer)
			abort();
		/* a zoned one: zones within the namespace, appends within the transfer limit */
		if (ns->zns && (ns->zns->zsze == 0 || ns->zns->nzones * ns->zns->zsze > ns->nsze ||
				ns->zns->append_max > 65536 ||
				(uint64_t)ns->zns->append_max * ns->xfer_block > c.max_xfer))
			abort();
		/* protection information that exists and fits the metadata */
		if (ns->pi_type > 3 || ns->pif > 2 || (ns->pi_type && ns->md_size < ns->pi_size))
			abort();
	}
	nvme_ns_free_all(&c);
	return 0;
}
