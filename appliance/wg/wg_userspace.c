/*
 * wireguard-go's lifecycle: start it for an interface (never through a
 * shell) and wait until its UAPI socket answers; stop it by deleting its
 * TUN link.
 *
 * wireguard-go started without WG_PROCESS_FOREGROUND opens the TUN device
 * and the UAPI socket, hands them to a detached child and exits; so the
 * launcher is reaped here (bounded) and the daemon lives on its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "wg/wg_genl.h"
#include "wg/wg_uapi.h"

extern char **environ;

#define LAUNCH_TIMEOUT_MS 10000
#define SOCKET_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 3000
#define POLL_MS 10

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Our environment without the variables that would change wireguard-go's mode. */
static char **child_env(void)
{
	static const char *const drop[] = {
		"WG_PROCESS_FOREGROUND=", "WG_TUN_FD=", "WG_UAPI_FD=", NULL
	};
	size_t n = 0, i, j = 0;
	const char *const *d;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		for (d = drop; *d; d++)
			if (!strncmp(environ[i], *d, strlen(*d)))
				break;
		if (!*d)
			env[j++] = environ[i];
	}
	return env;
}

/* Waits up to timeout_ms for pid; kills it on timeout. Returns its status or -errno. */
static int reap(pid_t pid, long timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;	/* ECHILD: SIGCHLD ignored, the launcher reaped itself */
		if (now_ms() >= deadline)
			break;
		sleep_ms(POLL_MS);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

int wg_userspace_add(const char *ifname)
{
	const char *bin = getenv("MESHGATE_WG_GO");
	posix_spawn_file_actions_t fa;
	char *argv[3];
	char **env = NULL;
	long long deadline;
	pid_t pid;
	int ret, status = 0;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	if (!bin || !*bin)
		bin = "wireguard-go";
	env = child_env();
	if (!env)
		return -ENOMEM;
	argv[0] = (char *)bin;
	argv[1] = (char *)ifname;
	argv[2] = NULL;
	if ((ret = posix_spawn_file_actions_init(&fa))) {
		free(env);
		return -ret;
	}
	/* Its banner goes nowhere; errors still reach our stderr. */
	ret = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!ret)
		ret = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (!ret)
		ret = posix_spawnp(&pid, bin, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (ret) {
		log_warnx("wg: cannot start %s: %s", bin, strerror(ret));
		return -ret;
	}

	ret = reap(pid, LAUNCH_TIMEOUT_MS, &status);
	if (ret == -ETIMEDOUT) {
		log_warnx("wg: %s %s did not detach in time", bin, ifname);
		return ret;
	}
	if (ret == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		log_warnx("wg: %s %s failed (status %d)", bin, ifname, status);
		return -EIO;
	}

	deadline = now_ms() + SOCKET_TIMEOUT_MS;
	while (!wg_uapi_exists(ifname)) {
		if (now_ms() >= deadline) {
			log_warnx("wg: %s %s: no UAPI socket", bin, ifname);
			wg_link_del(ifname);
			return -ETIMEDOUT;
		}
		sleep_ms(POLL_MS);
	}
	return 0;
}

int wg_userspace_del(const char *ifname)
{
	char path[108];
	long long deadline;
	int ret;

	if ((ret = wg_uapi_socket_path(ifname, path, sizeof(path))))
		return ret;
	/* Deleting the TUN link makes wireguard-go shut down and remove its socket. */
	ret = wg_link_del(ifname);
	if (ret && ret != -ENODEV)
		return ret;
	deadline = now_ms() + STOP_TIMEOUT_MS;
	while (access(path, F_OK) == 0 && now_ms() < deadline)
		sleep_ms(POLL_MS);
	/* wireguard-go also stops when its socket file goes away. */
	if (access(path, F_OK) == 0 && unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}
