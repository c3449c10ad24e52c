#!/usr/bin/env python3
"""Run the meshgated API tests.

    MESHGATED=build/meshgated MESHGATECTL=build/meshgatectl python3 tests/api/run.py [FILTER...]

FILTER selects tests whose "module.test_name" contains it. Prints one line
per test ("ok - ", "not ok - ", "skip - ") and closes with
"N passed, N failed"; exits 1 when anything failed.
"""

import os
import sys

sys.dont_write_bytecode = True   # keep tests/api free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

# Import order is run order.
import test_setup_auth  # noqa: E402,F401
import test_throttle  # noqa: E402,F401
import test_networks  # noqa: E402,F401
import test_keys_hosts  # noqa: E402,F401
import test_bad_input  # noqa: E402,F401
import test_ctl  # noqa: E402,F401
import test_ctl_gateways  # noqa: E402,F401
import test_ctl_acl_dns  # noqa: E402,F401
import test_broker  # noqa: E402,F401
import test_static  # noqa: E402,F401
import test_tls  # noqa: E402,F401
import test_acl  # noqa: E402,F401
import test_acl_matrix  # noqa: E402,F401
import test_sites  # noqa: E402,F401
import test_gateways  # noqa: E402,F401
import test_relays  # noqa: E402,F401
import test_extclients  # noqa: E402,F401
import test_expiry_authz  # noqa: E402,F401
import test_authz_matrix  # noqa: E402,F401
import test_secrets_in_logs  # noqa: E402,F401
import test_faults  # noqa: E402,F401
import test_dns  # noqa: E402,F401
import test_dns_server  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(harness.run_all(sys.argv[1:]))
