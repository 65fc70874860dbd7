/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe/TCP transport's data path. submit() builds a command's CapsuleCmd (NVMe/TCP 1.0
 * §3.6.2.6) with a write's data in the capsule when it fits (IOCCSZ), else a Transport SGL
 * that the controller answers with R2T; ring() sends what is queued, as much as the socket
 * takes in one sendmsg(), straight from the caller's buffers; poll() takes in CapsuleResp
 * (§3.6.2.7), C2HData (§3.6.2.9, read by readv() into the caller's buffer) and R2T
 * (§3.6.2.10: H2CData PDUs of at most MAXH2CDATA follow), and hands completions to the core.
 * Every PDU from the controller is untrusted: a CID that is not outstanding, data beyond what
 * a command asked for, an R2T for a read, a malformed header end the connection, and the
 * controller is reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/tcp/tcp.h"

#define OPC_KEEP_ALIVE 0x18

/* Data direction: bits 1:0 of the opcode, of FCTYPE for a Fabrics command (01b to the
 * controller, 10b from it). */
static unsigned data_dir(const struct updk_nvme_cmd *cmd)
{
	if (cmd->opc == UPDK_NVMF_OPC_FABRICS)
		return ((const struct updk_nvmf_cmd *)cmd)->fctype & 3;
	return cmd->opc & 3;
}

int tcp_check_payload(struct updk_nvme_qpair *qp, const struct iovec *iov, int iovcnt,
		      const char *what, uint32_t id)
{
	if (iovcnt > TCP_CMD_IOV_MAX) {
		nvme_qp_log(qp, "%s: %s %u: %d buffer elements; NVMe/TCP here takes at most %d",
			    qp->ctrlr->name, what, id, iovcnt, TCP_CMD_IOV_MAX);
		return -EINVAL;
	}
	return 0;
}

/* The slot's iovecs: @pl's @pl->len bytes from its start. */
static int slot_iov(struct updk_nvme_qpair *qp, struct tcp_slot *s, const struct nvme_payload *pl)
{
	int i = pl->iov_idx;
	size_t off = pl->iov_off;
	uint32_t left = pl->len;

	s->iovcnt = 0;
	while (left) {
		size_t k;

		if (i >= pl->iovcnt || s->iovcnt == TCP_CMD_IOV_MAX) {
			nvme_qp_log(qp,
				    "%s: queue %u: a command's data over more than %d buffer "
				    "elements",
				    qp->ctrlr->name, qp->qid, TCP_CMD_IOV_MAX);
			return -EINVAL;
		}
		k = pl->iov[i].iov_len - off;
		if (k > left)
			k = left;
		if (k) {
			s->iov[s->iovcnt].iov_base = (uint8_t *)pl->iov[i].iov_base + off;
			s->iov[s->iovcnt++].iov_len = k;
			left -= (uint32_t)k;
		}
		i++;
		off = 0;
	}
	return 0;
}

/* The iovecs of bytes [@from, @from + @len) of the slot's data, into @v; how many. */
static int slot_range(const struct tcp_slot *s, uint32_t from, uint32_t len, struct iovec *v)
{
	int n = 0;

	for (int i = 0; i < s->iovcnt && len; i++) {
		size_t il = s->iov[i].iov_len;

		if (from >= il) {
			from -= (uint32_t)il;
			continue;
		}
		v[n].iov_base = (uint8_t *)s->iov[i].iov_base + from;
		v[n].iov_len = il - from < len ? il - from : len;
		len -= (uint32_t)v[n].iov_len;
		from = 0;
		n++;
	}
	return n;
}

int tcp_submit(struct updk_nvme_qpair *qp, struct nvme_req *req, const struct updk_nvme_cmd *cmd,
	       const struct nvme_payload *pl)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);
	struct tcp_slot *s = &tq->slots[req->cid];
	struct updk_nvme_sgl *sgl;
	struct tcp_tx *t = &s->tx;
	bool icd;
	size_t n;
	int rc;

	if (tq->fd < 0)
		return -ENXIO; /* the connection is gone: the controller is being reset */
	s->len = pl->len;
	s->h2c = pl->len && data_dir(cmd) == 1;
	s->copy = s->user_buf = NULL;
	s->c2h_rcvd = s->r2t_off = s->r2t_end = 0;
	s->ddgst_error = false;
	s->iovcnt = 0;
	if (pl->len && (pl->flags & NVME_PAYLOAD_COPY)) {
		/* any memory, which may be gone before the command completes: ours instead */
		rc = slot_iov(qp, s, pl);
		if (rc)
			return rc;
		s->copy = malloc(pl->len);
		if (!s->copy)
			return -ENOMEM;
		if (s->h2c) {
			size_t at = 0;

			for (int i = 0; i < s->iovcnt; i++) {
				memcpy((uint8_t *)s->copy + at, s->iov[i].iov_base,
				       s->iov[i].iov_len);
				at += s->iov[i].iov_len;
			}
		} else if (s->iovcnt == 1) {
			s->user_buf = s->iov[0].iov_base;
		} else {
			/* the core copies only single buffers (admin data, DSM ranges) */
			nvme_qp_log(qp,
				    "%s: queue %u: data from the controller by copy into %d "
				    "buffer elements: one only",
				    qp->ctrlr->name, qp->qid, s->iovcnt);
			free(s->copy);
			s->copy = NULL;
			return -EINVAL;
		}
		s->iov[0] = (struct iovec){ s->copy, pl->len };
		s->iovcnt = 1;
	} else if (pl->len) {
		rc = slot_iov(qp, s, pl);
		if (rc)
			return rc;
	}
	icd = s->h2c && pl->len <= tq->icd_max;
	memset(&s->hdr.cmd, 0, sizeof(s->hdr.cmd));
	s->hdr.cmd.ccsqe = *cmd;
	s->hdr.cmd.ccsqe.cid = req->cid;
	/* PSDT 01b: the data is described by SGL 1 (NVMe/TCP uses SGLs only) */
	s->hdr.cmd.ccsqe.flags = (uint8_t)((cmd->flags & 0x3f) | 0x40);
	sgl = (struct updk_nvme_sgl *)s->hdr.cmd.ccsqe.dptr.sgl1;
	sgl->type = icd ? UPDK_NVME_TCP_SGL_ICD : UPDK_NVME_TCP_SGL_TRANSPORT;
	sgl->length = pl->len;
	n = updk_nvme_tcp_pdu_finish(&s->hdr.cmd, UPDK_NVME_TCP_CAPSULE_CMD, 0, icd ? pl->len : 0,
				     tq->hdgst, tq->ddgst, tq->cpda);
	t->iov[0] = (struct iovec){ &s->hdr, n };
	t->t.niov = 1;
	t->h2c = false;
	if (icd) {
		memcpy(&t->iov[1], s->iov, (size_t)s->iovcnt * sizeof(struct iovec));
		t->t.niov += s->iovcnt;
		if (tq->ddgst) {
			s->ddgst = updk_nvme_tcp_digest(s->iov, s->iovcnt);
			t->iov[t->t.niov++] = (struct iovec){ &s->ddgst, sizeof(s->ddgst) };
		}
	}
	updk_nvme_tcp_txq_append(&tq->txq, &t->t);
	s->tx_queued = true;
	if (qp->qid == 0)
		tq->ka_last = updk_tsc();
	return 0;
}

