// SPDX-License-Identifier: BSD-3-Clause
/*
 * The "sim" backend of lib/pci: a device model from sim_models[] with its BARs in ordinary
 * page-aligned memory, a config space the core fills from the model's ids, and a thread that
 * runs the model's engines. DMA resolves IOVAs through lib/mem's live mappings only.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <updk/mem.h>

#define LOG_COMPONENT "sim"
#include "lib/util/log.h"
#include "lib/mem/mem_vfio.h"
#include "lib/pci/backend.h"
#include "sim/irq.h"
#include "sim/opts.h"
#include "sim/sim.h"

/* Type 0 configuration header (PCI Local Bus 3.0 §6.1, §6.2). */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09 /* prog-if, subclass, base class: 3 bytes */
#define CFG_CACHE_LINE 0x0c
#define CFG_HEADER_TYPE 0x0e
#define CFG_BAR0 0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID 0x2e
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3c

#define CMD_MEMORY 0x0002 /* §6.2.2 bit 1: Memory Space Enable */
#define CMD_MASTER 0x0004 /* §6.2.2 bit 2: Bus Master Enable */
#define CMD_PARITY 0x0040 /* bit 6: Parity Error Response */
#define CMD_SERR 0x0100 /* bit 8: SERR# Enable */
#define CMD_INTX_DISABLE 0x0400 /* bit 10: Interrupt Disable */
#define STATUS_CAP_LIST 0x0010 /* §6.2.3 bit 4 */

#define CFG_STD_END 0x100
#define CFG_EXT_START 0x100
#define CFG_SIZE 4096

/* Capability IDs (PCI Code and ID Assignment spec §2). */
#define CAP_ID_PM 0x01
#define CAP_ID_EXP 0x10

/*
 * Idle back-off of the model thread: this many empty polls are spun through (a doorbell right
 * after a completion is served at once), then the thread sleeps, from SLEEP_MIN_NS doubling to
 * SLEEP_MAX_NS, so an idle model costs next to nothing on a small machine.
 */
#define IDLE_SPINS 2000
#define SLEEP_MIN_NS 20000L
#define SLEEP_MAX_NS 1000000L

/* Faults logged per device before the log goes quiet (each is still counted). */
#define FAULT_LOG_MAX 16

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("pause");
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static struct sim_dev *to_sd(const struct updk_pci_dev *dev)
{
	return dev->priv;
}

/* Config space. */

int sim_cfg_add_cap(struct sim_dev *sd, uint8_t id, const void *body, size_t len)
{
	uint32_t off = (sd->cfg_cap_end + 3u) & ~3u;

	if (off + 2 + len > CFG_STD_END) {
		log_err("%s: no room for capability 0x%02x (%zu bytes) in config space", sd->name,
			id, len + 2);
		return -ENOSPC;
	}
	sd->cfg[off] = id;
	sd->cfg[off + 1] = 0; /* end of list */
	if (body)
		memcpy(&sd->cfg[off + 2], body, len);
	else
		memset(&sd->cfg[off + 2], 0, len);
	if (sd->cfg_cap_last)
		sd->cfg[sd->cfg_cap_last + 1] = (uint8_t)off;
	else
		sd->cfg[CFG_CAP_PTR] = (uint8_t)off;
	sim_cfg_set16(sd, CFG_STATUS, sim_cfg16(sd, CFG_STATUS) | STATUS_CAP_LIST);
	sd->cfg_cap_last = (uint16_t)off;
	sd->cfg_cap_end = (uint16_t)(off + 2 + len);
	return (int)off;
}

int sim_cfg_add_ext_cap(struct sim_dev *sd, uint16_t id, uint8_t ver, const void *body, size_t len)
{
	uint32_t off = (sd->cfg_ext_end + 3u) & ~3u, prev;

	if (off + 4 + len > CFG_SIZE || ver > 0xf) {
		log_err("%s: no room for extended capability 0x%04x (%zu bytes)", sd->name, id,
			len + 4);
		return -ENOSPC;
	}
	/* Header: ID [15:0], version [19:16], next offset [31:20] (PCIe Base 4.0 §7.6.3). */
	sim_cfg_set32(sd, off, (uint32_t)id | (uint32_t)ver << 16);
	if (body)
		memcpy(&sd->cfg[off + 4], body, len);
	else
		memset(&sd->cfg[off + 4], 0, len);
	if (sd->cfg_ext_last) {
		prev = sd->cfg_ext_last;
		sim_cfg_set16(sd, prev + 2, (uint16_t)(sim_cfg16(sd, prev + 2) | off << 4));
	}
	sd->cfg_ext_last = (uint16_t)off;
	sd->cfg_ext_end = (uint16_t)(off + 4 + len);
	return (int)off;
}

