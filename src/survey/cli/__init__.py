"""The `survey` command."""
