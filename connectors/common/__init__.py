"""What every party's connector shares: the client core, the command options, the rows
of a file and their sending, the receipts, the inbox pager and where it keeps what it
pulled. Nothing here knows a party, and nothing here uses Flask."""
