/*
 * The agent's system-resolver support (appliance/agent/resolver.c) without
 * systemd-resolved: the modes, the plan taken from CONFIG's networks[].dns,
 * the decision table, and the D-Bus calls themselves, sent over a real
 * sd-bus connection (a socket pair) to a stand-in for
 * org.freedesktop.resolve1.Manager that records what it receives; plus
 * resolver_apply with no system bus at all (auto: nothing happens, nothing
 * is written).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

static json_t *config(const char *networks)
{
	char text[2048];
	json_t *cfg;

	snprintf(text, sizeof(text), "{\"host_id\": 1, \"networks\": %s}", networks);
	cfg = json_loads(text, 0, NULL);
	assert_non_null(cfg);
	return cfg;
}

static void test_modes(void **state)
{
	enum resolver_mode m = RESOLVER_AUTO;

	(void)state;
	assert_int_equal(resolver_mode_parse("none", &m), 0);
	assert_int_equal(m, RESOLVER_NONE);
	assert_int_equal(resolver_mode_parse("auto", &m), 0);
	assert_int_equal(m, RESOLVER_AUTO);
	assert_int_equal(resolver_mode_parse("resolved", &m), 0);
	assert_int_equal(m, RESOLVER_RESOLVED);
	assert_int_equal(resolver_mode_parse("Auto", &m), -EINVAL);
	assert_int_equal(resolver_mode_parse("", &m), -EINVAL);
	assert_int_equal(resolver_mode_parse(NULL, &m), -EINVAL);
	assert_int_equal(m, RESOLVER_RESOLVED);
	assert_string_equal(resolver_mode_name(RESOLVER_NONE), "none");
	assert_string_equal(resolver_mode_name(RESOLVER_AUTO), "auto");
	assert_string_equal(resolver_mode_name(RESOLVER_RESOLVED), "resolved");
}

static void test_plan(void **state)
{
	struct resolver_plan p;
	char ip[MG_IP_STRLEN];
	json_t *cfg;

	(void)state;
	/* Two networks served by one address, one by an IPv6 address, one without a server, bad entries. */
	cfg = config("[{\"name\": \"lab\", \"dns\": {\"server\": \"10.84.0.1\", \"domain\": \"lab\", \"serve\": false}},"
		     " {\"name\": \"none\"},"
		     " {\"name\": \"office\", \"dns\": {\"server\": \"10.84.0.1\", \"domain\": \"office\"}},"
		     " {\"name\": \"six\", \"dns\": {\"server\": \"fd00:84::1\", \"domain\": \"six\", \"serve\": true}},"
		     " {\"name\": \"bad1\", \"dns\": {\"server\": \"10.84.0.1; rm\", \"domain\": \"bad1\"}},"
		     " {\"name\": \"bad2\", \"dns\": {\"server\": \"10.84.0.9\", \"domain\": \"Bad.Domain\"}},"
		     " {\"name\": \"bad3\", \"dns\": {\"server\": 7, \"domain\": \"bad3\"}},"
		     " {\"name\": \"bad4\", \"dns\": \"10.84.0.9\"}]");
	resolver_plan_from_config(cfg, &p);
	assert_int_equal(p.n_servers, 2);
	assert_int_equal(p.servers[0].family, AF_INET);
	mg_ip_format(&p.servers[0], ip, sizeof(ip));
	assert_string_equal(ip, "10.84.0.1");
	assert_int_equal(p.servers[1].family, AF_INET6);
	mg_ip_format(&p.servers[1], ip, sizeof(ip));
	assert_string_equal(ip, "fd00:84::1");
	assert_int_equal(p.n_domains, 3);
	assert_string_equal(p.domains[0], "lab");
	assert_string_equal(p.domains[1], "office");
	assert_string_equal(p.domains[2], "six");
	json_decref(cfg);

	/* No DNS anywhere, or no networks at all: an empty plan. */
	cfg = config("[{\"name\": \"lab\"}]");
	resolver_plan_from_config(cfg, &p);
	assert_int_equal(p.n_servers + p.n_domains, 0);
	json_decref(cfg);
	cfg = config("null");
	resolver_plan_from_config(cfg, &p);
	assert_int_equal(p.n_servers + p.n_domains, 0);
	json_decref(cfg);
}