uint16_t tcp_cancel_last(struct updk_nvme_qpair *qp)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);
	struct tcp_tx *t = (struct tcp_tx *)tq->txq.tail;
	struct tcp_slot *s = &tq->slots[t->cid];

	updk_nvme_tcp_txq_unlink(&tq->txq, &t->t);
	s->tx_queued = false;
	free(s->copy);
	s->copy = NULL;
	return t->cid;
}

/* The next H2CData PDU of the slot's R2T: at most MAXH2CDATA of [r2t_off, r2t_end). */
static void queue_h2c(struct nvme_tcp_qpair *tq, struct tcp_slot *s)
{
	struct updk_nvme_tcp_data *d = &s->hdr.data;
	uint32_t len = s->r2t_end - s->r2t_off;
	struct tcp_tx *t = &s->tx;
	size_t n;

	if (len > tq->maxh2cdata)
		len = tq->maxh2cdata;
	memset(d, 0, sizeof(*d));
	d->cccid = t->cid;
	d->ttag = s->ttag;
	d->datao = s->r2t_off;
	d->datal = len;
	n = updk_nvme_tcp_pdu_finish(d, UPDK_NVME_TCP_H2C_DATA,
				     s->r2t_off + len == s->r2t_end ? UPDK_NVME_TCP_F_LAST_PDU : 0,
				     len, tq->hdgst, tq->ddgst, tq->cpda);
	t->iov[0] = (struct iovec){ d, n };
	t->t.niov = 1 + slot_range(s, s->r2t_off, len, &t->iov[1]);
	if (tq->ddgst) {
		s->ddgst = updk_nvme_tcp_digest(&t->iov[1], t->t.niov - 1);
		t->iov[t->t.niov++] = (struct iovec){ &s->ddgst, sizeof(s->ddgst) };
	}
	t->h2c = true;
	updk_nvme_tcp_txq_append(&tq->txq, &t->t);
	s->tx_queued = true;
}

