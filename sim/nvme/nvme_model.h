/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme internals: the state of one simulated NVMe 1.4 controller, shared by the files of
 * sim/nvme/ (registers, queues, admin and NVM commands, data pointers, namespaces, faults).
 * Everything here runs with sd->lock held: from the register hooks, from poll(), or from a
 * fault hook (sim_nvme.h) that takes the lock itself.
 */
#ifndef UPDK_SIM_NVME_MODEL_H
#define UPDK_SIM_NVME_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/nvme/sim_nvme.h"
#include "sim/sim.h"

/* Controller registers, NVMe Base 2.0 §3.1.3 */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_INTMC 0x10
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_NSSR 0x20
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_REG_CMBLOC 0x38
#define NVME_REG_CMBSZ 0x3c
/* NVMe 1.4 §3.1.24-25: SQyTDBL at 0x1000 + 2y * (4 << DSTRD), CQyHDBL right after */
#define NVME_REG_DB 0x1000

/* CC fields, §3.1.3.5 */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS(cc) (((cc) >> 4) & 0x7)
#define NVME_CC_CSS_NVM 0x0
#define NVME_CC_CSS_ALL 0x6 /* every I/O Command Set CAP.CSS bit 6 offers */
#define NVME_CC_MPS(cc) (((cc) >> 7) & 0xf)
#define NVME_CC_AMS(cc) (((cc) >> 11) & 0x7)
#define NVME_CC_SHN(cc) (((cc) >> 14) & 0x3)
#define NVME_CC_IOSQES(cc) (((cc) >> 16) & 0xf)
#define NVME_CC_IOCQES(cc) (((cc) >> 20) & 0xf)

/* CSTS fields, §3.1.3.6 */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_DONE (2u << 2)

/* Status codes as (SCT << 8) | SC, NVMe Base 2.0 §4.2.3 */
#define SCT_GENERIC 0x000
#define SCT_CMD 0x100
#define SCT_MEDIA 0x200
#define NVME_SC_SUCCESS 0x00
#define NVME_SC_INVALID_OPCODE 0x01
#define NVME_SC_INVALID_FIELD 0x02
#define NVME_SC_DATA_XFER_ERROR 0x04
#define NVME_SC_INTERNAL 0x06
#define NVME_SC_ABORT_REQ 0x07
#define NVME_SC_ABORT_SQ_DEL 0x08
#define NVME_SC_INVALID_NS 0x0b
#define NVME_SC_CMD_SEQ_ERROR 0x0c
#define NVME_SC_SGL_INVALID_SEG 0x0d
#define NVME_SC_SGL_INVALID_COUNT 0x0e
#define NVME_SC_SGL_INVALID_DATA_LEN 0x0f
#define NVME_SC_MD_SGL_INVALID_LEN 0x10
#define NVME_SC_SGL_INVALID_TYPE 0x11
#define NVME_SC_SGL_DATA_BLOCK_GRANULARITY 0x1e
#define NVME_SC_PRP_INVALID_OFFSET 0x13
#define NVME_SC_LBA_RANGE 0x80
/* Command specific (SCT 1), §5 per command */
#define NVME_SC_CQ_INVALID (SCT_CMD | 0x00)
#define NVME_SC_QID_INVALID (SCT_CMD | 0x01)
#define NVME_SC_QUEUE_SIZE (SCT_CMD | 0x02)
#define NVME_SC_AER_LIMIT (SCT_CMD | 0x05)
#define NVME_SC_INVALID_VECTOR (SCT_CMD | 0x08)
#define NVME_SC_INVALID_LOG_PAGE (SCT_CMD | 0x09)
#define NVME_SC_INVALID_QUEUE_DELETION (SCT_CMD | 0x0c)
#define NVME_SC_FEAT_NOT_SAVEABLE (SCT_CMD | 0x0d)
/* Command specific of the NVM Command Set 1.0 §3.3.3.2.1 and ZNS 1.1 §3.4.1 (Figure 33) */
#define NVME_SC_INVALID_PI (SCT_CMD | 0x81)
#define NVME_SC_ZONE_BOUNDARY (SCT_CMD | 0xb8)
#define NVME_SC_ZONE_FULL (SCT_CMD | 0xb9)
#define NVME_SC_ZONE_READ_ONLY (SCT_CMD | 0xba)
#define NVME_SC_ZONE_OFFLINE (SCT_CMD | 0xbb)
#define NVME_SC_ZONE_INVALID_WRITE (SCT_CMD | 0xbc)
#define NVME_SC_TOO_MANY_ACTIVE (SCT_CMD | 0xbd)
#define NVME_SC_TOO_MANY_OPEN (SCT_CMD | 0xbe)
#define NVME_SC_ZONE_INVALID_TRANSITION (SCT_CMD | 0xbf)
/* Media and data integrity (SCT 2), §4.2.3.4; end-to-end checks, NVM Command Set 1.0 §5.2 */
#define NVME_SC_WRITE_FAULT (SCT_MEDIA | 0x80)
#define NVME_SC_UNRECOVERED_READ (SCT_MEDIA | 0x81)
#define NVME_SC_GUARD_CHECK (SCT_MEDIA | 0x82)
#define NVME_SC_APPTAG_CHECK (SCT_MEDIA | 0x83)
#define NVME_SC_REFTAG_CHECK (SCT_MEDIA | 0x84)
#define NVME_SC_COMPARE_FAILED (SCT_MEDIA | 0x85)

