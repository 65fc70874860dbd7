/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVM I/O commands (NVM Command Set 1.0 §3: Read 02h, Write 01h, Compare 05h, Flush 00h,
 * Write Zeroes 08h, Dataset Management 09h), transport-independent: each call validates its
 * arguments, splits at the per-command limit (MDTS) into children that complete as one, fills
 * the commands and hands each to the qpair's transport with its data (struct nvme_payload).
 * On the PCIe transport the common case, one buffer within the limit and two memory pages, is
 * the transport's fast path inlined here (pcie/pcie_fast.h): no call but the address
 * translation.
 */
#include <errno.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/pcie/pcie_fast.h"
#include "drivers/nvme/transport.h"

#define RW_FLAGS (UPDK_NVME_IO_FUA | UPDK_NVME_IO_LIMITED_RETRY)
#define PI_FLAGS (UPDK_NVME_IO_PRACT | UPDK_NVME_IO_PRCHK_ALL)
#define RWPI_FLAGS (RW_FLAGS | PI_FLAGS)

static int io_refused(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp)
{
	if (qp->freed)
		return nvme_qpair_use_after_free(qp, "I/O submission");
	if (qp->ctrlr != ns->ctrlr) {
		nvme_qp_log(qp, "%s: namespace %u used with a qpair of another controller",
			    ns->ctrlr->name, ns->nsid);
		return -EINVAL;
	}
	/* Acquire, and failed before io_ctrlr: a reset re-reads the namespaces while failed is
	 * set, so io_ctrlr read after failed cleared is the reset's final word. */
	if (qp->dead || __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE))
		return -ENXIO;
	if (ns->ext_ctrlr != qp->ctrlr)
		return -ENODEV;
	/* Usable again: an automatic reset ended between the caller's check and this one (the
	 * namespace was being re-read). Not an error of the namespace: submit again. */
	return -EAGAIN;
}

static int range_error(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba,
		       uint32_t nlb)
{
	nvme_qp_log(qp, "%s: namespace %u: blocks %llu + %u are not within its %llu blocks",
		    ns->ctrlr->name, ns->nsid, (unsigned long long)lba, nlb,
		    (unsigned long long)ns->nsze);
	return -EINVAL;
}

/*
 * ns->ext_ctrlr is the controller while the namespace takes I/O, else NULL: one compare says
 * "active, usable, and on this qpair's controller"; ns->io_ctrlr the same, but NULL also for a
 * namespace whose I/O needs a separate metadata buffer, which the fast path does not carry.
 * Acquire, and first: an automatic reset recreates this qpair's rings and re-reads the
 * namespaces on the admin thread, then clears failed with release; nothing read after this
 * load can be older than that.
 */
NVME_INLINE bool io_usable(const struct updk_nvme_ns *ns, const struct updk_nvme_qpair *qp)
{
	bool failed = __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE);

	return !failed & (qp->ctrlr == ns->ext_ctrlr) & !qp->dead;
}

/* As io_usable(), and the qpair takes the inlined PCIe fast path (which implies alive): its
 * fast_ctrlr is the controller then, else a stand-in whose failed flag is set. Two branches,
 * each taken never on the I/O path. */
NVME_INLINE bool io_fast_usable(const struct updk_nvme_ns *ns, const struct updk_nvme_qpair *qp)
{
	const struct updk_nvme_ctrlr *c = qp->fast_ctrlr;

	return !__atomic_load_n(&c->failed, __ATOMIC_ACQUIRE) && c == ns->io_ctrlr;
}

void nvme_cmd_fill(struct updk_nvme_cmd *cmd, uint8_t opc, uint32_t nsid, uint64_t lba,
		   uint32_t cdw12)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opc = opc;
	cmd->nsid = nsid;
	cmd->cdw10 = (uint32_t)lba;
	cmd->cdw11 = (uint32_t)(lba >> 32);
	cmd->cdw12 = cdw12;
}

void nvme_payload_advance(struct nvme_payload *pl, uint64_t len)
{
	while (len) {
		size_t avail = pl->iov[pl->iov_idx].iov_len - pl->iov_off;

		if (avail > len) {
			pl->iov_off += len;
			return;
		}
		len -= avail;
		pl->iov_idx++;
		pl->iov_off = 0;
	}
}

int nvme_io_submit(struct updk_nvme_qpair *qp, struct nvme_req *req,
		   const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl, updk_nvme_cb cb,
		   void *arg)
{
	int rc = qp->ops->submit(qp, req, cmd, pl);

	if (rc) {
		nvme_slot_put(qp, req);
		return rc;
	}
	nvme_req_start(qp, req, cb, arg, cmd->opc);
	return 0;
}

/*
 * The general data path: any iovec, any length, split at the per-command limit; metadata and
 * protection information from @io_flags, or from @opts (the _ext calls) when not NULL.
 */
