// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme read, write, compare, flush, write-zeroes, dsm: one NVM command each, with nvme-cli's
 * options (-c/--block-count is 0's based as there).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <updk/mem.h>

#include "apps/nvme/tool.h"

enum io_kind { IO_READ, IO_WRITE, IO_COMPARE };

/* An open controller, one namespace and a qpair on it. */
struct io_ctx {
	struct tool_dev td;
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
};

static int io_open(struct io_ctx *c, const struct tool_args *a)
{
	struct updk_nvme_qpair_opts qo = { .opts_size = sizeof(qo), .depth = 16 };
	uint32_t nsid = a->nsid ? a->nsid : 1;
	int rc;

	memset(c, 0, sizeof(*c));
	if (tool_open(&c->td, a->dev))
		return -ENODEV;
	c->ns = updk_nvme_ns_get(c->td.ctrlr, nsid);
	if (!c->ns) {
		fprintf(stderr, "updk-nvme: %s: namespace %u is not active (nn %u)\n", a->dev, nsid,
			updk_nvme_ctrlr_num_ns(c->td.ctrlr));
		tool_close(&c->td);
		return -ENODEV;
	}
	rc = updk_nvme_qpair_alloc(c->td.ctrlr, &qo, &c->qp);
	if (rc) {
		fprintf(stderr, "updk-nvme: %s: cannot create an I/O queue pair: %s\n", a->dev,
			strerror(-rc));
		tool_close(&c->td);
	}
	return rc;
}

static void io_close(struct io_ctx *c)
{
	updk_nvme_qpair_free(c->qp);
	tool_close(&c->td);
}

/*
 * The end of a one-command subcommand: wait for the command submitted with status @rc, print
 * @ok_msg (nvme-cli's wording) when it succeeded, close. Returns the exit status.
 */
static int io_finish(struct io_ctx *c, struct tool_wait *w, int rc, const char *cmd,
		     const char *ok_msg)
{
	rc = tool_wait_io(&c->td, c->qp, w, rc, cmd);
	if (!rc)
		printf("%s\n", ok_msg);
	io_close(c);
	return rc ? 1 : 0;
}

/* Read exactly @len bytes from @fd (a file or stdin); short input is an error. */
static int read_full(int fd, void *buf, size_t len, const char *name)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr,
				"updk-nvme: %s: got %zu bytes of data, --data-size wants %zu\n",
				name, got, len);
			return -EIO;
		}
		got += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len, const char *name)
{
	size_t put = 0;

	while (put < len) {
		ssize_t n = write(fd, (const char *)buf + put, len - put);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "updk-nvme: %s: %s\n", name, strerror(errno));
			return -EIO;
		}
		put += (size_t)n;
	}
	return 0;
}

static int usage_rw(const char *cmd, int rc)
{
	fprintf(rc ? stderr : stdout,
		"Usage: updk-nvme %s DEVICE -s SLBA -c NLB -z BYTES [-d FILE] [-n NSID] [-f]\n"
		"         [-M FILE -y BYTES] [-p PRINFO] [-r REFTAG] [-a APPTAG -m MASK]\n"
		"  -n, --namespace-id NSID   namespace (default 1)\n"
		"  -s, --start-block SLBA    first logical block\n"
		"  -c, --block-count NLB     blocks, 0's based as in nvme-cli (0: one block)\n"
		"  -z, --data-size BYTES     bytes of data (default: the blocks' size, with their\n"
		"                            metadata on an extended-LBA namespace); fewer is\n"
		"                            zero-padded on write, cut on read\n"
		"  -d, --data FILE           %s (default: %s)\n"
		"  -M, --metadata FILE       the separate metadata (on a namespace that keeps it\n"
		"                            apart; needed to write or compare there)\n"
		"  -y, --metadata-size BYTES bytes of metadata (default: what the blocks take)\n"
		"  -p, --prinfo PRINFO       protection information: bit 3 PRACT (the controller\n"
		"                            inserts/strips the PI), bits 2:0 check Guard,\n"
		"                            Application Tag, Reference Tag (PRCHK); 0..15\n"
		"  -r, --ref-tag REFTAG      Reference Tag of the first block (default: its LBA)\n"
		"  -a, --app-tag APPTAG      Application Tag\n"
		"  -m, --app-tag-mask MASK   bits of the Application Tag checked\n"
		"  -f, --force-unit-access   FUA\n",
		cmd, !strcmp(cmd, "read") ? "where the data goes" : "where the data comes from",
		!strcmp(cmd, "read") ? "stdout" : "stdin");
	return rc;
}