/*
 * The header of a fresh function: ids, class, 32-bit non-prefetchable memory BARs at distinct
 * size-aligned addresses (§6.2.5.1), Memory Space Enable set and Bus Master clear (the state
 * vfio-pci leaves a device in after open), and the Power Management (PCI PM 1.2 §3.2) and PCI
 * Express (PCIe Base 4.0 §7.5.3) capabilities every PCIe endpoint has.
 */
static int cfg_init(struct sim_dev *sd)
{
	const struct sim_model *m = sd->model;
	uint8_t pm[6] = { 0 }, exp[0x3c - 2] = { 0 };
	uint64_t base = 0x80000000;

	sim_cfg_set16(sd, CFG_VENDOR, m->vendor_id);
	sim_cfg_set16(sd, CFG_DEVICE, m->device_id);
	sim_cfg_set16(sd, CFG_COMMAND, CMD_MEMORY);
	sd->cfg[CFG_REVISION] = 1;
	sd->cfg[CFG_CLASS] = (uint8_t)m->class_code;
	sd->cfg[CFG_CLASS + 1] = (uint8_t)(m->class_code >> 8);
	sd->cfg[CFG_CLASS + 2] = (uint8_t)(m->class_code >> 16);
	sd->cfg[CFG_HEADER_TYPE] = 0;
	sim_cfg_set16(sd, CFG_SUBSYS_VENDOR, m->vendor_id);
	sim_cfg_set16(sd, CFG_SUBSYS_ID, m->device_id);

	sd->cfg_wmask[CFG_COMMAND] = (CMD_MEMORY | CMD_MASTER | CMD_PARITY) & 0xff;
	sd->cfg_wmask[CFG_COMMAND + 1] = (CMD_SERR | CMD_INTX_DISABLE) >> 8;
	sd->cfg_wmask[CFG_CACHE_LINE] = 0xff;
	sd->cfg_wmask[CFG_INT_LINE] = 0xff;
	for (int i = 0; i < 6; i++) {
		uint64_t size = sd->bar_size[i];
		uint32_t mask;

		if (!size)
			continue;
		base = (base + size - 1) & ~(size - 1);
		if (base + size > 0x100000000ull) {
			log_err("%s: BARs do not fit a 32-bit address space", sd->name);
			return -EINVAL;
		}
		sim_cfg_set32(sd, CFG_BAR0 + 4u * (uint32_t)i, (uint32_t)base);
		/* Address bits below the size read back 0: writing all ones sizes the BAR. */
		mask = (uint32_t) ~(size - 1) & 0xfffffff0u;
		for (int b = 0; b < 4; b++)
			sd->cfg_wmask[CFG_BAR0 + 4 * i + b] = (uint8_t)(mask >> (8 * b));
		base += size;
	}

	sd->cfg_cap_end = 0x40;
	sd->cfg_ext_end = CFG_EXT_START;
	/* PMC: version 3 (PM 1.2); PMCSR: D0, No_Soft_Reset. */
	pm[0] = 0x03;
	pm[2] = 0x08;
	if (sim_cfg_add_cap(sd, CAP_ID_PM, pm, sizeof(pm)) < 0)
		return -ENOSPC;
	/*
	 * PCI Express Capabilities: version 2, endpoint (type 0); Device Capabilities: 256-byte
	 * max payload, Function Level Reset when the model can reset; Link: 5 GT/s x4.
	 */
	exp[0] = 0x02;
	exp[2] = 0x01;
	if (sd->model->reset)
		exp[5] = 0x10; /* Device Capabilities bit 28 */
	exp[10] = 0x42; /* Link Capabilities: speed 2, width 4 */
	exp[16] = 0x42; /* Link Status: the same */
	if (sim_cfg_add_cap(sd, CAP_ID_EXP, exp, sizeof(exp)) < 0)
		return -ENOSPC;
	return 0;
}

static int sim_cfg_read(struct updk_pci_dev *dev, void *buf, size_t len, uint32_t off)
{
	struct sim_dev *sd = to_sd(dev);

	if (off >= CFG_SIZE || len > CFG_SIZE - off)
		return -EINVAL;
	pthread_mutex_lock(&sd->lock);
	memcpy(buf, &sd->cfg[off], len);
	pthread_mutex_unlock(&sd->lock);
	return 0;
}

