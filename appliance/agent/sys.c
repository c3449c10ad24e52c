/*
 * Facts about this host that the server wants: its local addresses (other
 * nodes on the same LAN may reach it there) and its name.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "names.h"

#define MAX_LOCAL_ENDPOINTS 32

json_t *sys_local_endpoints(const char *skip_ifname)
{
	struct ifaddrs *ifa = NULL, *i;
	char buf[INET6_ADDRSTRLEN];
	json_t *arr = json_array();
	size_t k;
	bool dup;

	if (!arr)
		return NULL;
	if (getifaddrs(&ifa) < 0)
		return arr;
	for (i = ifa; i && json_array_size(arr) < MAX_LOCAL_ENDPOINTS; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		if (skip_ifname && i->ifa_name && !strcmp(i->ifa_name, skip_ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a = &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;

			/* Link-local needs a zone; useless to anyone else. */
			if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6))
				continue;
			a = a6;
		} else {
			continue;
		}
		if (!inet_ntop(i->ifa_addr->sa_family, a, buf, sizeof(buf)))
			continue;
		dup = false;
		for (k = 0; k < json_array_size(arr) && !dup; k++)
			dup = !strcmp(json_string_value(json_array_get(arr, k)), buf);
		if (!dup)
			json_array_append_new(arr, json_string(buf));
	}
	freeifaddrs(ifa);
	return arr;
}

char *sys_hostname(void)
{
	char buf[256] = "";
	char *dot;

	if (gethostname(buf, sizeof(buf) - 1) < 0)
		return NULL;
	dot = strchr(buf, '.');
	if (dot)
		*dot = '\0';
	if (mg_check_host_name(buf))
		return NULL;
	return strdup(buf);
}
