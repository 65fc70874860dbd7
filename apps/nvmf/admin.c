// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: the admin commands of a fabric controller, answered by the target itself (the
 * backing controllers' admin queues stay with the main thread): Identify, Get Log Page,
 * Get/Set Features, Keep Alive, Asynchronous Event Request, Abort (NVMe Base 2.0 chapter 5).
 */
#include <string.h>

#include "apps/nvmf/nvmf.h"

#define OPC_KEEP_ALIVE 0x18
#define FEAT_KEEP_ALIVE_TIMER 0x0f
#define FEAT_HOST_IDENTIFIER 0x81

static void fail(struct nvmf_req *r, uint8_t sc)
{
	nvmf_req_fail(r, 0, sc, true);
}

static void fail_cs(struct nvmf_req *r, uint8_t sc)
{
	nvmf_req_fail(r, UPDK_NVME_SCT_CMD_SPECIFIC, sc, true);
}

/* Copy @len bytes of @src into the command's data buffer, the rest zero. */
static void put_data(struct nvmf_req *r, const void *src, size_t len)
{
	if (!r->buf)
		return;
	if (len > r->xfer_len)
		len = r->xfer_len;
	memcpy(r->buf, src, len);
	memset((uint8_t *)r->buf + len, 0, r->xfer_len - len);
}

/* Identify (§5.17): CNS 00h namespace, 01h controller, 02h active list, 03h descriptors. */
static void identify(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	const struct nvmf_subsys *s = c->subsys;
	uint8_t cns = r->cmd.cdw10 & 0xff;
	uint32_t nsid = r->cmd.nsid;
	static _Thread_local union {
		struct updk_nvme_id_ctrl ctrl;
		uint32_t list[1024];
		uint8_t raw[4096];
	} page;

	if (r->h2c || r->xfer_len == 0 || r->xfer_len > 4096) {
		fail(r, UPDK_NVME_SC_INVALID_FIELD);
		return;
	}
	memset(&page, 0, sizeof(page));
	switch (cns) {
	case 0x00:
		if (nsid < 1 || nsid > s->nns) {
			fail(r, UPDK_NVME_SC_INVALID_NAMESPACE);
			return;
		}
		put_data(r, &s->ns[nsid - 1].id, sizeof(s->ns[0].id));
		break;
	case 0x01:
		nvmf_identify_ctrlr(c, &page.ctrl);
		put_data(r, &page, sizeof(page));
		break;
	case 0x02:
		if (nsid >= 0xfffffffe) {
			fail(r, UPDK_NVME_SC_INVALID_NAMESPACE);
			return;
		}
		for (uint32_t i = nsid + 1, n = 0; i <= s->nns && n < 1024; i++)
			page.list[n++] = i;
		put_data(r, &page, sizeof(page));
		break;
	case 0x03:
		if (nsid < 1 || nsid > s->nns) {
			fail(r, UPDK_NVME_SC_INVALID_NAMESPACE);
			return;
		}
		/* One Namespace Identification Descriptor: NIDT 2 (NGUID), NIDL 16 (Figure 279) */
		page.raw[0] = 2;
		page.raw[1] = 16;
		memcpy(page.raw + 4, s->ns[nsid - 1].nguid, 16);
		put_data(r, &page, sizeof(page));
		break;
	default:
		fail(r, UPDK_NVME_SC_INVALID_FIELD);
		return;
	}
	nvmf_req_complete(r);
}

