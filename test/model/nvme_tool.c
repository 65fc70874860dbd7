// SPDX-License-Identifier: BSD-3-Clause
/*
 * build/bin/updk-nvme on sim:nvme, as a user runs it: what it prints (normal and JSON, with
 * nvme-cli's field names), the bytes read and written, and the exit status and message for
 * each kind of bad input. Each run is its own process, so the simulated namespace starts
 * zeroed every time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "test/model/tool_run.h"

TestSuite(nvme_tool, .timeout = 60);

Test(nvme_tool, id_ctrl_normal_and_json)
{
	char *o;

	cr_assert_eq(run(&o, "$T id-ctrl sim:nvme 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "NVME Identify Controller:"));
	cr_expect(strstr(o, "mn        : updk simulated NVMe"), "%s", o);
	cr_expect(strstr(o, "mdts      : 5"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T id-ctrl sim:nvme?mdts=3 -o json 2>&1"), 0, "%s", o);
	cr_expect(o[0] == '{');
	cr_expect(strstr(o, "\"mdts\":3,"), "%s", o);
	cr_expect(strstr(o, "\"mn\":\"updk simulated NVMe"), "%s", o);
	cr_expect(strstr(o, "\"nn\":1,"), "%s", o);
	cr_expect(strstr(o, "\"sgls\":"), "%s", o);
	cr_expect(strstr(o, "\"oncs\":"), "%s", o);
	/* JSON closes what it opens. */
	int depth = 0;
	for (char *c = o; *c; c++)
		depth += (*c == '{' || *c == '[') - (*c == '}' || *c == ']');
	cr_expect_eq(depth, 0, "%s", o);
	free(o);
}

Test(nvme_tool, id_ns_reports_size_and_format)
{
	char *o;

	cr_assert_eq(run(&o, "$T id-ns 'sim:nvme?ns=2,size=64M,lba=4096' -n 2 -o json 2>&1"), 0,
		     "%s", o);
	cr_expect(strstr(o, "\"nsze\":16384,"), "%s", o);
	cr_expect(strstr(o, "\"ds\":12"), "4096-byte blocks are lbads 12: %s", o);
	free(o);
	cr_expect_eq(run(&o, "$T id-ns 'sim:nvme?ns=2' -n 3 2>&1"), 1);
	cr_expect(strstr(o, "namespace 3 is not active"), "%s", o);
	free(o);
}

Test(nvme_tool, list_one_device)
{
	char *o;

	cr_assert_eq(run(&o, "$T list 'sim:nvme?ns=2' -o json 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "\"NameSpace\":1"), "%s", o);
	cr_expect(strstr(o, "\"NameSpace\":2"), "%s", o);
	free(o);
}

Test(nvme_tool, write_read_compare_bytes)
{
	char *o;

	/* A fresh namespace reads back zeroes, cut to --data-size (not a whole block). */
	cr_assert_eq(
		run(&o, "$T read sim:nvme -s 10 -c 1 -z 700 2>/dev/null | od -An -tx1 | sort -u"),
		0);
	cr_expect(strstr(o, "00 00 00"), "%s", o);
	free(o);
	cr_assert_eq(run(&o, "$T read sim:nvme -s 10 -c 1 -z 700 2>/dev/null | wc -c"), 0);
	cr_expect_eq(atoi(o), 700, "%s", o);
	free(o);
	/* Writes take stdin; compare against zeroes succeeds with zeroes and fails otherwise. */
	cr_expect_eq(run(&o, "head -c 1024 /dev/zero | $T write sim:nvme -s 0 -c 1 -z 1024 2>&1"),
		     0, "%s", o);
	cr_expect(strstr(o, "write: Success"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "head -c 512 /dev/zero | $T compare sim:nvme -s 5 -c 0 -z 512 2>&1"),
		     0, "%s", o);
	free(o);
	cr_expect_eq(run(&o, "printf x | $T compare sim:nvme -s 5 -c 0 -z 1 2>&1"), 1, "%s", o);
	cr_expect(strstr(o, "Compare Failure"), "%s", o);
	free(o);
}

