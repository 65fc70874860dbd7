/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a Read, Write or Compare carries besides its data (NVM Command Set 1.0 §3.2.4, §3.2.6,
 * §3.2.2; Figures 16-17, 23-26, 36-39): a separate metadata buffer (MPTR, NVMe Base 2.0 §4.2)
 * and the end-to-end protection fields (§5.2): PRINFO in CDW12 bits 29:26 (PRACT bit 29, PRCHK
 * bits 28:26), the initial Reference Tag in CDW14 (and CDW3 for the 32b and 64b Guard formats),
 * the Application Tag and its mask in CDW15. nvme_io_md_prep() checks an I/O's and turns it
 * into struct nvme_io_md; io.c and split.c put it into each command and move it on child by
 * child.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

#define PRINFO_FLAGS (UPDK_NVME_IO_PRACT | UPDK_NVME_IO_PRCHK_ALL)

/*
 * The Reference Tag's bits in the namespace's format (§5.2.1): 32 with the 16b Guard, 48 with
 * the 64b Guard and 64 of the 32b Guard's 80 here, less the Storage Tag's bits (STS), which
 * take the top of the field (no Storage Tag is sent: it stays 0).
 */
static uint64_t ref_mask_of(const struct updk_nvme_ns *ns)
{
	unsigned bits = ns->pif == 0 ? 32 : ns->pif == 2 ? 48 : 80;

	bits = ns->sts < bits ? bits - ns->sts : 0;
	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

static int md_refused(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const char *why)
{
	char fmt[160];

	nvme_qp_log(qp, "%s: namespace %u (%s): %s", ns->ctrlr->name, ns->nsid,
		    updk_nvme_ns_fmt_str(ns, fmt, sizeof(fmt)), why);
	return -EINVAL;
}

int nvme_io_md_prep(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba, uint32_t nlb,
		    uint32_t io_flags, const struct updk_nvme_io_opts *opts, struct nvme_io_md *x)
{
	struct updk_nvme_io_opts o = { 0 };
	char why[160];
	uint64_t need;
	int rc;

	if (opts) {
		if (opts->opts_size == 0)
			return md_refused(ns, qp,
					  "I/O options with opts_size 0: set it to "
					  "sizeof(struct updk_nvme_io_opts)");
		memcpy(&o, opts, opts->opts_size < sizeof(o) ? opts->opts_size : sizeof(o));
		io_flags = o.io_flags;
	}
	memset(x, 0, sizeof(*x));
	x->cdw12 = io_flags & (UPDK_NVME_IO_FUA | UPDK_NVME_IO_LIMITED_RETRY | PRINFO_FLAGS);
	x->xfer_block = updk_nvme_ns_io_block_size(ns, io_flags);
	x->md_block = updk_nvme_ns_io_md_size(ns, io_flags);
	if ((io_flags & PRINFO_FLAGS) && !ns->pi_type)
		return md_refused(ns, qp,
				  "PRACT/PRCHK asked of a namespace without protection "
				  "information: drop them, or format it with PI");
	/* Type 3 has no Reference Tag to check (§5.2.1.4): the controller would fail it with
	 * Invalid Protection Information. */
	if (ns->pi_type == 3 && (io_flags & UPDK_NVME_IO_PRCHK_REF))
		return md_refused(ns, qp,
				  "the Reference Tag check (PRCHK bit 0) on PI type 3, "
				  "which has no Reference Tag: check the Guard and "
				  "Application Tag only");
	if (x->md_block) {
		need = (uint64_t)nlb * x->md_block;
		if (!o.md) {
			snprintf(why, sizeof(why),
				 "%u blocks need %llu bytes of metadata in a separate buffer: give "
				 "it with updk_nvme_ns_read_ext()/_write_ext() (opts.md)%s",
				 nlb, (unsigned long long)need,
				 ns->pi_type && ns->md_size == ns->pi_size ? ", or use PRACT" : "");
			return md_refused(ns, qp, why);
		}
		if (o.md_len < need) {
			snprintf(why, sizeof(why),
				 "metadata buffer of %u bytes, %u blocks need %llu (%u a block)",
				 o.md_len, nlb, (unsigned long long)need, x->md_block);
			return md_refused(ns, qp, why);
		}
		if (!qp->ops->check_md)
			return md_refused(ns, qp, "this transport carries no separate metadata");
		rc = qp->ops->check_md(qp, o.md, (uint32_t)need, ns->nsid);
		if (rc)
			return rc;
		x->md = o.md;
	} else if (o.md) {
		return md_refused(ns, qp,
				  ns->md_size && ns->md_extended ?
					  "a separate metadata buffer given, but the "
					  "metadata is in the data buffer after each block" :
				  ns->md_size ? "a separate metadata buffer given, but "
						"PRACT makes all of the metadata" :
						"a metadata buffer given, but the "
						"namespace has no metadata");
	}
	if (!ns->pi_type)
		return 0;
	x->ref_mask = ref_mask_of(ns);
	x->ref_step = ns->pi_type != 3;
	x->pif = ns->pif;
	if (o.ref_tag_set) {
		if (o.ref_tag & ~x->ref_mask) {
			snprintf(why, sizeof(why),
				 "Reference Tag 0x%llx is wider than the format's (mask 0x%llx)",
				 (unsigned long long)o.ref_tag, (unsigned long long)x->ref_mask);
			return md_refused(ns, qp, why);
		}
		x->ref = o.ref_tag;
	} else if (ns->pi_type != 3) {
		/* types 1 and 2: the LBA's low bits, as the kernel and SPDK send */
		x->ref = lba & x->ref_mask;
	}
	x->cdw15 = (uint32_t)o.app_tag_mask << 16 | o.app_tag;
	return 0;
}

void nvme_cmd_md(struct updk_nvme_cmd *cmd, const struct nvme_io_md *x)
{
	cmd->cdw12 |= x->cdw12;
	/* ILBRT/EILBRT: bits 31:0 in CDW14, those above in CDW3 (32b and 64b Guards) */
	cmd->cdw14 = (uint32_t)x->ref;
	cmd->cdw3 = x->pif ? (uint32_t)(x->ref >> 32) : 0;
	cmd->cdw15 = x->cdw15;
}

void nvme_io_md_advance(struct nvme_io_md *x, uint32_t nlb)
{
	if (x->md)
		x->md += (size_t)nlb * x->md_block;
	x->ref = (x->ref + (uint64_t)nlb * x->ref_step) & x->ref_mask;
}
