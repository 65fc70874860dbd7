/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Asynchronous Event Requests (NVMe Base 2.0 §5.2): a few stay outstanding all the time (they
 * never time out). A completed one is acted on from the admin poller: a Namespace Attribute
 * Changed notice reads the Changed Namespace List log (which also unmasks the event, §5.2) and
 * re-reads the namespaces; then the request is sent again.
 */
#include <errno.h>
#include <stdlib.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

/* Requests kept outstanding, at most (the controller allows AERL + 1). */
#define NVME_AER_MAX 4

static void aer_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_ctrlr *c = arg;
	uint32_t dw0 = cpl->cdw0;

	c->aer_outstanding--;
	if (updk_nvme_cpl_is_error(cpl)) {
		/* Aborted by reset, queue deletion or close: not an event, not re-armed here. */
		if (updk_nvme_cpl_sct(cpl) == UPDK_NVME_SCT_PATH ||
		    (updk_nvme_cpl_sct(cpl) == UPDK_NVME_SCT_GENERIC &&
		     updk_nvme_cpl_sc(cpl) == UPDK_NVME_SC_ABORTED_SQ_DELETION))
			return;
		nvme_log_cpl(c, "Asynchronous Event Request", cpl);
		/* do not re-arm a request the controller refuses */
		if (c->aer_limit)
			c->aer_limit--;
		return;
	}
	log_info("%s: asynchronous event: type %u info 0x%02x log page 0x%02x", c->name,
		 NVME_AER_TYPE(dw0), NVME_AER_INFO(dw0), NVME_AER_LOG(dw0));
	if (NVME_AER_TYPE(dw0) == NVME_AER_TYPE_NOTICE &&
	    NVME_AER_INFO(dw0) == NVME_AER_NOTICE_NS_ATTR)
		c->ns_rescan = true;
	if (c->opts.aer_cb)
		c->opts.aer_cb(c->opts.aer_arg, cpl);
}

static int aer_submit(struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_ASYNC_EVENT_REQUEST };
	int rc = nvme_admin_submit(c, &cmd, NULL, 0, aer_done, c, NVME_REQF_NO_TIMEOUT);

	if (rc == 0)
		c->aer_outstanding++;
	return rc;
}

int nvme_aer_start(struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_SET_FEATURES,
				     .cdw10 = UPDK_NVME_FEAT_ASYNC_EVENT_CONFIG };
	uint32_t limit = (uint32_t)c->id.aerl + 1;

	/* Ask for namespace attribute notices where the controller has them (OAES bit 8). */
	if (c->id.oaes & NVME_OAES_NS_ATTR) {
		cmd.cdw11 = NVME_AEC_NS_ATTR;
		if (nvme_admin_sync_quiet(c, &cmd, NULL, 0, NULL))
			log_warn("%s: namespace attribute notices could not be enabled", c->name);
	}
	if (limit > NVME_AER_MAX)
		limit = NVME_AER_MAX;
	/* keep admin slots free for the driver's own commands */
	if (limit > c->adminq->depth / 2u)
		limit = c->adminq->depth / 2u;
	c->aer_limit = limit;
	c->aer_outstanding = 0;
	while (c->aer_outstanding < c->aer_limit) {
		int rc = aer_submit(c);

		if (rc)
			return rc;
	}
	return 0;
}

void nvme_aer_handle(struct updk_nvme_ctrlr *c)
{
	if (c->failed || c->closing)
		return;
	if (c->ns_rescan) {
		uint32_t *log = malloc(4096);

		c->ns_rescan = false;
		/* Read (and so clear) the Changed Namespace List; the rescan covers every nsid. */
		if (log) {
			struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_GET_LOG_PAGE,
						     .nsid = 0xffffffff };

			cmd.cdw10 = ((4096u / 4 - 1) << 16) | UPDK_NVME_LOG_CHANGED_NS_LIST;
			nvme_admin_sync_quiet(c, &cmd, log, 4096, NULL);
			free(log);
		}
		if (nvme_ns_scan(c) == 0)
			log_info("%s: namespaces re-read after an attribute change", c->name);
	}
	while (c->aer_outstanding < c->aer_limit) {
		if (aer_submit(c))
			break;
	}
}