/*
 * What the namespace's format allows of @a, refused here with the format and what to do: PI
 * options on a namespace without PI, a metadata file where no metadata goes apart, none where a
 * write or compare needs it, sizes beyond the blocks.
 */
static int rw_check(const struct io_ctx *c, const struct tool_args *a, enum io_kind kind,
		    uint32_t nlb, size_t xfer, size_t md_len)
{
	uint32_t nsid = updk_nvme_ns_id(c->ns);
	char fmt[160];

	updk_nvme_ns_fmt_str(c->ns, fmt, sizeof(fmt));
	if (a->prinfo && !updk_nvme_ns_pi_fmt(c->ns, &(struct updk_pi_fmt){ 0 })) {
		fprintf(stderr,
			"updk-nvme: %s: namespace %u (%s) has no protection information: drop "
			"--prinfo\n",
			a->dev, nsid, fmt);
		return -EINVAL;
	}
	if (a->metadata && !md_len) {
		fprintf(stderr,
			"updk-nvme: %s: namespace %u (%s) takes no separate metadata%s: drop "
			"--metadata\n",
			a->dev, nsid, fmt,
			!updk_nvme_ns_md_size(c->ns)	? "" :
			updk_nvme_ns_md_extended(c->ns) ? " (--data holds each block's data and "
							  "metadata)" :
							  " (PRACT makes all of it)");
		return -EINVAL;
	}
	if (md_len && !a->metadata && kind != IO_READ) {
		fprintf(stderr,
			"updk-nvme: %s: namespace %u (%s): give the %zu bytes of metadata of %u "
			"blocks with --metadata FILE%s\n",
			a->dev, nsid, fmt, md_len, nlb,
			updk_nvme_ns_io_md_size(c->ns, UPDK_NVME_IO_PRACT) ?
				"" :
				", or --prinfo 8 (PRACT)");
		return -EINVAL;
	}
	if (a->data_size > xfer || a->metadata_size > md_len) {
		bool data = a->data_size > xfer;

		fprintf(stderr,
			"updk-nvme: %s: --%s %" PRIu64
			" is more than %u blocks of %zu bytes%s hold; "
			"raise --block-count\n",
			a->dev, data ? "data-size" : "metadata-size",
			data ? a->data_size : a->metadata_size, nlb, (data ? xfer : md_len) / nlb,
			data ? "" : " of metadata");
		return -EINVAL;
	}
	return 0;
}

/* Open @name for the data or metadata of @kind: the file, or stdin/stdout when NULL. */
static int rw_open(const char *name, enum io_kind kind, const char *opt)
{
	int fd;

	if (!name)
		return kind == IO_READ ? STDOUT_FILENO : STDIN_FILENO;
	fd = kind == IO_READ ? open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644) :
			       open(name, O_RDONLY);
	if (fd < 0)
		fprintf(stderr, "updk-nvme: %s %s: %s\n", opt, name, strerror(errno));
	return fd;
}

static void *rw_alloc(const char *dev, size_t len)
{
	void *p = updk_dma_zalloc(len ? len : 4, 4096, UPDK_NUMA_ANY, NULL);

	if (!p)
		fprintf(stderr,
			"updk-nvme: %s: no DMA memory for %zu bytes (scripts/setup.sh hugepages N)\n",
			dev, len);
	return p;
}

