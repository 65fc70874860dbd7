// SPDX-License-Identifier: BSD-3-Clause
/*
 * VFIO info capability chains (include/uapi/linux/vfio.h, struct vfio_info_cap_header): a
 * linked list inside the buffer an info ioctl filled, each "next" an offset from the start of
 * that buffer, 0 ending it. The chain comes from the kernel and is checked anyway.
 */
#include <stdint.h>

#include "lib/vfio/uapi.h"

#include "lib/vfio/vfio_priv.h"

/* Far more than any kernel chains; stops a chain that loops. */
#define MAX_CAPS 64

const void *vfio_info_cap(const void *buf, size_t size, size_t hdr_size, uint32_t first,
			  uint16_t id, size_t min)
{
	uint32_t off = first;

	for (int n = 0; off && n < MAX_CAPS; n++) {
		const struct vfio_info_cap_header *h;

		/* A capability lies after the fixed part of the info struct, and inside it. */
		if (off < hdr_size || off > size || size - off < sizeof(*h) || (off & 3))
			return NULL;
		h = (const void *)((const char *)buf + off);
		if (h->id == id)
			return size - off >= min ? h : NULL;
		off = h->next;
	}
	return NULL;
}
