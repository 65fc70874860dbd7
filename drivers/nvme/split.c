/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * I/O above the per-command limit (MDTS), of any length on any qpair: the I/O is split into
 * children of at most the limit that complete as one. Its parent is a record of this qpair's
 * bounded pool (struct nvme_split, one per slot of the qpair, allocated with it), not a slot,
 * so even a qpair of depth 1 carries a 64 MiB I/O. Each child carries its part of the separate
 * metadata and the Reference Tag of its first block (struct nvme_io_md). Children that find no
 * free slot wait, in order, in the qpair's FIFO of records. The slot a child frees goes to the
 * next child waiting, from the child's completion (nvme_child_done(), a path only children
 * take); slots other commands free are picked up every 32nd poll (nvme_qpair_tick()). The fast
 * path pays nothing for it, per command or per poll. A split I/O gets -EAGAIN only when every
 * record is in use; a command that needs one slot gets -EAGAIN, as before, when none is free.
 *
 * A write to a zoned namespace must reach the zone in LBA order, at its write pointer (Zoned
 * Namespace Command Set 1.1 §2.1.1, and its Write in §3.3), and a controller may run the
 * commands of a queue in any order (NVMe Base 2.0 §3.4.1). Its children therefore go one after
 * another (NVME_REQF_IN_ORDER): child n + 1 is sent when child n completed successfully
 * (nvme_split_next()); after a failure the rest are not sent and the write completes with the
 * failing child's status, the blocks before it written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/transport.h"

#define SPLIT_IOV_INLINE 4

struct nvme_split {
	struct nvme_req parent; /* cb, arg, children not completed yet, the first failure */
	struct nvme_split *next; /* the free list, or the FIFO of records waiting for slots */
	struct updk_nvme_ns *ns;
	struct nvme_payload pl; /* the data of the next child */
	struct iovec *iov; /* the caller's vector, copied: iov_inline, or allocated when longer */
	struct iovec iov_inline[SPLIT_IOV_INLINE];
	uint64_t lba; /* of the next child */
	uint32_t left; /* blocks not submitted yet */
	struct nvme_io_md x; /* flags, metadata and Reference Tag of the next child */
	uint8_t opc;
};

int nvme_split_init(struct updk_nvme_qpair *qp, uint32_t n)
{
	qp->split_pool = calloc(n, sizeof(*qp->split_pool));
	if (!qp->split_pool)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		qp->split_pool[i].next = i + 1 < n ? &qp->split_pool[i + 1] : NULL;
	qp->split_free = qp->split_pool;
	return 0;
}

void nvme_split_fini(struct updk_nvme_qpair *qp)
{
	free(qp->split_pool);
	qp->split_pool = qp->split_free = qp->split_head = qp->split_tail = NULL;
}

static void split_put(struct updk_nvme_qpair *qp, struct nvme_split *s)
{
	if (s->iov != s->iov_inline)
		free(s->iov);
	s->iov = NULL;
	s->next = qp->split_free;
	qp->split_free = s;
}

void nvme_split_parent_done(struct updk_nvme_qpair *qp, struct nvme_req *parent)
{
	split_put(qp, (struct nvme_split *)parent);
}

static uint32_t children_of(const struct updk_nvme_ns *ns, uint32_t nlb)
{
	return (nlb + ns->max_io_sectors - 1) / ns->max_io_sectors;
}

/* An in-order I/O with a child at the controller: children not completed beyond those unsent. */
static bool child_out(const struct nvme_split *s)
{
	return (s->parent.flags & NVME_REQF_IN_ORDER) &&
	       s->parent.children > children_of(s->ns, s->left);
}

/* Send children of @s while slots are free; *@queued counts them. 0, or the transport's error
 * for the child it could not describe (nothing of that child is queued). */
static int split_children(struct updk_nvme_qpair *qp, struct nvme_split *s, uint32_t *queued)
{
	uint32_t per = s->ns->max_io_sectors;

	/* a qpair being freed sends nothing more: what waits fails with it (fail-all) */
	if (qp->dead)
		return 0;
	while (s->left && !child_out(s)) {
		struct nvme_req *req = nvme_slot_get(qp);
		uint32_t n = s->left < per ? s->left : per;
		struct updk_nvme_cmd cmd;
		int rc;

		if (!req)
			return 0;
		nvme_cmd_fill(&cmd, s->opc, s->ns->nsid, s->lba, n - 1);
		nvme_cmd_md(&cmd, &s->x);
		s->pl.len = n * s->x.xfer_block;
		s->pl.md = s->x.md;
		s->pl.md_len = n * s->x.md_block;
		rc = nvme_io_submit(qp, req, &cmd, &s->pl, NULL, NULL);
		if (rc)
			return rc;
		req->parent = &s->parent;
		req->state = NVME_REQ_CHILD;
		nvme_payload_advance(&s->pl, s->pl.len);
		nvme_io_md_advance(&s->x, n);
		s->lba += n;
		s->left -= n;
		(*queued)++;
	}
	return 0;
}

/*
 * The children of @s not submitted will not be: the parent completes with @status (unless a
 * child failed first) once those outstanding have, or now when there are none (then 1).
 */
