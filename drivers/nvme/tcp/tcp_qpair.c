/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport's queue pairs: one TCP connection each. The admin queue connects
 * when it is created (the registers travel through it); an I/O queue when the core connects it
 * (at allocation and after a controller reset): a socket, ICReq/ICResp, Fabrics Connect naming
 * the controller (NVMe Base 2.0 §6.3). Disconnecting closes the socket, which ends the queue
 * on the target.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/tcp/tcp.h"

int tcp_qpair_create(struct updk_nvme_ctrlr *c, uint16_t qid, uint32_t qsize,
		     struct updk_nvme_qpair **qpp)
{
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	struct nvme_tcp_qpair *tq;
	int rc;

	/* the admin queue: 32 entries at most (the Discovery log's ASQSZ of most targets) */
	if (qid == 0 && qsize > 32)
		qsize = 32;
	tq = aligned_alloc(64, sizeof(*tq));
	if (!tq)
		return -ENOMEM;
	memset(tq, 0, sizeof(*tq));
	tq->fd = -1;
	tq->qsize = qsize;
	rc = nvme_qpair_init(&tq->qp, c, qid, qsize - 1);
	if (!rc) {
		tq->slots = calloc(qsize - 1, sizeof(*tq->slots));
		if (!tq->slots)
			rc = -ENOMEM;
	}
	if (rc) {
		log_err("%s: no memory for queue %u (%u entries)", c->name, qid, qsize);
		tcp_qpair_release(&tq->qp);
		tcp_qpair_free(&tq->qp);
		return rc;
	}
	for (uint32_t i = 0; i < qsize - 1; i++) {
		tq->slots[i].tx.cid = (uint16_t)i;
		tq->slots[i].tx.t.iov = tq->slots[i].tx.iov;
	}
	tq->qp.copy_max = TCP_COPY_MAX;
	if (qid == 0) {
		/* the registers are read through it: connect it now (a new controller) */
		if (c->opts.keep_alive_ms == UINT32_MAX || tc->discovery)
			tc->kato_ms = 0;
		else
			tc->kato_ms =
				c->opts.keep_alive_ms ? c->opts.keep_alive_ms : TCP_DEFAULT_KATO_MS;
		tq->icd_max = UPDK_NVME_TCP_ADMIN_ICD;
		rc = tcp_conn_open(tq);
		if (!rc)
			rc = tcp_fabrics_connect(tq);
		if (rc) {
			tcp_qpair_release(&tq->qp);
			tcp_qpair_free(&tq->qp);
			return rc;
		}
		tq->ka_last = updk_tsc();
	}
	*qpp = &tq->qp;
	return 0;
}

int tcp_qpair_connect(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);
	struct updk_nvme_ctrlr *c = qp->ctrlr;
	int rc;

	if (tcp_ctrlr(c)->discovery) {
		log_err("%s: the Discovery controller has no I/O queues", c->name);
		return -EINVAL;
	}
	tcp_io_drop(tq);
	tcp_conn_close(tq);
	/* IOCCSZ (Identify Controller, in 16-byte units): the command and its in-capsule data */
	tq->icd_max = c->id.ioccsz >= 4 ? c->id.ioccsz * 16u - 64 : 0;
	rc = tcp_conn_open(tq);
	if (!rc)
		rc = tcp_fabrics_connect(tq);
	if (rc)
		tcp_conn_close(tq);
	return rc;
}

/* The target ends the queue when its connection closes. */
int tcp_qpair_disconnect(struct updk_nvme_qpair *qp)
{
	tcp_conn_close(tcp_qp(qp));
	return 0;
}

/* After a controller reset: an I/O queue's connection goes (qpair_connect() makes a new one);
 * the admin queue's stays, its controller newly enabled on it. */
void tcp_qpair_reset_rings(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);

	tcp_io_drop(tq);
	if (qp->qid)
		tcp_conn_close(tq);
}

/* Every command of the queue is about to be failed: nothing of them may stay queued, and no
 * data may arrive for them any more. */
void tcp_qpair_abort_queued(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);

	tcp_io_drop(tq);
	tcp_conn_close(tq);
}

void tcp_qpair_release(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);

	if (tq->slots)
		tcp_io_drop(tq);
	tcp_conn_close(tq);
	free(tq->slots);
	tq->slots = NULL;
	nvme_qpair_fini(qp);
}

void tcp_qpair_free(struct updk_nvme_qpair *qp)
{
	free(tcp_qp(qp));
}
