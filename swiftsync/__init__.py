"""swiftsync: multi-cluster and cloud sync for OpenStack Swift."""

__version__ = '0.1.0'