static int split_abandon(struct updk_nvme_qpair *qp, struct nvme_split *s, uint8_t sct, uint8_t sc)
{
	struct nvme_req *p = &s->parent;

	p->children -= children_of(s->ns, s->left);
	s->left = 0;
	if (!updk_nvme_cpl_is_error(&p->cpl)) {
		memset(&p->cpl, 0, sizeof(p->cpl));
		p->cpl.sqid = qp->qid;
		p->cpl.status = (uint16_t)(((uint16_t)sct << 9) | ((uint16_t)sc << 1));
	}
	if (p->children == 0) {
		struct updk_nvme_cpl final = p->cpl;
		updk_nvme_cb cb = p->cb;
		void *arg = p->arg;

		split_put(qp, s);
		cb(arg, &final);
		return 1;
	}
	return 0;
}

static void fifo_push(struct updk_nvme_qpair *qp, struct nvme_split *s)
{
	s->next = NULL;
	if (qp->split_tail)
		qp->split_tail->next = s;
	else
		qp->split_head = s;
	qp->split_tail = s;
}

static void fifo_pop(struct updk_nvme_qpair *qp)
{
	qp->split_head = qp->split_head->next;
	if (!qp->split_head)
		qp->split_tail = NULL;
}

/* Undo what a failed first submission queued: nothing reached the controller yet. */
static void rollback(struct updk_nvme_qpair *qp, uint32_t queued)
{
	while (queued--) {
		struct nvme_req *req = &qp->reqs[qp->ops->cancel_last(qp)];

		req->parent = NULL;
		nvme_slot_put(qp, req);
		qp->stats.cmds_submitted--;
	}
}

int nvme_split_submit(struct updk_nvme_qpair *qp, struct updk_nvme_ns *ns, uint8_t opc,
		      const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		      updk_nvme_cb cb, void *arg, const struct nvme_io_md *x)
{
	struct nvme_split *s = qp->split_free;
	uint32_t queued = 0;
	int rc;

	if (ns->zns && opc == UPDK_NVME_OPC_WRITE) {
		rc = nvme_zns_split_check(qp, ns, lba, nlb);
		if (rc)
			return rc;
	}
	if (!s) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	s->iov = iovcnt <= SPLIT_IOV_INLINE ? s->iov_inline : malloc(iovcnt * sizeof(*iov));
	if (!s->iov) {
		nvme_qp_log(qp, "%s: no memory for a copy of %d I/O vector elements",
			    qp->ctrlr->name, iovcnt);
		return -ENOMEM;
	}
	qp->split_free = s->next;
	memcpy(s->iov, iov, iovcnt * sizeof(*iov));
	memset(&s->parent, 0, sizeof(s->parent));
	s->parent.cb = cb;
	s->parent.arg = arg;
	s->parent.opc = opc;
	s->parent.state = NVME_REQ_PARENT;
	if (ns->zns && opc == UPDK_NVME_OPC_WRITE)
		s->parent.flags = NVME_REQF_IN_ORDER;
	s->parent.children = children_of(ns, nlb);
	s->ns = ns;
	s->pl = (struct nvme_payload){ .iov = s->iov, .iovcnt = iovcnt };
	s->lba = lba;
	s->left = nlb;
	s->x = *x;
	s->opc = opc;
	qp->stats.split_ios++;
	/* behind the I/Os already waiting, in order; else as many children as slots now */
	if (!qp->split_head) {
		rc = split_children(qp, s, &queued);
		if (rc) {
			rollback(qp, queued);
			split_put(qp, s);
			qp->stats.split_ios--;
			return rc;
		}
	}
	if (s->left && !child_out(s)) {
		qp->stats.split_waited++;
		fifo_push(qp, s);
	}
	return 0;
}

/* The transport could not describe the next child of @s: logged, the rest fail (Invalid Field). */
static int split_undescribed(struct updk_nvme_qpair *qp, struct nvme_split *s, int rc)
{
	nvme_qp_log(qp,
		    "%s: namespace %u: an I/O at block %llu cannot be described by the transport "
		    "(%d): the rest of it fails with Invalid Field",
		    qp->ctrlr->name, s->ns->nsid, (unsigned long long)s->lba, rc);
	return split_abandon(qp, s, UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_INVALID_FIELD);
}

int nvme_split_next(struct updk_nvme_qpair *qp, struct nvme_req *parent,
		    const struct updk_nvme_cpl *cpl)
{
	struct nvme_split *s = (struct nvme_split *)parent;
	uint32_t queued = 0;
	int rc;

	if (updk_nvme_cpl_is_error(cpl))
		return split_abandon(qp, s, updk_nvme_cpl_sct(cpl), updk_nvme_cpl_sc(cpl));
	/* behind the records waiting for slots, or now if a slot is free */
	if (!qp->split_head) {
		rc = split_children(qp, s, &queued);
		if (rc)
			return split_undescribed(qp, s, rc);
	}
	if (s->left && !child_out(s))
		fifo_push(qp, s); /* no slot free: the next child waits for one, in order */
	return 0;
}

void nvme_split_pump(struct updk_nvme_qpair *qp)
{
	struct nvme_split *s;

	while ((s = qp->split_head)) {
		uint32_t queued = 0;
		int rc = split_children(qp, s, &queued);

		if (rc) {
			/* the transport could not describe this part of the buffer (checked
			 * when it was queued only as far as the first children went) */
			fifo_pop(qp);
			split_undescribed(qp, s, rc);
			continue;
		}
		if (s->left && !child_out(s))
			return; /* no slot left: at the next poll */
		/* all sent, or an in-order I/O whose child is out: it comes back from
		 * nvme_split_next() */
		fifo_pop(qp);
	}
}

void nvme_split_fail_waiting(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc)
{
	while (qp->split_head) {
		struct nvme_split *s = qp->split_head;

		fifo_pop(qp);
		split_abandon(qp, s, sct, sc);
	}
}
