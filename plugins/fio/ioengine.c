// SPDX-License-Identifier: BSD-3-Clause
/*
 * fio_updk.so: an fio ioengine on updk's NVMe driver (docs/fio.md).
 *
 *   fio --thread --ioengine=external:build/lib/fio_updk.so --filename='trtype=PCIe traddr=0000.01.00.0 ns=1' ...
 *
 * The hooks fio calls, in the order a job thread meets them:
 * - setup (fio's main thread, or the job's with create_serialize=0): parse each file name, take
 *   a reference to its controller (opened by the first job that names it) and its namespace,
 *   and tell fio the namespace's size;
 * - init, iomem_alloc: the thread's state; fio's I/O buffers from updk's DMA memory, so the
 *   driver takes them as they are (no copy);
 * - open_file: a qpair of the job's own on the file's controller (one per controller per job);
 * - queue: the command goes into the submission queue, no doorbell; commit: the batch's issue
 *   time, and the SQ doorbell for a job that may sleep first or once commit_ring= commands
 *   wait (else the next getevents' poll writes it, once for everything committed since);
 *   getevents: poll the qpairs until enough completions arrived (with
 *   interrupt_mode=1, sleep on their interrupt vectors when a pass finds none); event: hand
 *   them to fio one by one;
 * - close_file, iomem_free, cleanup: the qpair, the buffers and the reference go back; the
 *   last reference closes the controller (ctrlrs.c).
 *
 * A job thread is online for updk's memory (QSBR, include/updk/mem.h) from its first queue or
 * getevents on, and reports quiescent states as it polls (the driver does, every 32 polls). A
 * job that sleeps between I/Os (thinktime, rate limits, flow, verify_async) goes offline at the
 * end of every getevents instead: asleep and online, it would hold up other threads' grace
 * periods (updk_dma_free() and qpair frees of jobs that end) for as long as it sleeps. Not every
 * job does so, because going offline empties the thread's translation cache, and the next
 * submission then takes the driver's slow path (about 200 instructions per I/O at QD 32).
 */
#include <limits.h>
#include <poll.h>

#include "fio.h"
#include "optgroup.h"

#include <updk/log.h>
#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/tsc.h>

#include "plugins/fio/engine.h"

/* Errors of one job logged in full; after that, only counted by fio. */
#define FU_LOGGED_ERRORS 10

/* Engine options (docs/fio.md): fio fills them from the job file or command line. */
struct fu_options {
	void *pad; /* fio keeps the job's thread_data here */
	unsigned int shadow_doorbell;
	unsigned int qpair_depth;
	unsigned int interrupt_mode;
	unsigned int commit_ring;
};

/* One of the job's files: a namespace, and the qpair it is reached through while open. */
struct fu_file {
	struct fu_ctrlr *c; /* a reference, from setup to cleanup */
	struct updk_nvme_ns *ns;
	unsigned int lba_shift; /* log2 of the sector size */
	struct fu_qpair *q;
};

/* A qpair of the job on one controller, for all its open files there. */
struct fu_qpair {
	struct fu_ctrlr *c;
	struct updk_nvme_qpair *qp;
	unsigned int files;
	int fd; /* its interrupt vector's eventfd (interrupt_mode=1), else -1 */
	/* Commands queued since the engine last rang or polled this qpair, and how many make
	 * commit() ring (commit_ring=; UINT_MAX: never, the poll does). */
	unsigned int unrung, ring_at;
};

/* One job thread (td->io_ops_data). */
struct fu_thread {
	struct fu_qpair *qps; /* one per controller the job opened files on */
	unsigned int nqps, cap_qps;
	/* Completed by callbacks, in order, in done[head..ndone): fio has not taken them yet, but
	 * the first nreturned went to fio with the last getevents() (a callback may also run
	 * outside it, in queue()). A fixed array of iodepth, allocated once. */
	struct io_u **done;
	unsigned int head, ndone, nreturned, cap_done;
	unsigned int passes; /* of fu_poll(), for its clock reads */
	struct io_u **queued; /* queued since the last commit(), for their issue time */
	unsigned int nqueued;
	unsigned int errors;
	bool online;
	bool sleeps; /* the job may sleep between getevents and queue */
	bool intr; /* interrupt_mode=1: getevents sleeps while the qpairs are idle */
	struct pollfd *pfds; /* one per qpair, for that sleep */
	uint64_t naps, irq_wakes; /* sleeps in getevents, and those an interrupt ended */
};