/* A PDU of the send queue went out whole. */
static void tx_sent(void *arg, struct updk_nvme_tcp_tx *sent)
{
	struct nvme_tcp_qpair *tq = arg;
	struct tcp_tx *t = (struct tcp_tx *)sent;
	struct tcp_slot *s = &tq->slots[t->cid];

	s->tx_queued = false;
	if (!t->h2c)
		return;
	s->r2t_off += s->hdr.data.datal;
	if (s->r2t_off < s->r2t_end)
		queue_h2c(tq, s);
}

/* Send what the socket takes: 0, or -errno with the connection failed. */
static int flush(struct nvme_tcp_qpair *tq)
{
	int rc;

	if (tq->fd < 0)
		return 0;
	rc = updk_nvme_tcp_txq_flush(&tq->txq, tq->fd, tx_sent, tq);
	if (rc >= 0)
		return 0;
	tcp_conn_fail(tq, strerror(-rc));
	return -EIO;
}

void tcp_ring(struct updk_nvme_qpair *qp)
{
	flush(tcp_qp(qp));
}

void tcp_io_drop(struct nvme_tcp_qpair *tq)
{
	updk_nvme_tcp_rx_discard(&tq->rx);
	while (tq->txq.head)
		updk_nvme_tcp_txq_unlink(&tq->txq, tq->txq.head);
	for (uint32_t i = 0; tq->slots && i < tq->qp.depth; i++) {
		struct tcp_slot *s = &tq->slots[i];

		s->tx_queued = false;
		free(s->copy);
		s->copy = s->user_buf = NULL;
		s->r2t_off = s->r2t_end = 0;
	}
}

static void ka_done(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_ctrlr *c = arg;

	if (updk_nvme_cpl_is_error(cpl))
		log_warn("%s: Keep Alive: %s", c->name,
			 updk_nvme_status_str(updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl)));
}

/* Keep Alive (NVMe Base 2.0 §5.12) when the admin queue has sent nothing for half of KATO. */
static void keep_alive(struct nvme_tcp_qpair *tq)
{
	struct updk_nvme_ctrlr *c = tq->qp.ctrlr;
	struct nvme_tcp_ctrlr *tc = tcp_ctrlr(c);
	struct updk_nvme_cmd cmd = { .opc = OPC_KEEP_ALIVE };
	uint64_t now = updk_tsc();

	if (!tc->kato_ms || !c->qid_used || c->failed ||
	    now - tq->ka_last < (uint64_t)tc->kato_ms * (updk_tsc_hz() / 2000))
		return;
	tq->ka_last = now;
	if (nvme_admin_submit(c, &cmd, NULL, 0, ka_done, c, 0))
		log_warn("%s: Keep Alive could not be sent (admin queue full)", c->name);
}

