"""A provider's connector: progress reports sent (``reports``), briefs pulled (``cli``)."""