/* Model limits */
#define SIM_NVME_MAX_NS 128
#define SIM_NVME_MAX_QPAIRS 511 /* shadow doorbells of all queues fit one 4 KiB page */
#define SIM_NVME_AERL 3 /* Identify AERL, 0-based: four requests held */
#define SIM_NVME_ELPE 15 /* Identify ELPE, 0-based: sixteen error log entries */
#define SIM_NVME_MAX_PEND 4096 /* delayed or held completions */
/* Data Blocks a metadata SGL may have (more: Invalid Number of SGL Descriptors) */
#define SIM_NVME_MD_SEGS 64
#define SIM_NVME_CMD_BUDGET 4096 /* commands per poll() pass, for fairness with the hooks */

/* Submission queue entry, NVMe Base 2.0 §4.2; little-endian host assumed */
struct nvme_sqe {
	uint8_t opc;
	uint8_t flags; /* FUSE 1:0, PSDT 7:6 */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1; /* DPTR: PRP entry 1, or bytes 0-7 of SGL1 */
	uint64_t prp2; /* DPTR: PRP entry 2, or bytes 8-15 of SGL1 */
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

/* Completion queue entry, §4.6 */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* P in bit 0, status field 15:1 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

struct nvme_sq {
	bool live;
	uint16_t qid;
	uint16_t cqid;
	uint32_t size; /* entries */
	uint32_t head; /* next entry the model fetches */
	uint32_t tail; /* last valid tail the host gave */
	uint8_t *ring;
	uint32_t mmio_seen; /* last value seen in the MMIO doorbell */
	uint32_t shadow_seen; /* last value seen in the shadow doorbell */
	uint32_t ei_last; /* last EventIdx written */
};

struct nvme_cq {
	bool live;
	uint16_t qid;
	uint32_t size;
	uint32_t head; /* host's head, from the doorbells */
	uint32_t tail; /* next slot the model writes */
	uint8_t phase;
	uint8_t *ring;
	uint32_t mmio_seen;
	uint32_t shadow_seen;
	uint32_t ei_last;
	uint32_t reserved; /* slots promised to delayed or held completions */
	uint32_t nsq; /* SQs that complete into it */
	bool ien; /* interrupts enabled (§5.4 CDW11 IEN; always for the admin queue) */
	uint16_t iv; /* its interrupt vector (CDW11 IV) */
	uint32_t irq_pending; /* entries posted since its last interrupt */
	uint64_t irq_first; /* TSC of the first of them, for the aggregation time */
};

/* A completion not posted yet: delayed (due), or held (dropped, until Abort or reset). */
struct nvme_pend {
	uint64_t due; /* TSC; UINT64_MAX: held */
	uint16_t sqid;
	uint16_t cqid;
	uint16_t cid;
	uint16_t status;
	uint64_t dw0; /* DW0, and DW1 in the high half */
};

/* Zone states, ZNS 1.1 §2.1.1 (Figure 7's ZS values in Report Zones) */
enum zone_state {
	ZS_EMPTY = 0x1,
	ZS_IMPLICIT_OPEN = 0x2,
	ZS_EXPLICIT_OPEN = 0x3,
	ZS_CLOSED = 0x4,
	ZS_READ_ONLY = 0xd,
	ZS_FULL = 0xe,
	ZS_OFFLINE = 0xf,
};

struct nvme_zone {
	uint64_t zslba;
	uint64_t wp;
	uint8_t state; /* enum zone_state */
	uint64_t opened; /* when it was implicitly opened, in open_seq */
};

/*
 * The format every namespace has (address options ms, mset, pi, pil, pif, zoned, zone_size,
 * zone_cap, max_active, max_open, zasl; format.c).
 */
struct nvme_fmt {
	uint16_t ms; /* metadata bytes per block (LBAF MS) */
	bool ext; /* mset=1: metadata at the end of each block's data (extended LBA) */
	uint8_t pi; /* protection information type 1..3, 0 none (DPS 2:0) */
	bool pi_first; /* pil=1: PI in the first bytes of the metadata (DPS bit 3) */
	uint8_t pif; /* 0: 16b, 1: 32b, 2: 64b Guard (ELBAF PIF, NVM Command Set 1.0 §5.2.1) */
	uint8_t pi_size; /* 8 or 16 */
	bool zoned;
	uint64_t zsze, zcap; /* blocks */
	uint32_t mar, mor; /* 0-based; UINT32_MAX: no limit */
	uint8_t zasl; /* Zone Append Size Limit, 2^n x 4 KiB; 0: MDTS */
};

struct nvme_ns {
	bool active;
	uint64_t nsze; /* blocks */
	uint8_t *data; /* nsze << lbads bytes, MAP_NORESERVE */
	size_t bytes;
	/* metadata, ms bytes per block, stored inverted so that blocks never written (and
	 * deallocated ones) read as all FFh: PI with the Application Tag FFFFh, unchecked */
	uint8_t *md;
	size_t md_bytes;
	struct nvme_zone *zones; /* [nzones] when zoned */
	uint32_t nzones;
	uint32_t nopen; /* implicitly and explicitly opened */
	uint32_t nactive; /* opened and closed */
	uint64_t open_seq;
	uint8_t nguid[16];
	uint8_t uuid[16];
};

/* One resolved piece of a data buffer: host memory the model may touch. */
struct nvme_seg {
	uint8_t *va;
	uint32_t len;
};

/* Error Information log entry, §5.16.1.2, 64 bytes */
struct nvme_err_entry {
	uint64_t count;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* status field 15:1, phase 0 */
	uint16_t param; /* parameter error location; 0xffff: not specific */
	uint64_t lba;
	uint32_t nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t csi;
	uint16_t ttsi;
	uint8_t rsvd42[22];
};

_Static_assert(sizeof(struct nvme_err_entry) == 64, "error log entry is 64 bytes");

struct nvme_faults {
	bool any; /* one predictable branch on the completion path */
	bool never_ready;
	bool removed;
	int drop_sqid; /* -2: off, -1: any queue */
	int bogus_sqid;
	uint16_t bogus_cid;
	int phase_sqid;
	int sqhd_sqid;
	int hang_sqid; /* -2: off, -1: any queue; with hang_opc */
	uint8_t hang_opc;
	uint64_t delay_ticks;
	uint64_t jitter_ticks; /* each completion delayed by a random 0..jitter: out of order */
	uint64_t rng; /* xorshift64 state for the jitter */
	unsigned id_flags;
	/* random faults on I/O commands (randfault.c, address options faults=...) */
	uint32_t rand_ppb; /* chance per I/O command, parts per billion; 0: off */
	unsigned rand_kinds; /* SIM_NVME_RF_* */
	uint32_t rand_delay_us; /* longest delay of a delayed completion */
	uint64_t rand_rng; /* xorshift64 state of the decisions */
	uint64_t once; /* for the command being run: 0, a delay in ticks, or UINT64_MAX: hold */
	uint64_t drop_io; /* drop_io=N: I/O commands still to fetch before the one held; 0: off */
	bool hang_abort; /* hang_abort=1, applied when the faults are reset at creation */
};

/* Kinds of random fault (fault_kinds=) */
#define SIM_NVME_RF_ERROR (1u << 0) /* completed with an error status, not run */
#define SIM_NVME_RF_DELAY (1u << 1) /* run, completion posted up to fault_delay_us later */
#define SIM_NVME_RF_DROP (1u << 2) /* run, completion held until Abort or queue deletion */

struct nvme_ctrl {
	struct sim_dev *sd;
	uint32_t instance; /* n-th controller of the process: serial number, NGUIDs */

