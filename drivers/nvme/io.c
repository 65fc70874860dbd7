/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVM I/O commands (NVM Command Set 1.0 §3: Read 02h, Write 01h, Compare 05h, Flush 00h,
 * Write Zeroes 08h, Dataset Management 09h). The common case, one buffer within the transfer
 * limit, is built straight into the SQ slot with no call but the address translation; I/O over
 * MDTS and vectored I/O go through the general path, which splits at MDTS into children that
 * complete as one and falls back to SGL where PRPs cannot describe the buffers.
 */
#include <errno.h>
#include <string.h>

#include <updk/mem.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "lib/mem/iova_cache.h"

#define RW_FLAGS (UPDK_NVME_IO_FUA | UPDK_NVME_IO_LIMITED_RETRY)

static int io_refused(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp)
{
	if (qp->freed)
		return nvme_qpair_use_after_free(qp, "I/O submission");
	if (qp->ctrlr != ns->ctrlr) {
		log_err("%s: namespace %u used with a qpair of another controller", ns->ctrlr->name,
			ns->nsid);
		return -EINVAL;
	}
	/* Acquire, and failed before io_ctrlr: a reset re-reads the namespaces while failed is
	 * set, so io_ctrlr read after failed cleared is the reset's final word. */
	if (qp->dead || __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE))
		return -ENXIO;
	if (ns->io_ctrlr != qp->ctrlr)
		return -ENODEV;
	/* Usable again: an automatic reset ended between the caller's check and this one (the
	 * namespace was being re-read). Not an error of the namespace: submit again. */
	return -EAGAIN;
}

static int range_error(struct updk_nvme_ns *ns, uint64_t lba, uint32_t nlb)
{
	log_err("%s: namespace %u: blocks %llu + %u are not within its %llu blocks",
		ns->ctrlr->name, ns->nsid, (unsigned long long)lba, nlb,
		(unsigned long long)ns->nsze);
	return -EINVAL;
}

/* ns->io_ctrlr is the controller while the namespace takes I/O, else NULL: one compare says
 * "active, usable, and on this qpair's controller". */
static inline bool io_usable(const struct updk_nvme_ns *ns, const struct updk_nvme_qpair *qp)
{
	/* Acquire, and first: an automatic reset recreates this qpair's rings and re-reads the
	 * namespaces (io_ctrlr) on the admin thread, then clears failed with release; nothing
	 * read after this load can be older than that. */
	bool failed = __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE);

	return !failed & (qp->ctrlr == ns->io_ctrlr) & !qp->dead;
}

/* Write a whole SQE in place, in eight-byte stores; the data pointer is set by the caller. */
static inline void sqe_fill(struct updk_nvme_cmd *sqe, uint8_t opc, uint16_t cid, uint32_t nsid,
			    uint64_t lba, uint32_t cdw12)
{
	uint64_t *qw = (uint64_t *)sqe;

	/* CDW0 = opcode | FUSE 00b | PSDT 00b (PRP) | CID, then NSID */
	qw[0] = (uint64_t)opc | (uint64_t)cid << 16 | (uint64_t)nsid << 32;
	qw[1] = 0; /* CDW2, CDW3 */
	qw[2] = 0; /* MPTR */
	qw[5] = lba; /* CDW10, CDW11: SLBA */
	qw[6] = cdw12; /* CDW12, CDW13 = 0 */
	qw[7] = 0; /* CDW14, CDW15 */
}

/* A free slot's parent is NULL already (put back that way): only a child sets it. */
static inline void req_fill(struct nvme_req *req, updk_nvme_cb cb, void *arg, uint8_t opc)
{
	req->cb = cb;
	req->arg = arg;
	req->opc = opc;
}

/* Cursor over an I/O vector: describe the next @len bytes into the builder. */
struct iov_cursor {
	const struct iovec *iov;
	int iovcnt;
	int i;
	size_t off;
};

