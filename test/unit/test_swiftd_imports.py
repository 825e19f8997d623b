"""The launcher of the dev servers imports no HTTP client library.

Swift's servers patch ssl with eventlet when they start (``run_wsgi``); a
urllib3 imported before that keeps the unpatched ``SSLContext``, and every
TLS context botocore makes later in the proxy (the shunt's S3 store) fails
with a RecursionError. ``swiftsync.devcluster.swiftd`` is imported through
its package, so nothing the package imports may pull one in either.
"""

import subprocess
import sys


def test_swiftd_imports_no_http_client_before_swift_patches():
    code = ('import sys, swiftsync.devcluster.swiftd; '
            'print(",".join(m for m in ("urllib3", "requests", "botocore") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-W', 'ignore', '-c', code],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ''
