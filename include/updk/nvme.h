/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk NVMe: a poll-mode driver for NVMe controllers, on a PCI function bound to vfio-pci
 * ("0000:01:00.0") or the simulated controller ("sim:nvme?ns=2,size=1G,lba=4096,mdts=5"), both
 * reached over the PCIe transport. The specification's structures and constants are in
 * <updk/nvme_spec.h>, included here.
 *
 * Threading (docs/architecture.md, "run to completion"):
 * - A controller's admin calls (open, reset, admin commands, updk_nvme_admin_process_completions,
 *   qpair alloc/free, close) come from one thread at a time; the caller serialises them.
 * - A queue pair belongs to the thread that uses it: submission and completion calls on it take
 *   no locks and make no system calls. Different threads use different qpairs freely.
 * - Callbacks run inside updk_nvme_qpair_process_completions() (I/O) or
 *   updk_nvme_admin_process_completions() (admin) on the polling thread, or inside
 *   updk_nvme_ctrlr_reset()/updk_nvme_qpair_free()/updk_nvme_ctrlr_close() for commands those
 *   calls fail. A callback may submit new commands on the same qpair, but not reap it: the
 *   completion it was given stays in the ring until process_completions() returns.
 *
 * Submission never waits: it queues the command and returns 0, and the SQ tail doorbell is
 * written once per burst, at the next process_completions() or updk_nvme_qpair_flush().
 *
 * On PCIe (the transport there is today), buffers given to I/O calls must be DMA memory
 * (updk_dma_alloc(), a mempool object, or a range made known with updk_mem_register()) and
 * dword (4-byte) aligned, as PRP entries must be
 * (NVMe Base 2.0 §4.1.1); in an I/O vector every element but the last is also a whole number
 * of dwords long. A byte-aligned buffer is taken only when the driver uses SGLs and the
 * controller's SGLs have no alignment requirement (Identify Controller SGLS bits 1:0 = 01b; 10b
 * asks for dword alignment and granularity): see updk_nvme_ctrlr_sgl_byte_aligned(). Otherwise
 * it is refused with -EINVAL and a log line naming the buffer. Admin calls accept any memory:
 * the driver copies through its own DMA buffer.
 *
 * Errors are negative errno values: -EINVAL (bad argument, logged), -EAGAIN (qpair full: poll
 * and retry), -EFAULT (buffer not in DMA memory), -ENXIO (controller failed or removed: reset
 * it), -ENOMEM, -ETIMEDOUT.
 */
#ifndef UPDK_NVME_H
#define UPDK_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <updk/nvme_intr.h>
#include <updk/nvme_spec.h>
#include <updk/pi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status names, callbacks
 */

/**
 * The name of a status, e.g. "LBA Out of Range", "Invalid Field in Command",
 * "Command Aborted By Host"; "Unknown status (sct 0xN, sc 0xNN)" for codes it does not know
 * (that text lives in a thread-local buffer, valid until the next call on the thread).
 */
const char *updk_nvme_status_str(uint8_t sct, uint8_t sc);

/** The name of a Status Code Type ("Generic Command Status", "Media and Data Integrity", ...). */
const char *updk_nvme_sct_str(uint8_t sct);

/** A command's completion callback; @cpl is valid only during the call. */
typedef void (*updk_nvme_cb)(void *arg, const struct updk_nvme_cpl *cpl);

/*
 * Commands the driver fails itself carry SCT Path Related (3h), SC Command Aborted By Host
 * (71h), DNR clear: the reset, qpair free or close that failed them is the reason, and the
 * command may be retried once the controller is back. A command whose timeout expired and
 * that was then aborted completes with the controller's own Command Abort Requested (07h) or,
 * if it took a reset, with Command Aborted By Host.
 */

/* ---------------------------------------------------------------------------------------------
 * Controller
 */

struct updk_nvme_ctrlr;
struct updk_nvme_ns;
struct updk_nvme_qpair;

/** Shadow doorbells (Doorbell Buffer Config, NVMe Base 2.0 §5.8) on a controller that offers
 * them; see updk_nvme_ctrlr_opts.shadow_doorbell. */
enum updk_nvme_shadow {
	UPDK_NVME_SHADOW_AUTO = 0, /**< decided per controller (docs/nvme-driver.md) */
	UPDK_NVME_SHADOW_ON, /**< whenever offered */
	UPDK_NVME_SHADOW_OFF, /**< never: MMIO doorbells only */
};

/** How a separate metadata buffer is pointed at (NVMe Base 2.0 §4.2: MPTR, Figure 92); see
 * updk_nvme_ctrlr_opts.md_sgl. */
