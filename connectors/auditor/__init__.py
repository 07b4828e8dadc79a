"""The auditor's connector: the gateway's log checked without trusting the gateway
(``verify``, ``leaves``), from the terminal (``cli``) or in the browser (``console``)."""