struct ioengine_ops ioengine;

/*
 * fio's structures as these headers lay them out must be the binary's: a layout from headers of
 * another fio puts io_ops elsewhere in thread_data, and it would not point at this engine.
 */
static bool fu_abi_ok(struct thread_data *td)
{
	if (td->io_ops == &ioengine)
		return true;
	log_err("fio_updk: built against the headers of %s, whose structures are not this fio's: "
		"rebuild the engine for the fio you run (./configure --with-fio; make)\n",
		FU_FIO_VERSION);
	return false;
}

static struct fu_thread *fu_thread_get(struct thread_data *td)
{
	struct fu_thread *t = td->io_ops_data;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cap_qps = td->o.nr_files ? td->o.nr_files : 1;
	t->cap_done = td->o.iodepth ? td->o.iodepth : 1;
	t->qps = calloc(t->cap_qps, sizeof(*t->qps));
	t->done = calloc(t->cap_done, sizeof(*t->done));
	t->queued = calloc(t->cap_done, sizeof(*t->queued));
	t->pfds = calloc(t->cap_qps, sizeof(*t->pfds));
	if (!t->qps || !t->done || !t->queued || !t->pfds) {
		free(t->qps);
		free(t->done);
		free(t->queued);
		free(t->pfds);
		free(t);
		return NULL;
	}
	t->intr = ((const struct fu_options *)td->eo)->interrupt_mode;
	t->sleeps = td->o.thinktime || td->o.flow || td->o.verify_async;
	for (int d = 0; d < DDIR_RWDIR_CNT; d++)
		t->sleeps |= td->o.rate[d] || td->o.rate_iops[d];
	td->io_ops_data = t;
	return t;
}

static inline void fu_online(struct fu_thread *t)
{
	if (!t->online) {
		updk_mem_thread_online();
		t->online = true;
	}
}

static inline void fu_offline(struct fu_thread *t)
{
	updk_mem_thread_offline();
	t->online = false;
}

/* td_verror() with the engine's own line first: fio then prints its usual error. */
static int fu_fail(struct thread_data *td, int err, const char *func, const char *why)
{
	log_err("fio_updk: %s: %s\n", td->o.name, why);
	td_verror(td, err, func);
	return 1;
}

/* Every block size of the job a whole number of the namespace's sectors. */
static int fu_check_bs(struct thread_data *td, struct fio_file *f, uint32_t ss)
{
	char why[1024];

	for (int d = DDIR_READ; d <= DDIR_TRIM; d++) {
		if (td->o.min_bs[d] % ss == 0 && td->o.max_bs[d] % ss == 0)
			continue;
		snprintf(why, sizeof(why),
			 "'%s': %s block size %llu..%llu is not a multiple of its %u-byte sectors",
			 f->file_name, io_ddir_name(d), (unsigned long long)td->o.min_bs[d],
			 (unsigned long long)td->o.max_bs[d], ss);
		return fu_fail(td, EINVAL, "bs", why);
	}
	return 0;
}

/* The job's files, as fio's own for_each_file macro walks them (in a function clang-format lays
 * out). */
static struct fio_file *fu_file_at(struct thread_data *td, unsigned int i)
{
	return td->files_index && i < td->o.nr_files ? td->files[i] : NULL;
}