enum updk_nvme_md_sgl {
	/** MPTR holds the buffer's address when it is one IOVA-contiguous, dword-aligned run;
	 * otherwise an SGL describes it, where the controller offers SGLs for metadata
	 * (Identify Controller SGLS bit 19); otherwise the I/O is refused. */
	UPDK_NVME_MD_SGL_AUTO = 0,
	/** Every separate metadata buffer through an SGL (CDW0.PSDT 10b), also on a controller
	 * that does not report SGLS bit 19 (QEMU's NVMe before 9.2 decodes it all the same); the
	 * open fails on a controller without SGLs, or with no_sgl. */
	UPDK_NVME_MD_SGL_ON,
	/** Never: MPTR only, one contiguous run. */
	UPDK_NVME_MD_SGL_OFF,
};

/** Options for updk_nvme_ctrlr_open(). Zero them, set opts_size = sizeof(opts), then what you
 * need; a zero field means its default. NULL opts: all defaults. */
struct updk_nvme_ctrlr_opts {
	size_t opts_size;
	/** Admin queue entries, 2..4096 (capped at CAP.MQES + 1); 0: 32. */
	uint32_t admin_queue_size;
	/** I/O queue pairs to ask for with Set Features Number of Queues; 0: 64. */
	uint32_t num_io_queues;
	/** Do not use shadow doorbells even if the controller offers Doorbell Buffer Config (as
	 * shadow_doorbell = UPDK_NVME_SHADOW_OFF, which this overrides). */
	bool no_shadow_doorbell;
	/** Do not use SGLs even if the controller offers them (PRPs only). */
	bool no_sgl;
	/** Largest transfer per command in bytes, below MDTS; larger I/O is split; 0: MDTS (or
	 * 4 MiB when the controller has no limit). */
	uint32_t max_xfer_size;
	/** Admin command timeout in ms; 0: 10000. */
	uint32_t admin_timeout_ms;
	/** I/O command timeout in ms, after which the command is aborted (then the controller reset
	 * if the abort does not complete it); 0: 30000; UINT32_MAX: never. */
	uint32_t io_timeout_ms;
	/** Called from updk_nvme_admin_process_completions() for every Asynchronous Event the
	 * controller reports (cpl->cdw0: type bits 2:0, info 15:8, log page 23:16), after the driver
	 * has acted on it (namespace attribute changes re-read the namespaces). May be NULL. */
	updk_nvme_cb aer_cb;
	void *aer_arg;
	/**
	 * Do not reset the controller by itself. By default, when a timed-out command is still
	 * outstanding twice its timeout after it went out (its Abort did not complete it), or an
	 * Abort times out, updk_nvme_admin_process_completions() resets the controller: it
	 * disables it, fails the admin commands, and each qpair's commands are completed with
	 * Command Aborted By Host by its own thread's next updk_nvme_qpair_process_completions();
	 * once every qpair has done so, the controller is brought up again with its qpairs. Set
	 * this to leave the controller marked failed instead (the command stays outstanding,
	 * counted in timeouts) until the application calls updk_nvme_ctrlr_reset().
	 */
	bool no_auto_reset;
	/**
	 * Shadow doorbells when the controller offers them. UPDK_NVME_SHADOW_AUTO (the default)
	 * uses them unless the controller is QEMU's NVMe model (PCI 1b36:0010) and the CPU is
	 * QEMU's TCG, where a doorbell write is a call into the model rather than a VM exit and
	 * the shadow buffers only add work for the model (docs/nvme-driver.md); _ON and _OFF
	 * decide for every controller.
	 */
	enum updk_nvme_shadow shadow_doorbell;
	/**
	 * Interrupts, to sleep when idle (<updk/nvme_intr.h>, docs/interrupts.md): enable up to
	 * num_io_queues + 1 of the function's vectors at open, MSI-X, else MSI, else INTx. The
	 * admin queue always interrupts, on vector 0; each qpair allocated with
	 * updk_nvme_qpair_opts.interrupts gets a vector of its own (with one vector only, INTx or
	 * a single MSI, every queue shares it). The open fails, naming the device, when the
	 * function offers no interrupts or the open-file limit is reached: open without to poll.
	 */
	bool interrupts;
	/** Interrupt Coalescing of the I/O queues (NVMe Base 2.0 §5.27.1.7), set at open and after
	 * every reset: a vector is raised once intr_coal_threshold + 1 completions wait, or
	 * intr_coal_time_100us x 100 µs after the first, whichever comes first. Both 0: left as
	 * the controller has it (by default an interrupt for every completion). */
	uint8_t intr_coal_threshold;
	uint8_t intr_coal_time_100us;
	/** NVMe over TCP: ask for header and data digests (CRC32C over each PDU header and its
	 * data, NVMe/TCP 1.0); the open fails if the controller will not use them. */
	bool header_digest;
	bool data_digest;
	/** NVMe over Fabrics: the Keep Alive Timeout asked for at Connect, in ms (0: 10000;
	 * UINT32_MAX: none). updk_nvme_admin_process_completions() sends the Keep Alive commands,
	 * so call it well within this. */
	uint32_t keep_alive_ms;
	/** SGLs for separate metadata buffers (PCIe): UPDK_NVME_MD_SGL_AUTO (the default), _ON,
	 * _OFF. */
	enum updk_nvme_md_sgl md_sgl;
};