	/* from the address options */
	uint32_t nns;
	uint64_t ns_bytes;
	uint32_t lbads; /* log2 of the LBA size */
	uint8_t mdts;
	uint16_t mqes; /* CAP.MQES, 0-based */
	uint16_t nqpairs;
	uint32_t rdy_us;
	uint32_t jitter_us;
	uint8_t sgls; /* Identify SGLS bits 1:0: 0 none, 1 byte aligned, 2 dword aligned */
	/* msgl=: SGLs for metadata (PSDT 10b): 0 refused, 1 offered (SGLS bit 19) and taken,
	 * 2 (the default) taken but not reported, as QEMU's NVMe before 9.2 */
	uint8_t msgl;
	bool no_dbbuf; /* dbbuf=0: no Doorbell Buffer Config (OACS bit 8 clear) */
	struct nvme_fmt fmt;
	struct nvme_ns *ns; /* [nns] */

	/* controller state */
	uint32_t cc; /* CC as last applied */
	bool enabled; /* CC.EN applied and queues live */
	uint64_t rdy_due; /* TSC when RDY may rise; 0: not pending */
	uint32_t mps; /* memory page size, bytes */
	uint64_t max_xfer; /* bytes per command (MDTS), UINT64_MAX when unlimited */
	uint32_t intms;
	uint32_t intm_held; /* INTMS bits with an interrupt held back (intr.c) */
	uint8_t *iv_cd; /* Interrupt Vector Configuration CD per vector, [intr_vectors()] */
	bool irq_dirty; /* a queue has an interrupt to raise or aggregate */

