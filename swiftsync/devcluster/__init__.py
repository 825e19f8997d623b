"""Real local Swift clusters and S3 servers for the demo, tests and benchmarks."""

from swiftsync.devcluster.deploy import Deployment  # noqa: F401
from swiftsync.devcluster.procs import DevError  # noqa: F401
