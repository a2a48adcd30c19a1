"""Subcommands of the ``passerelle`` CLI (one module per group, see crm/cli.py)."""