/**
 * Open the controller at @addr: a PCI address ("0000:01:00.0"), a simulated controller
 * ("sim:nvme?..."), or either in SPDK's transport ID form ("trtype:PCIe traddr:0000:01:00.0",
 * space-separated key:value pairs; an unknown trtype is refused with -EINVAL, naming it, as is
 * a fabrics key such as trsvcid with trtype PCIe). Bring it up in the order NVMe
 * Base 2.0 §3.5.1 gives (disable, admin queues, CC, enable, each wait bounded by CAP.TO and
 * watching CSTS.CFS), identify it and its active namespaces, ask for I/O queues, set up shadow
 * doorbells where offered and keep Asynchronous Event Requests outstanding. On success stores
 * the controller in *@ctrlr and returns 0; otherwise a negative errno with the reason logged
 * and nothing left open.
 */
int updk_nvme_ctrlr_open(const char *addr, const struct updk_nvme_ctrlr_opts *opts,
			 struct updk_nvme_ctrlr **ctrlr);

/**
 * Shut the controller down cleanly (CC.SHN normal shutdown, waiting for CSTS.SHST complete
 * within RTD3E or CAP.TO), fail anything still outstanding with Command Aborted By Host, free
 * every qpair left, free the DMA memory and close the device. NULL is ignored. The controller
 * is left ready for another driver.
 */
void updk_nvme_ctrlr_close(struct updk_nvme_ctrlr *ctrlr);

/**
 * Reset the controller (CC.EN = 0, then the bring-up again) and recreate every allocated qpair
 * with its depth. Every command outstanding on the admin queue or any qpair is completed first,
 * from this call, with Command Aborted By Host. No other thread may use the controller's
 * qpairs during the call. Returns 0, or a negative errno with the controller left failed
 * (every later submission returns -ENXIO) and the reason logged. It also ends an automatic
 * reset still waiting for qpair threads (opts->no_auto_reset).
 */
int updk_nvme_ctrlr_reset(struct updk_nvme_ctrlr *ctrlr);

/**
 * True once the controller reported fatal status (CSTS.CFS), vanished, or a reset failed; and
 * while an automatic reset is in progress (opts->no_auto_reset).
 */
bool updk_nvme_ctrlr_is_failed(const struct updk_nvme_ctrlr *ctrlr);

/**
 * True while an automatic reset is under way: from the moment a timeout asked for it until
 * updk_nvme_admin_process_completions() has brought the controller back (or found it cannot).
 * Meanwhile updk_nvme_ctrlr_is_failed() may be true and the qpairs return -ENXIO, but the
 * controller is coming back: keep polling. Failed and not resetting means failed for good.
 * Call it from the admin thread, between calls to updk_nvme_admin_process_completions().
 */
bool updk_nvme_ctrlr_is_resetting(const struct updk_nvme_ctrlr *ctrlr);

/** The device name the controller was opened with ("0000:01:00.0", "sim:nvme"). */
const char *updk_nvme_ctrlr_name(const struct updk_nvme_ctrlr *ctrlr);

/** The controller's Identify Controller data, as read at open or the last reset. */
const struct updk_nvme_id_ctrl *updk_nvme_ctrlr_id(const struct updk_nvme_ctrlr *ctrlr);

/** Controller Capabilities (CAP, NVMe Base 2.0 §3.1.3.1) as read at open. */
uint64_t updk_nvme_ctrlr_cap(const struct updk_nvme_ctrlr *ctrlr);

/** Version (VS, NVMe Base 2.0 §3.1.3.2): major << 16 | minor << 8 | tertiary. */
uint32_t updk_nvme_ctrlr_version(const struct updk_nvme_ctrlr *ctrlr);

/** Largest transfer of one command in bytes (MDTS, or opts->max_xfer_size if smaller). */
uint32_t updk_nvme_ctrlr_max_xfer_size(const struct updk_nvme_ctrlr *ctrlr);

/** Largest qpair depth (outstanding commands) a qpair may have: CAP.MQES (0's based). */
uint32_t updk_nvme_ctrlr_max_qpair_depth(const struct updk_nvme_ctrlr *ctrlr);