static void fu_release_files(struct thread_data *td)
{
	struct fio_file *f;

	for (unsigned int i = 0; (f = fu_file_at(td, i)); i++) {
		struct fu_file *ff = FILE_ENG_DATA(f);

		if (!ff)
			continue;
		fu_ctrlr_put(ff->c);
		free(ff);
		FILE_SET_ENG_DATA(f, NULL);
	}
}

static int fu_setup_file(struct thread_data *td, struct fio_file *f)
{
	const struct fu_options *o = td->eo;
	struct fu_ctrlr_opts copts = { .shadow_doorbell = o->shadow_doorbell,
				       .interrupts = o->interrupt_mode };
	struct fu_target tg;
	struct fu_ctrlr *c;
	struct updk_nvme_ns *ns;
	struct fu_file *ff;
	char why[768];
	uint32_t nsid;
	int rc;

	if (fu_parse_filename(f->file_name, &tg, why, sizeof(why)))
		return fu_fail(td, EINVAL, "filename", why);
	rc = fu_ctrlr_get(tg.addr, &copts, &c, why, sizeof(why));
	if (rc)
		return fu_fail(td, -rc, "updk_nvme_ctrlr_open", why);
	nsid = tg.nsid ? tg.nsid : updk_nvme_ctrlr_first_active_ns(c->ctrlr);
	ns = nsid ? updk_nvme_ns_get(c->ctrlr, nsid) : NULL;
	if (!ns) {
		snprintf(why, sizeof(why),
			 "'%s': %s has no active namespace %u (first active: %u, largest id %u)",
			 f->file_name, tg.addr, nsid, updk_nvme_ctrlr_first_active_ns(c->ctrlr),
			 updk_nvme_ctrlr_num_ns(c->ctrlr));
		fu_ctrlr_put(c);
		return fu_fail(td, ENODEV, "updk_nvme_ns_get", why);
	}
	if (fu_check_bs(td, f, updk_nvme_ns_sector_size(ns))) {
		fu_ctrlr_put(c);
		return 1;
	}
	ff = calloc(1, sizeof(*ff));
	if (!ff) {
		fu_ctrlr_put(c);
		return fu_fail(td, ENOMEM, "setup", "no memory");
	}
	ff->c = c;
	ff->ns = ns;
	ff->lba_shift = (unsigned int)__builtin_ctz(updk_nvme_ns_sector_size(ns));
	FILE_SET_ENG_DATA(f, ff);
	f->filetype = FIO_TYPE_BLOCK;
	f->real_file_size = updk_nvme_ns_size(ns);
	fio_file_set_size_known(f);
	return 0;
}

static int fu_setup(struct thread_data *td)
{
	struct fio_file *f;
	int rc = 0;

	if (!fu_abi_ok(td))
		return 1;
	/* Jobs share controllers and DMA memory: one process. */
	if (!td->o.use_thread)
		return fu_fail(td, EINVAL, "thread",
			       "the updk engine needs thread=1 (--thread): its jobs share one "
			       "process's controllers and DMA memory");
	if (!fu_thread_get(td))
		return fu_fail(td, ENOMEM, "setup", "no memory");
	for (unsigned int i = 0; (f = fu_file_at(td, i)); i++) {
		if (FILE_ENG_DATA(f))
			continue;
		rc = fu_setup_file(td, f);
		if (rc)
			break;
	}
	/* A failed job never cleans up: give back what it took now. */
	if (rc)
		fu_release_files(td);
	/* Setup may run on fio's main thread, which sleeps from here on. */
	updk_mem_thread_offline();
	return rc;
}

/*
 * Where glibc put the engine's thread-locals (one block, with lib/mem's translation cache that
 * every submission reads): at a fixed offset in the static TLS it keeps spare for dlopen()ed
 * objects, or, when that was full, on the heap as dynamic TLS, each access then a lookup
 * (engine.mk). x86-64's static TLS lies just below the thread pointer (TLS variant II), a
 * thread's stack below it; no heap block is there.
 */
static __thread char fu_tls_probe;