static void test_decide(void **state)
{
	struct resolver_plan empty = { 0 }, some = { 0 };

	(void)state;
	some.n_servers = 1;
	some.n_domains = 1;
	for (int running = 0; running < 2; running++) {
		assert_int_equal(resolver_decide(RESOLVER_NONE, running, &some), RESOLVER_ACT_NOTHING);
		assert_int_equal(resolver_decide(RESOLVER_NONE, running, &empty), RESOLVER_ACT_NOTHING);
	}
	assert_int_equal(resolver_decide(RESOLVER_AUTO, false, &some), RESOLVER_ACT_LEAVE_ALONE);
	assert_int_equal(resolver_decide(RESOLVER_AUTO, false, &empty), RESOLVER_ACT_LEAVE_ALONE);
	assert_int_equal(resolver_decide(RESOLVER_RESOLVED, false, &some), RESOLVER_ACT_MISSING);
	assert_int_equal(resolver_decide(RESOLVER_AUTO, true, &some), RESOLVER_ACT_SET);
	assert_int_equal(resolver_decide(RESOLVER_RESOLVED, true, &some), RESOLVER_ACT_SET);
	assert_int_equal(resolver_decide(RESOLVER_AUTO, true, &empty), RESOLVER_ACT_REVERT);
	assert_int_equal(resolver_decide(RESOLVER_RESOLVED, true, &empty), RESOLVER_ACT_REVERT);
}

/* ---- a stand-in for org.freedesktop.resolve1.Manager --------------------- */

struct fake {
	sd_bus *bus;
	pthread_t thread;
	volatile int stop;
	char log[2048];			/* the calls it got, one a line */
	bool fail_dns;			/* SetLinkDNS answers an error */
	bool old;			/* no SetLinkDefaultRoute (systemd before 246) */
};

static void logf_(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct fake *f, const char *fmt, ...)
{
	size_t used = strlen(f->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->log + used, sizeof(f->log) - used, fmt, ap);
	va_end(ap);
}

