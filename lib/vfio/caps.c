// SPDX-License-Identifier: BSD-3-Clause
/*
 * VFIO info capability chains (include/uapi/linux/vfio.h, struct vfio_info_cap_header): a
 * linked list inside the buffer an info ioctl filled, each "next" an offset from the start of
 * that buffer, 0 ending it. The chain comes from the kernel and is checked anyway. Capabilities
 * sit at 4-byte boundaries only, so their fields are copied out, never read in place.
 */
#include <stdint.h>
#include <string.h>

#include "lib/vfio/uapi.h"

#include "lib/vfio/vfio_priv.h"

/* Far more than any kernel chains; stops a chain that loops. */
#define MAX_CAPS 64

const void *vfio_info_cap(const void *buf, size_t size, size_t hdr_size, uint32_t first,
			  uint16_t id, size_t min)
{
	uint32_t off = first;

	for (int n = 0; off && n < MAX_CAPS; n++) {
		struct vfio_info_cap_header h;

		/* A capability lies after the fixed part of the info struct, and inside it. */
		if (off < hdr_size || off > size || size - off < sizeof(h) || (off & 3))
			return NULL;
		memcpy(&h, (const char *)buf + off, sizeof(h));
		if (h.id == id)
			return size - off >= min ? (const char *)buf + off : NULL;
		off = h.next;
	}
	return NULL;
}