Test(nvme_tool, other_commands)
{
	char *o;

	/* nvme-cli's own success lines, so scripts that grep for them keep working. */
	cr_expect_eq(run(&o, "$T flush sim:nvme 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "NVMe Flush: success"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T write-zeroes sim:nvme -s 8 -c 7 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "NVMe Write Zeroes Success"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T dsm sim:nvme --ad -s 0,100 -b 8,16 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "NVMe DSM: success"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T write-zeroes sim:nvme -s 1000000000 -c 7 2>&1"), 1, "%s", o);
	cr_expect(strstr(o, "not within its 524288 blocks"), "%s", o);
	cr_expect(!strstr(o, "Success"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T smart-log sim:nvme -o json 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "\"data_units_read\":"), "%s", o);
	cr_expect(strstr(o, "\"host_write_commands\":"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T error-log sim:nvme -e 4 -o json 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "\"error_count\":"), "%s", o);
	free(o);
	/* Number of Queues: NSQA and NCQA, 0's based, in the low and high halves. */
	cr_expect_eq(run(&o, "$T get-feature sim:nvme -f 7 2>&1"), 0, "%s", o);
	cr_expect(strstr(o, "get-feature:0x07 (Number of Queues), Current value:0x"), "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T reset sim:nvme 2>&1"), 0, "%s", o);
	free(o);
}

/*
 * --metadata, --prinfo and the tags, with nvme-cli's names: the controller's checks see what the
 * options say (PI of a zero block: Guard 0000h, then the Application and Reference Tags).
 */
Test(nvme_tool, metadata_and_protection_options)
{
	static const char *const pi1 = "sim:nvme?ms=8,pi=1", *pi2 = "sim:nvme?ms=8,pi=2";
	char *o;

	/* host-made PI checked in full by the controller: Guard, Application Tag, Reference */
	cr_expect_eq(
		run(&o,
		    "d=$(mktemp -d); printf '\\000\\000\\022\\064\\000\\000\\000\\012' > $d/m; "
		    "head -c 512 /dev/zero | $T write '%s' -s 10 -c 0 --metadata $d/m "
		    "--prinfo 7 --app-tag 0x1234 --app-tag-mask 0xffff 2>&1; r=$?; rm -r $d; "
		    "exit $r",
		    pi1),
		0, "%s", o);
	cr_expect(strstr(o, "write: Success"), "%s", o);
	free(o);
	cr_expect_eq(
		run(&o,
		    "d=$(mktemp -d); printf '\\000\\001\\022\\064\\000\\000\\000\\012' > $d/m; "
		    "head -c 512 /dev/zero | $T write '%s' -s 10 -c 0 -M $d/m -p 4 2>&1; "
		    "r=$?; rm -r $d; exit $r",
		    pi1),
		1, "%s", o);
	cr_expect(strstr(o, "End-to-end Guard Check Error"), "%s", o);
	free(o);
	cr_expect_eq(
		run(&o,
		    "d=$(mktemp -d); printf '\\000\\000\\022\\064\\000\\000\\000\\012' > $d/m; "
		    "head -c 512 /dev/zero | $T write '%s' -s 10 -c 0 -M $d/m -p 2 -a 0x1235 "
		    "-m 0xff 2>&1; r=$?; rm -r $d; exit $r",
		    pi1),
		1, "%s", o);
	cr_expect(strstr(o, "End-to-end Application Tag Check Error"), "%s", o);
	free(o);
	/* type 2: the Reference Tag is the one given, not the LBA */
	cr_expect_eq(
		run(&o,
		    "d=$(mktemp -d); printf '\\000\\000\\000\\000\\000\\000\\000\\012' > $d/m; "
		    "head -c 512 /dev/zero | $T write '%s' -s 99 -c 0 -M $d/m -p 1 "
		    "--ref-tag 10 2>&1 && head -c 512 /dev/zero | $T write '%s' -s 99 -c 0 "
		    "-M $d/m -p 1 -r 11 2>&1; r=$?; rm -r $d; exit $r",
		    pi2, pi2),
		1, "%s", o);
	cr_expect(strstr(o, "write: Success") && strstr(o, "Reference Tag Check Error"), "%s", o);
	free(o);
	/* read: the metadata to its file, --metadata-size of it */
	cr_expect_eq(run(&o,
			 "d=$(mktemp -d); $T read '%s' -s 3 -c 1 -M $d/m -y 12 -p 7 >/dev/null "
			 "2>&1; od -An -tx1 $d/m | tr -d ' \\n'; rm -r $d",
			 pi1),
		     0, "%s", o);
	cr_expect_str_eq(o, "ffffffffffffffffffffffff", "never written: all ones, checks off");
	free(o);
	/* extended LBAs: 520 bytes a block in --data, 512 with PRACT */
	cr_expect_eq(run(&o, "$T read 'sim:nvme?ms=8,mset=1,pi=1' -s 0 -c 1 2>&1 | wc -c"), 0);
	cr_expect_eq(atoi(o), 1040, "%s", o);
	free(o);
	cr_expect_eq(run(&o, "$T read 'sim:nvme?ms=8,mset=1,pi=1' -s 0 -c 1 -p 8 2>&1 | wc -c"), 0);
	cr_expect_eq(atoi(o), 1024, "%s", o);
	free(o);
	cr_expect_eq(run(&o, "head -c 512 /dev/zero | $T write 'sim:nvme?ms=8,mset=1,pi=1' -s 5 "
			     "-c 0 -p 15 2>&1"),
		     0, "%s", o);
	free(o);
}