static void fu_say_tls(struct thread_data *td)
{
#if defined(__x86_64__)
	uintptr_t tp, p = (uintptr_t)&fu_tls_probe;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	updk_log(UPDK_LOG_DEBUG, "fio", "job %s: thread-locals in %s", td->o.name,
		 p < tp && tp - p < (1u << 20) ?
			 "static TLS (a fixed offset from the thread pointer)" :
			 "dynamic TLS (glibc's static TLS was full: a lookup per access)");
#endif
}

static int fu_init(struct thread_data *td)
{
	if (!fu_abi_ok(td))
		return 1;
	if (!fu_thread_get(td))
		return fu_fail(td, ENOMEM, "init", "no memory");
	fu_say_tls(td);
	return 0;
}

static int fu_open_file(struct thread_data *td, struct fio_file *f)
{
	const struct fu_options *o = td->eo;
	struct fu_thread *t = td->io_ops_data;
	struct fu_file *ff = FILE_ENG_DATA(f);
	struct fu_qpair *q = NULL;
	char why[1024], err[512];
	int rc;

	if (!ff)
		return fu_fail(td, EINVAL, "open_file", "file was not set up");
	for (unsigned int i = 0; i < t->nqps; i++)
		if (t->qps[i].c == ff->c && t->qps[i].qp)
			q = &t->qps[i];
	if (!q) {
		uint32_t depth = o->qpair_depth ? o->qpair_depth : td->o.iodepth;

		for (unsigned int i = 0; i < t->nqps && !q; i++)
			if (!t->qps[i].qp)
				q = &t->qps[i];
		if (!q)
			q = &t->qps[t->nqps++];
		rc = fu_qpair_alloc(ff->c, depth, &q->qp, err, sizeof(err));
		if (rc) {
			q->qp = NULL;
			snprintf(why, sizeof(why), "'%s': no qpair of depth %u on %s: %s",
				 f->file_name, depth, ff->c->addr, err);
			return fu_fail(td, -rc, "updk_nvme_qpair_alloc", why);
		}
		q->c = ff->c;
		q->fd = ff->c->opts.interrupts ? updk_nvme_qpair_intr_fd(q->qp) : -1;
		q->files = 0;
		q->unrung = 0;
		q->ring_at = o->commit_ring ? o->commit_ring : UINT_MAX;
	}
	q->files++;
	ff->q = q;
	return 0;
}

/* Free the job's qpair @q, its counters first (UPDK_LOG=debug), as updk-perf prints them. */
static void fu_qpair_release(struct thread_data *td, struct fu_qpair *q)
{
	struct updk_nvme_stats st;
	double n;

	updk_nvme_qpair_get_stats(q->qp, &st);
	n = st.cmds_completed ? (double)st.cmds_completed : 1.0;
	updk_log(UPDK_LOG_DEBUG, "fio",
		 "job %s on %s: %llu commands, %.3f MMIO doorbell writes (SQ %.3f, CQ %.3f) and "
		 "%.3f shadow doorbell updates per command",
		 td->o.name, q->c->addr, (unsigned long long)st.cmds_completed,
		 (double)st.mmio_doorbell_writes / n, (double)st.sq_doorbell_mmio / n,
		 (double)st.cq_doorbell_mmio / n, (double)st.shadow_doorbell_updates / n);
	fu_qpair_free(q->c, q->qp);
	q->qp = NULL;
}

static int fu_close_file(struct thread_data *td, struct fio_file *f)
{
	struct fu_file *ff = FILE_ENG_DATA(f);
	struct fu_qpair *q = ff ? ff->q : NULL;

	if (!q)
		return 0;
	ff->q = NULL;
	if (--q->files == 0)
		fu_qpair_release(td, q);
	return 0;
}

/* The completions fio has not taken moved to the front of t->done, so that callbacks have room
 * for every command outstanding. Rare: getevents polls with some kept only when fio asks for
 * more than one event at a time. */
