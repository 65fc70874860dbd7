/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hybrid loop: poll a thread's queues while they have work and, after an idle spell, arm
 * every queue's interrupt and sleep in epoll until one fires, a deadline passes or another
 * thread calls updk_loop_stop(). It is the pattern of Linux NAPI and of DPDK's l3fwd-power:
 * polling costs nothing when there is work, and an idle thread costs nothing either.
 * docs/interrupts.md explains it.
 *
 * A queue brings an fd that becomes readable when its interrupt fires, a poll function that
 * does its work, and an arm function that enables the interrupt and then re-checks the queue.
 * Before arming, the loop consumes what each fd counted (once per fd: queues on a shared
 * vector share it); so a completion or packet that arrived before the arm is found by the
 * re-check, and one after it makes the fd readable: nothing is slept through. A loop is owned
 * by one thread;
 * updk_loop_stop() and updk_loop_wake() may be called from any thread (and from a signal
 * handler). While it sleeps the thread is offline for lib/mem (updk_mem_thread_offline()), so a
 * sleeping loop never holds up an updk_dma_free() or updk_mem_unregister() elsewhere.
 */
#ifndef UPDK_LOOP_H
#define UPDK_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct updk_loop;

/** Loop settings; zero fields take the defaults. */
struct updk_loop_opts {
	size_t opts_size; /**< sizeof(struct updk_loop_opts) */
	/** Poll this long without work before sleeping; default 50 µs. UPDK_LOOP_IDLE_NONE: at
	 *  once (every pass that finds nothing arms and sleeps). */
	uint32_t idle_us;
	/** The longest sleep, after which the loop polls once even without an interrupt (for a
	 *  driver's timeouts); default 1000 ms. UPDK_LOOP_SLEEP_FOREVER: no limit. */
	uint32_t max_sleep_ms;
};

#define UPDK_LOOP_IDLE_NONE UINT32_MAX
#define UPDK_LOOP_SLEEP_FOREVER UINT32_MAX

/** One queue in a loop. The loop calls these on its own thread only. */
struct updk_loop_queue {
	/** Readable when the queue's interrupt fires (updk_pci_irq_fd()). Queues may share one
	 *  (a shared vector). */
	int fd;
	/** Do the queue's work; return how much was done (0: none), or a negative errno, which
	 *  ends updk_loop_run(). */
	int (*poll)(void *arg);
	/** Optional: consume what the fd counted (a vector of lib/pci: updk_pci_irq_ack(), which
	 *  also unmasks INTx); 0 or a negative errno. Called once per fd before the queues on it
	 *  are armed (the first such queue's). NULL: the loop read()s the fd as an eventfd. */
	int (*ack)(void *arg);
	/** Enable the interrupt, then re-check the queue: 0 when it is armed and empty (safe to
	 *  sleep), > 0 when work is waiting, or a negative errno. */
	int (*arm)(void *arg);
	/** Optional: called after a sleep (or an arm that found work) for every queue armed. */
	void (*disarm)(void *arg);
	void *arg;
};

/** What the loop did, since it was created. */
struct updk_loop_stats {
	uint64_t passes; /**< polls of every queue */
	uint64_t busy_passes; /**< passes that found work */
	uint64_t sleeps; /**< times the loop went to sleep */
	uint64_t wakeups; /**< sleeps ended by an interrupt */
	uint64_t timeouts; /**< sleeps ended by max_sleep_ms or a deadline */
	uint64_t stops; /**< sleeps ended by updk_loop_stop() or updk_loop_wake() */
	uint64_t arm_found_work; /**< sleeps given up because an arm found work waiting */
	uint64_t idle_wakeups; /**< wake-ups whose first pass found nothing */
	uint64_t sleep_ns; /**< time spent asleep */
};

/** Create a loop (@opts may be NULL for the defaults). 0 or a negative errno. */
int updk_loop_create(const struct updk_loop_opts *opts, struct updk_loop **loop);

/** Destroy a loop; the queues' fds are not closed (they are their owners'). NULL is ignored. */
void updk_loop_destroy(struct updk_loop *loop);

/**
 * Add a queue (copied). -EINVAL for a missing fd, poll or arm; -EEXIST when a queue with the
 * same @arg and poll is in the loop; -errno from epoll. At most 1024 queues.
 */
int updk_loop_add(struct updk_loop *loop, const struct updk_loop_queue *q);

/** Remove the queue added with @arg and @poll. 0 or -ENOENT. */
int updk_loop_remove(struct updk_loop *loop, int (*poll)(void *arg), void *arg);

/**
 * One pass: poll every queue; if none had work for the idle spell, arm them all and sleep.
 * Returns the work done by the pass (>= 0), or the first negative errno a queue returned.
 */
int updk_loop_run_once(struct updk_loop *loop);

/** Run passes until updk_loop_stop() or an error. 0 when stopped, or the negative errno. */
int updk_loop_run(struct updk_loop *loop);

/** Make updk_loop_run() return (any thread, async-signal-safe). */
void updk_loop_stop(struct updk_loop *loop);

/** End the current or next sleep without stopping (any thread, async-signal-safe). */
void updk_loop_wake(struct updk_loop *loop);

/**
 * The next sleep ends by @tsc (updk_tsc() time) at the latest: for work due at a known time,
 * such as the next paced submission. Applies to one sleep; the earliest of several calls wins.
 */
void updk_loop_wake_at(struct updk_loop *loop, uint64_t tsc);

/** Copy the loop's counters into *@st. */
void updk_loop_stats(const struct updk_loop *loop, struct updk_loop_stats *st);

#endif