/** I/O queue pairs the controller granted (Set Features Number of Queues). */
uint32_t updk_nvme_ctrlr_max_qpairs(const struct updk_nvme_ctrlr *ctrlr);

/**
 * True when shadow doorbells (Doorbell Buffer Config, NVMe Base 2.0 §5.8) are in use: for the
 * admin queue and every qpair, an MMIO doorbell write only when the controller's EventIdx asks.
 */
bool updk_nvme_ctrlr_shadow_doorbell(const struct updk_nvme_ctrlr *ctrlr);

/** Why shadow doorbells are in use or not on @ctrlr, in a few words for a message ("auto: QEMU's
 * NVMe under TCG", "not offered (OACS bit 8)", ...). */
const char *updk_nvme_ctrlr_shadow_doorbell_why(const struct updk_nvme_ctrlr *ctrlr);

/** True when the driver uses SGLs for I/O whose buffers PRPs cannot describe. */
bool updk_nvme_ctrlr_sgl_supported(const struct updk_nvme_ctrlr *ctrlr);

/**
 * True when I/O buffers may start at any byte: the driver uses SGLs and the controller's SGL
 * Data Blocks need no dword alignment (Identify Controller SGLS bits 1:0 = 01b).
 */
bool updk_nvme_ctrlr_sgl_byte_aligned(const struct updk_nvme_ctrlr *ctrlr);

/**
 * How the driver points at a separate metadata buffer on @ctrlr: UPDK_NVME_MD_SGL_OFF when
 * only MPTR is used, _AUTO when an SGL describes the buffers MPTR cannot (the controller
 * reports SGLS bit 19), _ON when an SGL describes every one (opts.md_sgl).
 */
enum updk_nvme_md_sgl updk_nvme_ctrlr_md_sgl(const struct updk_nvme_ctrlr *ctrlr);

/* ---------------------------------------------------------------------------------------------
 * Namespaces
 */

/** The largest namespace identifier (Identify Controller NN): nsids run 1..this. */
uint32_t updk_nvme_ctrlr_num_ns(const struct updk_nvme_ctrlr *ctrlr);

/** The first active nsid, 0 if there is none. */
uint32_t updk_nvme_ctrlr_first_active_ns(const struct updk_nvme_ctrlr *ctrlr);

/** The next active nsid after @nsid, 0 at the end. */
uint32_t updk_nvme_ctrlr_next_active_ns(const struct updk_nvme_ctrlr *ctrlr, uint32_t nsid);

/**
 * The active namespace @nsid, or NULL (logged at debug level) if @nsid is 0, beyond NN, or not
 * active. The object lives as long as the controller; after a namespace attribute change it
 * is updated in place (an inactive namespace then fails I/O with -ENODEV).
 */
struct updk_nvme_ns *updk_nvme_ns_get(struct updk_nvme_ctrlr *ctrlr, uint32_t nsid);

/** The namespace's identifier. */
uint32_t updk_nvme_ns_id(const struct updk_nvme_ns *ns);

/** False once the namespace went inactive (a namespace attribute change or reset said so). */
bool updk_nvme_ns_is_active(const struct updk_nvme_ns *ns);

/** The namespace's Identify Namespace data. */
const struct updk_nvme_id_ns *updk_nvme_ns_data(const struct updk_nvme_ns *ns);

/** Size in logical blocks (NSZE). */
uint64_t updk_nvme_ns_num_sectors(const struct updk_nvme_ns *ns);

/** Size in bytes (NSZE × sector size). */
uint64_t updk_nvme_ns_size(const struct updk_nvme_ns *ns);

/** Logical block data size in bytes, from the LBA format in use. */
uint32_t updk_nvme_ns_sector_size(const struct updk_nvme_ns *ns);

/** Metadata bytes per logical block (0: none). */
uint32_t updk_nvme_ns_md_size(const struct updk_nvme_ns *ns);

/** True when metadata is transferred at the end of each logical block (FLBAS bit 4). */
bool updk_nvme_ns_md_extended(const struct updk_nvme_ns *ns);

/** Largest I/O in logical blocks one command carries (larger I/O is split, transparently). */
uint32_t updk_nvme_ns_max_io_sectors(const struct updk_nvme_ns *ns);

/**
 * The namespace's protection information as lib/pi describes a format (<updk/pi.h>): type
 * (Identify Namespace DPS bits 2:0; UPDK_PI_NONE without), PI first or last in the metadata
 * (DPS bit 3), the Guard format (the Extended LBA Format's PIF, Identify CNS 05h, NVM Command
 * Set 1.0 §4.1.5.2), block and metadata sizes and layout. Fills *@fmt; returns the type.
 */
enum updk_pi_type updk_nvme_ns_pi_fmt(const struct updk_nvme_ns *ns, struct updk_pi_fmt *fmt);

