"""Identity: people, accounts, proofing, mandates, staff roles and the authorisation policy."""
