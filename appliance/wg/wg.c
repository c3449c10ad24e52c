/*
 * Backend dispatch: a kernel "wireguard" link is driven over generic
 * netlink, anything with a listening UAPI socket (wireguard-go) over the
 * socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg_genl.h"
#include "wg/wg_uapi.h"

#define KIND_LEN 32

static bool userspace_forced(void)
{
	const char *v = getenv("MESHGATE_WG_USERSPACE");

	return v && *v && strcmp(v, "0") != 0;
}

bool wg_kernel_available(void)
{
	uint16_t id;

	return wg_kernel_family(&id) == 0;
}

enum wg_backend wg_backend_of(const char *ifname)
{
	char kind[KIND_LEN];

	if (!wg_ifname_valid(ifname))
		return WG_BACKEND_NONE;
	if (wg_link_get(ifname, NULL, kind, sizeof(kind)) == 0 && !strcmp(kind, "wireguard"))
		return WG_BACKEND_KERNEL;
	if (wg_uapi_exists(ifname))
		return WG_BACKEND_USERSPACE;
	return WG_BACKEND_NONE;
}

const char *wg_backend_name(enum wg_backend b)
{
	switch (b) {
	case WG_BACKEND_KERNEL:
		return "kernel";
	case WG_BACKEND_USERSPACE:
		return "userspace";
	default:
		return "none";
	}
}

int wg_get_device(const char *ifname, struct wg_device **out)
{
	*out = NULL;
	switch (wg_backend_of(ifname)) {
	case WG_BACKEND_KERNEL:
		return wg_kernel_get_device(ifname, out);
	case WG_BACKEND_USERSPACE:
		return wg_uapi_get_device(ifname, out);
	default:
		return wg_ifname_valid(ifname) ? -ENODEV : -EINVAL;
	}
}

int wg_set_device(const struct wg_device *dev)
{
	switch (wg_backend_of(dev->name)) {
	case WG_BACKEND_KERNEL:
		return wg_kernel_set_device(dev);
	case WG_BACKEND_USERSPACE:
		return wg_uapi_set_device(dev);
	default:
		return wg_ifname_valid(dev->name) ? -ENODEV : -EINVAL;
	}
}

int wg_add_interface(const char *ifname)
{
	char kind[KIND_LEN];
	int ret;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	ret = wg_link_get(ifname, NULL, kind, sizeof(kind));
	if (ret == 0) {
		if (!strcmp(kind, "wireguard") || wg_uapi_exists(ifname))
			return 1;
		return -EEXIST;
	}
	if (ret != -ENODEV)
		return ret;
	if (!userspace_forced() && wg_kernel_available()) {
		ret = wg_link_add_wireguard(ifname);
		/* A kernel without the link type after all: fall back. */
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	return wg_userspace_add(ifname);
}

int wg_del_interface(const char *ifname)
{
	switch (wg_backend_of(ifname)) {
	case WG_BACKEND_KERNEL:
		return wg_link_del(ifname);
	case WG_BACKEND_USERSPACE:
		return wg_userspace_del(ifname);
	default:
		return wg_ifname_valid(ifname) ? -ENODEV : -EINVAL;
	}
}
