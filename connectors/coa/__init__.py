"""COA's connector: its export sent as handover profiles (``handover``, ``cli``)."""
