"""Session-state keys read or written by more than one page (one name each).

A page's own keys are named constants at the top of that page; Form state keys live in
pages/_forms.py, the login ones in pages/_ui.py.
"""

COMPANY_ID = "company_id"  # the company open in the company file (lists, maps, links set it)
LEARNER_ID = "learner_id"  # the learner picked on Stagiaires, Suggestions and Prospection
LOGOUT_REASON = "logout_reason"  # why the session ended, shown by the login page
COMPANY_FLASH = "company_flash"  # success message of the company forms (company file, Journal)
