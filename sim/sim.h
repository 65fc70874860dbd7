/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim/: in-process device models behind lib/pci's "sim" backend (docs/architecture.md).
 *
 * A model owns a register file in ordinary memory (its BARs) and a config space. Two paths
 * reach it, as on hardware:
 * - control-path register accesses (updk_pci_reg_read32() and friends) call the model's
 *   reg_* hooks on the caller's thread, with the device lock held, so side effects (a reset
 *   bit that self-clears, a read-to-clear counter) happen before the call returns;
 * - data-path doorbells are plain stores into the BAR memory; the model's thread calls poll()
 *   in a loop, with the device lock held, and notices them there.
 * A model reaches host memory only through sim_dma_*(), which resolve IOVAs through lib/mem's
 * mappings; an unmapped IOVA is a DMA fault, counted and logged, never a guess.
 */
#ifndef UPDK_SIM_SIM_H
#define UPDK_SIM_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_dev;

/* key=value options from the address, "sim:nvme?ns=2,size=1G" */
#define SIM_MAX_OPTS 16
struct sim_opts {
	unsigned n;
	struct {
		char key[32];
		char val[96];
	} kv[SIM_MAX_OPTS];
};

/*
 * The interrupts a model's function offers (sim/irq.c). The core adds the MSI-X and MSI
 * capabilities and the interrupt pin to config space; the address options msix=N, msi=N and
 * intx=0|1, which every model takes, override these defaults.
 */
struct sim_irq_caps {
	uint16_t msix; /* MSI-X vectors, 0-2048 (0: no MSI-X capability) */
	uint8_t msix_bar; /* the BAR holding the MSI-X table and PBA: one the model leaves unused */
	uint8_t msi; /* MSI vectors: 0 (no capability), 1, 2, 4, 8, 16 or 32 */
	bool intx; /* an interrupt pin, INTA# */
};

struct sim_model {
	const char *name; /* "nvme", "ixgbe", "dmacopy" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;
	uint64_t bar_size[6]; /* 0: absent */
	struct sim_irq_caps irq;
	/*
	 * Build the model's state from @opts (reject unknown keys with -EINVAL and a message naming
	 * the key and the ones allowed), set up config space and registers. sd->priv is the model's.
	 * On failure create() releases what it took: destroy() is called only after a success.
	 * The core has filled config space (ids, BARs, PM and PCI Express capabilities) before.
	 */
	int (*create)(struct sim_dev *sd, const struct sim_opts *opts);
	void (*destroy)(struct sim_dev *sd);
	/* Control-path hooks; NULL: plain memory read/write of the BAR. */
	uint32_t (*reg_read32)(struct sim_dev *sd, int bar, uint32_t off);
	void (*reg_write32)(struct sim_dev *sd, int bar, uint32_t off, uint32_t val);
	uint64_t (*reg_read64)(struct sim_dev *sd, int bar, uint32_t off);
	void (*reg_write64)(struct sim_dev *sd, int bar, uint32_t off, uint64_t val);
	/* One pass of the model's engines; returns true if it did any work (idle back-off). */
	bool (*poll)(struct sim_dev *sd);
	/* Function-level reset. */
	int (*reset)(struct sim_dev *sd);
};

/* The interrupt state of one device, under sd->lock (sim/irq.c). */
struct sim_irq {
	struct sim_irq_caps caps; /* the model's, after the address options */
	uint64_t msix_bar_size; /* of caps.msix_bar, sized by the core */
	uint16_t msix_cap, msi_cap; /* config-space offsets; 0: absent */
	int type; /* enum updk_pci_irq_type the host enabled */
	unsigned count; /* vectors enabled */
	int *fds; /* [count] eventfds, lib/pci's, bound by the host */
	uint64_t *raised; /* [count] interrupts signalled per vector */
	bool intx_masked; /* INTx fired and the host has not unmasked it yet */
	bool intx_pending; /* raised while masked: fires at unmask */
	uint64_t lost; /* raised with nothing to deliver it (see sim_irq_raise) */
};