/**
 * Bytes per logical block in an I/O's data buffer with @io_flags: the sector size, and with
 * extended LBAs its metadata too, unless PRACT strips or inserts a PI that is the whole
 * metadata (NVM Command Set 1.0 §5.2.2.1: then none crosses the bus).
 */
uint32_t updk_nvme_ns_io_block_size(const struct updk_nvme_ns *ns, uint32_t io_flags);

/**
 * Bytes per logical block an I/O with @io_flags needs in a separate metadata buffer
 * (updk_nvme_io_opts.md): the metadata size for a namespace that keeps it apart (FLBAS bit 4
 * clear), 0 when there is none, it is interleaved, or PRACT makes the whole of it.
 */
uint32_t updk_nvme_ns_io_md_size(const struct updk_nvme_ns *ns, uint32_t io_flags);

/**
 * The namespace's format in words, for messages ("512-byte blocks, 8 bytes of metadata in a
 * separate buffer, PI type 1 (16b Guard, last)", "4096-byte blocks, zoned"). Returns @buf.
 */
const char *updk_nvme_ns_fmt_str(const struct updk_nvme_ns *ns, char *buf, size_t len);

/** Namespace identifiers from the Namespace Identification Descriptor list (CNS 03h). */
struct updk_nvme_ns_ids {
	bool has_eui64, has_nguid, has_uuid;
	uint8_t eui64[8];
	uint8_t nguid[16];
	uint8_t uuid[16];
	uint8_t csi; /**< Command Set Identifier (0: NVM) */
};

/** The namespace's identifiers (from CNS 03h when supported, else from Identify Namespace). */
const struct updk_nvme_ns_ids *updk_nvme_ns_ids(const struct updk_nvme_ns *ns);

/* ---------------------------------------------------------------------------------------------
 * I/O queue pairs
 */

/** Options for updk_nvme_qpair_alloc(); zero them and set opts_size = sizeof(opts). */
struct updk_nvme_qpair_opts {
	size_t opts_size;
	/** Commands outstanding at once, 1..CAP.MQES; the queues get depth + 1 entries. 0: 127. An
	 * I/O above the transfer limit (MDTS) is split into children, one slot each; as many
	 * split I/Os as depth may be in flight (their children waiting for slots in order, see
	 * updk_nvme_ns_read()), each taking about 200 bytes of the qpair's memory. */
	uint32_t depth;
	/** Give the qpair an interrupt vector, to sleep on (<updk/nvme_intr.h>); the controller
	 * must have been opened with interrupts. */
	bool interrupts;
};

/**
 * Create an I/O submission/completion queue pair on the controller (Create I/O CQ then SQ,
 * NVMe Base 2.0 §5.4, §5.5) and store it in *@qp. Returns 0, -EINVAL (depth above CAP.MQES:
 * the message gives the limit), -EBUSY (no queue ids left), -ENOMEM, or the controller's
 * refusal as -EIO with the status logged.
 */
int updk_nvme_qpair_alloc(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_qpair_opts *opts,
			  struct updk_nvme_qpair **qp);

/**
 * Delete the qpair's queues on the controller and free it. Commands still outstanding are
 * completed from here with Command Aborted By Host. NULL is ignored. Not on the data path: call
 * it from the controller's admin thread while the qpair's thread no longer uses it. Until the
 * controller closes (and for the last 64 qpairs freed), a call on the freed handle is refused
 * with -EINVAL and logged once, and a second free is only logged.
 */
void updk_nvme_qpair_free(struct updk_nvme_qpair *qp);

/**
 * Write the pending SQ tail doorbell (once), reap up to @max completions (0: as many as there
 * are), call their callbacks, then write the CQ head doorbell once for the whole batch. Every
 * 32nd call reports a quiescent state for updk_mem (updk_mem_quiescent()), so a poll loop needs
 * no other call, and now and then ages outstanding commands for their timeout (the Abort of a
 * timed-out command is sent by updk_nvme_admin_process_completions(); a command still stuck
 * after twice its timeout has the controller reset, see opts->no_auto_reset).
 * Returns the number of commands completed (an I/O split in children counts once, when its
 * last child completes), or -ENXIO when the controller has failed or is being reset. During
 * an automatic reset, the first call after the controller was disabled completes the qpair's
 * outstanding commands with Command Aborted By Host (their callbacks run here) and lets the
 * reset go on; calls return -ENXIO until updk_nvme_admin_process_completions() has brought
 * the controller back, then work again. After a failure without automatic reset, outstanding
 * commands are completed by updk_nvme_ctrlr_reset().
 */
int updk_nvme_qpair_process_completions(struct updk_nvme_qpair *qp, uint32_t max);