/* Only the bits in cfg_wmask change; the rest is read-only, as in hardware. */
static int sim_cfg_write(struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off)
{
	struct sim_dev *sd = to_sd(dev);
	const uint8_t *b = buf;

	if (off >= CFG_SIZE || len > CFG_SIZE - off)
		return -EINVAL;
	pthread_mutex_lock(&sd->lock);
	for (size_t i = 0; i < len; i++) {
		uint8_t w = sd->cfg_wmask[off + i];

		sd->cfg[off + i] = (uint8_t)((sd->cfg[off + i] & ~w) | (b[i] & w));
	}
	pthread_mutex_unlock(&sd->lock);
	return 0;
}

/* BARs. */

static void *sim_map_bar(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len)
{
	struct sim_dev *sd = to_sd(dev);

	if (bar < 0 || bar >= 6 || !sd->bar[bar] || off >= sd->bar_size[bar] ||
	    len > sd->bar_size[bar] - off) {
		errno = EINVAL;
		return NULL;
	}
	return (char *)sd->bar[bar] + off;
}

static void sim_unmap_bar(struct updk_pci_dev *dev, int bar, void *va, size_t len)
{
	/* The BAR memory belongs to the model and goes at close. */
}

static uint64_t sim_bar_size(struct updk_pci_dev *dev, int bar)
{
	return bar >= 0 && bar < 6 ? to_sd(dev)->bar_size[bar] : 0;
}

/*
 * Control-path registers. lib/pci has checked the BAR, alignment and bounds. With Memory Space
 * Enable clear the function does not decode its BARs: reads see all ones, writes are lost.
 */
static bool decoding(struct sim_dev *sd, int bar, uint32_t off)
{
	if (sim_cfg16(sd, CFG_COMMAND) & CMD_MEMORY)
		return true;
	log_err("%s: register access at 0x%x of BAR %d with Memory Space Enable clear "
		"(call updk_pci_enable)",
		sd->name, off, bar);
	return false;
}

static uint32_t sim_reg_read32(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	struct sim_dev *sd = to_sd(dev);
	uint32_t v = UINT32_MAX;

	pthread_mutex_lock(&sd->lock);
	if (decoding(sd, bar, off))
		v = sd->model->reg_read32 ? sd->model->reg_read32(sd, bar, off) :
					    sim_reg32(sd, bar, off);
	pthread_mutex_unlock(&sd->lock);
	return v;
}

static void sim_reg_write32(struct updk_pci_dev *dev, int bar, uint32_t off, uint32_t val)
{
	struct sim_dev *sd = to_sd(dev);

	pthread_mutex_lock(&sd->lock);
	if (decoding(sd, bar, off)) {
		if (sd->model->reg_write32)
			sd->model->reg_write32(sd, bar, off, val);
		else
			sim_set_reg32(sd, bar, off, val);
	}
	pthread_mutex_unlock(&sd->lock);
}

static uint64_t sim_reg_read64(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	struct sim_dev *sd = to_sd(dev);
	uint64_t v = UINT64_MAX;

	pthread_mutex_lock(&sd->lock);
	if (decoding(sd, bar, off))
		v = sd->model->reg_read64 ? sd->model->reg_read64(sd, bar, off) :
					    sim_reg64(sd, bar, off);
	pthread_mutex_unlock(&sd->lock);
	return v;
}

static void sim_reg_write64(struct updk_pci_dev *dev, int bar, uint32_t off, uint64_t val)
{
	struct sim_dev *sd = to_sd(dev);

	pthread_mutex_lock(&sd->lock);
	if (decoding(sd, bar, off)) {
		if (sd->model->reg_write64)
			sd->model->reg_write64(sd, bar, off, val);
		else
			sim_set_reg64(sd, bar, off, val);
	}
	pthread_mutex_unlock(&sd->lock);
}

static int sim_reset(struct updk_pci_dev *dev)
{
	struct sim_dev *sd = to_sd(dev);
	int err;

	if (!sd->model->reset) {
		log_err("%s: this model has no function-level reset", sd->name);
		return -ENOTSUP;
	}
	pthread_mutex_lock(&sd->lock);
	err = sd->model->reset(sd);
	pthread_mutex_unlock(&sd->lock);
	return err;
}

/* DMA: the model's view of host memory, through lib/mem's IOVA mappings only. */

