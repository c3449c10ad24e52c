#!/usr/bin/env python3
"""The closing table of `make bench`, from tests/bench/results/*.json."""
import json
import os
import sys

d = sys.argv[1]


def load(name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


rows = []
m = load("machine") or {}
q = load("qr")
if q:
    rows.append(("5 QR: .conf+PNG per s", "%.0f/s" % q["ours_per_s"], "qrencode CLI %.0f/s" % q["cli_per_s"],
                 "%.1fx faster" % q["ratio"]))
n = load("nat")
if n:
    rows.append(("3 nft: 1k ranges + 1k clients", "%.1f ms" % n["nat_apply_ms"], "nft -f %.1f ms" % n["nft_f_ms"],
                 "%.2f (lower better)" % n["ratio"]))
    rows.append(("3 nft: +1 range (full swap)", "%.1f ms" % n["incremental_ms"], "", ""))
w = load("wg")
if w:
    rows.append(("2 wg: 10k peers, wireguard-go", "%.0f ms" % w["wg_set_device_ms"],
                 "wg setconf %.0f ms" % w["wg_setconf_ms"], "%.2f (lower better)" % w["ratio"]))
    i = w["incremental"]
    rows.append(("2 wg: +1/-1 peer (read+diff+set)", "%.1f ms" % (i["get_ms"] + i["diff_ms"] + i["set_ms"]),
                 "set alone %.2f ms" % i["set_ms"],
                 "%d/%d others untouched" % (i["untouched_peers"], w["peers"] - 1)))
s = load("scale")
if s:
    for z in s["sizes"]:
        j, l, ref = z["join"], z["leave"], z["full_recompute"]
        rows.append(("1 join at N=%d" % z["n"], "%d msgs %.2f MB" % (j["messages"], j["bytes"] / 1e6),
                     "full recompute %.0f MB" % (ref["bytes"] / 1e6),
                     "%.5f of the bytes" % (j["bytes"] / ref["bytes"])))
        rows.append(("1   join/leave server CPU", "%.0f / %.0f ms" % (j["server_cpu_ms"], l["server_cpu_ms"]),
                     "ref build %.1f s (Python)" % ref["build_s"],
                     "last subscriber %.2f / %.2f s" % (j["last_subscriber_s"] or -1, l["last_subscriber_s"] or -1)))
        rows.append(("1   hosts via HTTP / seeded", "%d / %d" % (z["registered_http"], z["seeded_sql"]),
                     ("%s reg/s" % z["register_per_s"]) if z["register_per_s"] else "(all seeded)", "RSS %.0f MB (peak %.0f)" % (
                         z["server_rss_kb"] / 1024, z["server_hwm_kb"] / 1024)))
    t = s.get("targets", {})
    if t:
        rows.append(("1 targets at N=%d" % t["n"], "<1 s: %s" % ("met" if t["last_subscriber_under_1s"] else "MISSED"),
                     "<200 MB: %s" % ("met" if t["rss_under_200MB"] else "MISSED"),
                     "bytes linear: %s" % t.get("join_bytes_growth_vs_hosts", "?")))
a = load("api")
if a:
    for path, v in a["routes"].items():
        if path == "/setup":
            continue
        rows.append(("4 GET %s (%d nodes)" % (path, a["n_nodes"]),
                     "%.1f / %.1f req/s" % (v["t1"]["rps"], v["t2"]["rps"]),
                     "p99 %.0f / %.0f ms" % (v["t1"]["p99_ms"], v["t2"]["p99_ms"]),
                     "%.5f / %.5f of /setup" % (v["t1"]["ratio_to_setup"], v["t2"]["ratio_to_setup"])))
    rows.append(("4 anchor GET /setup", "%.0f / %.0f req/s" % (a["routes"]["/setup"]["t1"]["rps"],
                                                                a["routes"]["/setup"]["t2"]["rps"]), "-t1 / -t2", ""))
dp = load("dataplane")
if dp:
    rows.append(("6 iperf3 mesh n1->n2 (wg-go)", "%.0f Mbit/s" % dp["mesh_mbps"],
                 "plain wan %.0f Mbit/s" % dp["plain_wan_mbps"], "%.3f of plain wan" % (dp["ratio_mesh_to_wan"] or 0)))
    rows.append(("6 iperf3 egress via gw, NAT", "%.0f Mbit/s" % dp["egress_nat_mbps"],
                 "mesh %.0f Mbit/s" % dp["mesh_mbps"], "%.2f of mesh" % (dp["ratio_nat"] or 0)))
    rows.append(("6 iperf3 egress via gw, no NAT", "%.0f Mbit/s" % dp["egress_nonat_mbps"],
                 "mesh %.0f Mbit/s" % dp["mesh_mbps"], "%.2f of mesh" % (dp["ratio_nonat"] or 0)))

print("Summary (%s cores, kernel %s, %s):" % (m.get("cores", "?"), m.get("kernel", "?"),
                                             m.get("wireguard_backend", "?")))
wid = [max(len(r[i]) for r in rows) for i in range(4)] if rows else [0] * 4
for r in rows:
    print("  " + "  ".join(c.ljust(wid[i]) for i, c in enumerate(r)).rstrip())
print("Results: %s/*.json" % d)