/** Write the pending SQ tail doorbell now instead of at the next process_completions(). */
void updk_nvme_qpair_flush(struct updk_nvme_qpair *qp);

/** Commands submitted on @qp and not yet completed (children of a split I/O count apiece, those
 * waiting for a slot not). */
uint32_t updk_nvme_qpair_outstanding(const struct updk_nvme_qpair *qp);

/** The qpair's queue identifier on the controller (1..). */
uint16_t updk_nvme_qpair_id(const struct updk_nvme_qpair *qp);

/* ---------------------------------------------------------------------------------------------
 * I/O commands. An I/O of any length goes on any qpair: above the transfer limit (MDTS) it is
 * split into children that complete as one (one callback, the first failure's status); the
 * children that find no free slot wait in the qpair, in order, and go out as slots free (the
 * poll). The I/O vector of readv/writev is copied: it need not outlive the call.
 * Each returns 0 once the command is queued (its callback runs later), or a
 * negative errno with nothing queued: -EINVAL (LBA range beyond the namespace, zero blocks,
 * buffer not dword aligned while byte-aligned SGLs are not in use, buffer layout PRPs cannot
 * describe without SGL), -EAGAIN (no free slot for a command within the transfer limit; for
 * an I/O above it, every one of the qpair's split records in use, one per slot; or an
 * automatic reset ended during the call: poll and retry), -EFAULT
 * (buffer not DMA memory), -ENODEV (namespace inactive), -ENXIO (controller failed or being
 * reset), -ENOTSUP (the controller lacks the command, per ONCS).
 * @nlb is the number of logical blocks (1-based, unlike the command's 0's based field).
 */

/** Force Unit Access (NVM Command Set 1.0 §3.2.6, CDW12 bit 30). */
#define UPDK_NVME_IO_FUA (1u << 30)
/** Limited Retry (CDW12 bit 31). */
#define UPDK_NVME_IO_LIMITED_RETRY (1u << 31)
/** Write Zeroes: deallocate the blocks as well (CDW12 bit 25). */
#define UPDK_NVME_IO_DEAC (1u << 25)
/*
 * Protection Information (PRINFO, CDW12 bits 29:26, NVM Command Set 1.0 §5.2.2 Figure 11), for
 * updk_nvme_io_opts.io_flags on a namespace formatted with PI: PRACT has the controller insert
 * the PI on a write and strip it on a read; PRCHK has it check the Guard, the Application Tag
 * (under its mask) and the Reference Tag.
 */
#define UPDK_NVME_IO_PRACT (1u << 29)
#define UPDK_NVME_IO_PRCHK_GUARD (1u << 28)
#define UPDK_NVME_IO_PRCHK_APP (1u << 27)
#define UPDK_NVME_IO_PRCHK_REF (1u << 26)
#define UPDK_NVME_IO_PRCHK_ALL (7u << 26)

/**
 * Read @nlb blocks from @lba into @buf (DMA memory, @nlb × updk_nvme_ns_io_block_size(ns,
 * @io_flags) bytes: with extended LBAs each block's metadata follows its data). On a namespace
 * with PI, @io_flags may hold UPDK_NVME_IO_PRACT and UPDK_NVME_IO_PRCHK_*: the Reference Tag
 * sent is the LBA's low bits (types 1 and 2), the Application Tag 0 and unchecked; the _ext
 * calls set them. A namespace that keeps metadata in a separate buffer takes reads and writes
 * through updk_nvme_ns_read_ext() and the other _ext calls (or here with PRACT when the PI is
 * all of its metadata): otherwise refused with -EINVAL and a log line saying so.
 */
int updk_nvme_ns_read(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf, uint64_t lba,
		      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags);

/** Write @nlb blocks at @lba from @buf; @io_flags may hold UPDK_NVME_IO_FUA. */
int updk_nvme_ns_write(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
		       uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags);

/**
 * Read into an I/O vector whose lengths add up to @nlb blocks. With PRPs every element but the
 * first must start on a page boundary and every element but the last must end on one; other
 * layouts need a controller with SGL support.
 */
int updk_nvme_ns_readv(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const struct iovec *iov,
		       int iovcnt, uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg,
		       uint32_t io_flags);

/** Write from an I/O vector (same layout rules as updk_nvme_ns_readv()). */
int updk_nvme_ns_writev(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			updk_nvme_cb cb, void *arg, uint32_t io_flags);

/** Compare @nlb blocks at @lba with @buf; a mismatch completes with Compare Failure (85h). */
int updk_nvme_ns_compare(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			 uint64_t lba, uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags);

/**
 * What a read, write or compare carries besides its data (the _ext calls): flags, a separate
 * metadata buffer and the protection information fields. Zero it, set opts_size =
 * sizeof(opts), then what you need; NULL means none of it.
 */
