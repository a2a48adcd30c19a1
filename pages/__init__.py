"""Streamlit pages (one file per page, registered in streamlit_app.py)."""
