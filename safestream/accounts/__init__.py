"""Accounts: password hashing, tokens and roles, registration and login."""