static int io_general(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint8_t opc,
		      const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
		      updk_nvme_cb cb, void *arg, uint32_t io_flags,
		      const struct updk_nvme_io_opts *opts)
{
	struct nvme_payload pl = { .iov = iov, .iovcnt = iovcnt };
	uint32_t per = ns->max_io_sectors, nchild;
	uint64_t total = 0;
	struct updk_nvme_cmd cmd;
	struct nvme_io_md x;
	struct nvme_req *req;
	int rc;

	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	if (nlb == 0 || !cb || iovcnt <= 0 || !iov) {
		nvme_qp_log(qp,
			    "%s: namespace %u: I/O needs blocks (got %u), buffers and a callback",
			    ns->ctrlr->name, ns->nsid, nlb);
		return -EINVAL;
	}
	if (lba + nlb > ns->nsze || lba + nlb < lba)
		return range_error(ns, qp, lba, nlb);
	rc = nvme_io_md_prep(ns, qp, lba, nlb, io_flags, opts, &x);
	if (rc)
		return rc;
	for (int k = 0; k < iovcnt; k++)
		total += iov[k].iov_len;
	if (total != (uint64_t)nlb * x.xfer_block) {
		nvme_qp_log(qp, "%s: namespace %u: buffers hold %llu bytes, %u blocks need %llu",
			    ns->ctrlr->name, ns->nsid, (unsigned long long)total, nlb,
			    (unsigned long long)nlb * x.xfer_block);
		return -EINVAL;
	}
	if (qp->ops->check_payload) {
		rc = qp->ops->check_payload(qp, iov, iovcnt, "namespace", ns->nsid);
		if (rc)
			return rc;
	}
	nchild = (nlb + per - 1) / per;
	if (nchild > 1)
		return nvme_split_submit(qp, ns, opc, iov, iovcnt, lba, nlb, cb, arg, &x);
	/* only now: during a reset the admin thread may still be rebuilding the free slots */
	req = nvme_slot_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	nvme_cmd_fill(&cmd, opc, ns->nsid, lba, nlb - 1);
	nvme_cmd_md(&cmd, &x);
	pl.len = nlb * x.xfer_block;
	pl.md = x.md;
	pl.md_len = nlb * x.md_block;
	return nvme_io_submit(qp, req, &cmd, &pl, cb, arg);
}

/*
 * The fast path: one buffer within the transfer limit, on the PCIe transport, described by
 * PRP1 and PRP2 at @iova, no PRINFO, and a free slot. Returns 0 once queued, 1 when it does
 * not take the I/O (and then has changed nothing). @io_flags are the caller's: FUA and LR go
 * into CDW12 as they are (their bits are CDW12's); with any other bit (the PI flags, or bits
 * the call does not take, which io_rw_slow() masks) the fast path does not take the I/O.
 */
NVME_INLINE int io_rw_try(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t iova,
			  uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint8_t opc,
			  uint32_t io_flags)
{
	uint32_t len = nlb * ns->xfer_block;
	struct nvme_req *req;

	/* lba + nlb <= nsze without overflow: nsze - nlb does not wrap once nlb <= fast_max_nlb */
	if (NVME_UNLIKELY(nlb - 1 >= ns->fast_max_nlb || (io_flags & ~RW_FLAGS) ||
			  !io_fast_usable(ns, qp) || !cb || lba > ns->nsze - nlb ||
			  !pcie_fast_fits(iova, len)))
		return 1;
	/* Take a slot only after io_fast_usable(): while an automatic reset is under way the
	 * admin thread rebuilds the free list, and a value read before failed cleared would be
	 * stale. */
	req = nvme_slot_get(qp);
	if (NVME_UNLIKELY(!req))
		return 1;
	pcie_fast_post(qp, ns->sqe_nsid | req->cdw0_cid | opc, lba, (nlb - 1) | io_flags, iova,
		       len);
	nvme_req_start(qp, req, cb, arg, opc);
	return 0;
}

/*
 * What the fast path did not take: first a buffer outside the thread's translation cache,
 * looked up in full (which refills the cache) and tried again; then the general path, which
 * makes every check in full and reports every error.
 */
static int io_rw_slow(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags, uint8_t opc)
{
	uint32_t flags = io_flags & RWPI_FLAGS;
	struct iovec iov = { buf, (size_t)nlb * updk_nvme_ns_io_block_size(ns, flags) };

	if (!(flags & PI_FLAGS) && qp->inline_pcie && nlb - 1 < ns->max_io_sectors &&
	    io_rw_try(ns, qp, pcie_lookup_iova(buf, (uint32_t)iov.iov_len), lba, nlb, cb, arg, opc,
		      flags) == 0)
		return 0;
	return io_general(ns, qp, opc, &iov, 1, lba, nlb, cb, arg, flags, NULL);
}

