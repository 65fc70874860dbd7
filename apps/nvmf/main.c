// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf: an NVMe/TCP target serving namespaces of local NVMe controllers (PCIe through
 * vfio-pci, or sim:nvme) to NVMe/TCP hosts. The main thread listens and accepts, hands each
 * connection to a poller (round robin), and polls the backing controllers' admin queues (which
 * is what times commands out and resets a controller). SIGINT or SIGTERM: the pollers stop
 * taking commands, answer what is in flight, close every connection, and the controllers are
 * shut down (CC.SHN).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apps/nvmf/nvmf.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* Bind and listen on @host:@port; the listener keeps the port actually bound (for port 0). */
static int listen_on(struct nvmf_listener *l, const char *host, const char *port, uint16_t id)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, fd, rc;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr,
			"updk-nvmf: --listen %s:%s: %s (give a numeric IPv4 or IPv6 address)\n",
			host, port, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128))
		goto fail;
	l->fd = fd;
	l->adrfam = ai->ai_family == AF_INET6 ? UPDK_NVMF_ADRFAM_IPV6 : UPDK_NVMF_ADRFAM_IPV4;
	snprintf(l->traddr, sizeof(l->traddr), "%s", host);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	snprintf(l->trsvcid, sizeof(l->trsvcid), "%u",
		 ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						  ((struct sockaddr_in *)&ss)->sin_port));
	l->portid = id;
	freeaddrinfo(ai);
	return 0;
fail:
	rc = -errno;
	fprintf(stderr, "updk-nvmf: --listen %s:%s: %s%s\n", host, port, strerror(errno),
		errno == EADDRINUSE ? " (another target on that port? stop it or choose another)" :
				      "");
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static void accept_all(struct nvmf_listener *l, unsigned *rr)
{
	for (;;) {
		int one = 1, fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				nvmf_log(UPDK_LOG_WARN, "accept on %s:%s: %s", l->traddr,
					 l->trsvcid, strerror(errno));
			return;
		}
		/* PDUs are sent whole, many at once: never hold a small one back */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		nvmf_poller_give(&nvmf_pollers[(*rr)++ % nvmf_npollers], fd);
	}
}

/* The admin queues of the backing controllers: timeouts, resets, and their state for I/O. */
static void poll_devices(void)
{
	for (unsigned i = 0; i < nvmf_tgt.ndevs; i++) {
		struct nvmf_dev *d = &nvmf_tgt.devs[i];
		int state, old = atomic_load(&d->state);

		updk_nvme_admin_process_completions(d->ctrlr);
		if (!updk_nvme_ctrlr_is_failed(d->ctrlr))
			state = NVMF_DEV_OK;
		else
			state = updk_nvme_ctrlr_is_resetting(d->ctrlr) ? NVMF_DEV_RESETTING :
									 NVMF_DEV_FAILED;
		if (state != old) {
			static const char *const names[] = { "working", "resetting", "failed" };

			nvmf_log(state == NVMF_DEV_FAILED ? UPDK_LOG_ERROR : UPDK_LOG_WARN,
				 "%s: %s", d->addr, names[state]);
			atomic_store(&d->state, state);
		}
	}
}

static bool pollers_running(void)
{
	for (unsigned i = 0; i < nvmf_npollers; i++)
		if (nvmf_pollers[i].started && !atomic_load(&nvmf_pollers[i].exited))
			return true;
	return false;
}

static void shutdown_all(void)
{
	for (unsigned i = 0; i < nvmf_tgt.nlisten; i++)
		if (nvmf_tgt.listen[i].fd >= 0)
			close(nvmf_tgt.listen[i].fd);
	for (unsigned i = 0; i < nvmf_npollers; i++)
		if (nvmf_pollers[i].started)
			nvmf_poller_stop(&nvmf_pollers[i]);
	/* the pollers drain their connections; resets and timeouts still need the admin queues */
	while (pollers_running()) {
		poll_devices();
		poll(NULL, 0, 10);
	}
	for (unsigned i = 0; i < nvmf_npollers; i++)
		nvmf_poller_join(&nvmf_pollers[i]);
	nvmf_ctrlr_kill_all();
	nvmf_ctrlr_registry_free();
	free(nvmf_pollers);
	nvmf_pollers = NULL;
	nvmf_subsys_teardown();
}

int main(int argc, char **argv)
{
	static struct nvmf_args a;
	char err[NVMF_ERR_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd[NVMF_MAX_LISTEN];
	unsigned rr = 0, nns = 0;
	int rc;

	rc = nvmf_args_parse(argc, argv, &a, err);
	if (rc == 1) {
		nvmf_usage(stdout);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < NVMF_MAX_LISTEN; i++)
		nvmf_tgt.listen[i].fd = -1;
	for (unsigned i = 0; i < a.nlisten; i++) {
		rc = listen_on(&nvmf_tgt.listen[i], a.listen_host[i], a.listen_port[i],
			       (uint16_t)(i + 1));
		if (rc)
			goto out;
		nvmf_tgt.nlisten++;
		pfd[i] = (struct pollfd){ .fd = nvmf_tgt.listen[i].fd, .events = POLLIN };
	}
	rc = nvmf_subsys_setup(&a);
	if (rc)
		goto out;
	nvmf_pollers = calloc(a.npollers, sizeof(*nvmf_pollers));
	if (!nvmf_pollers) {
		rc = -ENOMEM;
		goto out;
	}
	nvmf_npollers = a.npollers;
	for (unsigned i = 0; i < a.npollers; i++)
		nvmf_poller_init(&nvmf_pollers[i], i);
	for (unsigned i = 0; i < a.npollers; i++) {
		rc = nvmf_poller_start(&nvmf_pollers[i], a.cores[i], a.idle_us);
		if (rc)
			goto out;
	}
	for (unsigned i = 1; i < nvmf_tgt.nsubsys; i++)
		nns += nvmf_tgt.subsys[i].nns;
	for (unsigned i = 0; i < nvmf_tgt.nlisten; i++)
		printf("updk-nvmf: listening on %s%s%s:%s\n",
		       nvmf_tgt.listen[i].adrfam == UPDK_NVMF_ADRFAM_IPV6 ? "[" : "",
		       nvmf_tgt.listen[i].traddr,
		       nvmf_tgt.listen[i].adrfam == UPDK_NVMF_ADRFAM_IPV6 ? "]" : "",
		       nvmf_tgt.listen[i].trsvcid);
	printf("updk-nvmf: ready: %u subsystem%s, %u namespace%s, %u poller%s\n",
	       nvmf_tgt.nsubsys - 1, nvmf_tgt.nsubsys == 2 ? "" : "s", nns, nns == 1 ? "" : "s",
	       nvmf_npollers, nvmf_npollers == 1 ? "" : "s");
	fflush(stdout);
	while (!stop_sig) {
		int n = poll(pfd, nvmf_tgt.nlisten, 10);

		for (unsigned i = 0; n > 0 && i < nvmf_tgt.nlisten; i++)
			if (pfd[i].revents & POLLIN)
				accept_all(&nvmf_tgt.listen[i], &rr);
		poll_devices();
	}
	printf("updk-nvmf: %s: disconnecting the hosts and shutting down\n",
	       stop_sig == SIGINT ? "SIGINT" : "SIGTERM");
	fflush(stdout);
	rc = 0;
out:
	shutdown_all();
	return rc ? 1 : 0;
}