/* Get Log Page (§5.16): error, SMART, firmware slot, changed namespaces, discovery. */
static void get_log_page(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	uint8_t lid = r->cmd.cdw10 & 0xff;
	uint32_t numd = (r->cmd.cdw10 >> 16) | (r->cmd.cdw11 & 0xffff) << 16;
	uint64_t offset = r->cmd.cdw12 | (uint64_t)r->cmd.cdw13 << 32;
	uint64_t len = ((uint64_t)numd + 1) * 4;
	static _Thread_local uint8_t page[4096];
	size_t page_len;

	if (r->h2c || !r->buf || len > r->xfer_len || (offset & 3)) {
		fail(r, UPDK_NVME_SC_INVALID_FIELD);
		return;
	}
	memset(page, 0, sizeof(page));
	switch (lid) {
	case UPDK_NVME_LOG_ERROR:
		page_len = 64 * 1; /* ELPE 0: one entry, never an error logged */
		break;
	case UPDK_NVME_LOG_SMART: {
		struct updk_nvme_smart_log *sm = (void *)page;

		sm->avail_spare = 100;
		sm->spare_thresh = 10;
		page_len = sizeof(*sm);
		break;
	}
	case UPDK_NVME_LOG_FIRMWARE_SLOT:
		page[0] = 1; /* AFI: slot 1 active */
		memcpy(page + 8, "updk    ", 8);
		page_len = 512;
		break;
	case UPDK_NVME_LOG_CHANGED_NS_LIST:
		page_len = 4096;
		break;
	case UPDK_NVMF_LOG_DISCOVERY:
		if (!c->subsys->discovery)
			goto invalid;
		nvmf_discovery_log(c->hostnqn, r->conn, r->buf, (uint32_t)len, offset);
		if (len < r->xfer_len)
			memset((uint8_t *)r->buf + len, 0, r->xfer_len - len);
		nvmf_req_complete(r);
		return;
	default:
		goto invalid;
	}
	if (c->subsys->discovery && lid != UPDK_NVME_LOG_ERROR)
		goto invalid;
	if (offset >= page_len)
		memset(r->buf, 0, r->xfer_len);
	else
		put_data(r, page + offset, page_len - offset);
	nvmf_req_complete(r);
	return;
invalid:
	fail_cs(r, UPDK_NVME_SC_INVALID_LOG_PAGE);
}

static void get_features(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	uint8_t fid = r->cmd.cdw10 & 0xff;
	uint32_t nq = atomic_load(&c->nr_io_queues);

	switch (fid) {
	case UPDK_NVME_FEAT_ARBITRATION:
	case UPDK_NVME_FEAT_POWER_MANAGEMENT:
	case UPDK_NVME_FEAT_ERROR_RECOVERY:
	case UPDK_NVME_FEAT_INTERRUPT_COALESCING:
	case UPDK_NVME_FEAT_WRITE_ATOMICITY:
		r->cpl.cdw0 = 0;
		break;
	case UPDK_NVME_FEAT_TEMPERATURE_THRESHOLD:
		r->cpl.cdw0 = 0x157; /* 343 K, the reset default of most controllers */
		break;
	case UPDK_NVME_FEAT_VOLATILE_WRITE_CACHE:
		if (!c->subsys->vwc)
			goto invalid;
		r->cpl.cdw0 = 1;
		break;
	case UPDK_NVME_FEAT_NUMBER_OF_QUEUES:
		nq = nq ? nq : NVMF_MAX_IO_QUEUES;
		r->cpl.cdw0 = (nq - 1) << 16 | (nq - 1);
		break;
	case UPDK_NVME_FEAT_ASYNC_EVENT_CONFIG:
		r->cpl.cdw0 = c->aec;
		break;
	case FEAT_KEEP_ALIVE_TIMER:
		r->cpl.cdw0 = c->kato_ms;
		break;
	case FEAT_HOST_IDENTIFIER:
		if (!(r->cmd.cdw11 & 1) || !r->buf) /* fabrics: the 128-bit Host Identifier */
			goto invalid;
		put_data(r, c->hostid, 16);
		break;
	default:
		goto invalid;
	}
	nvmf_req_complete(r);
	return;
invalid:
	fail(r, UPDK_NVME_SC_INVALID_FIELD);
}