Test(nvme_tool, bad_input_is_refused_with_a_reason)
{
	static const struct tool_case cases[] = {
		{ "frobnicate sim:nvme", 2, "unknown command 'frobnicate'" },
		{ "id-ctrl", 2, "no device given" },
		{ "id-ctrl sim:nvme --bogus", 2, "unknown option '--bogus'" },
		{ "id-ctrl sim:nvme -o xml", 2, "normal or json, not 'xml'" },
		{ "id-ctrl sim:nvme sim:nvme", 2, "one device only" },
		{ "id-ctrl 0000:zz:00.0", 1, "cannot open the controller" },
		{ "id-ctrl sim:nope", 1, "cannot open the controller" },
		{ "read sim:nvme -s 524287 -c 1", 1, "past the end of namespace 1" },
		{ "read sim:nvme -s x", 2, "--start-block wants a number" },
		{ "read sim:nvme -c 0 -z 513", 1, "more than 1 blocks of 512 bytes hold" },
		{ "read sim:nvme -n 0", 2, "--namespace-id starts at 1" },
		{ "read sim:nvme -n 9", 1, "namespace 9 is not active" },
		{ "write sim:nvme -z 512 -d /nonexistent/file", 1, "--data /nonexistent/file" },
		{ "dsm sim:nvme -s 0 -b 8", 2, "give --ad" },
		{ "dsm sim:nvme --ad -s 0,1 -b 8", 2, "one block count per start" },
		{ "get-feature sim:nvme", 2, "give -f/--feature-id" },
		{ "flush sim:nvme -s 3", 2, "unknown option" },
		{ "error-log sim:nvme -e", 2, "needs a value" },
		{ "error-log sim:nvme --log-entries", 2, "option --log-entries needs a value" },
		/* the option by its name, not the word after it or before it */
		{ "id-ctrl sim:nvme --cdw11 5", 2, "option --cdw11 is not valid here" },
		{ "write -fx sim:nvme", 2, "unknown option '-x'" },
		/* metadata and protection information */
		{ "read sim:nvme -p 16", 2, "--prinfo is 0..15" },
		{ "read sim:nvme -a 0x10000", 2, "--app-tag: 0x10000 is larger than 16 bits" },
		{ "read sim:nvme -p 8", 1, "(512-byte blocks) has no protection information" },
		{ "read sim:nvme -M /dev/null", 1, "takes no separate metadata" },
		{ "read sim:nvme?ms=8,mset=1 -M /dev/null", 1, "--data holds each block's data" },
		{ "write sim:nvme?ms=8,pi=1", 1, "give the 8 bytes of metadata of 1 blocks" },
		{ "read sim:nvme?ms=8 -M /dev/null -y 9", 1,
		  "--metadata-size 9 is more than 1 blocks of 8 bytes of metadata" },
		{ "read sim:nvme?ms=8,pi=3 -M /dev/null -p 1", 1, "PI type 3, which has no" },
	};
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

Test(nvme_tool, help_lists_every_command)
{
	char *o;

	cr_assert_eq(run(&o, "$T --help"), 0);
	const char *names[] = { "list",	     "id-ctrl",	    "id-ns",	    "read", "write",
				"compare",   "flush",	    "write-zeroes", "dsm",  "smart-log",
				"error-log", "get-feature", "reset" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(o, names[i]), "--help lacks %s", names[i]);
	free(o);
	cr_expect_eq(run(&o, "$T read --help"), 0);
	cr_expect(strstr(o, "--block-count"), "%s", o);
	free(o);
}
