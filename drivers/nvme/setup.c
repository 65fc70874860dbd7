/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What follows CC.EN=1 and CSTS.RDY=1, at open and after every reset (NVMe Base 2.0 §3.5.1
 * steps 7-9): Identify Controller, the limits it implies (MDTS, SGL), Set Features Number of
 * Queues, the transport's own setup (PCIe: shadow doorbells), the namespaces, Interrupt
 * Coalescing, and the Asynchronous Event Requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/nvmf_spec.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

/* Cap on a command's transfer when MDTS says "no limit" or something huge. */
#define NVME_MAX_XFER_CAP (4u * 1024 * 1024)

/*
 * SN, MN and FR are ASCII strings, space padded (NVMe Base 2.0 §1.5.1, Figure 275): replace
 * anything outside printable ASCII (0x20..0x7e) by '?', so what is printed or put in JSON from
 * them is text, and say so once per field.
 */
static void sanitize_ascii(struct updk_nvme_ctrlr *c, const char *field, char *s, size_t len)
{
	unsigned bad = 0;

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
			s[i] = '?';
			bad++;
		}
	}
	if (bad)
		log_warn(
			"%s: Identify Controller %s holds %u byte(s) that are not printable ASCII: "
			"replaced by '?'",
			c->name, field, bad);
}

/*
 * SGLs for separate metadata (CDW0.PSDT 10b, NVMe Base 2.0 §4.2 Figure 92): by default where
 * MPTR cannot point at the buffer and the controller reports them (SGLS bit 19); always when
 * opts.md_sgl asks, which needs SGLs at all (SGLS bits 1:0, and no opts.no_sgl).
 */
static int md_sgl_choice(struct updk_nvme_ctrlr *c)
{
	bool msgl = c->sgl && (c->id.sgls & NVME_SGLS_MSGL);

	switch (c->opts.md_sgl) {
	case UPDK_NVME_MD_SGL_AUTO:
		c->md_sgl = msgl ? UPDK_NVME_MD_SGL_AUTO : UPDK_NVME_MD_SGL_OFF;
		return 0;
	case UPDK_NVME_MD_SGL_OFF:
		c->md_sgl = UPDK_NVME_MD_SGL_OFF;
		return 0;
	case UPDK_NVME_MD_SGL_ON:
		if (!c->sgl) {
			log_err("%s: md_sgl ON asks for SGLs for metadata, but %s: open it with "
				"md_sgl AUTO or OFF (MPTR)",
				c->name,
				c->opts.no_sgl ? "no_sgl is set" :
						 "the controller has no SGLs (SGLS bits 1:0 00b)");
			return -EINVAL;
		}
		if (!msgl)
			log_warn(
				"%s: md_sgl ON: the controller does not report SGLs for metadata "
				"(Identify Controller SGLS bit 19 clear, SGLS 0x%x); using them as "
				"asked",
				c->name, c->id.sgls);
		c->md_sgl = UPDK_NVME_MD_SGL_ON;
		return 0;
	}
	log_err("%s: md_sgl %d is none of UPDK_NVME_MD_SGL_AUTO, _ON, _OFF", c->name,
		(int)c->opts.md_sgl);
	return -EINVAL;
}