static void fu_done_compact(struct fu_thread *t)
{
	if (!t->head)
		return;
	t->ndone -= t->head;
	memmove(t->done, t->done + t->head, t->ndone * sizeof(*t->done));
	t->head = 0;
}

/* Runs in updk_nvme_qpair_process_completions() on the job's thread. */
static void fu_complete(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct io_u *io_u = arg;
	struct fu_thread *t = io_u->engine_data;

	if (updk_nvme_cpl_is_error(cpl)) {
		io_u->error = EIO;
		if (t->errors++ < FU_LOGGED_ERRORS)
			log_err("fio_updk: '%s': %s of %llu bytes at %llu failed: %s\n",
				io_u->file->file_name, io_ddir_name(io_u->ddir), io_u->xfer_buflen,
				io_u->offset,
				updk_nvme_status_str(updk_nvme_cpl_sct(cpl),
						     updk_nvme_cpl_sc(cpl)));
	}
	if (t->ndone < t->cap_done)
		t->done[t->ndone++] = io_u;
}

static inline int fu_submit(struct fu_file *ff, struct updk_nvme_qpair *qp, struct io_u *io_u)
{
	uint64_t lba = io_u->offset >> ff->lba_shift;
	uint32_t nlb = (uint32_t)(io_u->xfer_buflen >> ff->lba_shift);

	switch (io_u->ddir) {
	case DDIR_READ:
		return updk_nvme_ns_read(ff->ns, qp, io_u->xfer_buf, lba, nlb, fu_complete, io_u,
					 0);
	case DDIR_WRITE:
		return updk_nvme_ns_write(ff->ns, qp, io_u->xfer_buf, lba, nlb, fu_complete, io_u,
					  0);
	case DDIR_TRIM: {
		struct updk_nvme_dsm_range r = { .nlb = nlb, .slba = lba };

		return updk_nvme_ns_deallocate(ff->ns, qp, &r, 1, fu_complete, io_u);
	}
	case DDIR_SYNC:
	case DDIR_DATASYNC:
		return updk_nvme_ns_flush(ff->ns, qp, fu_complete, io_u);
	default:
		return -EINVAL;
	}
}

/*
 * The submission of @io_u was refused with EAGAIN by a qpair with nothing outstanding: an
 * automatic reset ended meanwhile, or the I/O needs more commands (split at the transfer limit)
 * than the qpair holds. Poll once and try again. Out of line: queue()'s own path stays short.
 */
static __attribute__((noinline, cold)) int fu_resubmit(struct fu_thread *t, struct fu_file *ff,
						       struct io_u *io_u)
{
	fu_done_compact(t);
	updk_nvme_qpair_process_completions(ff->q->qp, 0);
	fu_admin_poll(ff->c, updk_tsc());
	return fu_submit(ff, ff->q->qp, io_u);
}

/* A command the driver refused for good: fio completes it with the error, logged. */
static __attribute__((noinline, cold)) enum fio_q_status
fu_refused(struct fu_thread *t, struct io_u *io_u, int rc, bool unaligned)
{
	io_u->error = -rc;
	if (t->errors++ < FU_LOGGED_ERRORS)
		log_err("fio_updk: '%s': %s of %llu bytes at %llu refused: %s%s\n",
			io_u->file->file_name, io_ddir_name(io_u->ddir), io_u->xfer_buflen,
			io_u->offset, strerror(-rc),
			rc == -EAGAIN ? " (more commands than qpair_depth holds: raise it)" :
			unaligned     ? " (not on a sector boundary)" :
			rc == -ENXIO  ? " (the controller failed or is being reset)" :
					"");
	return FIO_Q_COMPLETED;
}

static enum fio_q_status fu_queue(struct thread_data *td, struct io_u *io_u)
{
	struct fu_thread *t = td->io_ops_data;
	struct fu_file *ff = FILE_ENG_DATA(io_u->file);
	struct updk_nvme_qpair *qp = ff->q->qp;
	uint64_t unaligned = (io_u->offset | io_u->xfer_buflen) & ((1ull << ff->lba_shift) - 1);
	int rc;