	struct nvme_sq *sq; /* [nqpairs + 1] */
	struct nvme_cq *cq;
	uint16_t *active; /* live SQ ids, admin first */
	unsigned nactive;
	uint16_t nsqa; /* Number of Queues granted, 0-based */
	uint16_t ncqa;
	bool io_queues_made;

	/* features, §5.27.1 */
	uint32_t feat_arb;
	uint32_t feat_pm;
	uint32_t feat_temp;
	uint32_t feat_err;
	uint32_t feat_vwc;
	uint32_t feat_coal;
	uint32_t feat_wan;
	uint32_t feat_aec;

	/* Doorbell Buffer Config, §5.8 */
	bool dbbuf;
	uint32_t *shadow;
	uint32_t *eventidx;
	enum sim_nvme_ei_mode ei_mode;
	bool ei_dirty; /* a tail or head moved since EventIdx was last written */
	bool paused; /* sim_nvme_pause(): no doorbell read, fetch or EventIdx write */
	uint64_t passes; /* poll() passes over the doorbells, for sim_nvme_sync() */

	/* delayed and held completions */
	struct nvme_pend *pend;
	unsigned npend;
	unsigned nheld;

	/* Asynchronous events, §5.2 */
	uint16_t aer_cid[SIM_NVME_AERL + 1];
	unsigned naer;
	bool aen_ns_pending; /* namespace attribute changed, not reported yet */
	bool aen_ns_masked; /* reported; waits for a read of log 04h */
	bool aen_err_pending; /* error: invalid doorbell write */
	uint8_t aen_err_info;
	bool aen_err_masked;
	uint32_t changed_ns[1024];
	unsigned nchanged;

