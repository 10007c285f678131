"""Accounts of the people who administer and read the survey: HR, department heads and executives; sign-in,
sessions, password resets, API tokens."""
