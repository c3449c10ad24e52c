/*
 * The system resolver for the mesh domains: optional, off by default
 * (`--resolver none`). With `auto` or `resolved` the agent points
 * systemd-resolved at each network's DNS server for that network's domain,
 * on the WireGuard link only: over D-Bus (org.freedesktop.resolve1, as root)
 * SetLinkDNS with the servers, SetLinkDomains with "~NETWORK" (routing-only
 * domains: only names under them go there) and SetLinkDefaultRoute false (no
 * other name goes there); RevertLink when no network has a DNS server any
 * more. When systemd-resolved is not running, `auto` logs once that
 * /etc/resolv.conf is left alone; nothing here ever writes that file (an
 * unmanaged resolv.conf is the admin's). One link carries every network of
 * the host, so its DNS servers are shared by the networks' domains: the
 * appliance's dnsmasq serves every network's names, so any of them answers.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "agent/agent.h"
#include "log.h"
#include "names.h"

#define RESOLVE1 "org.freedesktop.resolve1"
#define RESOLVE1_PATH "/org/freedesktop/resolve1"
#define RESOLVE1_MANAGER "org.freedesktop.resolve1.Manager"
#define CALL_TIMEOUT_USEC (2 * 1000 * 1000ULL)

static const char *const mode_names[] = { "none", "auto", "resolved" };

int resolver_mode_parse(const char *s, enum resolver_mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (s && !strcmp(s, mode_names[i])) {
			*out = (enum resolver_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *resolver_mode_name(enum resolver_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "none";
}

void resolver_plan_from_config(json_t *cfg, struct resolver_plan *p)
{
	json_t *net;
	size_t i, k;

	memset(p, 0, sizeof(*p));
	json_array_foreach(json_object_get(cfg, "networks"), i, net) {
		json_t *dns = json_object_get(net, "dns");
		const char *server = json_string_value(json_object_get(dns, "server"));
		const char *domain = json_string_value(json_object_get(dns, "domain"));
		struct mg_ip ip;

		memset(&ip, 0, sizeof(ip));
		if (!server || !domain || mg_ip_parse(server, &ip) < 0 || mg_check_network_name(domain) ||
		    strlen(domain) >= sizeof(p->domains[0]))
			continue;
		for (k = 0; k < p->n_servers && memcmp(&p->servers[k], &ip, sizeof(ip)); k++)
			;
		if (k == p->n_servers && p->n_servers < RESOLVER_MAX)
			p->servers[p->n_servers++] = ip;
		for (k = 0; k < p->n_domains && strcmp(p->domains[k], domain); k++)
			;
		if (k == p->n_domains && p->n_domains < RESOLVER_MAX)
			snprintf(p->domains[p->n_domains++], sizeof(p->domains[0]), "%s", domain);
	}
}

enum resolver_action resolver_decide(enum resolver_mode m, bool resolved_running, const struct resolver_plan *p)
{
	if (m == RESOLVER_NONE)
		return RESOLVER_ACT_NOTHING;
	if (!resolved_running)
		return m == RESOLVER_AUTO ? RESOLVER_ACT_LEAVE_ALONE : RESOLVER_ACT_MISSING;
	return p->n_servers ? RESOLVER_ACT_SET : RESOLVER_ACT_REVERT;
}

/* A method call on resolved's manager, with the link index as first argument. */
static int new_call(sd_bus *bus, sd_bus_message **m, const char *member, int ifindex)
{
	int r;

	r = sd_bus_message_new_method_call(bus, m, RESOLVE1, RESOLVE1_PATH, RESOLVE1_MANAGER, member);
	if (r >= 0)
		r = sd_bus_message_append(*m, "i", (int32_t)ifindex);
	return r;
}

static int call(sd_bus *bus, sd_bus_message *m, int built, const char *what, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = built;

	if (r < 0) {
		snprintf(err, errlen, "%s: cannot build the message: %s", what, strerror(-r));
		return r;
	}
	r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, NULL);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", what, e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
	return r;
}

