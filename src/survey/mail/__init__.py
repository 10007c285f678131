"""Mail: the outbox of invitations, reminders and password links, and its delivery over SMTP."""