	fu_online(t);
	io_u->engine_data = t;
	rc = unaligned && ddir_rw(io_u->ddir) ? -EINVAL : fu_submit(ff, qp, io_u);
	if (__builtin_expect(rc != 0, 0)) {
		/* No slot: fio waits for a completion; with none outstanding to wait for,
		 * fu_resubmit() polls once and tries again. */
		if (rc == -EAGAIN && updk_nvme_qpair_outstanding(qp))
			return FIO_Q_BUSY;
		if (rc == -EAGAIN)
			rc = fu_resubmit(t, ff, io_u);
		if (rc)
			return fu_refused(t, io_u, rc, unaligned != 0);
	}
	t->queued[t->nqueued++] = io_u;
	ff->q->unrung++;
	return FIO_Q_QUEUED;
}

static int fu_commit(struct thread_data *td)
{
	struct fu_thread *t = td->io_ops_data;
	struct timespec now;

	if (!t->nqueued)
		return 0;
	/*
	 * fio commits after every I/O by default (iodepth_batch_submit=1), and a doorbell per
	 * commit would be one per command. A job that does not sleep calls getevents next,
	 * whose poll writes one SQ doorbell for everything committed since: the fewest MMIO
	 * writes. But getevents hands fio what one poll reaped a few at a time (with fio's
	 * defaults, one) without polling again, and the commands fio queues meanwhile wait for
	 * the last of them: commit_ring=N rings here once N wait, so the controller gets them
	 * sooner, for more doorbells (in the TCG test guest, where each is an exit to QEMU, more
	 * doorbells cost more than the wait: docs/fio.md). A job that may sleep first
	 * (thinktime, rate limits) rings here every time, so nothing waits unsubmitted while
	 * it sleeps.
	 */
	/* The issue time first: clat counts the doorbell write, as updk-perf's latency does. */
	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (unsigned int i = 0; i < t->nqueued; i++) {
			t->queued[i]->issue_time = now;
			io_u_queued(td, t->queued[i]);
		}
	}
	for (unsigned int i = 0; i < t->nqps; i++) {
		struct fu_qpair *q = &t->qps[i];

		if (q->qp && (t->sleeps || q->unrung >= q->ring_at)) {
			updk_nvme_qpair_flush(q->qp);
			q->unrung = 0;
		}
	}
	io_u_mark_submit(td, t->nqueued);
	t->nqueued = 0;
	return 0;
}

/*
 * interrupt_mode=1, after a pass of getevents found nothing: sleep until a qpair's vector fires,
 * @end, or the next admin poll is due (10 ms). As <updk/nvme_intr.h> says: consume each
 * vector's count, arm each qpair (which rings what is queued and looks at its completion queue
 * once more), and sleep only if none has a completion waiting; one posted after the ack makes
 * its fd readable, so none is slept through.
 */
static void fu_nap(struct fu_thread *t, uint64_t now, uint64_t end)
{
	uint64_t hz = updk_tsc_hz(), left = end - now;
	int ms = 10, n = 0;

	for (unsigned int i = 0; i < t->nqps; i++)
		if (t->qps[i].qp)
			updk_nvme_qpair_intr_ack(t->qps[i].qp);
	for (unsigned int i = 0; i < t->nqps; i++) {
		if (!t->qps[i].qp)
			continue;
		/* > 0: a completion waits, or a failure or reset to see through; < 0 cannot be
		 * for a qpair allocated with a vector. Either way: poll. */
		if (updk_nvme_qpair_intr_arm(t->qps[i].qp))
			return;
		t->pfds[n++] = (struct pollfd){ .fd = t->qps[i].fd, .events = POLLIN };
	}
	if (end != UINT64_MAX && left < (uint64_t)ms * hz / 1000)
		ms = (int)((left * 1000 + hz - 1) / hz);
	fu_offline(t);
	t->naps++;
	if (poll(t->pfds, (nfds_t)n, ms) > 0)
		t->irq_wakes++;
	fu_online(t);
}