struct sim_dev {
	const struct sim_model *model;
	char name[64];
	void *bar[6]; /* page-aligned, zeroed at creation */
	uint64_t bar_size[6];
	uint8_t cfg[4096]; /* config space; the core fills ids, class and the BARs */
	pthread_mutex_t lock; /* held around every hook and poll() */
	pthread_t thread;
	bool stop;
	uint64_t dma_faults; /* IOVAs the model was refused */
	void *priv;
	/*
	 * Bits of cfg[] a config write may change (1: writable); the rest reads back as the model
	 * set it. The core makes the command register and the BAR address bits writable.
	 */
	uint8_t cfg_wmask[4096];
	uint16_t cfg_cap_last; /* last capability in the standard list (0: none yet) */
	uint16_t cfg_cap_end; /* first free byte for the next standard capability */
	uint16_t cfg_ext_last; /* last extended capability (0: none yet) */
	uint16_t cfg_ext_end; /* first free byte for the next extended capability */
	bool has_thread;
	struct sim_irq irq;
};

/*
 * Append a capability (PCI Local Bus 3.0 §6.7) with @id and @len bytes of @body (what follows
 * the ID and next-pointer bytes; may be NULL for zeroes) to the standard list, 4-byte aligned.
 * Returns its config-space offset, or -ENOSPC when the 256-byte space is full. The core has
 * already added a Power Management and a PCI Express capability; call from create().
 */
int sim_cfg_add_cap(struct sim_dev *sd, uint8_t id, const void *body, size_t len);

/*
 * Append an extended capability (PCIe Base 4.0 §7.6) with @id, version @ver and @len bytes of
 * @body after the 4-byte header, from 0x100 on. Returns its offset, or -ENOSPC.
 */
int sim_cfg_add_ext_cap(struct sim_dev *sd, uint16_t id, uint8_t ver, const void *body, size_t len);

/* Config-space fields, little-endian as on the bus. */
static inline uint16_t sim_cfg16(const struct sim_dev *sd, uint32_t off)
{
	return (uint16_t)(sd->cfg[off] | sd->cfg[off + 1] << 8);
}

static inline void sim_cfg_set16(struct sim_dev *sd, uint32_t off, uint16_t v)
{
	sd->cfg[off] = (uint8_t)v;
	sd->cfg[off + 1] = (uint8_t)(v >> 8);
}

static inline void sim_cfg_set32(struct sim_dev *sd, uint32_t off, uint32_t v)
{
	sim_cfg_set16(sd, off, (uint16_t)v);
	sim_cfg_set16(sd, off + 2, (uint16_t)(v >> 16));
}

/*
 * True when the driver has set Bus Master Enable (PCI Local Bus 3.0 §6.2.2, command bit 2).
 * sim_dma_*() refuse DMA without it, as the bus does on hardware: a driver must call
 * updk_pci_enable(dev, true) before the device can reach memory.
 */
static inline bool sim_bus_master(const struct sim_dev *sd)
{
	return sim_cfg16(sd, 0x04) & 0x0004;
}

/* The value of @key in @opts, or NULL. */
const char *sim_opt(const struct sim_opts *opts, const char *key);
/*
 * Parse @key as a size or count with an optional k/K, m/M, g/G suffix (powers of 1024) into
 * *@val; @def when absent. Returns 0, -EINVAL (logged, naming the key and value).
 */
int sim_opt_u64(const struct sim_opts *opts, const char *key, uint64_t def, uint64_t *val);
/* -EINVAL (logged) if @opts has a key not in the NULL-terminated @allowed list. */
int sim_opts_check(const struct sim_dev *sd, const struct sim_opts *opts,
		   const char *const *allowed);

/*
 * Device DMA. Each returns 0, or -EFAULT when any byte of the range is not mapped: the fault is
 * counted in sd->dma_faults and logged with the IOVA, like a DMAR fault on hardware.
 */
int sim_dma_read(struct sim_dev *sd, uint64_t iova, void *buf, size_t len);
/*
 * A copy, with memcpy(): a byte may be stored more than once (glibc stores 4 to 7 bytes as two
 * overlapping 32-bit stores of the same word), and the host can act between the two. Fine for
 * data the host reads only after an ownership word says so; never for that word itself.
 */