	/* Error Information log and SMART counters, §5.16.1 */
	struct nvme_err_entry errlog[SIM_NVME_ELPE + 1];
	uint64_t err_count;
	uint64_t units_read; /* 512-byte units */
	uint64_t units_written;
	uint64_t host_reads;
	uint64_t host_writes;

	struct nvme_faults f;
	struct sim_nvme_stats st;

	/* scratch, allocated once */
	struct nvme_seg *segs;
	unsigned max_segs;
	uint8_t *page; /* 4 KiB, for identify data and log pages */
	uint8_t *cmp; /* max_xfer bounce for Compare */
	uint64_t cmp_len;
	uint8_t *xfer; /* metadata I/O: the host's image of the transfer (meta.c), grown */
	uint8_t *mdbuf; /* its metadata, as stored */
	uint8_t *mdhost; /* the separate metadata buffer's image (meta.c) */
	size_t xfer_len, mdbuf_len, mdhost_len;
	struct nvme_seg msegs[SIM_NVME_MD_SEGS]; /* the separate metadata buffer's pieces */
	unsigned nmseg;
	uint64_t tsc_hz;
};

/* PCI ids: an unassigned vendor id, so no driver mistakes the model for a real part. */
#define SIM_NVME_VID 0x7570
#define SIM_NVME_DID 0x4e56

/* regs.c */
bool regs_poll(struct nvme_ctrl *c);
void ctrl_set_csts(struct nvme_ctrl *c, uint32_t set, uint32_t clear);
uint32_t ctrl_csts(struct nvme_ctrl *c);
void ctrl_fatal(struct nvme_ctrl *c, const char *why);
void ctrl_reset_state(struct nvme_ctrl *c);
extern const struct sim_model sim_nvme_model;

/* queues.c */
bool nvme_poll(struct sim_dev *sd);
int queue_make_sq(struct nvme_ctrl *c, uint16_t qid, uint16_t cqid, uint32_t size, uint64_t iova);
int queue_make_cq(struct nvme_ctrl *c, uint16_t qid, uint32_t size, uint64_t iova);
void queue_delete_sq(struct nvme_ctrl *c, uint16_t qid);
void queue_delete_cq(struct nvme_ctrl *c, uint16_t qid);
void queue_delete_all(struct nvme_ctrl *c);
/* @dw0: the CQE's DW0, and DW1 in its high half (Zone Append's LBA, ZNS 1.1 §4.4.2) */
void queue_complete(struct nvme_ctrl *c, struct nvme_sq *sq, uint16_t cid, uint16_t status,
		    uint64_t dw0);
bool queue_post(struct nvme_ctrl *c, uint16_t sqid, uint16_t cqid, uint16_t cid, uint16_t status,
		uint64_t dw0);
void queue_dbbuf_enable(struct nvme_ctrl *c, uint32_t *shadow, uint32_t *eventidx);
bool queue_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid);
void queue_aen_kick(struct nvme_ctrl *c);
uint32_t doorbell_off(uint16_t qid, bool cq);
void faults_update(struct nvme_ctrl *c);

/* intr.c: interrupts of the completion queues */
unsigned intr_vectors(const struct nvme_ctrl *c);
int intr_init(struct nvme_ctrl *c);
void intr_free(struct nvme_ctrl *c);
void intr_reset(struct nvme_ctrl *c);
void intr_posted(struct nvme_ctrl *c, struct nvme_cq *cq);
bool intr_flush(struct nvme_ctrl *c); /* raise what is due; true while one aggregates */
void intr_unmasked(struct nvme_ctrl *c); /* INTMC cleared bits: raise what they held */
uint16_t intr_check_vector(const struct nvme_ctrl *c, bool ien, uint32_t iv);
uint16_t intr_set_ivc(struct nvme_ctrl *c, uint32_t cdw11);
uint32_t intr_get_ivc(const struct nvme_ctrl *c, uint32_t cdw11);