static int do_rw(const char *cmd, enum io_kind kind, int argc, char **argv)
{
	struct tool_args a;
	struct io_ctx c;
	struct tool_wait w = { 0 };
	int rc = tool_parse_args(cmd, "o:n:s:c:z:d:fM:y:p:r:a:m:", false, argc, argv, &a);
	int fd = -1, mfd = -1, ret = 1;
	void *buf = NULL, *md = NULL;

	if (rc)
		return usage_rw(cmd, rc < 0 ? 0 : rc);
	if (io_open(&c, &a))
		return 1;

	uint32_t flags = (a.fua ? UPDK_NVME_IO_FUA : 0) | a.prinfo << 26;
	uint32_t nlb = a.nblocks + 1;
	uint64_t nsze = updk_nvme_ns_num_sectors(c.ns);
	size_t xfer = (size_t)nlb * updk_nvme_ns_io_block_size(c.ns, flags);
	size_t md_len = (size_t)nlb * updk_nvme_ns_io_md_size(c.ns, flags);
	size_t bytes = a.data_size ? a.data_size : xfer;
	size_t md_bytes = a.metadata_size ? a.metadata_size : md_len;

	if (a.slba >= nsze || nlb > nsze - a.slba) {
		fprintf(stderr,
			"updk-nvme: %s: blocks %" PRIu64 "..%" PRIu64
			" are past the end of namespace %u (%" PRIu64 " blocks)\n",
			a.dev, a.slba, a.slba + nlb - 1, updk_nvme_ns_id(c.ns), nsze);
		goto out;
	}
	if (rw_check(&c, &a, kind, nlb, xfer, md_len))
		goto out;
	buf = rw_alloc(a.dev, xfer);
	md = rw_alloc(a.dev, md_len);
	if (!buf || !md)
		goto out;
	fd = rw_open(a.data, kind, "--data");
	if (fd < 0 || (a.metadata && (mfd = rw_open(a.metadata, kind, "--metadata")) < 0))
		goto out;
	if (kind != IO_READ && (read_full(fd, buf, bytes, a.data ? a.data : "stdin") ||
				(mfd >= 0 && read_full(mfd, md, md_bytes, a.metadata))))
		goto out;

	struct iovec iov = { buf, xfer };
	struct updk_nvme_io_opts o = { .opts_size = sizeof(o),
				       .io_flags = flags,
				       .md = md_len ? md : NULL,
				       .md_len = (uint32_t)md_len,
				       .ref_tag = a.ref_tag,
				       .ref_tag_set = a.ref_tag_given,
				       .app_tag = a.app_tag,
				       .app_tag_mask = a.app_tag_mask };

	if (kind == IO_READ)
		rc = updk_nvme_ns_read_ext(c.ns, c.qp, &iov, 1, a.slba, nlb, tool_wait_cb, &w, &o);
	else if (kind == IO_WRITE)
		rc = updk_nvme_ns_write_ext(c.ns, c.qp, &iov, 1, a.slba, nlb, tool_wait_cb, &w, &o);
	else
		rc = updk_nvme_ns_compare_ext(c.ns, c.qp, &iov, 1, a.slba, nlb, tool_wait_cb, &w,
					      &o);
	if (tool_wait_io(&c.td, c.qp, &w, rc, cmd))
		goto out;
	if (kind == IO_READ && (write_full(fd, buf, bytes, a.data ? a.data : "stdout") ||
				(mfd >= 0 && write_full(mfd, md, md_bytes, a.metadata))))
		goto out;
	if (kind != IO_READ)
		fprintf(stderr, "%s: Success\n", cmd);
	ret = 0;
out:
	if (a.data && fd >= 0)
		close(fd);
	if (mfd >= 0)
		close(mfd);
	updk_dma_free(buf);
	updk_dma_free(md);
	io_close(&c);
	return ret;
}

int cmd_read(int argc, char **argv)
{
	return do_rw("read", IO_READ, argc, argv);
}

int cmd_write(int argc, char **argv)
{
	return do_rw("write", IO_WRITE, argc, argv);
}

int cmd_compare(int argc, char **argv)
{
	return do_rw("compare", IO_COMPARE, argc, argv);
}

int cmd_flush(int argc, char **argv)
{
	struct tool_args a;
	struct io_ctx c;
	struct tool_wait w = { 0 };
	int rc = tool_parse_args("flush", "n:", false, argc, argv, &a);

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme flush DEVICE [-n NSID]\nFlush the volatile write cache.\n");
		return rc < 0 ? 0 : rc;
	}
	if (io_open(&c, &a))
		return 1;
	rc = updk_nvme_ns_flush(c.ns, c.qp, tool_wait_cb, &w);
	return io_finish(&c, &w, rc, "flush", "NVMe Flush: success");
}