static void set_features(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;
	uint8_t fid = r->cmd.cdw10 & 0xff;
	uint32_t v = r->cmd.cdw11;

	if (r->cmd.cdw10 >> 31) {
		fail_cs(r, UPDK_NVME_SC_FEATURE_ID_NOT_SAVEABLE);
		return;
	}
	switch (fid) {
	case UPDK_NVME_FEAT_NUMBER_OF_QUEUES: {
		uint32_t nsqr = v & 0xffff, ncqr = v >> 16, n;

		if (nsqr == 0xffff || ncqr == 0xffff || c->subsys->discovery) {
			fail(r, UPDK_NVME_SC_INVALID_FIELD);
			return;
		}
		n = (nsqr > ncqr ? nsqr : ncqr) + 1;
		if (n > NVMF_MAX_IO_QUEUES)
			n = NVMF_MAX_IO_QUEUES;
		for (unsigned i = 0; i < sizeof(c->qid_map) / sizeof(c->qid_map[0]); i++)
			if (atomic_load(&c->qid_map[i])) { /* I/O queues exist already */
				fail(r, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR);
				return;
			}
		atomic_store(&c->nr_io_queues, n);
		r->cpl.cdw0 = (n - 1) << 16 | (n - 1);
		break;
	}
	case UPDK_NVME_FEAT_ASYNC_EVENT_CONFIG:
		c->aec = v;
		break;
	case FEAT_KEEP_ALIVE_TIMER:
		c->kato_ms = v;
		nvmf_ctrlr_keep_alive(c, r->conn->poller);
		break;
	case UPDK_NVME_FEAT_TEMPERATURE_THRESHOLD:
	case UPDK_NVME_FEAT_ARBITRATION:
	case UPDK_NVME_FEAT_POWER_MANAGEMENT:
	case UPDK_NVME_FEAT_ERROR_RECOVERY:
	case UPDK_NVME_FEAT_INTERRUPT_COALESCING:
	case UPDK_NVME_FEAT_WRITE_ATOMICITY:
		break; /* taken; nothing here acts on them */
	case UPDK_NVME_FEAT_VOLATILE_WRITE_CACHE:
		if (c->subsys->vwc && (v & 1))
			break; /* stays enabled */
		fail_cs(r, UPDK_NVME_SC_FEATURE_NOT_CHANGEABLE);
		return;
	case FEAT_HOST_IDENTIFIER:
		fail(r, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR); /* fixed by Connect */
		return;
	default:
		fail(r, UPDK_NVME_SC_INVALID_FIELD);
		return;
	}
	nvmf_req_complete(r);
}

/* Asynchronous Event Request (§5.2): held until an event; none is raised by this target yet,
 * so they wait until the association ends. */
static void aer(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;

	if (c->naer > NVMF_AERL) {
		fail_cs(r, UPDK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED);
		return;
	}
	c->aer[c->naer++] = r;
	r->state = REQ_ASYNC;
}

void nvmf_admin_exec(struct nvmf_req *r)
{
	struct nvmf_ctrlr *c = r->conn->ctrlr;

	if (!atomic_load(&c->ready)) {
		fail(r, UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	nvmf_ctrlr_keep_alive(c, r->conn->poller); /* any admin command shows the host is there */
	switch (r->cmd.opc) {
	case UPDK_NVME_OPC_IDENTIFY:
		identify(r);
		return;
	case UPDK_NVME_OPC_GET_LOG_PAGE:
		get_log_page(r);
		return;
	case UPDK_NVME_OPC_GET_FEATURES:
		get_features(r);
		return;
	case UPDK_NVME_OPC_SET_FEATURES:
		set_features(r);
		return;
	case OPC_KEEP_ALIVE:
		nvmf_req_complete(r);
		return;
	case UPDK_NVME_OPC_ASYNC_EVENT_REQUEST:
		aer(r);
		return;
	case UPDK_NVME_OPC_ABORT:
		r->cpl.cdw0 = 1; /* bit 0: not aborted (it completes on its own) */
		nvmf_req_complete(r);
		return;
	default:
		fail(r, UPDK_NVME_SC_INVALID_OPCODE);
	}
}