/* randfault.c */
int faults_parse_opts(struct nvme_ctrl *c, const struct sim_opts *opts);
uint16_t faults_random(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd);
uint64_t rng_next(uint64_t *state); /* xorshift64 */

/* admin.c, identify.c, logpage.c */
void admin_exec(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd);
uint16_t admin_identify(struct nvme_ctrl *c, const struct nvme_sqe *cmd);
uint16_t admin_get_log(struct nvme_ctrl *c, const struct nvme_sqe *cmd);
void errlog_add(struct nvme_ctrl *c, uint16_t sqid, const struct nvme_sqe *cmd, uint16_t status);

/* nvm.c */
void nvm_exec(struct nvme_ctrl *c, struct nvme_sq *sq, const struct nvme_sqe *cmd);

/* dptr.c: data pointers (PRP §4.1.1, SGL §4.1.2) */
uint16_t dptr_map(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t len, bool admin,
		  unsigned *nseg);
/* The separate metadata buffer (MPTR, or an SGL for metadata) of @len bytes into c->msegs. */
uint16_t dptr_map_md(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint64_t len);
/* Copy the separate metadata buffer into @dst / from @src (c->msegs, as dptr_map_md found it). */
void dptr_md_from_host(struct nvme_ctrl *c, uint8_t *dst);
void dptr_md_to_host(struct nvme_ctrl *c, const uint8_t *src);
void dptr_to_host(struct nvme_ctrl *c, unsigned nseg, const uint8_t *src);
void dptr_from_host(struct nvme_ctrl *c, unsigned nseg, uint8_t *dst);

/* regs.c: an option with its default and range */
struct opt_range {
	const char *key;
	uint64_t def, min, max;
};
int opt_get(struct sim_dev *sd, const struct sim_opts *opts, const struct opt_range *r,
	    uint64_t *val);

/* format.c: the format options, and Identify's view of them */
#define FMT_OPT_KEYS                                                                      \
	"ms", "mset", "pi", "pil", "pif", "zoned", "zone_size", "zone_cap", "max_active", \
		"max_open", "zasl", "msgl"
int fmt_parse_opts(struct nvme_ctrl *c, const struct sim_opts *opts);
void fmt_id_ns(const struct nvme_ctrl *c, uint8_t *d);
uint16_t fmt_id_csi(struct nvme_ctrl *c, const struct nvme_sqe *cmd, uint8_t *d);

/* meta.c: Read, Write, Compare on a namespace formatted with metadata */
uint16_t meta_rw(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns);

/* zns.c: zones (ZNS 1.1) */
int zns_create(struct nvme_ctrl *c, struct nvme_ns *ns);
struct nvme_zone *zns_zone(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t lba);
void zns_zone_set_state(struct nvme_ns *ns, struct nvme_zone *z, uint8_t to);
uint16_t zns_write_check(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb,
			 bool append);
void zns_write_done(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb);
uint16_t zns_read_check(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb);
uint16_t zns_mgmt_send(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns);
uint16_t zns_mgmt_recv(struct nvme_ctrl *c, const struct nvme_sqe *cmd, struct nvme_ns *ns);

/* ns.c */
int ns_create_all(struct nvme_ctrl *c);
void ns_destroy_all(struct nvme_ctrl *c);
void ns_zero(struct nvme_ns *ns, uint64_t off, uint64_t len);
/* Zero @nlb blocks at @slba: data, and metadata back to "never written" */
void ns_zero_blocks(struct nvme_ctrl *c, struct nvme_ns *ns, uint64_t slba, uint64_t nlb);
/* The scratch buffer @p of *@cap bytes, grown to @len; NULL when out of memory */
uint8_t *ns_scratch(uint8_t **p, size_t *cap, size_t len);
struct nvme_ns *ns_get(struct nvme_ctrl *c, uint32_t nsid); /* active namespace or NULL */

#endif