int cmd_write_zeroes(int argc, char **argv)
{
	struct tool_args a;
	struct io_ctx c;
	struct tool_wait w = { 0 };
	int rc = tool_parse_args("write-zeroes", "n:s:c:f", false, argc, argv, &a);

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme write-zeroes DEVICE -s SLBA -c NLB [-n NSID] [-f] [--deac]\n"
			"Zero NLB+1 blocks from SLBA (-c is 0's based); --deac deallocates them too.\n");
		return rc < 0 ? 0 : rc;
	}
	if (io_open(&c, &a))
		return 1;
	uint32_t flags = (a.fua ? UPDK_NVME_IO_FUA : 0) | (a.deac ? UPDK_NVME_IO_DEAC : 0);

	rc = updk_nvme_ns_write_zeroes(c.ns, c.qp, a.slba, a.nblocks + 1, tool_wait_cb, &w, flags);
	return io_finish(&c, &w, rc, "write-zeroes", "NVMe Write Zeroes Success");
}

/* Split a comma list of numbers into @out (at most @max). Returns the count or -EINVAL. */
static int parse_list(const char *opt, const char *s, uint64_t *out, int max)
{
	char buf[4096], err[TOOL_ERR_MAX], *save = NULL;
	int n = 0;

	if (!s || strlen(s) >= sizeof(buf)) {
		fprintf(stderr, "updk-nvme dsm: %s wants a comma-separated list\n", opt);
		return -EINVAL;
	}
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			fprintf(stderr, "updk-nvme dsm: %s has more than %d entries\n", opt, max);
			return -EINVAL;
		}
		if (tool_parse_u64(opt, t, &out[n++], err)) {
			fprintf(stderr, "updk-nvme dsm: %s\n", err);
			return -EINVAL;
		}
	}
	return n;
}

int cmd_dsm(int argc, char **argv)
{
	static uint64_t slbs[256], nlbs[256];
	struct updk_nvme_dsm_range r[256];
	struct tool_args a;
	struct io_ctx c;
	struct tool_wait w = { 0 };
	int rc = tool_parse_args("dsm", "n:s:b:d", false, argc, argv, &a);
	int ns_, nb;

	if (rc) {
		fprintf(rc < 0 ? stdout : stderr,
			"Usage: updk-nvme dsm DEVICE --ad -s SLBA[,SLBA...] -b NLB[,NLB...] [-n NSID]\n"
			"Deallocate ranges (Dataset Management, AD); -b counts are 1-based as in nvme-cli.\n");
		return rc < 0 ? 0 : rc;
	}
	if (!a.ad) {
		fprintf(stderr, "updk-nvme dsm: only deallocate is supported: give --ad\n");
		return EXIT_USAGE;
	}
	ns_ = parse_list("--slbs", a.slbs, slbs, 256);
	nb = parse_list("--blocks", a.blocks, nlbs, 256);
	if (ns_ < 0 || nb < 0)
		return EXIT_USAGE;
	if (ns_ != nb || !ns_) {
		fprintf(stderr,
			"updk-nvme dsm: --slbs has %d entries and --blocks %d: give one block count per start\n",
			ns_, nb);
		return EXIT_USAGE;
	}
	for (int i = 0; i < ns_; i++) {
		if (!nlbs[i] || nlbs[i] > UINT32_MAX) {
			fprintf(stderr, "updk-nvme dsm: block count %" PRIu64 " is not 1..2^32-1\n",
				nlbs[i]);
			return EXIT_USAGE;
		}
		r[i] = (struct updk_nvme_dsm_range){ .slba = slbs[i], .nlb = (uint32_t)nlbs[i] };
	}
	if (io_open(&c, &a))
		return 1;
	rc = updk_nvme_ns_deallocate(c.ns, c.qp, r, (uint16_t)ns_, tool_wait_cb, &w);
	return io_finish(&c, &w, rc, "dsm", "NVMe DSM: success");
}
