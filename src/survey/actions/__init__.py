"""Action plans: what a support function will change after a round's results, for which teams, by when, and who
owns it; team heads' requests to a function; reminders of due dates through the outbox.

`rules` holds the rules (pure), `store` reads and writes actions and requests with the access rules of each
reader, `reminders` queues the due-date mails; `pages` and `api` are the web's handlers.
"""
