/* SPDX-License-Identifier: BSD-3-Clause */
/* Test helper: a hybrid loop (lib/loop) run by a thread of its own, to act while it sleeps. */
#ifndef UPDK_TEST_COMMON_LOOP_THREAD_H
#define UPDK_TEST_COMMON_LOOP_THREAD_H

#include <pthread.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/loop.h>

struct loop_thread {
	struct updk_loop *l;
	pthread_t t;
	int rc; /* what updk_loop_run() returned */
};

static inline void *loop_thread_main(void *arg)
{
	struct loop_thread *lt = arg;

	lt->rc = updk_loop_run(lt->l);
	return NULL;
}

/* Start updk_loop_run(@l) on a thread and return once the loop has gone to sleep. */
static inline void loop_thread_start_asleep(struct loop_thread *lt, struct updk_loop *l)
{
	struct updk_loop_stats st;

	lt->l = l;
	cr_assert_eq(pthread_create(&lt->t, NULL, loop_thread_main, lt), 0);
	do {
		usleep(1000);
		updk_loop_stats(l, &st);
	} while (!st.sleeps);
}

/* Stop the loop and join its thread; what updk_loop_run() returned. */
static inline int loop_thread_stop(struct loop_thread *lt)
{
	updk_loop_stop(lt->l);
	pthread_join(lt->t, NULL);
	return lt->rc;
}

#endif