/* The command @req of the slot has its answer: our copy back to the caller, then the core. */
static int finish(struct nvme_tcp_qpair *tq, struct nvme_req *req, struct updk_nvme_cpl *cpl)
{
	struct updk_nvme_qpair *qp = &tq->qp;
	struct tcp_slot *s = &tq->slots[req->cid];

	if (s->tx_queued) {
		/* answered before all of its data went: drop the rest; a PDU half sent cannot be
		 * taken back from the stream, which then ends */
		if (updk_nvme_tcp_txq_started(&tq->txq, &s->tx.t))
			tcp_conn_fail(tq, "a command answered while its data was half sent");
		updk_nvme_tcp_txq_unlink(&tq->txq, &s->tx.t);
		s->tx_queued = false;
	}
	if (!s->h2c && s->c2h_rcvd != s->len && !updk_nvme_cpl_is_error(cpl)) {
		/* a success that did not bring all of its data: the buffer is not what was read */
		nvme_qp_log(qp,
			    "%s: queue %u: command %u succeeded with %u of its %u bytes of data "
			    "sent: failed as a data transfer error",
			    qp->ctrlr->name, qp->qid, req->cid, s->c2h_rcvd, s->len);
		s->ddgst_error = true;
	}
	if (s->ddgst_error && !updk_nvme_cpl_is_error(cpl))
		cpl->status = (uint16_t)(UPDK_NVME_SC_DATA_TRANSFER_ERROR << 1);
	if (s->copy) {
		/* no callback left: a synchronous caller gave up waiting, its buffer is gone */
		if (!req->cb)
			s->user_buf = NULL;
		if (s->user_buf && !updk_nvme_cpl_is_error(cpl))
			memcpy(s->user_buf, s->copy, s->len);
		free(s->copy);
		s->copy = s->user_buf = NULL;
	}
	if (qp->qid && req->state == NVME_REQ_OUTSTANDING && !updk_nvme_cpl_is_error(cpl)) {
		qp->stats.cmds_completed++;
		nvme_complete_io(qp, req, cpl);
		return 1;
	}
	qp->stats.cmds_completed++;
	if (updk_nvme_cpl_is_error(cpl))
		qp->stats.cmds_failed++;
	return nvme_complete(qp, req, cpl);
}

/* A PDU header from the controller: 1 when it completed a command, 0, or -1 (failed). */
static int on_header(struct nvme_tcp_qpair *tq)
{
	struct updk_nvme_qpair *qp = &tq->qp;
	const struct updk_nvme_tcp_rx *rx = &tq->rx;
	struct nvme_req *req;
	struct tcp_slot *s;

	switch (rx->hdr.ch.pdu_type) {
	case UPDK_NVME_TCP_CAPSULE_RESP: {
		struct updk_nvme_cpl cpl = rx->hdr.rsp.rccqe;

		req = nvme_req_outstanding(qp, cpl.cid);
		if (!req) {
			qp->stats.bogus_completions++;
			nvme_qp_log(qp,
				    "%s: queue %u: a response for command %u, which is not "
				    "outstanding: ignored",
				    qp->ctrlr->name, qp->qid, cpl.cid);
			return 0;
		}
		return finish(tq, req, &cpl);
	}
	case UPDK_NVME_TCP_C2H_DATA: {
		const struct updk_nvme_tcp_data *d = &rx->hdr.data;
		struct iovec v[TCP_CMD_IOV_MAX];
		int n;

		req = nvme_req_outstanding(qp, d->cccid);
		s = req ? &tq->slots[d->cccid] : NULL;
		if (!s || s->h2c || !s->len || d->datao != s->c2h_rcvd || !d->datal ||
		    d->datal != updk_nvme_tcp_rx_data_len(rx) ||
		    (uint64_t)d->datao + d->datal > s->len) {
			tcp_conn_fail(tq, "C2HData for no read outstanding, or beyond its data");
			return -1;
		}
		n = slot_range(s, d->datao, d->datal, v);
		updk_nvme_tcp_rx_set_data(&tq->rx, v, n);
		tq->rx_cid = d->cccid;
		return 0;
	}
	case UPDK_NVME_TCP_R2T: {
		const struct updk_nvme_tcp_r2t *r = &rx->hdr.r2t;

		req = nvme_req_outstanding(qp, r->cccid);
		s = req ? &tq->slots[r->cccid] : NULL;
		if (!s || !s->h2c || !r->r2tl || s->tx_queued || r->r2to != s->r2t_end ||
		    (uint64_t)r->r2to + r->r2tl > s->len) {
			tcp_conn_fail(tq, "an R2T for no write outstanding, or beyond its data");
			return -1;
		}
		s->ttag = r->ttag;
		s->r2t_off = r->r2to;
		s->r2t_end = r->r2to + r->r2tl;
		queue_h2c(tq, s);
		return 0;
	}
	default: /* C2HTermReq */
		log_err("%s: queue %u: the controller ended the connection: %s (FEI %u)",
			qp->ctrlr->name, qp->qid, updk_nvme_tcp_fes_str(rx->hdr.term.fes),
			rx->hdr.term.fei);
		tcp_conn_fail(tq, "C2HTermReq");
		return -1;
	}
}

