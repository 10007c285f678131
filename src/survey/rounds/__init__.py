"""Survey rounds: creating, opening, reminding and closing them, invitations and response rates, and the
schedules that run them by themselves."""
