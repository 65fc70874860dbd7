/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seam between lib/mem and the layers above it that own devices (lib/pci, sim/).
 * Internal to updk.
 */
#ifndef UPDK_MEM_MEM_VFIO_H
#define UPDK_MEM_MEM_VFIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Called by lib/pci right after the first group joined the VFIO container: restrict the IOVA
 * allocator to the ranges the kernel reported and map every registration made so far
 * (deferred, not lost). Returns 0 or -errno (a mapping outside the ranges, memlock).
 */
int mem_vfio_attach(void);

/*
 * Called by lib/pci after every later open (the container active already): a group that joined
 * may have narrowed the usable IOVA ranges, and the allocator takes them again. Returns 0 or
 * -errno (-ERANGE: DMA memory given out lies outside them, which the kernel's own check at the
 * join should have refused).
 */
int mem_vfio_group_joined(void);

/* Called by lib/pci when the last group left the container: its mappings are gone with it. */
void mem_vfio_detach(void);

/*
 * The address behind [iova, iova + len) if that whole range lies inside one live mapping, else
 * NULL. This is the "IOMMU" of the sim backend: a model reaches memory only through it.
 */
void *mem_iova_to_va(uint64_t iova, size_t len);

#endif