struct updk_nvme_io_opts {
	size_t opts_size;
	/** UPDK_NVME_IO_FUA, UPDK_NVME_IO_LIMITED_RETRY, and on a namespace with PI
	 * UPDK_NVME_IO_PRACT and UPDK_NVME_IO_PRCHK_* (elsewhere refused). */
	uint32_t io_flags;
	/** The separate metadata, updk_nvme_ns_io_md_size() bytes per block (DMA memory, dword
	 * aligned: MPTR, NVMe Base 2.0 §4.1.1), when the namespace keeps it apart; unused when
	 * that size is 0 (no metadata, extended LBAs, or PRACT making all of it). */
	void *md;
	/** Bytes at @md: at least @nlb × updk_nvme_ns_io_md_size(). */
	uint32_t md_len;
	/** Reference Tag of the first block: ILBRT on a write, EILBRT on a read or compare
	 * (CDW14, with CDW3 for the 32b and 64b Guard formats). Type 1 wants the LBA's low 32
	 * bits (48 with the 64b Guard), type 2 any value, type 3 ignores it. An I/O split at
	 * MDTS gives each child the tag of its first block (types 1 and 2 count blocks). Used
	 * when @ref_tag_set; otherwise the LBA's low bits (types 1 and 2), as the one-buffer
	 * calls send. */
	uint64_t ref_tag;
	bool ref_tag_set;
	/** Application Tag (LBAT), and the bits of it checked with PRCHK_APP (LBATM) (CDW15). */
	uint16_t app_tag;
	uint16_t app_tag_mask;
};

/**
 * Read with metadata and protection information: @iov (@iovcnt elements, as for
 * updk_nvme_ns_readv()) holds @nlb × updk_nvme_ns_io_block_size() bytes, @opts the rest.
 * Works on every namespace format, a separate metadata buffer included (the one-buffer calls
 * refuse those, with -EINVAL). Splits at MDTS like the others, the metadata pointer and the
 * Reference Tag moving with each child. Errors as above, and -EINVAL (logged) for a metadata
 * buffer missing or smaller than the blocks need, PI flags on a namespace without PI, or a
 * Reference Tag wider than the format's; -EINVAL or -EFAULT for a metadata buffer the
 * transport cannot point at (PCIe: off a dword, not DMA memory, not IOVA contiguous).
 * A PI check that fails completes with Media and Data Integrity Errors (SCT 2h) End-to-end
 * Guard (82h), Application Tag (83h) or Reference Tag (84h) Check Error, counted per kind in
 * the qpair's and controller's stats.
 */
int updk_nvme_ns_read_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			  const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			  updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts);

/** Write with metadata and protection information (as updk_nvme_ns_read_ext()). */
int updk_nvme_ns_write_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			   const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			   updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts);

/** Compare with metadata and protection information (as updk_nvme_ns_read_ext()). */
int updk_nvme_ns_compare_ext(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			     const struct iovec *iov, int iovcnt, uint64_t lba, uint32_t nlb,
			     updk_nvme_cb cb, void *arg, const struct updk_nvme_io_opts *opts);

/** Flush the volatile write cache of the namespace. */
int updk_nvme_ns_flush(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, updk_nvme_cb cb,
		       void *arg);

/** Write zeroes to @nlb blocks at @lba (@io_flags: UPDK_NVME_IO_FUA, UPDK_NVME_IO_DEAC). */
int updk_nvme_ns_write_zeroes(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t lba,
			      uint32_t nlb, updk_nvme_cb cb, void *arg, uint32_t io_flags);

/** Deallocate (trim) @n ranges (1..256) with Dataset Management, AD attribute set. */
int updk_nvme_ns_deallocate(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp,
			    const struct updk_nvme_dsm_range *ranges, uint16_t n, updk_nvme_cb cb,
			    void *arg);

/**
 * Submit an I/O command the caller built in @cmd (the driver sets CID and the data pointer from
 * @buf/@len, which must be DMA memory; @buf NULL for no data). No splitting at MDTS.
 */
