// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: the PDUs a connection sends (R2T, C2HData with the read's DMA buffer as it is,
 * CapsuleResp), on lib/nvme_tcp's send queue: one sendmsg() takes as many as the socket does,
 * and the kernel copies straight from the buffers the backing controller wrote. A request is
 * released once its last PDU is wholly in the socket.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "apps/nvmf/nvmf.h"

void nvmf_tx_queue(struct nvmf_conn *c, struct nvmf_tx *t)
{
	t->t.iov = t->iov;
	updk_nvme_tcp_txq_append(&c->txq, &t->t);
}

/* CapsuleResp (NVMe/TCP 1.0 §3.6.2.7). */
void nvmf_tx_resp(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;
	struct updk_nvme_tcp_rsp *h = &r->hdr_resp.rsp;
	size_t n;

	memset(h, 0, sizeof(*h));
	h->rccqe = r->cpl;
	n = updk_nvme_tcp_pdu_finish(h, UPDK_NVME_TCP_CAPSULE_RESP, 0, 0, c->hdgst, c->ddgst,
				     c->hpda);
	r->tx_resp.iov[0] = (struct iovec){ h, n };
	r->tx_resp.t.niov = 1;
	r->tx_resp.last = true;
	nvmf_tx_queue(c, &r->tx_resp);
}

/* C2HData (§3.6.2.9): the whole of a read's data in one PDU, from its DMA buffer. */
void nvmf_tx_c2h_data(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;
	struct updk_nvme_tcp_data *h = &r->hdr_data.data;
	uint8_t flags = UPDK_NVME_TCP_F_LAST_PDU;
	size_t n;

	memset(h, 0, sizeof(*h));
	h->cccid = r->cmd.cid;
	h->datao = 0;
	h->datal = r->xfer_len;
	if (c->sqflow_off)
		flags |= UPDK_NVME_TCP_F_SUCCESS;
	n = updk_nvme_tcp_pdu_finish(h, UPDK_NVME_TCP_C2H_DATA, flags, r->xfer_len, c->hdgst,
				     c->ddgst, c->hpda);
	r->tx_data.iov[0] = (struct iovec){ h, n };
	r->tx_data.iov[1] = (struct iovec){ r->buf, r->xfer_len };
	r->tx_data.t.niov = 2;
	if (c->ddgst) {
		r->ddgst = updk_nvme_tcp_digest(&r->tx_data.iov[1], 1);
		r->tx_data.iov[2] = (struct iovec){ &r->ddgst, sizeof(r->ddgst) };
		r->tx_data.t.niov = 3;
	}
	r->tx_data.last = c->sqflow_off;
	nvmf_tx_queue(c, &r->tx_data);
}

/* R2T (§3.6.2.10): all the data of the write that is still to come, in one transfer. */
void nvmf_tx_r2t(struct nvmf_req *r)
{
	struct nvmf_conn *c = r->conn;
	struct updk_nvme_tcp_r2t *h = &r->hdr_data.r2t;
	size_t n;

	memset(h, 0, sizeof(*h));
	h->cccid = r->cmd.cid;
	h->ttag = r->idx;
	h->r2to = r->rcvd;
	h->r2tl = r->xfer_len - r->rcvd;
	n = updk_nvme_tcp_pdu_finish(h, UPDK_NVME_TCP_R2T, 0, 0, c->hdgst, c->ddgst, c->hpda);
	r->tx_data.iov[0] = (struct iovec){ h, n };
	r->tx_data.t.niov = 1;
	r->tx_data.last = false;
	nvmf_tx_queue(c, &r->tx_data);
}

/* Interest in EPOLLOUT only while the socket is full. */
static void want_out(struct nvmf_conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == on)
		return;
	c->want_out = on;
	epoll_ctl(c->poller->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void tx_sent(void *arg, struct updk_nvme_tcp_tx *sent)
{
	struct nvmf_tx *t = (struct nvmf_tx *)sent;

	(void)arg;
	if (t->last)
		nvmf_req_put(t->req);
}

int nvmf_tx_flush(struct nvmf_conn *c)
{
	uint64_t before = c->txq.bytes;
	int rc = updk_nvme_tcp_txq_flush(&c->txq, c->fd, tx_sent, c);

	if (rc < 0)
		return rc;
	if (c->txq.bytes != before)
		c->poller->work++;
	want_out(c, rc == 1); /* EPOLLOUT only while the socket is full */
	return 0;
}
