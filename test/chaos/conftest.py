"""The chaos suite: faults and load against real servers (issue 8).

Every scenario brings up its own deployment with ``swiftsync dev`` (a
module fixture), injects faults by stopping and starting real processes by
PID, and ends by checking that nothing was lost. Two scales:

* ``SWIFTSYNC_CHAOS=short`` (the default, part of ``make test``): a few
  hundred objects, one or two faults per scenario;
* ``SWIFTSYNC_CHAOS=full`` (``make chaos``): the sizes of issue 8
  (5,000 objects, five SIGKILLs, a 30 s S3 outage...).

Each scenario records its figures (objects, faults injected, objects lost,
duplicates, requests served, errors by status) with the ``figures``
fixture; they are written as JSON to ``SWIFTSYNC_CHAOS_REPORT`` (default
``work/chaos/report.json``) and summarized in ``doc/reliability.md``.

Logs and the responses a scenario captured are searched for every secret
of every deployment at the end of the session (``test_zz_secrets.py``).
"""

import json
import os
import time

import pytest

from swiftsync.devcluster import Deployment

SCALE = os.environ.get('SWIFTSYNC_CHAOS', 'short')
if SCALE not in ('short', 'full'):
    raise RuntimeError('SWIFTSYNC_CHAOS must be short or full, not %r'
                       % SCALE)
FULL = SCALE == 'full'
# Deployments take turns on this base (module fixtures end before the next
# module starts); it is far from the integration tests' 9600.
BASE_PORT = int(os.environ.get('SWIFTSYNC_CHAOS_BASE_PORT', '12600'))
REPORT = os.environ.get('SWIFTSYNC_CHAOS_REPORT',
                        os.path.join('work', 'chaos', 'report.json'))

# What every scenario left behind for the final secret search: work dirs
# (their logs) and response bodies/headers captured by the scenarios.
DEPLOYMENT_DIRS = []
CAPTURED = []


def scaled(short, full):
    """``full`` under ``make chaos``, ``short`` in ``make test``."""
    return full if FULL else short


def chaos_deployment(tmp_path_factory, name, **up_kwargs):
    """Bring up a deployment for one scenario and register it for the
    secret search. The caller must ``down()`` it."""
    dep = Deployment(str(tmp_path_factory.mktemp(name)))
    up_kwargs.setdefault('base_port', BASE_PORT)
    dep.up(**up_kwargs)
    DEPLOYMENT_DIRS.append(dep.workdir)
    return dep


def capture(*texts):
    """Keep response text (headers, bodies) for the final secret search."""
    for t in texts:
        if isinstance(t, bytes):
            t = t.decode('utf-8', 'replace')
        elif not isinstance(t, str):
            t = json.dumps(t, default=str)
        CAPTURED.append(t)


class Figures(object):
    """Figures of each scenario, merged into one JSON report."""

    def __init__(self, path):
        self.path = path
        self.data = {}
        if os.path.exists(path):
            try:
                with open(path) as f:
                    self.data = json.load(f)
            except ValueError:
                self.data = {}

    def record(self, scenario, **figures):
        figures.setdefault('scale', SCALE)
        figures['recorded_at'] = time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                               time.gmtime())
        self.data[scenario] = figures
        os.makedirs(os.path.dirname(os.path.abspath(self.path)),
                    exist_ok=True)
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=2, sort_keys=True)
        os.replace(tmp, self.path)


@pytest.fixture(scope='session')
def figures():
    return Figures(REPORT)


# Secrets a scenario set or saw (a Temp-URL key, a key it chose...): the
# final search (test_zz_secrets.py) looks for them too, beside those it
# reads from the deployments' files.
SECRETS = []


def secret(value):
    """Register ``value`` for the final secret search; returns it."""
    if value and value not in SECRETS:
        SECRETS.append(value)
    return value