/* io_rw_slow() for each opcode: the public entry's eight arguments as they came, so the fast
 * path reaches it with a jump and keeps nothing for it but those. */
typedef int (*io_slow_fn)(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf,
			  uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg,
			  uint32_t io_flags);
#define IO_SLOW(name, opc)                                                                    \
	static __attribute__((noinline)) int name(                                            \
		struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba, \
		uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)                  \
	{                                                                                     \
		return io_rw_slow(ns, qp, buf, lba, nlb, cb, arg, io_flags, opc);             \
	}
IO_SLOW(io_read_slow, UPDK_NVME_OPC_READ)
IO_SLOW(io_write_slow, UPDK_NVME_OPC_WRITE)
IO_SLOW(io_compare_slow, UPDK_NVME_OPC_COMPARE)

/*
 * The one-buffer read, write and compare: the fast path with the translation cache's IOVA,
 * its checks ending in one jump to @slow, so it makes no call and needs no stack frame.
 * Inlined into each public entry.
 */
NVME_INLINE int io_rw(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags, uint8_t opc,
		      io_slow_fn slow)
{
	uint64_t iova = pcie_fast_iova(buf, nlb * ns->xfer_block);

	if (NVME_LIKELY(io_rw_try(ns, qp, iova, lba, nlb, cb, arg, opc, io_flags) == 0))
		return 0;
	return slow(ns, qp, buf, lba, nlb, cb, arg, io_flags);
}

int updk_nvme_ns_read(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_rw(ns, qp, buf, lba, nlb, cb, arg, io_flags, UPDK_NVME_OPC_READ, io_read_slow);
}

int updk_nvme_ns_write(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
		       uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_rw(ns, qp, (void *)buf, lba, nlb, cb, arg, io_flags, UPDK_NVME_OPC_WRITE,
		     io_write_slow);
}

int updk_nvme_ns_readv(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const struct iovec *iov,
		       int iovcnt, uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg,
		       uint32_t io_flags)
{
	return io_general(ns, qp, UPDK_NVME_OPC_READ, iov, iovcnt, lba, nlb, cb, arg, io_flags,
			  NULL);
}

int updk_nvme_ns_writev(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	return io_general(ns, qp, UPDK_NVME_OPC_WRITE, iov, iovcnt, lba, nlb, cb, arg, io_flags,
			  NULL);
}

static int unsupported(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const char *what)
{
	nvme_qp_log(qp, "%s: the controller does not support %s (ONCS 0x%x)", ns->ctrlr->name, what,
		    ns->ctrlr->id.oncs);
	return -ENOTSUP;
}

int updk_nvme_ns_compare(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			 uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	if (!(ns->ctrlr->id.oncs & NVME_ONCS_COMPARE))
		return unsupported(ns, qp, "Compare");
	return io_rw(ns, qp, (void *)buf, lba, nlb, cb, arg, io_flags, UPDK_NVME_OPC_COMPARE,
		     io_compare_slow);
}

static int io_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint8_t opc,
		  const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb, updk_nvme_cb cb,
		  void *arg, const struct updk_nvme_io_opts *opts)
{
	static const struct updk_nvme_io_opts none = { .opts_size = sizeof(none) };

	return io_general(ns, qp, opc, iov, iovcnt, lba, nlb, cb, arg, 0, opts ? opts : &none);
}

int updk_nvme_ns_read_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			  const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			  updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts)
{
	return io_ext(ns, qp, UPDK_NVME_OPC_READ, iov, iovcnt, lba, nlb, cb, arg, opts);
}

int updk_nvme_ns_write_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			   const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			   updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts)
{
	return io_ext(ns, qp, UPDK_NVME_OPC_WRITE, iov, iovcnt, lba, nlb, cb, arg, opts);
}

int updk_nvme_ns_compare_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			     const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			     updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts)
{
	if (!(ns->ctrlr->id.oncs & NVME_ONCS_COMPARE))
		return unsupported(ns, qp, "Compare");
	return io_ext(ns, qp, UPDK_NVME_OPC_COMPARE, iov, iovcnt, lba, nlb, cb, arg, opts);
}

int nvme_io_one(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
		const struct updk_nvme_cmd *cmd, const struct nvme_payload *pl, updk_nvme_cb cb,
		void *arg)
{
	struct nvme_req *req;
	int rc;

	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	if (!cb)
		return -EINVAL;
	if (pl->len && !(pl->flags & NVME_PAYLOAD_COPY) && qp->ops->check_payload) {
		rc = qp->ops->check_payload(qp, pl->iov, pl->iovcnt, "namespace", ns->nsid);
		if (rc)
			return rc;
	}
	req = nvme_slot_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	return nvme_io_submit(qp, req, cmd, pl, cb, arg);
}