static int iov_describe(struct nvme_dptr *d, struct iov_cursor *cur, uint64_t len)
{
	while (len) {
		const uint8_t *p;
		size_t avail, clen;
		uint64_t iova;
		int rc;

		if (cur->i >= cur->iovcnt)
			return -EINVAL;
		avail = cur->iov[cur->i].iov_len - cur->off;
		if (avail == 0) {
			cur->i++;
			cur->off = 0;
			continue;
		}
		p = (const uint8_t *)cur->iov[cur->i].iov_base + cur->off;
		iova = updk_iova_contig(p, &clen);
		if (iova == UPDK_IOVA_INVALID)
			return -EFAULT;
		if (clen > avail)
			clen = avail;
		if (clen > len)
			clen = len;
		rc = nvme_dptr_add(d, iova, clen);
		if (rc)
			return rc;
		cur->off += clen;
		len -= clen;
	}
	return 0;
}

/*
 * Buffer alignment: PRP entries are dword aligned (NVMe Base 2.0 §4.1.1); SGL Data Blocks may
 * start at any byte unless Identify Controller SGLS bits 1:0 are 10b, dword alignment and
 * granularity required (§4.1.2, Figure 275). So only a controller whose SGLs are byte aligned
 * takes an element that starts off a dword, or, before the last, has a length off a dword.
 */
static int check_align(const struct updk_nvme_qpair *qp, const char *what, uint32_t nsid,
		       const struct iovec *iov, int iovcnt)
{
	if (qp->sgl && !qp->sgl_dword)
		return 0;
	for (int k = 0; k < iovcnt; k++) {
		uintptr_t bad = (uintptr_t)iov[k].iov_base;

		if (k + 1 < iovcnt)
			bad |= iov[k].iov_len;
		if (!(bad & 3))
			continue;
		if ((uintptr_t)iov[k].iov_base & 3)
			log_err("%s: %s %u: buffer %p (element %d) is not dword aligned: PRPs need "
				"dword alignment (NVMe Base 2.0 §4.1.1)%s",
				qp->ctrlr->name, what, nsid, iov[k].iov_base, k,
				qp->sgl ? " and so do this controller's SGLs (SGLS 10b)" :
					  ", and SGLs are not in use");
		else
			log_err("%s: %s %u: buffer element %d is %zu bytes, not whole dwords, so "
				"the next one is not dword aligned: PRPs need dword alignment (NVMe "
				"Base 2.0 §4.1.1)%s",
				qp->ctrlr->name, what, nsid, k, iov[k].iov_len,
				qp->sgl ? " and so do this controller's SGLs (SGLS 10b)" :
					  ", and SGLs are not in use");
		return -EINVAL;
	}
	return 0;
}

/* Build one data command's DPTR from the cursor: PRPs, else SGL when the controller has it. */
static int build_dptr(struct updk_nvme_qpair *qp, struct nvme_req *req, struct updk_nvme_cmd *sqe,
		      struct iov_cursor *cur, uint64_t len)
{
	struct iov_cursor start = *cur;
	uint64_t *list = nvme_req_list(qp, req);
	uint64_t list_iova = nvme_req_list_iova(qp, req);
	struct nvme_dptr d;
	int rc;

	nvme_dptr_init(&d, sqe, list, list_iova, qp->list_stride / 8, false);
	rc = iov_describe(&d, cur, len);
	if (rc == -EINVAL && qp->sgl) {
		*cur = start;
		nvme_dptr_init(&d, sqe, list, list_iova, qp->list_stride / 8, true);
		d.sgl_dword = qp->sgl_dword;
		rc = iov_describe(&d, cur, len);
	}
	if (rc)
		return rc;
	nvme_dptr_finish(&d);
	return 0;
}

/* Undo what a failed general submission queued: nothing reached a doorbell yet. */
static void rollback(struct updk_nvme_qpair *qp, uint16_t tail, struct nvme_req *parent)
{
	while (qp->sq_tail != tail) {
		struct nvme_req *req;

		qp->sq_tail = qp->sq_tail ? qp->sq_tail - 1 : qp->qsize - 1;
		req = &qp->reqs[qp->sq[qp->sq_tail].cid];
		req->parent = NULL;
		nvme_req_put(qp, req);
		qp->stats.cmds_submitted--;
	}
	if (parent)
		nvme_req_put(qp, parent);
}