int updk_nvme_io_raw(struct updk_nvme_qpair *qp, const struct updk_nvme_cmd *cmd, void *buf,
		     uint32_t len, updk_nvme_cb cb, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Admin commands (from the controller's admin thread). @buf may be any memory of @len bytes
 * (the driver copies it through a DMA buffer of its own; @len up to the max transfer size);
 * for commands that read data, @buf is filled before the callback runs.
 */

/**
 * Submit an admin command the caller built (the driver sets CID and the data pointer). Returns
 * 0 when queued, -EAGAIN when the admin queue is full, -EINVAL, -ENXIO.
 */
int updk_nvme_admin_raw(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			uint32_t len, updk_nvme_cb cb, void *arg);

/**
 * Write the admin SQ doorbell if needed, reap admin completions and call their callbacks,
 * handle Asynchronous Events (re-arming them), check admin command timeouts and send the
 * Aborts for timed-out admin and I/O commands. When an Abort did not resolve a timeout, it
 * resets the controller (unless opts->no_auto_reset): disabled at once, admin commands failed
 * with Command Aborted By Host, then brought up again, qpairs included, at the first call after
 * every qpair's thread has polled its qpair (see updk_nvme_qpair_process_completions()); the
 * reset is logged and counted in resets. Returns the number of admin commands completed, or
 * -ENXIO when the controller has failed or is being reset. Call it now and then (every few
 * milliseconds) from the admin thread.
 */
int updk_nvme_admin_process_completions(struct updk_nvme_ctrlr *ctrlr);

/**
 * Submit @cmd on the admin queue and poll until it completes or the admin timeout passes.
 * Copies the completion into *@cpl if @cpl is not NULL. Returns 0, -EIO when the controller
 * completed it with an error (logged with the status name), -ETIMEDOUT, or a submission error.
 */
int updk_nvme_admin_sync(struct updk_nvme_ctrlr *ctrlr, const struct updk_nvme_cmd *cmd, void *buf,
			 uint32_t len, struct updk_nvme_cpl *cpl);

/**
 * Get Log Page @lid (NVMe Base 2.0 §5.16) for @nsid (0xffffffff: controller-wide) into @buf,
 * @len bytes (a multiple of 4) from byte @offset of the page.
 */
int updk_nvme_ctrlr_get_log_page(struct updk_nvme_ctrlr *ctrlr, uint8_t lid, uint32_t nsid,
				 void *buf, uint32_t len, uint64_t offset, updk_nvme_cb cb,
				 void *arg);

/** Get Features @fid (NVMe Base 2.0 §5.15) with @cdw11; the value is in cpl->cdw0. */
int updk_nvme_ctrlr_get_feature(struct updk_nvme_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
				void *buf, uint32_t len, updk_nvme_cb cb, void *arg);

/** Set Features @fid (NVMe Base 2.0 §5.27) with @cdw11 and @cdw12. */
int updk_nvme_ctrlr_set_feature(struct updk_nvme_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
				uint32_t cdw12, void *buf, uint32_t len, updk_nvme_cb cb,
				void *arg);

/* ---------------------------------------------------------------------------------------------
 * Counters. Each qpair counts on its own thread (plain stores); the controller's figures add
 * the admin queue, every live qpair and every qpair freed before. Reading them from another
 * thread while I/O runs gives a close, not exact, snapshot.
 */
struct updk_nvme_stats {
	uint64_t cmds_submitted; /**< commands placed in a submission queue */
	uint64_t cmds_completed; /**< completions reaped from the device */
	uint64_t cmds_failed; /**< of those, with an error status */
	uint64_t cmds_aborted; /**< completed by the driver (reset, free, close) */
	uint64_t split_ios; /**< I/Os split at MDTS into children */
	uint64_t sq_doorbell_mmio; /**< SQ tail doorbell register writes */
	uint64_t cq_doorbell_mmio; /**< CQ head doorbell register writes */
	uint64_t mmio_doorbell_writes; /**< both of the above */
	uint64_t shadow_doorbell_updates; /**< doorbell values written to the shadow buffer */
	uint64_t queue_full; /**< submissions refused with -EAGAIN */
	uint64_t timeouts; /**< commands whose timeout expired */
	uint64_t aborts_sent; /**< Abort commands sent for them */
	uint64_t
		resets; /**< controller resets (updk_nvme_ctrlr_reset and timeouts): 0 for a qpair */
	uint64_t bogus_completions; /**< CQEs refused: CID not outstanding, SQ head out of range */
	uint64_t split_waited; /**< split I/Os some of whose children waited for a free slot */
	/** commands failed by an end-to-end PI check (SCT 2h, NVM Command Set 1.0 §5.2) */
	uint64_t pi_guard_errors; /**< End-to-end Guard Check Error (82h) */
	uint64_t pi_app_tag_errors; /**< End-to-end Application Tag Check Error (83h) */
	uint64_t pi_ref_tag_errors; /**< End-to-end Reference Tag Check Error (84h) */
};

/** The counters of one qpair, into *@stats. */
void updk_nvme_qpair_get_stats(const struct updk_nvme_qpair *qp, struct updk_nvme_stats *stats);

/** The controller's counters, admin queue and all qpairs together, into *@stats. */
void updk_nvme_ctrlr_get_stats(const struct updk_nvme_ctrlr *ctrlr, struct updk_nvme_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
