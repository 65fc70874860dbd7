/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow doorbells (Doorbell Buffer Config, NVMe Base 2.0 §5.8; OACS bit 8): whether this
 * controller gets them, and the command that hands it the two buffers. Why the choice is made
 * as it is, with the measurements: docs/nvme-driver.md, "Shadow doorbells, per controller".
 */
#include <errno.h>
#include <string.h>

#include <updk/mem.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

/* QEMU's NVMe model (hw/nvme), vendor Red Hat, Inc. */
#define QEMU_NVME_VID 0x1b36
#define QEMU_NVME_DID 0x0010

bool pcie_shadow_choice(enum updk_nvme_shadow opt, bool offered, uint16_t vid, uint16_t did,
			const struct util_hv_info *hv, const char **why)
{
	if (!offered) {
		*why = "not offered (OACS bit 8)";
		return false;
	}
	if (opt == UPDK_NVME_SHADOW_OFF) {
		*why = "off as asked";
		return false;
	}
	if (opt == UPDK_NVME_SHADOW_ON) {
		*why = "on as asked";
		return true;
	}
	/*
	 * QEMU's model sets EventIdx to what it has just consumed, so a poller that batches its
	 * doorbells passes EventIdx every time and writes the register anyway: shadow doorbells
	 * save it no MMIO write, and cost the model two DMA reads and two writes through the
	 * (virtual) IOMMU per command, on its busiest thread. Under TCG that MMIO write is a
	 * call into the model on the vCPU's own thread, not an exit: there they lose at every
	 * depth. Under a hypervisor that traps MMIO (KVM, ...) a write is an exit, and with
	 * ioeventfd=on QEMU handles doorbells as eventfds only once shadow doorbells are on:
	 * there SPDK's and Linux's choice (use them) stays, as it does everywhere else.
	 */
	if (vid == QEMU_NVME_VID && did == QEMU_NVME_DID && hv->kind == UTIL_HV_TCG) {
		*why = "auto: QEMU's NVMe under TCG";
		return false;
	}
	if (hv->kind == UTIL_HV_NONE)
		*why = "auto: offered, no hypervisor";
	else if (hv->kind == UTIL_HV_TCG)
		*why = "auto: offered, not QEMU's NVMe";
	else
		*why = "auto: offered, under a hypervisor";
	return true;
}

void pcie_dbbuf_free(struct nvme_pcie_ctrlr *pc)
{
	updk_dma_free(pc->dbbuf);
	updk_dma_free(pc->dbbuf_ei);
	pc->dbbuf = pc->dbbuf_ei = NULL;
	pc->shadow = false;
}

/*
 * Doorbell Buffer Config (§5.8; OACS bit 8): PRP1 the shadow doorbell buffer, PRP2 the EventIdx
 * buffer, both page aligned and laid out like the doorbell registers, the admin queue (qid 0)
 * in the first two slots. The command itself goes through the MMIO doorbells; once it has
 * completed, every queue, the admin queue included, writes the shadow and follows the EventIdx
 * rule. After a reset the controller has forgotten the buffers, so this runs again from the
 * reset path (the transport's ctrlr_setup).
 */
int pcie_dbbuf_setup(struct updk_nvme_ctrlr *c)
{
	struct nvme_pcie_ctrlr *pc = pcie_ctrlr(c);
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_DOORBELL_BUFFER_CONFIG };
	struct updk_nvme_cpl cpl;
	struct nvme_pcie_qpair *aq = pcie_qp(c->adminq);
	uint32_t dstrd = pc->dstrd;
	uint32_t sq0 = (nvme_sq_db_off(0, dstrd) - NVME_REG_DBS) / 4;
	uint32_t cq0 = (nvme_cq_db_off(0, dstrd) - NVME_REG_DBS) / 4;
	uint16_t sq_after, cq_after;
	int rc;

	pc->shadow = false;
	pcie_qpair_set_shadow(aq);
	if (!pcie_shadow_choice(c->opts.no_shadow_doorbell ? UPDK_NVME_SHADOW_OFF :
							     c->opts.shadow_doorbell,
				c->id.oacs & NVME_OACS_DBBUF, updk_pci_vendor_id(pc->dev),
				updk_pci_device_id(pc->dev), util_hypervisor(), &pc->shadow_why))
		return 0;
	if (!pc->dbbuf) {
		size_t need = (size_t)(c->max_qpairs + 1) * 2 * (4u << dstrd);

		pc->dbbuf_size = (need + NVME_PAGE_MASK) & ~(size_t)NVME_PAGE_MASK;
		pc->dbbuf =
			updk_dma_zalloc(pc->dbbuf_size, NVME_PAGE_SIZE, pc->numa, &pc->dbbuf_iova);
		pc->dbbuf_ei = updk_dma_zalloc(pc->dbbuf_size, NVME_PAGE_SIZE, pc->numa,
					       &pc->dbbuf_ei_iova);
		if (!pc->dbbuf || !pc->dbbuf_ei) {
			log_warn("%s: no memory for shadow doorbells: using MMIO doorbells",
				 c->name);
			pcie_dbbuf_free(pc);
			pc->shadow_why = "no memory for the buffers";
			return 0;
		}
	}
	memset(pc->dbbuf, 0, pc->dbbuf_size);
	memset(pc->dbbuf_ei, 0, pc->dbbuf_size);
	/*
	 * The admin queue's values once this command is in and its completion reaped (nothing else
	 * is outstanding here), in case the controller takes them from the buffer. EventIdx gets the
	 * same values: until the controller publishes its own, the EventIdx rule then asks for the
	 * MMIO doorbell at the next update, so no update can go unseen.
	 */
	sq_after = aq->sq_tail + 1 == aq->qsize ? 0 : aq->sq_tail + 1u;
	cq_after = aq->cq_head + 1 == aq->qsize ? 0 : aq->cq_head + 1u;
	pc->dbbuf[sq0] = pc->dbbuf_ei[sq0] = sq_after;
	pc->dbbuf[cq0] = pc->dbbuf_ei[cq0] = cq_after;
	cmd.dptr.prp.prp1 = pc->dbbuf_iova;
	cmd.dptr.prp.prp2 = pc->dbbuf_ei_iova;
	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc) {
		if (rc == -EIO)
			nvme_log_cpl(c, "Doorbell Buffer Config", &cpl);
		log_warn("%s: shadow doorbells not in use", c->name);
		pc->shadow_why = "the controller refused Doorbell Buffer Config";
		return rc == -EIO ? 0 : rc;
	}
	pc->shadow = true;
	pcie_qpair_set_shadow(aq);
	/* The shadow holds the values the registers got last: the next update starts from them. */
	*aq->sq_shadow = aq->sq_db_tail;
	*aq->cq_shadow = aq->cq_db_head;
	return 0;
}