static void dma_fault(struct sim_dev *sd, const char *what, uint64_t iova, size_t len,
		      const char *why)
{
	uint64_t n = __atomic_add_fetch(&sd->dma_faults, 1, __ATOMIC_RELAXED);

	if (n <= FAULT_LOG_MAX)
		log_err("%s: DMA fault: %s of %zu bytes at IOVA 0x%llx refused: %s%s", sd->name,
			what, len, (unsigned long long)iova, why,
			n == FAULT_LOG_MAX ? " (further faults are counted, not logged)" : "");
}

static void *dma_resolve(struct sim_dev *sd, uint64_t iova, size_t len, const char *what)
{
	void *va;

	if (!sim_bus_master(sd)) {
		dma_fault(sd, what, iova, len,
			  "Bus Master Enable is clear (the driver must call updk_pci_enable)");
		return NULL;
	}
	if (iova + len < iova) {
		dma_fault(sd, what, iova, len, "range wraps around the address space");
		return NULL;
	}
	va = mem_iova_to_va(iova, len);
	if (!va)
		dma_fault(sd, what, iova, len, "not inside one mapping made by lib/mem");
	return va;
}

int sim_dma_read(struct sim_dev *sd, uint64_t iova, void *buf, size_t len)
{
	void *va;

	if (!len)
		return 0;
	va = dma_resolve(sd, iova, len, "read");
	if (!va)
		return -EFAULT;
	memcpy(buf, va, len);
	return 0;
}

/* sim_dma_set_copy_hook(): the hook and its argument (set with no DMA in flight). */
static void (*copy_hook)(void *arg);
static void *copy_hook_arg;

void sim_dma_set_copy_hook(void (*hook)(void *arg), void *arg)
{
	__atomic_store_n(&copy_hook_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&copy_hook, hook, __ATOMIC_RELEASE);
}

int sim_dma_write(struct sim_dev *sd, uint64_t iova, const void *buf, size_t len)
{
	void (*hook)(void *arg) = __atomic_load_n(&copy_hook, __ATOMIC_ACQUIRE);
	void *va;

	if (!len)
		return 0;
	va = dma_resolve(sd, iova, len, "write");
	if (!va)
		return -EFAULT;
	memcpy(va, buf, len);
	if (hook) {
		hook(__atomic_load_n(&copy_hook_arg, __ATOMIC_RELAXED));
		memcpy(va, buf, len);
	}
	return 0;
}

int sim_dma_store32(struct sim_dev *sd, uint64_t iova, uint32_t val)
{
	uint32_t *va;

	if (iova & 3) {
		log_err("%s: model bug: a 32-bit DMA store to IOVA 0x%llx, which is not 4-byte "
			"aligned",
			sd->name, (unsigned long long)iova);
		return -EINVAL;
	}
	va = dma_resolve(sd, iova, 4, "write");
	if (!va)
		return -EFAULT;
	__atomic_store_n(va, htole32(val), __ATOMIC_RELEASE);
	return 0;
}

void *sim_dma_ptr(struct sim_dev *sd, uint64_t iova, size_t len)
{
	return dma_resolve(sd, iova, len ? len : 1, "access");
}

/* The model thread. */

static void *model_thread(void *arg)
{
	struct sim_dev *sd = arg;
	long sleep_ns = SLEEP_MIN_NS;
	unsigned idle = 0;
	bool did;

	while (!__atomic_load_n(&sd->stop, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&sd->lock);
		did = sd->model->poll(sd);
		pthread_mutex_unlock(&sd->lock);
		/* The thread translates IOVAs: it reports a quiescent state once per pass. */
		updk_mem_quiescent();
		if (did) {
			idle = 0;
			sleep_ns = SLEEP_MIN_NS;
			continue;
		}
		if (++idle < IDLE_SPINS) {
			cpu_relax();
			continue;
		}
		/* Asleep, the thread holds no translation: grace periods need not wait for it. */
		updk_mem_thread_offline();
		nanosleep(&(struct timespec){ .tv_nsec = sleep_ns }, NULL);
		updk_mem_thread_online();
		if (sleep_ns < SLEEP_MAX_NS)
			sleep_ns *= 2;
	}
	updk_mem_thread_exit();
	return NULL;
}

/* Open and close. */

static void sim_free(struct sim_dev *sd)
{
	for (int i = 0; i < 6; i++)
		if (sd->bar[i])
			munmap(sd->bar[i], sd->bar_size[i]);
	sim_irq_free(sd);
	pthread_mutex_destroy(&sd->lock);
	free(sd);
}

