"""Development and test tooling for Guildhall; nothing here ships with the portal."""
