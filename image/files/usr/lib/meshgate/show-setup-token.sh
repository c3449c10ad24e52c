#!/bin/sh
# meshgate-setup-token.service: print the one-time setup token on the
# console while the server has no admin yet.
set -eu
f=/var/lib/meshgated/setup-token
url=$(sed -n 's/^MESHGATE_PUBLIC_URL=//p' /etc/meshgate/meshgated.env 2>/dev/null || true)
i=0
# meshgated writes the token right after it opens the database.
while [ ! -s "$f" ] && [ $i -lt 120 ]; do
	[ -s /var/lib/meshgated/meshgate.db ] && [ $i -gt 20 ] && break
	i=$((i + 1))
	sleep 0.5
done
if [ -s "$f" ]; then
	echo
	echo "meshgate: no admin account yet. Create it at ${url:-the console} with the one-time token:"
	echo "MESHGATE-SETUP-TOKEN: $(cat "$f")"
	echo
else
	echo "meshgate: console and API at ${url:-https://<address>:8443}/"
fi
