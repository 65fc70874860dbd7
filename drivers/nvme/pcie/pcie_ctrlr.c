/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport's controller: the PCI function (lib/pci: bound to vfio-pci, or a sim:
 * model), its BAR0 registers (NVMe Base 2.0 §3.1.3), the admin queue's registers, and the
 * transport's operations table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

static int pcie_ctrlr_open(const struct nvme_trid *trid, struct updk_nvme_ctrlr **cp)
{
	struct nvme_pcie_ctrlr *pc = aligned_alloc(64, sizeof(*pc));
	struct updk_nvme_ctrlr *c;
	uint64_t cap;
	int rc;

	if (!pc)
		return -ENOMEM;
	memset(pc, 0, sizeof(*pc));
	c = &pc->c;
	rc = updk_pci_open(trid->traddr, &pc->dev);
	if (rc) {
		free(pc);
		return rc;
	}
	snprintf(c->name, sizeof(c->name), "%s", updk_pci_name(pc->dev));
	pc->numa = updk_pci_numa_node(pc->dev);
	rc = updk_pci_enable(pc->dev, true);
	if (rc) {
		log_err("%s: cannot enable memory space and bus mastering: %s", c->name,
			strerror(-rc));
		goto fail;
	}
	pc->enabled = true;
	pc->bar = updk_pci_bar(pc->dev, 0, &pc->bar_len);
	if (!pc->bar) {
		log_err("%s: cannot map BAR0: is this an NVMe controller?", c->name);
		rc = -ENODEV;
		goto fail;
	}
	if (pc->bar_len < NVME_REG_DBS + 8) {
		log_err("%s: BAR0 is %zu bytes, too small for NVMe registers and doorbells",
			c->name, pc->bar_len);
		rc = -ENODEV;
		goto fail;
	}
	/* The core reads CAP again and checks it; this is what the queues need before that. */
	cap = updk_pci_reg_read64(pc->dev, 0, NVME_REG_CAP);
	pc->dstrd = NVME_CAP_DSTRD(cap);
	pc->aq_max = NVME_CAP_MQES(cap) + 1;
	*cp = c;
	return 0;
fail:
	updk_pci_close(pc->dev);
	free(pc);
	return rc;
}

static void pcie_ctrlr_close(struct updk_nvme_ctrlr *c)
{
	struct nvme_pcie_ctrlr *pc = pcie_ctrlr(c);

	pcie_dbbuf_free(pc);
	/* a closed controller is left without bus mastering; a failed open as it was */
	if (c->closing && pc->enabled)
		updk_pci_enable(pc->dev, false);
	updk_pci_close(pc->dev);
	free(pc);
}

static int pcie_reg_read4(struct updk_nvme_ctrlr *c, uint32_t off, uint32_t *val)
{
	*val = updk_pci_reg_read32(pcie_ctrlr(c)->dev, 0, off);
	return 0;
}

static int pcie_reg_read8(struct updk_nvme_ctrlr *c, uint32_t off, uint64_t *val)
{
	*val = updk_pci_reg_read64(pcie_ctrlr(c)->dev, 0, off);
	return 0;
}

static int pcie_reg_write4(struct updk_nvme_ctrlr *c, uint32_t off, uint32_t val)
{
	updk_pci_reg_write32(pcie_ctrlr(c)->dev, 0, off, val);
	return 0;
}

static int pcie_reg_write8(struct updk_nvme_ctrlr *c, uint32_t off, uint64_t val)
{
	updk_pci_reg_write64(pcie_ctrlr(c)->dev, 0, off, val);
	return 0;
}

/*
 * §3.5.1 steps 3-4, with the controller disabled: admin queue attributes and base addresses.
 * A disabled controller has forgotten the shadow doorbell buffers: the admin queue rings the
 * MMIO doorbells until Doorbell Buffer Config is sent again (pcie_dbbuf_setup()).
 */
static int pcie_admin_queue_attach(struct updk_nvme_ctrlr *c)
{
	struct nvme_pcie_qpair *aq = pcie_qp(c->adminq);

	pcie_ctrlr(c)->shadow = false;
	pcie_qpair_set_shadow(aq);
	nvme_reg_write4(c, NVME_REG_AQA, NVME_AQA(aq->qsize, aq->qsize));
	nvme_reg_write8(c, NVME_REG_ASQ, aq->sq_iova);
	nvme_reg_write8(c, NVME_REG_ACQ, aq->cq_iova);
	return 0;
}

/* The function's vectors through lib/pci: MSI-X, else MSI, else INTx, an eventfd each. */
static int pcie_intr_setup(struct updk_nvme_ctrlr *c, uint32_t want)
{
	struct updk_pci_dev *dev = pcie_ctrlr(c)->dev;
	int n = updk_pci_irq_enable(dev, 1, want, UPDK_PCI_IRQ_ANY);

	if (n > 0)
		log_info("%s: %d %s interrupt vector(s)%s", c->name, n,
			 updk_pci_irq_type_name(updk_pci_irq_type(dev)),
			 n == 1 ? ", shared by every queue" : "");
	return n;
}

static int pcie_intr_fd(const struct updk_nvme_ctrlr *c, uint32_t vector)
{
	return updk_pci_irq_fd(pcie_ctrlr((struct updk_nvme_ctrlr *)c)->dev, vector);
}

static int64_t pcie_intr_ack(struct updk_nvme_ctrlr *c, uint32_t vector)
{
	return updk_pci_irq_ack(pcie_ctrlr(c)->dev, vector);
}

bool updk_nvme_ctrlr_shadow_doorbell(const struct updk_nvme_ctrlr *c)
{
	return c->ops == &nvme_pcie_ops && pcie_ctrlr((struct updk_nvme_ctrlr *)c)->shadow;
}

const char *updk_nvme_ctrlr_shadow_doorbell_why(const struct updk_nvme_ctrlr *c)
{
	const char *why;

	if (c->ops != &nvme_pcie_ops)
		return "not a PCIe controller";
	why = pcie_ctrlr((struct updk_nvme_ctrlr *)c)->shadow_why;
	return why ? why : "not set up yet";
}

const struct nvme_transport_ops nvme_pcie_ops = {
	.name = "PCIe",
	.ctrlr_open = pcie_ctrlr_open,
	.ctrlr_close = pcie_ctrlr_close,
	.reg_read4 = pcie_reg_read4,
	.reg_read8 = pcie_reg_read8,
	.reg_write4 = pcie_reg_write4,
	.reg_write8 = pcie_reg_write8,
	.admin_queue_attach = pcie_admin_queue_attach,
	.ctrlr_setup = pcie_dbbuf_setup,
	.qpair_create = pcie_qpair_create,
	.qpair_connect = pcie_qpair_connect,
	.qpair_disconnect = pcie_qpair_disconnect,
	.qpair_reset_rings = pcie_qpair_reset_rings,
	.qpair_release = pcie_qpair_release,
	.qpair_free = pcie_qpair_free,
	.qpair_abort_queued = NULL,
	.check_payload = pcie_check_payload,
	.check_md = pcie_check_md,
	.submit = pcie_submit,
	.cancel_last = pcie_cancel_last,
	.ring = pcie_ring,
	.poll = pcie_poll,
	.intr_setup = pcie_intr_setup,
	.intr_fd = pcie_intr_fd,
	.intr_ack = pcie_intr_ack,
	.intr_pending = pcie_intr_pending,
};
