"""Passerelle web server: ``streamlit run passerelle_app.py`` (what ``make run`` starts).

The Streamlit app (streamlit_app.py) served through ``st.App`` (ASGI) with the two small
session-cookie endpoints of pages/_session_http.py, so that a reload or a second tab keeps
the user logged in. ``streamlit run streamlit_app.py`` still works, without those endpoints
(the session then lives in the tab only).
"""

import streamlit as st

from pages._session_http import routes

app = st.App("streamlit_app.py", routes=routes())