int resolver_set_link(struct sd_bus *bus, int ifindex, const struct resolver_plan *p, char *err, size_t errlen)
{
	sd_bus_message *m = NULL;
	size_t i;
	int r;

	/* SetLinkDNS(i ifindex, a(iay) addresses) */
	r = new_call(bus, &m, "SetLinkDNS", ifindex);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(iay)");
	for (i = 0; i < p->n_servers && r >= 0; i++) {
		const struct mg_ip *ip = &p->servers[i];

		r = sd_bus_message_open_container(m, 'r', "iay");
		if (r >= 0)
			r = sd_bus_message_append(m, "i", (int32_t)ip->family);
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', ip->bytes, ip->family == AF_INET ? 4 : 16);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	r = call(bus, m, r, "SetLinkDNS", err, errlen);
	m = sd_bus_message_unref(m);
	if (r < 0)
		return r;

	/* SetLinkDomains(i ifindex, a(sb) domains): each routing-only ("~NETWORK"). */
	r = new_call(bus, &m, "SetLinkDomains", ifindex);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sb)");
	for (i = 0; i < p->n_domains && r >= 0; i++)
		r = sd_bus_message_append(m, "(sb)", p->domains[i], 1);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	r = call(bus, m, r, "SetLinkDomains", err, errlen);
	m = sd_bus_message_unref(m);
	if (r < 0)
		return r;

	/* SetLinkDefaultRoute(i ifindex, b): no other name goes to the mesh's servers (systemd 246+). */
	r = new_call(bus, &m, "SetLinkDefaultRoute", ifindex);
	if (r >= 0)
		r = sd_bus_message_append(m, "b", 0);
	r = call(bus, m, r, "SetLinkDefaultRoute", err, errlen);
	sd_bus_message_unref(m);
	if (r < 0) {
		/* Older resolved: the routing-only domains already keep other names away by default. */
		log_debug("resolver: %s (ignored)", err);
		err[0] = '\0';
	}
	return 0;
}

int resolver_revert_link(struct sd_bus *bus, int ifindex, char *err, size_t errlen)
{
	sd_bus_message *m = NULL;
	int r;

	r = new_call(bus, &m, "RevertLink", ifindex);
	r = call(bus, m, r, "RevertLink", err, errlen);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

/* Whether org.freedesktop.resolve1 has an owner on the bus. */
static bool resolved_running(sd_bus *bus)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0, r;

	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &e, &reply, "s", RESOLVE1);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r >= 0 && has;
}

/* "10.0.0.1 for ~office ~lab" into buf. */
static void describe(const struct resolver_plan *p, char *buf, size_t len)
{
	char ip[MG_IP_STRLEN];
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < p->n_servers && used < len; i++) {
		mg_ip_format(&p->servers[i], ip, sizeof(ip));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", ip);
	}
	for (i = 0; i < p->n_domains && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s~%s", i ? " " : " for ", p->domains[i]);
}

/* The last plan the link got (a success); none until then. */
static struct {
	bool valid;
	int ifindex;
	struct resolver_plan plan;
} last;
/* What was logged while resolved was absent (logged again only when the plan changes). */
static struct {
	bool valid;
	struct resolver_plan plan;
} absent;

void resolver_apply(enum resolver_mode m, const char *ifname, json_t *cfg)
{
	struct resolver_plan p;
	enum resolver_action act;
	sd_bus *bus = NULL;
	char err[256] = "", what[512];
	int ifindex, r = 0;

	if (m == RESOLVER_NONE)
		return;
	resolver_plan_from_config(cfg, &p);
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		log_warnx("resolver: %s has no interface index", ifname);
		return;
	}
	if (last.valid && last.ifindex == ifindex && !memcmp(&last.plan, &p, sizeof(p)))
		return;
	describe(&p, what, sizeof(what));
	act = resolver_decide(m, sd_bus_open_system(&bus) >= 0 && resolved_running(bus), &p);
	switch (act) {
	case RESOLVER_ACT_NOTHING:
		break;
	case RESOLVER_ACT_LEAVE_ALONE:
	case RESOLVER_ACT_MISSING:
		/* Not remembered in `last`: the next apply looks for resolved again. */
		if (!absent.valid || memcmp(&absent.plan, &p, sizeof(p))) {
			if (act == RESOLVER_ACT_LEAVE_ALONE)
				log_info("resolver: systemd-resolved is not running; /etc/resolv.conf is left alone%s%s%s",
					 p.n_servers ? " (the mesh's DNS: " : "", p.n_servers ? what : "",
					 p.n_servers ? ")" : "");
			else
				log_warnx("resolver: --resolver resolved, but systemd-resolved is not running;"
					  " /etc/resolv.conf is left alone");
			absent.valid = true;
			absent.plan = p;
		}
		break;
	case RESOLVER_ACT_SET:
	case RESOLVER_ACT_REVERT:
		absent.valid = false;
		r = act == RESOLVER_ACT_SET ? resolver_set_link(bus, ifindex, &p, err, sizeof(err)) :
					      resolver_revert_link(bus, ifindex, err, sizeof(err));
		if (r < 0) {
			log_warnx("resolver: %s: %s", ifname, err);
			break;
		}
		if (act == RESOLVER_ACT_SET)
			log_info("resolver: %s: systemd-resolved asks %s", ifname, what);
		else
			log_info("resolver: %s: no mesh DNS server; the link's resolver settings reverted", ifname);
		last.valid = true;
		last.ifindex = ifindex;
		last.plan = p;
		break;
	}
	sd_bus_flush_close_unref(bus);
}
