"""Domain services: plain functions taking a Session and an Actor.

Services authorise (crm.auth.authorize), validate, write, and record the audit
trail; callers (pages, CLI) own the transaction (crm.db.session_scope).
"""