static int on_set_dns(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct fake *f = userdata;
	int32_t ifindex, family;
	const void *bytes;
	size_t len;
	char text[INET6_ADDRSTRLEN];
	int r;

	r = sd_bus_message_read(m, "i", &ifindex);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "(iay)");
	if (r < 0)
		return r;
	logf_(f, "SetLinkDNS %d", ifindex);
	while ((r = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
		if ((r = sd_bus_message_read(m, "i", &family)) < 0 ||
		    (r = sd_bus_message_read_array(m, 'y', &bytes, &len)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
		if (!inet_ntop(family, bytes, text, sizeof(text)) || len != (family == AF_INET ? 4u : 16u))
			snprintf(text, sizeof(text), "?");
		logf_(f, " %d:%s", family, text);
	}
	logf_(f, "\n");
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	if (f->fail_dns)
		return sd_bus_error_setf(e, "org.freedesktop.resolve1.NoSuchLink", "Link %d not known", ifindex);
	return sd_bus_reply_method_return(m, NULL);
}

static int on_set_domains(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct fake *f = userdata;
	const char *domain;
	int32_t ifindex;
	int routing, r;

	(void)e;
	r = sd_bus_message_read(m, "i", &ifindex);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "(sb)");
	if (r < 0)
		return r;
	logf_(f, "SetLinkDomains %d", ifindex);
	while ((r = sd_bus_message_read(m, "(sb)", &domain, &routing)) > 0)
		logf_(f, " %s%s", routing ? "~" : "", domain);
	logf_(f, "\n");
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	return sd_bus_reply_method_return(m, NULL);
}

static int on_default_route(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct fake *f = userdata;
	int32_t ifindex;
	int on, r;

	if (f->old)
		return sd_bus_error_set(e, SD_BUS_ERROR_UNKNOWN_METHOD, "Unknown method SetLinkDefaultRoute");
	r = sd_bus_message_read(m, "ib", &ifindex, &on);
	if (r < 0)
		return r;
	logf_(f, "SetLinkDefaultRoute %d %s\n", ifindex, on ? "yes" : "no");
	return sd_bus_reply_method_return(m, NULL);
}

static int on_revert(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
	struct fake *f = userdata;
	int32_t ifindex;
	int r;

	(void)e;
	r = sd_bus_message_read(m, "i", &ifindex);
	if (r < 0)
		return r;
	logf_(f, "RevertLink %d\n", ifindex);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", on_set_dns, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetLinkDomains", "ia(sb)", "", on_set_domains, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetLinkDefaultRoute", "ib", "", on_default_route, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RevertLink", "i", "", on_revert, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static void *serve(void *arg)
{
	struct fake *f = arg;
	int r;

	/* Bounded: at most 10 s of 50 ms waits. */
	for (int i = 0; i < 200 && !f->stop;) {
		r = sd_bus_process(f->bus, NULL);
		if (r < 0)
			break;
		if (r > 0)
			continue;
		sd_bus_wait(f->bus, 50 * 1000);
		i++;
	}
	return NULL;
}

/* A client bus (*client) connected to a fake manager (f) over a socket pair. */
static void fake_start(struct fake *f, sd_bus **client)
{
	sd_id128_t id;
	int fds[2];

	memset(f, 0, sizeof(*f));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	assert_true(sd_id128_randomize(&id) >= 0);
	assert_true(sd_bus_new(&f->bus) >= 0);
	assert_true(sd_bus_set_fd(f->bus, fds[1], fds[1]) >= 0);
	assert_true(sd_bus_set_server(f->bus, 1, id) >= 0);
	assert_true(sd_bus_add_object_vtable(f->bus, NULL, "/org/freedesktop/resolve1",
					     "org.freedesktop.resolve1.Manager", manager_vtable, f) >= 0);
	assert_true(sd_bus_start(f->bus) >= 0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
	assert_true(sd_bus_new(client) >= 0);
	assert_true(sd_bus_set_fd(*client, fds[0], fds[0]) >= 0);
	assert_true(sd_bus_start(*client) >= 0);
}

static void fake_stop(struct fake *f, sd_bus *client)
{
	sd_bus_flush_close_unref(client);
	f->stop = 1;
	pthread_join(f->thread, NULL);
	sd_bus_flush_close_unref(f->bus);
}

static void test_dbus_calls(void **state)
{
	struct resolver_plan p;
	struct fake f;
	sd_bus *client;
	char err[256] = "";
	json_t *cfg;

	(void)state;
	cfg = config("[{\"name\": \"lab\", \"dns\": {\"server\": \"10.84.0.1\", \"domain\": \"lab\"}},"
		     " {\"name\": \"six\", \"dns\": {\"server\": \"fd00:84::1\", \"domain\": \"six\"}}]");
	resolver_plan_from_config(cfg, &p);
	json_decref(cfg);

	fake_start(&f, &client);
	assert_int_equal(resolver_set_link(client, 7, &p, err, sizeof(err)), 0);
	assert_int_equal(resolver_revert_link(client, 7, err, sizeof(err)), 0);
	fake_stop(&f, client);
	assert_string_equal(f.log, "SetLinkDNS 7 2:10.84.0.1 10:fd00:84::1\n"
				   "SetLinkDomains 7 ~lab ~six\n"
				   "SetLinkDefaultRoute 7 no\n"
				   "RevertLink 7\n");

	/* An older resolved without SetLinkDefaultRoute: still a success. */
	fake_start(&f, &client);
	f.old = true;
	assert_int_equal(resolver_set_link(client, 9, &p, err, sizeof(err)), 0);
	fake_stop(&f, client);
	assert_string_equal(f.log, "SetLinkDNS 9 2:10.84.0.1 10:fd00:84::1\nSetLinkDomains 9 ~lab ~six\n");

	/* An error from resolved: reported with its message, nothing more is sent. */
	fake_start(&f, &client);
	f.fail_dns = true;
	assert_true(resolver_set_link(client, 11, &p, err, sizeof(err)) < 0);
	fake_stop(&f, client);
	assert_string_equal(err, "SetLinkDNS: Link 11 not known");
	assert_string_equal(f.log, "SetLinkDNS 11 2:10.84.0.1 10:fd00:84::1\n");
}

/* Without a system bus, auto and resolved change nothing (and return). */
static void test_apply_without_bus(void **state)
{
	struct stat before, after;
	bool had;
	json_t *cfg;

	(void)state;
	setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/meshgate-test-bus", 1);
	cfg = config("[{\"name\": \"lab\", \"dns\": {\"server\": \"10.84.0.1\", \"domain\": \"lab\"}}]");
	had = stat("/etc/resolv.conf", &before) == 0;
	resolver_apply(RESOLVER_AUTO, "lo", cfg);
	resolver_apply(RESOLVER_RESOLVED, "lo", cfg);
	resolver_apply(RESOLVER_NONE, "lo", cfg);
	resolver_apply(RESOLVER_AUTO, "no-such-if0", cfg);
	assert_int_equal(had, stat("/etc/resolv.conf", &after) == 0);
	if (had) {
		assert_int_equal(before.st_ino, after.st_ino);
		assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
		assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	}
	json_decref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_dbus_calls),
		cmocka_unit_test(test_apply_without_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