/* The general data path: any iovec, any length, split at the per-command limit. */
static int io_general(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint8_t opc,
		      const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		      updk_nvme_cb cb, void *arg, uint32_t cdw12_flags)
{
	struct iov_cursor cur = { iov, iovcnt, 0, 0 };
	uint32_t per = ns->max_io_sectors;
	uint32_t nchild, need, i;
	uint64_t total = 0;
	struct nvme_req *parent = NULL;
	uint16_t tail;
	int rc;

	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	/* only now: during a reset the admin thread may still be rewinding the rings */
	tail = qp->sq_tail;
	if (nlb == 0 || !cb || iovcnt <= 0 || !iov) {
		log_err("%s: namespace %u: I/O needs blocks (got %u), buffers and a callback",
			ns->ctrlr->name, ns->nsid, nlb);
		return -EINVAL;
	}
	if (lba + nlb > ns->nsze || lba + nlb < lba)
		return range_error(ns, lba, nlb);
	for (int k = 0; k < iovcnt; k++)
		total += iov[k].iov_len;
	if (total != (uint64_t)nlb * ns->xfer_block) {
		log_err("%s: namespace %u: buffers hold %llu bytes, %u blocks need %llu",
			ns->ctrlr->name, ns->nsid, (unsigned long long)total, nlb,
			(unsigned long long)nlb * ns->xfer_block);
		return -EINVAL;
	}
	rc = check_align(qp, "namespace", ns->nsid, iov, iovcnt);
	if (rc)
		return rc;
	nchild = (nlb + per - 1) / per;
	need = nchild + (nchild > 1);
	if (qp->free_top < need) {
		if (need > qp->depth) {
			log_err("%s: an I/O of %u blocks needs %u slots, the qpair has %u",
				ns->ctrlr->name, nlb, need, qp->depth);
			return -EINVAL;
		}
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	if (nchild > 1) {
		parent = nvme_req_get(qp);
		req_fill(parent, cb, arg, opc);
		parent->state = NVME_REQ_PARENT;
		parent->children = nchild;
		memset(&parent->cpl, 0, sizeof(parent->cpl));
		qp->stats.split_ios++;
	}
	for (i = 0; i < nchild; i++) {
		uint32_t n = nlb - i * per < per ? nlb - i * per : per;
		struct nvme_req *req = nvme_req_get(qp);
		struct updk_nvme_cmd *sqe = &qp->sq[qp->sq_tail];

		sqe_fill(sqe, opc, req->cid, ns->nsid, lba + (uint64_t)i * per,
			 (n - 1) | cdw12_flags);
		rc = build_dptr(qp, req, sqe, &cur, (uint64_t)n * ns->xfer_block);
		if (rc) {
			nvme_req_put(qp, req);
			rollback(qp, tail, parent);
			if (rc == -EINVAL)
				log_err("%s: namespace %u: buffer layout not describable by PRPs%s "
					"(dword aligned; interior pages whole)",
					ns->ctrlr->name, ns->nsid, qp->sgl ? " or SGLs" : "");
			else if (rc == -EFAULT)
				log_err("%s: namespace %u: buffer is not DMA memory (updk_dma_alloc "
					"or updk_mem_register it)",
					ns->ctrlr->name, ns->nsid);
			return rc;
		}
		if (parent) {
			req_fill(req, NULL, NULL, opc);
			req->parent = parent;
			nvme_sq_advance(qp, req);
			req->state = NVME_REQ_CHILD;
		} else {
			req_fill(req, cb, arg, opc);
			nvme_sq_advance(qp, req);
		}
	}
	return 0;
}

/*
 * Queue one data command for the IOVA-contiguous run [@iova, @iova + @len) (dword aligned,
 * within the transfer limit) on the free slot @cid, built in place in the SQ slot: PRP1 alone
 * when the run stays in one memory page, PRP2 as the second page when it touches two, else a
 * PRP list (NVMe Base 2.0 §4.1.1), which only a caller passing @lists true may ask for.
 */
static inline __attribute__((always_inline)) void io_post(struct updk_nvme_ns *ns,
							  struct updk_nvme_qpair *qp, uint16_t cid,
							  uint64_t iova, uint32_t len, uint64_t lba,
							  uint32_t nlb, updk_nvme_cb cb, void *arg,
							  uint32_t opc_flags, const bool lists)
{
	struct nvme_req *req = &qp->reqs[cid];
	struct updk_nvme_cmd *sqe = &qp->sq[qp->sq_tail];
	uint8_t opc = (uint8_t)opc_flags;

	sqe_fill(sqe, opc, cid, ns->nsid, lba, (nlb - 1) | (opc_flags & RW_FLAGS));
	sqe->dptr.prp.prp1 = iova;
	if (NVME_LIKELY((iova & NVME_PAGE_MASK) + len <= NVME_PAGE_SIZE)) {
		sqe->dptr.prp.prp2 = 0;
	} else if (!lists || (iova & NVME_PAGE_MASK) + len <= 2 * NVME_PAGE_SIZE) {
		sqe->dptr.prp.prp2 = (iova & ~(uint64_t)NVME_PAGE_MASK) + NVME_PAGE_SIZE;
	} else {
		struct nvme_dptr d;

		/* one IOVA-contiguous run always fits the list sized for the limit */
		nvme_dptr_init(&d, sqe, nvme_req_list(qp, req), nvme_req_list_iova(qp, req),
			       qp->list_stride / 8, false);
		nvme_dptr_add(&d, iova, len);
		nvme_dptr_finish(&d);
	}
	req->cb = cb;
	req->arg = arg;
	/* state OUTSTANDING, no flags, age 0, the opcode: one store (nvme_sq_advance) */
	req->word = NVME_REQ_OUTSTANDING | (uint32_t)opc << 24;
	if (NVME_UNLIKELY(++qp->sq_tail == qp->qsize))
		qp->sq_tail = 0;
	qp->stats.cmds_submitted++;
}

/*
 * Everything the fast path below does not take: a buffer outside the thread's translation
 * cache (looked up here, which refills the cache), not dword aligned or not IOVA contiguous,
 * over the transfer limit, a full qpair, and every error. @opc_flags is the opcode in bits 7:0
 * and the CDW12 flags above. Eight arguments, as the public entries have, so the fast path
 * reaches it with a jump.
 */
static __attribute__((noinline)) int io_rw_slow(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
						void *buf, uint64_t lba, uint32_t nlb,
						updk_nvme_cb cb, void *arg, uint32_t opc_flags)
{
	uint8_t opc = (uint8_t)opc_flags;
	uint32_t cdw12_flags = opc_flags & RW_FLAGS;
	uint32_t len;
	size_t clen = 0;
	uint64_t iova;
	struct nvme_req *req;

	if (nlb - 1 >= ns->max_io_sectors || !io_usable(ns, qp) || !cb) {
		struct iovec iov = { buf, (size_t)nlb * ns->xfer_block };

		return io_general(ns, qp, opc, &iov, 1, lba, nlb, cb, arg, cdw12_flags);
	}
	if (lba + nlb > ns->nsze || lba + nlb < lba)
		return range_error(ns, lba, nlb);
	len = nlb * ns->xfer_block;
	iova = updk_iova_contig(buf, &clen);
	/* clen stays 0 when the buffer is not DMA memory: the general path says so */
	if (clen < len || (iova & 3)) {
		struct iovec iov = { buf, len };

		return io_general(ns, qp, opc, &iov, 1, lba, nlb, cb, arg, cdw12_flags);
	}
	req = nvme_req_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	io_post(ns, qp, req->cid, iova, len, lba, nlb, cb, arg, opc_flags, true);
	return 0;
}

/*
 * The fast path: one buffer, within the transfer limit and two memory pages (no PRP list), in
 * the thread's translation cache, and a free slot. All its checks end in one jump to
 * io_rw_slow(), which makes them again in full, so this function makes no call and needs no
 * stack frame. Inlined into each public entry.
 */
static inline __attribute__((always_inline)) int io_rw(struct updk_nvme_ns *ns,
						       struct updk_nvme_qpair *qp, void *buf,
						       uint64_t lba, uint32_t nlb, updk_nvme_cb cb,
						       void *arg, uint32_t opc_flags)
{
	uint32_t len = nlb * ns->xfer_block;
	/* a miss is UPDK_IOVA_INVALID, all ones: one test for "missed or not dword aligned" */
	uint64_t iova = mem_iova_cached(buf, len);
	uint32_t top;

	/* lba + nlb <= nsze without overflow: nsze - lba does not wrap once lba < nsze */
	if (NVME_UNLIKELY(nlb - 1 >= ns->max_io_sectors || !io_usable(ns, qp) || !cb ||
			  lba >= ns->nsze || nlb > ns->nsze - lba || (iova & 3) ||
			  (iova & NVME_PAGE_MASK) + len > 2 * NVME_PAGE_SIZE))
		return io_rw_slow(ns, qp, buf, lba, nlb, cb, arg, opc_flags);
	/* Read the free stack only after io_usable(): while an automatic reset is under way the
	 * admin thread rebuilds it, and a value read before failed cleared would be stale. */
	top = qp->free_top;
	if (NVME_UNLIKELY(top == 0))
		return io_rw_slow(ns, qp, buf, lba, nlb, cb, arg, opc_flags);
	qp->free_top = (uint16_t)--top;
	io_post(ns, qp, qp->free_stack[top], iova, len, lba, nlb, cb, arg, opc_flags, false);
	return 0;
}

int updk_nvme_ns_read(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_rw(ns, qp, buf, lba, nlb, cb, arg, UPDK_NVME_OPC_READ | (io_flags & RW_FLAGS));
}

int updk_nvme_ns_write(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
		       uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_rw(ns, qp, (void *)buf, lba, nlb, cb, arg,
		     UPDK_NVME_OPC_WRITE | (io_flags & RW_FLAGS));
}

int updk_nvme_ns_readv(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const struct iovec *iov,
		       int iovcnt, uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg,
		       uint32_t io_flags)
{
	return io_general(ns, qp, UPDK_NVME_OPC_READ, iov, iovcnt, lba, nlb, cb, arg,
			  io_flags & RW_FLAGS);
}

int updk_nvme_ns_writev(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_general(ns, qp, UPDK_NVME_OPC_WRITE, iov, iovcnt, lba, nlb, cb, arg,
			  io_flags & RW_FLAGS);
}

static int unsupported(struct updk_nvme_ns *ns, const char *what)
{
	log_err("%s: the controller does not support %s (ONCS 0x%x)", ns->ctrlr->name, what,
		ns->ctrlr->id.oncs);
	return -ENOTSUP;
}

int updk_nvme_ns_compare(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			 uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	if (!(ns->ctrlr->id.oncs & NVME_ONCS_COMPARE))
		return unsupported(ns, "Compare");
	return io_rw(ns, qp, (void *)buf, lba, nlb, cb, arg,
		     UPDK_NVME_OPC_COMPARE | (io_flags & RW_FLAGS));
}

/* A command without data, on one slot. */
static int io_nodata(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint8_t opc, uint64_t lba,
		     uint32_t cdw12, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd *sqe;
	struct nvme_req *req;

	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	if (!cb)
		return -EINVAL;
	req = nvme_req_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	sqe = &qp->sq[qp->sq_tail];
	sqe_fill(sqe, opc, req->cid, ns->nsid, lba, cdw12);
	sqe->dptr.prp.prp1 = 0;
	sqe->dptr.prp.prp2 = 0;
	if (opc == UPDK_NVME_OPC_FLUSH)
		sqe->cdw10 = sqe->cdw11 = 0;
	req_fill(req, cb, arg, opc);
	nvme_sq_advance(qp, req);
	return 0;
}

int updk_nvme_ns_flush(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, updk_nvme_cb cb,
		       void *arg)
{
	return io_nodata(ns, qp, UPDK_NVME_OPC_FLUSH, 0, 0, cb, arg);
}

int updk_nvme_ns_write_zeroes(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba,
			      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	if (!(ns->ctrlr->id.oncs & NVME_ONCS_WRITE_ZEROES))
		return unsupported(ns, "Write Zeroes");
	/* NLB is 16 bits, 0's based: no MDTS applies (no data), but 65536 blocks at most */
	if (nlb == 0 || nlb > 65536) {
		log_err("%s: write zeroes of %u blocks: 1..65536 per command", ns->ctrlr->name,
			nlb);
		return -EINVAL;
	}
	if (lba + nlb > ns->nsze || lba + nlb < lba)
		return range_error(ns, lba, nlb);
	return io_nodata(ns, qp, UPDK_NVME_OPC_WRITE_ZEROES, lba,
			 (nlb - 1) | (io_flags & (RW_FLAGS | UPDK_NVME_IO_DEAC)), cb, arg);
}

int updk_nvme_ns_deallocate(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			    const struct updk_nvme_dsm_range *ranges, uint16_t n, updk_nvme_cb cb,
			    void *arg)
{
	size_t bytes = (size_t)n * sizeof(*ranges);
	struct updk_nvme_cmd *sqe;
	struct nvme_req *req;
	uint64_t list_iova;

	if (!(ns->ctrlr->id.oncs & NVME_ONCS_DSM))
		return unsupported(ns, "Dataset Management");
	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	if (!ranges || !cb || n == 0 || n > 256 || bytes > qp->list_stride ||
	    bytes > NVME_PAGE_SIZE) {
		log_err("%s: deallocate: 1..%zu ranges and a callback (got %u)", ns->ctrlr->name,
			(size_t)(qp->list_stride < NVME_PAGE_SIZE ? qp->list_stride :
								    NVME_PAGE_SIZE) /
				sizeof(*ranges),
			n);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < n; i++)
		if (ranges[i].slba + ranges[i].nlb > ns->nsze ||
		    ranges[i].slba + ranges[i].nlb < ranges[i].slba)
			return range_error(ns, ranges[i].slba, ranges[i].nlb);
	req = nvme_req_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	/* The ranges travel in the slot's own DMA area: the caller's memory may be anywhere. */
	memcpy(nvme_req_list(qp, req), ranges, bytes);
	sqe = &qp->sq[qp->sq_tail];
	sqe_fill(sqe, UPDK_NVME_OPC_DATASET_MANAGEMENT, req->cid, ns->nsid, 0, 0);
	sqe->cdw10 = n - 1u; /* NR, 0's based (NVM Command Set 1.0 §3.2.3) */
	sqe->cdw11 = 1u << 2; /* AD: deallocate */
	list_iova = nvme_req_list_iova(qp, req);
	sqe->dptr.prp.prp1 = list_iova;
	if ((list_iova & NVME_PAGE_MASK) + bytes > NVME_PAGE_SIZE)
		sqe->dptr.prp.prp2 = (list_iova & ~(uint64_t)NVME_PAGE_MASK) + NVME_PAGE_SIZE;
	else
		sqe->dptr.prp.prp2 = 0;
	req_fill(req, cb, arg, UPDK_NVME_OPC_DATASET_MANAGEMENT);
	nvme_sq_advance(qp, req);
	return 0;
}

int updk_nvme_io_raw(struct updk_nvme_qpair *qp, const struct updk_nvme_cmd *cmd, void *buf,
		     uint32_t len, updk_nvme_cb cb, void *arg)
{
	struct updk_nvme_cmd *sqe;
	struct nvme_req *req;
	int rc;

	if (!qp || !cmd || !cb || (len && !buf))
		return -EINVAL;
	if (qp->freed)
		return nvme_qpair_use_after_free(qp, "updk_nvme_io_raw");
	if (qp->dead || __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE))
		return -ENXIO;
	if (len > qp->ctrlr->max_xfer) {
		log_err("%s: raw I/O of %u bytes is above the transfer limit %u", qp->ctrlr->name,
			len, qp->ctrlr->max_xfer);
		return -EINVAL;
	}
	if (len) {
		struct iovec iov = { buf, len };

		rc = check_align(qp, "raw I/O on queue", qp->qid, &iov, 1);
		if (rc)
			return rc;
	}
	req = nvme_req_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	sqe = &qp->sq[qp->sq_tail];
	*sqe = *cmd;
	sqe->cid = req->cid;
	sqe->flags &= 0x3f;
	memset(&sqe->dptr, 0, sizeof(sqe->dptr));
	if (len) {
		struct iovec iov = { buf, len };
		struct iov_cursor cur = { &iov, 1, 0, 0 };

		rc = build_dptr(qp, req, sqe, &cur, len);
		if (rc) {
			nvme_req_put(qp, req);
			return rc;
		}
	}
	req_fill(req, cb, arg, cmd->opc);
	nvme_sq_advance(qp, req);
	return 0;
}
