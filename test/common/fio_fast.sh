#!/bin/bash
# docs/fio.md's fast job file, for the benchmark scripts that source this (test/bench/*.sh): the
# options that leave out what fio does per I/O and updk-perf does not (the random map, the slat
# and total-latency samples, a commit and a clock read per I/O), with fio submitting and
# reaping BATCH I/Os at a time (the queue depth, for the fast job file itself).
#
#   fio_fast BATCH   prints the options
fio_fast() {
	echo --norandommap=1 --disable_slat=1 --disable_lat=1 --clocksource=cpu \
		--iodepth_batch_submit="$1" --iodepth_batch_complete_max="$1"
}
