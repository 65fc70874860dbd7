/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:dmacopy, a DMA-copy engine that exists only as a model: the smallest device that reads
 * and writes host memory through IOVAs, so lib/pci, the sim backend and lib/mem's mappings are
 * tested together before a real device model is. Options: maxlen=N (largest copy, default
 * 16M), serial=N (the Device Serial Number capability, default 0x0123456789abcdef).
 *
 * Config space: vendor 0x1234, device 0xdc01 (made-up ids; no such hardware), class 0x088000
 * (other system peripheral), one 4 KiB memory BAR 0; capabilities: Power Management, PCI
 * Express, a vendor-specific one (ID 0x09) holding "DMAC"; extended: Device Serial Number.
 * Interrupts only when the address asks for them (msix=N puts an MSI-X table in BAR 2, msi=N,
 * intx=1): none by default.
 *
 * BAR 0 registers (little-endian):
 *   0x00 ID        RO  0x444d4331 ("DMC1")
 *   0x08 SRC       RW  source IOVA, 64-bit
 *   0x10 DST       RW  destination IOVA, 64-bit
 *   0x18 LEN       RW  bytes to copy, 1..maxlen
 *   0x1c DOORBELL  RW  a non-zero tag starts one copy of SRC/DST/LEN; the engine takes the job
 *                      and sets it back to 0. Program SRC/DST/LEN only while DOORBELL reads 0
 *                      and STATUS.BUSY is clear.
 *   0x20 STATUS    RO/W1C  bit 0 BUSY: a copy is running; bit 1 DONE: the last job copied;
 *                      bit 2 FAULT: the last job's source or destination was not DMA-mapped
 *                      (or Bus Master is off), nothing was written; bit 3 BADLEN: LEN was 0 or
 *                      above maxlen, nothing was done. Taking a job clears bits 1-3; writing 1
 *                      to them through updk_pci_reg_write32() clears them too.
 *   0x24 TAG_DONE  RO  the tag of the last finished job (copied or refused), written after
 *                      STATUS: wait for it, then read STATUS.
 *   0x28 COMPLETED RO  jobs that copied
 *   0x2c ERRORS    RO  jobs refused (FAULT or BADLEN)
 *   0x30 FAULT_IOVA RO the IOVA of the range refused by the last FAULT, 64-bit
 *   0x38 INTCTL    RW  bit 31 IEN: raise interrupt vector VECTOR (bits 10:0) each time a job
 *                      finishes (copied or refused), after TAG_DONE is written
 * Through updk_pci_reg_write32/64() writes to RO registers are ignored; a function-level reset
 * (updk_pci_reset()) zeroes every register but ID.
 */
#ifndef UPDK_SIM_DMACOPY_H
#define UPDK_SIM_DMACOPY_H

#define DMACOPY_VENDOR_ID 0x1234
#define DMACOPY_DEVICE_ID 0xdc01
#define DMACOPY_CLASS 0x088000
#define DMACOPY_BAR_SIZE 4096

#define DMACOPY_ID 0x00
#define DMACOPY_ID_VALUE 0x444d4331u
#define DMACOPY_SRC 0x08
#define DMACOPY_DST 0x10
#define DMACOPY_LEN 0x18
#define DMACOPY_DOORBELL 0x1c
#define DMACOPY_STATUS 0x20
#define DMACOPY_STATUS_BUSY 0x1u
#define DMACOPY_STATUS_DONE 0x2u
#define DMACOPY_STATUS_FAULT 0x4u
#define DMACOPY_STATUS_BADLEN 0x8u
#define DMACOPY_TAG_DONE 0x24
#define DMACOPY_COMPLETED 0x28
#define DMACOPY_ERRORS 0x2c
#define DMACOPY_FAULT_IOVA 0x30
#define DMACOPY_INTCTL 0x38
#define DMACOPY_INTCTL_IEN 0x80000000u
#define DMACOPY_INTCTL_VECTOR(v) ((v)&0x7ffu)
#define DMACOPY_MSIX_BAR 2

#define DMACOPY_DEFAULT_MAXLEN (16u << 20)
#define DMACOPY_DEFAULT_SERIAL 0x0123456789abcdefull

/* Capability IDs it carries beyond the core's PM and PCI Express. */
#define DMACOPY_CAP_VENDOR 0x09 /* PCI Local Bus 3.0 §6.7: vendor specific */
#define DMACOPY_EXT_CAP_DSN 0x0003 /* PCIe Base 4.0 §7.9.3: Device Serial Number */

#endif
