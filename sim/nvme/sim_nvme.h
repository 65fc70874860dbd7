/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme test hooks: fault injection and counters of the simulated NVMe controller.
 * Internal to updk; the model and driver tests include it. Each call takes the device opened
 * with updk_pci_open("sim:nvme...") and returns 0, or -EINVAL when @dev is not a sim:nvme
 * device. The effect is immediate (the model's lock is taken), so a test can arm a fault and
 * then submit the command it is aimed at.
 *
 * "Next completion" faults apply once, to the next completion posted for submission queue
 * @sqid (-1: any queue), then disarm.
 */
#ifndef UPDK_SIM_NVME_SIM_NVME_H
#define UPDK_SIM_NVME_SIM_NVME_H

#include <stdbool.h>
#include <stdint.h>

struct updk_pci_dev;

/* Counters, since the device was opened. */
struct sim_nvme_stats {
	uint64_t mmio_sq_db; /* changes of an SQ tail MMIO doorbell the model saw */
	uint64_t mmio_cq_db; /* changes of a CQ head MMIO doorbell the model saw */
	uint64_t shadow_sq_db; /* changes of an SQ tail shadow doorbell */
	uint64_t shadow_cq_db; /* changes of a CQ head shadow doorbell */
	uint64_t bad_db; /* doorbell values out of range (ignored, error event raised) */
	uint64_t completions; /* CQEs posted */
	uint64_t interrupts; /* interrupt vectors raised (a masked one when INTMC releases it) */
	uint64_t errors; /* CQEs with a non-zero status */
	uint64_t dma_faults; /* commands failed on an unmapped IOVA */
	uint64_t md_sgls; /* commands whose separate metadata came through an SGL (PSDT 10b) */
	uint64_t injected_errors; /* random faults (faults=): I/O commands failed, not run */
	uint64_t injected_delays; /* ... completions posted late */
	uint64_t injected_drops; /* ... completions held until an Abort or queue deletion */
	uint64_t admin_cmds[256]; /* by opcode */
	uint64_t io_cmds[256]; /* by opcode */
};

/* Copy the counters into *@st. */
int sim_nvme_stats(struct updk_pci_dev *dev, struct sim_nvme_stats *st);

/* Set CSTS.CFS now: the controller stops processing until a controller reset (CC.EN 1→0). */
int sim_nvme_fault_fatal(struct updk_pci_dev *dev);

/* Execute the next command of @sqid but never post its completion (an Abort finds it). */
int sim_nvme_fault_drop(struct updk_pci_dev *dev, int sqid);

/*
 * The next command of @sqid (-1: any queue) with opcode @opc is fetched but neither executed
 * nor completed, as if the controller lost it: only an Abort naming it (Command Abort
 * Requested) or a controller reset ends it. With @opc 08h on SQ 0, an Abort that does nothing.
 */
int sim_nvme_fault_hang(struct updk_pci_dev *dev, int sqid, uint8_t opc);

/* Post every completion @us microseconds after the command ran (0: off). */
int sim_nvme_fault_delay(struct updk_pci_dev *dev, uint32_t us);

/*
 * Delay every completion by a random 0..@us microseconds (0: off), so commands complete out of
 * submission order, as a real device's do. Also the address option jitter_us=.
 */
int sim_nvme_fault_jitter(struct updk_pci_dev *dev, uint32_t us);

/* Post the next completion of @sqid with command identifier @cid instead of the real one. */
int sim_nvme_fault_bogus_cid(struct updk_pci_dev *dev, int sqid, uint16_t cid);

/* Post the next completion of @sqid with the phase tag of the previous pass (invisible). */
int sim_nvme_fault_wrong_phase(struct updk_pci_dev *dev, int sqid);

/* Report, in the next completion of @sqid, an SQ head one entry beyond the host's tail. */
int sim_nvme_fault_sqhd_beyond_tail(struct updk_pci_dev *dev, int sqid);

/* While @on, CC.EN=1 never sets CSTS.RDY. */
int sim_nvme_fault_never_ready(struct updk_pci_dev *dev, bool on);

/* Corrupt what Identify returns (flags below; 0 restores). */
#define SIM_NVME_ID_BAD_STRINGS (1u << 0) /* SN/MN/FR full of non-ASCII bytes, no spaces */
#define SIM_NVME_ID_BAD_NN (1u << 1) /* NN = 0xffffffff */
#define SIM_NVME_ID_BAD_MDTS (1u << 2) /* MDTS = 0xff */
#define SIM_NVME_ID_BAD_LBAF (1u << 3) /* NLBAF 0xff, FLBAS 15, LBADS 63 */
#define SIM_NVME_ID_BAD_FLBAS (1u << 4) /* FLBAS picks format 5 of NLBAF 0 (one format) */
int sim_nvme_fault_identify(struct updk_pci_dev *dev, unsigned flags);

/* Surprise removal: every BAR and config read returns all-ones, nothing is processed. */
int sim_nvme_fault_remove(struct updk_pci_dev *dev);

/* Attach (@active) or detach namespace @nsid and raise a Namespace Attribute Changed event. */
int sim_nvme_ns_set_active(struct updk_pci_dev *dev, uint32_t nsid, bool active);

/*
 * Zoned namespaces: the zone at @zslba of namespace @nsid becomes Read Only, as when the media
 * wears out (ZNS 1.1 §2.1.1); -EINVAL if the namespace is not zoned or @zslba starts no zone.
 */
int sim_nvme_zone_read_only(struct updk_pci_dev *dev, uint32_t nsid, uint64_t zslba);

/*
 * EventIdx policy with shadow doorbells. POLLING (default): EventIdx half a queue away from
 * what the model consumed, so a host that follows the EventIdx rule writes an MMIO doorbell
 * only for a burst of more than half a queue (the model polls the shadow anyway). TAIL:
 * EventIdx equals what was consumed, as an event-driven controller does, so the host writes an
 * MMIO doorbell whenever it moves the tail past an idle controller.
 */
enum sim_nvme_ei_mode {
	SIM_NVME_EI_POLLING = 0,
	SIM_NVME_EI_TAIL,
};
int sim_nvme_set_eventidx_mode(struct updk_pci_dev *dev, enum sim_nvme_ei_mode mode);

/*
 * Pause (@on) or resume the model's queue processing. Once the call returns the model reads
 * no doorbell, fetches no command and writes no EventIdx until resumed, so a test can make a
 * doorbell update and its EventIdx check against a controller that stands still, instead of
 * racing its polling thread. Registers (CC, CSTS) still work.
 */
int sim_nvme_pause(struct updk_pci_dev *dev, bool on);

/*
 * Wait until the model has made a pass over the doorbells that began after this call, so every
 * doorbell value written before it is counted in sim_nvme_stats(). -ETIMEDOUT after 10 s (the
 * controller is not processing, or paused).
 */
int sim_nvme_sync(struct updk_pci_dev *dev);

#endif
