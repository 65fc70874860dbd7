// SPDX-License-Identifier: BSD-3-Clause
/* updk-nvme: opening the controller, waiting for commands, number parsing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>

#include "apps/nvme/tool.h"

int tool_open(struct tool_dev *td, const char *addr)
{
	int rc;

	td->addr = addr;
	td->ctrlr = NULL;
	rc = updk_nvme_ctrlr_open(addr, NULL, &td->ctrlr);
	if (rc)
		fprintf(stderr,
			"updk-nvme: %s: cannot open the controller: %s (the lines above say why)\n",
			addr, strerror(-rc));
	return rc;
}

void tool_close(struct tool_dev *td)
{
	updk_nvme_ctrlr_close(td->ctrlr);
	td->ctrlr = NULL;
}

void tool_wait_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct tool_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

static int finish(struct tool_dev *td, struct tool_wait *w, int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "updk-nvme: %s: %s: %s\n", td->addr, what, strerror(-rc));
		return rc;
	}
	if (updk_nvme_cpl_is_error(&w->cpl)) {
		uint8_t sct = updk_nvme_cpl_sct(&w->cpl), sc = updk_nvme_cpl_sc(&w->cpl);
		const char *name = updk_nvme_status_str(sct, sc);

		/* a code without a name reads "Unknown status (sct .., sc ..)": numbers once */
		if (strchr(name, '('))
			fprintf(stderr, "updk-nvme: %s: %s: NVMe status: %s\n", td->addr, what,
				name);
		else
			fprintf(stderr,
				"updk-nvme: %s: %s: NVMe status: %s (sct 0x%x, sc 0x%02x)\n",
				td->addr, what, name, sct, sc);
		return -EIO;
	}
	return 0;
}

int tool_wait_admin(struct tool_dev *td, struct tool_wait *w, int rc, const char *what)
{
	/* The driver times admin commands out itself (admin_timeout_ms), so this loop ends. */
	while (!rc && !w->done) {
		int n = updk_nvme_admin_process_completions(td->ctrlr);

		if (n < 0 && !w->done)
			rc = n;
	}
	return finish(td, w, rc, what);
}

int tool_wait_io(struct tool_dev *td, struct updk_nvme_qpair *qp, struct tool_wait *w, int rc,
		 const char *what)
{
	while (!rc && !w->done) {
		int n = updk_nvme_qpair_process_completions(qp, 0);

		if (n < 0 && !w->done)
			rc = n;
		/* I/O timeouts are checked on the admin path. */
		else if (!w->done)
			(void)updk_nvme_admin_process_completions(td->ctrlr);
	}
	return finish(td, w, rc, what);
}

int tool_parse_args(const char *cmd, const char *shortopts, bool dev_optional, int argc,
		    char **argv, struct tool_args *a)
{
	char err[TOOL_ERR_MAX];
	int rc = tool_args_parse(cmd, shortopts, dev_optional, argc, argv, a, err);

	if (rc == TOOL_HELP)
		return -1;
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	return 0;
}