/* A C2HData PDU's data is in: with SUCCESS set, it is the command's completion too. */
static int on_data(struct nvme_tcp_qpair *tq)
{
	uint16_t cid = tq->rx_cid;
	const struct updk_nvme_tcp_data *d = &tq->rx.hdr.data;
	struct tcp_slot *s = &tq->slots[cid];
	struct nvme_req *req = nvme_req_outstanding(&tq->qp, cid);
	struct updk_nvme_cpl cpl = { .cid = cid, .sqid = tq->qp.qid };

	s->c2h_rcvd += d->datal;
	s->ddgst_error |= tq->rx.ddgst_error;
	if (!(d->ch.flags & UPDK_NVME_TCP_F_SUCCESS) || !req)
		return 0;
	if (!(d->ch.flags & UPDK_NVME_TCP_F_LAST_PDU) || s->c2h_rcvd != s->len) {
		tcp_conn_fail(tq, "C2HData with SUCCESS before all the data");
		return -1;
	}
	return finish(tq, req, &cpl);
}

int tcp_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_tcp_qpair *tq = tcp_qp(qp);
	uint32_t done = 0;
	bool drained = false;

	if (tq->fd < 0)
		return 0;
	if (tq->txq.head && flush(tq))
		return 0;
	if (qp->qid == 0)
		keep_alive(tq);
	while (done < max && tq->fd >= 0) {
		int ev = updk_nvme_tcp_rx_next(&tq->rx), r;

		if (ev == UPDK_NVME_TCP_RX_MORE) {
			long n;

			if (drained)
				break;
			n = updk_nvme_tcp_rx_recv(&tq->rx, tq->fd);
			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				tcp_conn_fail(tq, n ? strerror((int)-n) :
						      "the controller closed the connection");
				break;
			}
			drained = tq->rx.short_read;
			continue;
		}
		if (ev < 0) {
			char why[96];

			snprintf(why, sizeof(why), "a malformed %s PDU from the controller (%s)",
				 updk_nvme_tcp_pdu_name(tq->rx.hdr.ch.pdu_type),
				 updk_nvme_tcp_fes_str(tq->rx.fes));
			tcp_conn_fail(tq, why);
			break;
		}
		r = ev == UPDK_NVME_TCP_RX_HDR ? on_header(tq) : on_data(tq);
		if (r < 0)
			break;
		done += (uint32_t)r;
	}
	tq->rx_more = done >= max && tq->fd >= 0;
	if (tq->txq.head)
		flush(tq); /* H2CData for the R2Ts just taken in */
	tq->bytes_direct = tq->rx.bytes_direct;
	tq->bytes_copied = tq->rx.bytes_copied;
	return (int)done;
}
