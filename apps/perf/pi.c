// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-perf on namespaces formatted with metadata: the buffers an I/O takes (each block's
 * metadata after its data with extended LBAs, or in a separate buffer), and end-to-end
 * protection as -e asks (NVM Command Set 1.0 §5.2): PRACT has the controller insert and strip
 * the PI; PRCHK has it check the fields, and without PRACT the host generates the PI of every
 * write (lib/pi, as an application would) and verifies what every read brings back, which is
 * the cost the run measures. A namespace or a combination it cannot drive is refused before
 * the run, naming the format and what would work. --verify covers interleaved metadata too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apps/perf/run.h"

/* The Application Tag the run writes and checks (-e PRCHK=APPTAG), all bits compared. */
#define PERF_APP_TAG 0x7570

int perf_ns_format(struct perf_ns *pn, const struct perf_args *a, const char *addr)
{
	struct updk_nvme_ns *ns = pn->ns;
	enum updk_pi_type type = updk_nvme_ns_pi_fmt(ns, &pn->pi);
	uint32_t prchk = a->prinfo & 7;
	char fmt[160];

	updk_nvme_ns_fmt_str(ns, fmt, sizeof(fmt));
	pn->io_flags = (uint32_t)a->prinfo << 26;
	pn->xfer_block = updk_nvme_ns_io_block_size(ns, pn->io_flags);
	pn->md_block = updk_nvme_ns_io_md_size(ns, pn->io_flags);
	pn->host_pi = prchk && !(a->prinfo & 8);
	pn->ext = pn->io_flags || pn->md_block;
	if (a->pi_given && type == UPDK_PI_NONE) {
		fprintf(stderr,
			"updk-perf: %s namespace %u (%s) has no protection information: drop -e, "
			"or format it with PI\n",
			addr, pn->nsid, fmt);
		return -EINVAL;
	}
	if (type == UPDK_PI_TYPE3 && (prchk & 1)) {
		fprintf(stderr,
			"updk-perf: %s namespace %u (%s): PI type 3 has no Reference Tag to check: "
			"-e PRCHK=GUARD|APPTAG\n",
			addr, pn->nsid, fmt);
		return -EINVAL;
	}
	if (pn->host_pi && updk_pi_fmt_check(&pn->pi)) {
		fprintf(stderr,
			"updk-perf: %s namespace %u (%s): the host cannot generate this PI: -e "
			"PRACT,PRCHK lets the controller do it\n",
			addr, pn->nsid, fmt);
		return -ENOTSUP;
	}
	/* --verify: with metadata interleaved the pattern runs through each block's data and
	 * metadata, but not through the PI that the host (PRCHK alone) or the controller (PRACT)
	 * writes there */
	if (pn->pi.extended && pn->xfer_block > pn->sector_size &&
	    (pn->host_pi || (a->prinfo & 8))) {
		pn->pi_skip_len = updk_pi_size((enum updk_pi_guard)pn->pi.guard);
		pn->pi_skip_off =
			pn->sector_size + (pn->pi.pi_first ? 0 : pn->pi.md_size - pn->pi_skip_len);
	}
	return 0;
}

/* The tags of @t's I/O: the LBA as Reference Tag (types 1 and 2), the run's Application Tag. */
static struct updk_pi_tags task_tags(const struct perf_task *t)
{
	return (struct updk_pi_tags){ .ref = t->lba, .app = PERF_APP_TAG, .app_mask = 0xffff };
}

int perf_task_issue_ext(struct perf_task *t, updk_nvme_cb cb)
{
	const struct perf_ns *ns = t->ctx->ns;
	struct iovec iov = { t->buf, (size_t)ns->nlb * ns->xfer_block };
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o),
				       .io_flags = ns->io_flags,
				       .md = ns->md_block ? t->md : NULL,
				       .md_len = ns->nlb * ns->md_block,
				       .app_tag = PERF_APP_TAG,
				       .app_tag_mask = 0xffff };

	if (t->is_read)
		return updk_nvme_ns_read_ext(ns->ns, t->qp, &iov, 1, t->lba, ns->nlb, cb, t, &o);
	if (ns->host_pi) {
		struct updk_pi_tags tags = task_tags(t);

		updk_pi_generate(&ns->pi, t->buf, ns->pi.extended ? NULL : t->md, ns->nlb, &tags);
	}
	return updk_nvme_ns_write_ext(ns->ns, t->qp, &iov, 1, t->lba, ns->nlb, cb, t, &o);
}

bool perf_task_pi_bad(const struct perf_task *t)
{
	const struct perf_ns *ns = t->ctx->ns;
	struct updk_pi_tags tags = task_tags(t);

	return updk_pi_verify(&ns->pi, t->buf, ns->pi.extended ? NULL : t->md, ns->nlb, &tags,
			      ns->io_flags >> 26 & 7, NULL) != 0;
}