static void sim_close(struct updk_pci_dev *dev)
{
	struct sim_dev *sd = to_sd(dev);

	if (sd->has_thread) {
		__atomic_store_n(&sd->stop, true, __ATOMIC_RELEASE);
		pthread_join(sd->thread, NULL);
	}
	if (sd->model->destroy)
		sd->model->destroy(sd);
	sim_free(sd);
	dev->priv = NULL;
}

static const struct pci_backend_ops sim_ops = {
	.name = "sim",
	.cfg_read = sim_cfg_read,
	.cfg_write = sim_cfg_write,
	.map_bar = sim_map_bar,
	.unmap_bar = sim_unmap_bar,
	.bar_size = sim_bar_size,
	.reg_read32 = sim_reg_read32,
	.reg_write32 = sim_reg_write32,
	.reg_read64 = sim_reg_read64,
	.reg_write64 = sim_reg_write64,
	.reset = sim_reset,
	.irq_info = sim_irq_info,
	.irq_set = sim_irq_set,
	.irq_mask = sim_irq_mask,
	.close = sim_close,
};

static const struct sim_model *find_model(const char *name)
{
	char list[256] = "";

	for (const struct sim_model *const *m = sim_models; *m; m++)
		if (!strcmp((*m)->name, name))
			return *m;
	for (const struct sim_model *const *m = sim_models; *m; m++) {
		if (*list)
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, (*m)->name, sizeof(list) - strlen(list) - 1);
	}
	log_err("sim:%s: no such device model (models: %s)", name, list);
	return NULL;
}

static int alloc_bars(struct sim_dev *sd)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	for (int i = 0; i < 6; i++) {
		uint64_t size =
			sd->model->bar_size[i] ? sd->model->bar_size[i] : sim_irq_bar_size(sd, i);
		void *p;

		if (!size)
			continue;
		/* BARs are powers of two (§6.2.5.1); page-sized at least, so they can be mmapped. */
		if (size & (size - 1) || size < pg || size > (1ull << 30)) {
			log_err("%s: model BAR %d size 0x%llx is not a power of two from a page to "
				"1 GiB",
				sd->name, i, (unsigned long long)size);
			return -EINVAL;
		}
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			int err = -errno;

			log_err("%s: cannot allocate BAR %d (%llu bytes): %s", sd->name, i,
				(unsigned long long)size, strerror(-err));
			return err;
		}
		sd->bar[i] = p;
		sd->bar_size[i] = size;
	}
	return 0;
}

int pci_sim_open(const char *spec, struct updk_pci_dev *dev)
{
	char name[SIM_MODEL_NAME_MAX];
	const struct sim_model *m;
	struct sim_opts opts;
	struct sim_dev *sd;
	int err;

	err = sim_spec_parse(spec, name, &opts);
	if (err)
		return err;
	m = find_model(name);
	if (!m)
		return -ENODEV;
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return -ENOMEM;
	sd->model = m;
	snprintf(sd->name, sizeof(sd->name), "sim:%s", m->name);
	pthread_mutex_init(&sd->lock, NULL);

	err = sim_irq_init(sd, &opts);
	if (!err)
		err = alloc_bars(sd);
	if (!err)
		err = cfg_init(sd);
	if (!err)
		err = sim_irq_cfg_init(sd);
	if (!err)
		err = m->create(sd, &opts);
	if (err) {
		sim_free(sd);
		return err;
	}
	if (m->poll) {
		err = -pthread_create(&sd->thread, NULL, model_thread, sd);
		if (err) {
			log_err("%s: cannot start the model thread: %s", sd->name, strerror(-err));
			if (m->destroy)
				m->destroy(sd);
			sim_free(sd);
			return err;
		}
		sd->has_thread = true;
		/* "sim:dmacopy" in top and gdb (names are at most 15 characters). */
		char tname[16];

		memcpy(tname, sd->name, sizeof(tname) - 1);
		tname[sizeof(tname) - 1] = '\0';
		pthread_setname_np(sd->thread, tname);
	}
	snprintf(dev->name, sizeof(dev->name), "%s", sd->name);
	dev->priv = sd;
	dev->ops = &sim_ops;
	dev->vendor_id = m->vendor_id;
	dev->device_id = m->device_id;
	dev->numa_node = UPDK_NUMA_ANY;
	return 0;
}