/* Clock reads in fu_poll(): after a pass that found nothing, and after every 64th pass. */
#define FU_CLOCK_PASSES 64

/*
 * Poll the job's qpairs until @min completions wait in t->done or the TSC passes @end: the loop
 * a job spends its idle time in. A function of its own, so that test/bench/callgrind-fio.sh can
 * leave it out (how often a pass finds nothing depends on the device, not the code).
 *
 * A pass that gives fio what it waits for returns without reading the clock, but for one pass
 * in FU_CLOCK_PASSES: the clock is for the timeout and for the admin queue's 10 ms, which a job
 * that always finds completions still polls that often (each pass takes less than an I/O).
 */
static __attribute__((noinline)) int fu_poll(struct thread_data *td, struct fu_thread *t,
					     unsigned int min, uint64_t end)
{
	uint64_t now;
	int rc;

	for (;;) {
		unsigned int found = t->ndone;

		for (unsigned int i = 0; i < t->nqps; i++) {
			struct fu_qpair *q = &t->qps[i];

			if (!q->qp)
				continue;
			/* What waits goes out in this poll if it finds the CQ empty or half the
			 * qpair waiting (qpair.c), else in the next: commit counts from 0 again. */
			q->unrung = 0;
			/* Full: not reaped now, but what commit left unrung goes out. */
			if (t->ndone >= t->cap_done) {
				updk_nvme_qpair_flush(q->qp);
				continue;
			}
			rc = updk_nvme_qpair_process_completions(q->qp, t->cap_done - t->ndone);
			if (rc == -ENXIO && fu_ctrlr_dead(q->c)) {
				log_err("fio_updk: %s failed and is not coming back: %u commands "
					"of job %s left without completion\n",
					q->c->addr, updk_nvme_qpair_outstanding(q->qp), td->o.name);
				return -ENXIO;
			}
		}
		if (t->ndone >= min && ++t->passes % FU_CLOCK_PASSES)
			return 0;
		now = updk_tsc();
		for (unsigned int i = 0; i < t->nqps; i++)
			if (t->qps[i].qp)
				fu_admin_poll(t->qps[i].c, now);
		if (t->ndone >= min || now >= end)
			return 0;
		if (t->intr && t->ndone == found)
			fu_nap(t, now, end);
	}
}

static int fu_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			const struct timespec *ts)
{
	struct fu_thread *t = td->io_ops_data;
	uint64_t end = UINT64_MAX;

	/* What the last call returned fio has taken; what came since stays. */
	t->head += t->nreturned;
	t->nreturned = 0;
	if (t->head == t->ndone)
		t->head = t->ndone = 0;
	/*
	 * fio asks for one event at a time by default (iodepth_batch_complete_max=1), but the poll
	 * below reaps every completion there is and keeps those fio did not take: handed over
	 * from here, without a poll or a clock read, they let fio submit a batch that the next
	 * poll rings in one doorbell.
	 */
	if (t->ndone - t->head >= max && max) {
		t->nreturned = max;
		return (int)max;
	}
	fu_done_compact(t);
	/* fio gives a timeout only with min 0 (a zero one, as it does): no clock read else. */
	if (ts) {
		uint64_t hz = updk_tsc_hz();

		end = updk_tsc() + (uint64_t)ts->tv_sec * hz +
		      (uint64_t)ts->tv_nsec * hz / 1000000000u;
	}
	fu_online(t);
	if (fu_poll(td, t, min, end)) {
		fu_offline(t);
		return -ENXIO;
	}
	if (t->sleeps)
		fu_offline(t);
	t->nreturned = t->ndone < max ? t->ndone : max;
	return (int)t->nreturned;
}

static struct io_u *fu_event(struct thread_data *td, int event)
{
	struct fu_thread *t = td->io_ops_data;

	return t->done[t->head + event];
}

