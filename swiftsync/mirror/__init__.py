"""``swiftsync mirror``: one-shot mirroring between S3 buckets and Swift containers."""