int sim_dma_write(struct sim_dev *sd, uint64_t iova, const void *buf, size_t len);
/*
 * Store @val (little-endian, @iova 4-byte aligned) with one 32-bit store, ordered after every
 * earlier store of this thread: for the word that hands memory to the host (a descriptor's DD,
 * a completion's phase tag). A device writes it once; once the host has seen it, the host may
 * rewrite the memory, and a second store would undo that. Returns 0, -EFAULT (a counted
 * fault) or -EINVAL (misaligned: a bug in the model, logged).
 */
int sim_dma_store32(struct sim_dev *sd, uint64_t iova, uint32_t val);
/*
 * For tests: while @hook is set, every sim_dma_write() stores its bytes, calls @hook(@arg) on
 * the model's thread (device lock held) and stores them again, which is the worst a copy may
 * do, made to happen every time. A host that runs its receive or completion path in @hook sees
 * each ownership word the moment it lands. NULL turns it off; call with no DMA in flight.
 */
void sim_dma_set_copy_hook(void (*hook)(void *arg), void *arg);
/* Direct pointer to [iova, iova + len) when mapped, else NULL (and a counted fault). */
void *sim_dma_ptr(struct sim_dev *sd, uint64_t iova, size_t len);

/* BAR memory as the model's registers: plain little-endian loads and stores. */
static inline uint32_t sim_reg32(const struct sim_dev *sd, int bar, uint32_t off)
{
	return __atomic_load_n((const uint32_t *)((const char *)sd->bar[bar] + off),
			       __ATOMIC_ACQUIRE);
}

static inline void sim_set_reg32(struct sim_dev *sd, int bar, uint32_t off, uint32_t val)
{
	__atomic_store_n((uint32_t *)((char *)sd->bar[bar] + off), val, __ATOMIC_RELEASE);
}

/* 64-bit register in BAR memory: the low dword at @off, as the driver's 64-bit store left it. */
static inline uint64_t sim_reg64(const struct sim_dev *sd, int bar, uint32_t off)
{
	return __atomic_load_n((const uint64_t *)((const char *)sd->bar[bar] + off),
			       __ATOMIC_ACQUIRE);
}

static inline void sim_set_reg64(struct sim_dev *sd, int bar, uint32_t off, uint64_t val)
{
	__atomic_store_n((uint64_t *)((char *)sd->bar[bar] + off), val, __ATOMIC_RELEASE);
}

/*
 * Raise interrupt vector @vector (sd->lock held, as in every hook and poll()): what the host
 * enabled decides what happens, as on hardware.
 * - MSI-X: vector @vector's eventfd is written; a vector beyond those enabled is lost.
 * - MSI: the vector's low bits select one of the enabled vectors, as with Multiple Message
 *   Enable; one beyond them is lost.
 * - INTx (one line for every vector): written unless the line is masked, and then masked, as
 *   vfio-pci does; raised while masked, it fires when the host unmasks it. The Interrupt
 *   Disable bit of the command register holds it back the same way.
 * - nothing enabled: lost. MSI and MSI-X are memory writes: without Bus Master Enable, lost.
 * Lost interrupts are counted in sd->irq.lost.
 */
void sim_irq_raise(struct sim_dev *sd, unsigned vector);

/* What the host enabled: enum updk_pci_irq_type (UPDK_PCI_IRQ_NONE: nothing) and how many. */
static inline int sim_irq_type(const struct sim_dev *sd)
{
	return sd->irq.type;
}

static inline unsigned sim_irq_count(const struct sim_dev *sd)
{
	return sd->irq.count;
}

/*
 * For tests: the interrupts signalled on vector @vector of @dev (a sim device) since interrupts
 * were enabled, and those lost (sim_irq_raise()). -EINVAL for a vector not enabled.
 */
struct updk_pci_dev;
int sim_irq_stats(struct updk_pci_dev *dev, unsigned vector, uint64_t *raised, uint64_t *lost);

/* The model table: every model updk knows, NULL-terminated (sim/models.c). */
extern const struct sim_model *const sim_models[];

#endif