int updk_nvme_ns_flush(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, updk_nvme_cb cb,
		       void *arg)
{
	struct nvme_payload none = { 0 };
	struct updk_nvme_cmd cmd;

	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_FLUSH, ns->nsid, 0, 0);
	return nvme_io_one(ns, qp, &cmd, &none, cb, arg);
}

int updk_nvme_ns_write_zeroes(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba,
			      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags)
{
	struct nvme_payload none = { 0 };
	struct updk_nvme_cmd cmd;

	if (!(ns->ctrlr->id.oncs & NVME_ONCS_WRITE_ZEROES))
		return unsupported(ns, qp, "Write Zeroes");
	/* NLB is 16 bits, 0's based: no MDTS applies (no data), but 65536 blocks at most */
	if (nlb == 0 || nlb > 65536) {
		nvme_qp_log(qp, "%s: write zeroes of %u blocks: 1..65536 per command",
			    ns->ctrlr->name, nlb);
		return -EINVAL;
	}
	if (lba + nlb > ns->nsze || lba + nlb < lba)
		return range_error(ns, qp, lba, nlb);
	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_WRITE_ZEROES, ns->nsid, lba,
		      (nlb - 1) | (io_flags & (RW_FLAGS | UPDK_NVME_IO_DEAC)));
	return nvme_io_one(ns, qp, &cmd, &none, cb, arg);
}

int updk_nvme_ns_deallocate(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			    const struct updk_nvme_dsm_range *ranges, uint16_t n, updk_nvme_cb cb,
			    void *arg)
{
	size_t bytes = (size_t)n * sizeof(*ranges);
	/* The ranges travel by copy: the caller's memory may be anywhere. */
	struct iovec iov = { (void *)ranges, bytes };
	struct nvme_payload pl = {
		.iov = &iov, .iovcnt = 1, .len = (uint32_t)bytes, .flags = NVME_PAYLOAD_COPY
	};
	struct updk_nvme_cmd cmd;

	if (!(ns->ctrlr->id.oncs & NVME_ONCS_DSM))
		return unsupported(ns, qp, "Dataset Management");
	if (!io_usable(ns, qp))
		return io_refused(ns, qp);
	if (!ranges || !cb || n == 0 || n > 256 || bytes > qp->copy_max) {
		nvme_qp_log(qp, "%s: deallocate: 1..%zu ranges and a callback (got %u)",
			    ns->ctrlr->name, (size_t)qp->copy_max / sizeof(*ranges), n);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < n; i++)
		if (ranges[i].slba + ranges[i].nlb > ns->nsze ||
		    ranges[i].slba + ranges[i].nlb < ranges[i].slba)
			return range_error(ns, qp, ranges[i].slba, ranges[i].nlb);
	nvme_cmd_fill(&cmd, UPDK_NVME_OPC_DATASET_MANAGEMENT, ns->nsid, 0, 0);
	cmd.cdw10 = n - 1u; /* NR, 0's based (NVM Command Set 1.0 §3.2.3) */
	cmd.cdw11 = 1u << 2; /* AD: deallocate */
	return nvme_io_one(ns, qp, &cmd, &pl, cb, arg);
}

int updk_nvme_io_raw(struct updk_nvme_qpair *qp, const struct updk_nvme_cmd *cmd, void *buf,
		     uint32_t len, updk_nvme_cb cb, void *arg)
{
	struct iovec iov = { buf, len };
	struct nvme_payload pl = { .iov = &iov, .iovcnt = 1, .len = len };
	struct updk_nvme_cmd copy;
	struct nvme_req *req;
	int rc;

	if (!qp || !cmd || !cb || (len && !buf))
		return -EINVAL;
	if (qp->freed)
		return nvme_qpair_use_after_free(qp, "updk_nvme_io_raw");
	if (qp->dead || __atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE))
		return -ENXIO;
	if (len > qp->ctrlr->max_xfer) {
		nvme_qp_log(qp, "%s: raw I/O of %u bytes is above the transfer limit %u",
			    qp->ctrlr->name, len, qp->ctrlr->max_xfer);
		return -EINVAL;
	}
	if (len && qp->ops->check_payload) {
		rc = qp->ops->check_payload(qp, &iov, 1, "raw I/O on queue", qp->qid);
		if (rc)
			return rc;
	}
	req = nvme_slot_get(qp);
	if (!req) {
		qp->stats.queue_full++;
		return -EAGAIN;
	}
	copy = *cmd;
	copy.flags &= 0x3f; /* FUSE as given; PSDT is the transport's */
	memset(&copy.dptr, 0, sizeof(copy.dptr));
	return nvme_io_submit(qp, req, &copy, &pl, cb, arg);
}