int nvme_ctrlr_apply_id(struct updk_nvme_ctrlr *c, const struct updk_nvme_id_ctrl *id)
{
	uint64_t mdts_bytes;
	int rc;

	c->id = *id;
	sanitize_ascii(c, "SN", c->id.sn, sizeof(c->id.sn));
	sanitize_ascii(c, "MN", c->id.mn, sizeof(c->id.mn));
	sanitize_ascii(c, "FR", c->id.fr, sizeof(c->id.fr));
	/* MDTS: 2^mdts units of CAP.MPSMIN (4 KiB here); 0 means no limit (Figure 275) */
	if (c->id.mdts == 0 || c->id.mdts > 20)
		mdts_bytes = NVME_MAX_XFER_CAP;
	else
		mdts_bytes = (uint64_t)NVME_PAGE_SIZE << c->id.mdts;
	if (c->id.mdts > 20)
		log_warn(
			"%s: Identify Controller MDTS %u (2^%u pages) is beyond any real transfer: "
			"commands are kept to %u KiB",
			c->name, c->id.mdts, c->id.mdts, NVME_MAX_XFER_CAP / 1024);
	if (mdts_bytes > NVME_MAX_XFER_CAP)
		mdts_bytes = NVME_MAX_XFER_CAP;
	if (c->opts.max_xfer_size && c->opts.max_xfer_size < mdts_bytes) {
		if (c->opts.max_xfer_size < NVME_PAGE_SIZE) {
			log_err("%s: max_xfer_size %u is below one page (4096)", c->name,
				c->opts.max_xfer_size);
			return -EINVAL;
		}
		mdts_bytes = c->opts.max_xfer_size & ~(uint32_t)NVME_PAGE_MASK;
	}
	c->max_xfer = (uint32_t)mdts_bytes;
	/* SGLS 11b is reserved: treated as no SGL support */
	c->sgl = !c->opts.no_sgl && (NVME_SGLS_SUPPORTED(c->id.sgls) == NVME_SGLS_BYTE ||
				     NVME_SGLS_SUPPORTED(c->id.sgls) == NVME_SGLS_DWORD);
	c->sgl_dword = NVME_SGLS_SUPPORTED(c->id.sgls) == NVME_SGLS_DWORD;
	rc = md_sgl_choice(c);
	if (rc)
		return rc;
	log_debug("%s: mn '%.40s' sn '%.20s' fr '%.8s' mdts %u nn %u oacs 0x%x oncs 0x%x sgls 0x%x",
		  c->name, c->id.mn, c->id.sn, c->id.fr, c->id.mdts, c->id.nn, c->id.oacs,
		  c->id.oncs, c->id.sgls);
	return 0;
}

static int identify_ctrlr(struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_id_ctrl *id = malloc(sizeof(*id));
	int rc;

	if (!id)
		return -ENOMEM;
	rc = nvme_identify(c, NVME_CNS_CTRLR, 0, id);
	if (!rc)
		rc = nvme_ctrlr_apply_id(c, id);
	free(id);
	return rc;
}

int nvme_ctrlr_setup(struct updk_nvme_ctrlr *c)
{
	uint32_t old_max_qpairs = c->max_qpairs;
	uint32_t old_max_xfer = c->max_xfer;
	bool reinit = c->qid_used != NULL;
	int rc;

	rc = identify_ctrlr(c);
	if (rc)
		return rc;
	if (reinit && c->max_xfer != old_max_xfer && c->qpairs) {
		/* qpairs' PRP lists were sized for the old limit: keep it */
		c->max_xfer = old_max_xfer < c->max_xfer ? old_max_xfer : c->max_xfer;
	}
	/* A Discovery controller (NVMe Base 2.0 §3.1.2.3) has no I/O queues and no namespaces:
	 * it answers Identify Controller and Get Log Page; Number of Queues and namespaces do not
	 * apply. */
	if (c->id.cntrltype == UPDK_NVME_CNTRLTYPE_DISCOVERY) {
		if (reinit && c->qpairs) {
			log_err("%s: after reset the controller says it is a Discovery controller, "
				"which has no I/O queues, and I/O qpairs are open: free them and "
				"open the controller again",
				c->name);
			return -EIO;
		}
		c->max_qpairs = 0;
		if (!reinit && !(c->qid_used = calloc(1, 1)))
			return -ENOMEM;
		return nvme_aer_start(c);
	}
	rc = nvme_set_num_queues(c);
	if (rc)
		return rc;
	if (!reinit) {
		c->qid_used = calloc(c->max_qpairs + 1, 1);
		if (!c->qid_used)
			return -ENOMEM;
	} else if (c->max_qpairs >= old_max_qpairs) {
		c->max_qpairs =
			old_max_qpairs; /* the qid table and shadow buffers keep their size */
	} else {
		for (struct updk_nvme_qpair *qp = c->qpairs; qp; qp = qp->next) {
			if (qp->qid > c->max_qpairs) {
				log_err("%s: after reset only %u I/O queues are granted, qpair %u "
					"cannot come back",
					c->name, c->max_qpairs, qp->qid);
				return -EIO;
			}
		}
	}
	if (c->ops->ctrlr_setup) {
		rc = c->ops->ctrlr_setup(c);
		if (rc)
			return rc;
	}
	rc = nvme_ns_scan(c);
	if (rc)
		return rc;
	nvme_intr_coalescing_apply(c);
	return nvme_aer_start(c);
}
