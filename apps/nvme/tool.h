/* SPDX-License-Identifier: BSD-3-Clause */
/* updk-nvme: shared pieces of the subcommands. */
#ifndef UPDK_APPS_NVME_TOOL_H
#define UPDK_APPS_NVME_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/nvme.h>

/* Exit statuses: as nvme-cli, 0 success, 1 a failure, 2 bad usage. */
#define EXIT_USAGE 2

/* An open controller with the subcommand's options that every subcommand shares. */
struct tool_dev {
	const char *addr;
	struct updk_nvme_ctrlr *ctrlr;
};

int tool_open(struct tool_dev *td, const char *addr);
void tool_close(struct tool_dev *td);

/* A command's completion, filled by tool_wait_cb(). */
struct tool_wait {
	bool done;
	struct updk_nvme_cpl cpl;
};
void tool_wait_cb(void *arg, const struct updk_nvme_cpl *cpl);

/*
 * Wait for the admin command whose submission returned @rc (its callback tool_wait_cb with @w).
 * Returns 0 on success; otherwise prints "updk-nvme: ADDR: WHAT: reason" and returns -errno
 * (-EIO for an error status).
 */
int tool_wait_admin(struct tool_dev *td, struct tool_wait *w, int rc, const char *what);
/* The same for an I/O command on @qp. */
int tool_wait_io(struct tool_dev *td, struct updk_nvme_qpair *qp, struct tool_wait *w, int rc,
		 const char *what);

/* Room for a message from the parsers (args.c). */
#define TOOL_ERR_MAX 256

/*
 * Parse an unsigned number (decimal, 0x hex) into *@val; -EINVAL with a message naming @opt in
 * @err (TOOL_ERR_MAX bytes).
 */
int tool_parse_u64(const char *opt, const char *s, uint64_t *val, char *err);
int tool_parse_u32(const char *opt, const char *s, uint32_t *val, char *err);

/* Output in nvme-cli's normal ("key : value") or JSON shape. */
struct out {
	bool json;
	int depth;
	bool first[8];
};
void out_begin(struct out *o, bool json, const char *title);
void out_end(struct out *o);
void out_obj_begin(struct out *o, const char *key); /* key NULL inside an array */
void out_obj_end(struct out *o);
void out_arr_begin(struct out *o, const char *key);
void out_arr_end(struct out *o);
void out_uint(struct out *o, const char *key, uint64_t v);
/* Hexadecimal in normal output ("0x1b36"), a number in JSON, as nvme-cli prints them. */
void out_hex(struct out *o, const char *key, uint64_t v);
/* A fixed-size, space-padded ASCII field; not NUL-terminated. */
void out_chars(struct out *o, const char *key, const char *s, size_t len);
void out_str(struct out *o, const char *key, const char *s);
/* A 128-bit little-endian counter (SMART), in decimal. */
void out_u128(struct out *o, const char *key, const uint8_t v[16]);

/* Every option any subcommand takes; each subcommand says which it accepts. */
struct tool_args {
	const char *dev;
	bool json;
	uint32_t nsid; /* -n; 0: not given */
	uint64_t slba; /* -s */
	uint32_t nblocks; /* -c, 0's based as in nvme-cli */
	bool nblocks_given;
	uint64_t data_size; /* -z; 0: not given */
	const char *data; /* -d FILE */
	bool fua; /* -f on I/O commands */
	bool deac; /* --deac on write-zeroes */
	bool ad; /* dsm -d/--ad */
	const char *slbs; /* dsm -s: comma list */
	const char *blocks; /* dsm -b: comma list */
	uint32_t fid; /* get-feature -f */
	bool fid_given;
	uint32_t cdw11; /* get-feature --cdw11 */
	uint32_t sel; /* get-feature -s/--sel */
	uint32_t log_entries; /* error-log -e */
	/* read, write, compare: metadata and protection information, as nvme-cli */
	const char *metadata; /* -M FILE */
	uint64_t metadata_size; /* -y; 0: not given */
	uint32_t prinfo; /* -p: bit 3 PRACT, bits 2:0 PRCHK Guard, Application, Reference */
	uint64_t ref_tag; /* -r */
	bool ref_tag_given;
	uint16_t app_tag; /* -a */
	uint16_t app_tag_mask; /* -m */
};

/* tool_args_parse() found -h/--help. */
#define TOOL_HELP 1

/*
 * Parse @argv for subcommand @cmd, accepting the short options in @shortopts (getopt syntax)
 * and their long names. Exactly one positional argument, the device, unless @dev_optional.
 * Returns 0, TOOL_HELP, or -EINVAL with what is wrong in @err (TOOL_ERR_MAX bytes, starting
 * "updk-nvme CMD: "). Prints nothing, exits never, touches no device.
 */
int tool_args_parse(const char *cmd, const char *shortopts, bool dev_optional, int argc,
		    char **argv, struct tool_args *a, char *err);

/*
 * tool_args_parse() for a subcommand's entry point: prints the message on stderr. Returns 0,
 * -1 for --help (the caller prints its usage on stdout and exits 0), or EXIT_USAGE.
 */
int tool_parse_args(const char *cmd, const char *shortopts, bool dev_optional, int argc,
		    char **argv, struct tool_args *a);

/* Subcommands. */
int cmd_list(int argc, char **argv);
int cmd_id_ctrl(int argc, char **argv);
int cmd_id_ns(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_write_zeroes(int argc, char **argv);
int cmd_dsm(int argc, char **argv);
int cmd_smart_log(int argc, char **argv);
int cmd_error_log(int argc, char **argv);
int cmd_get_feature(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_zns(int argc, char **argv);
int cmd_discover(int argc, char **argv);

#endif