static void fu_cleanup(struct thread_data *td)
{
	struct fu_thread *t = td->io_ops_data;

	if (!t)
		return;
	for (unsigned int i = 0; i < t->nqps; i++)
		if (t->qps[i].qp)
			fu_qpair_release(td, &t->qps[i]);
	fu_release_files(td);
	free(t->qps);
	free(t->done);
	free(t->queued);
	free(t->pfds);
	if (t->intr)
		updk_log(
			UPDK_LOG_DEBUG, "fio",
			"job %s: slept %llu times in getevents, %llu of them ended by an interrupt",
			td->o.name, (unsigned long long)t->naps, (unsigned long long)t->irq_wakes);
	free(t);
	td->io_ops_data = NULL;
	/* The thread ends soon after: no grace period is to wait for it any more. */
	updk_mem_thread_exit();
}

static int fu_iomem_alloc(struct thread_data *td, size_t total)
{
	struct fio_file *f = td->files ? td->files[0] : NULL;
	struct fu_file *ff = f ? FILE_ENG_DATA(f) : NULL;
	int node = ff ? ff->c->numa_node : UPDK_NUMA_ANY;

	td->orig_buffer = updk_dma_alloc(total, 4096, node, NULL);
	updk_mem_thread_offline();
	if (td->orig_buffer)
		return 0;
	log_err("fio_updk: %s: cannot allocate %zu bytes of DMA memory for fio's I/O buffers (%s): "
		"reserve more hugepages (scripts/setup.sh hugepages N), lower iodepth or bs, or "
		"set UPDK_MEM=4k\n",
		td->o.name, total, strerror(errno));
	return 1;
}

static void fu_iomem_free(struct thread_data *td)
{
	updk_dma_free(td->orig_buffer);
	updk_mem_thread_offline();
}

static int fu_invalidate(struct thread_data *td, struct fio_file *f)
{
	/* No cache between fio and the device. */
	return 0;
}

static struct fio_option fu_option_table[] = {
	{
		.name = "shadow_doorbell",
		.lname = "updk: shadow doorbells",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct fu_options, shadow_doorbell),
		.def = "1",
		.help = "Use NVMe shadow doorbells (Doorbell Buffer Config) where the controller "
			"offers them; every job on one controller must give the same value",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "qpair_depth",
		.lname = "updk: qpair depth",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct fu_options, qpair_depth),
		.def = "0",
		.minval = 0,
		.maxval = 65535,
		.help = "Commands outstanding at once on each job's qpair (at most the controller's "
			"CAP.MQES + 1); 0: iodepth",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "interrupt_mode",
		.lname = "updk: interrupt mode",
		.type = FIO_OPT_BOOL,
		.off1 = offsetof(struct fu_options, interrupt_mode),
		.def = "0",
		.help = "Sleep in getevents while the job's qpairs are idle, woken by their "
			"interrupts (MSI-X or MSI vectors through VFIO), instead of polling; every "
			"job on one controller must give the same value",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "commit_ring",
		.lname = "updk: commands that make commit ring",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct fu_options, commit_ring),
		.def = "0",
		.minval = 0,
		.maxval = 65535,
		.help = "fio's commit writes the SQ doorbell once this many commands wait since the "
			"last doorbell or poll (1: every commit); 0: never, the next poll does",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
	.name = "updk",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NODISKUTIL | FIO_NOEXTEND | FIO_NO_OFFLOAD |
		 FIO_ASYNCIO_SETS_ISSUE_TIME,
	.setup = fu_setup,
	.init = fu_init,
	.queue = fu_queue,
	.commit = fu_commit,
	.getevents = fu_getevents,
	.event = fu_event,
	.cleanup = fu_cleanup,
	.open_file = fu_open_file,
	.close_file = fu_close_file,
	.invalidate = fu_invalidate,
	.iomem_alloc = fu_iomem_alloc,
	.iomem_free = fu_iomem_free,
	.option_struct_size = sizeof(struct fu_options),
	.options = fu_option_table,
};
