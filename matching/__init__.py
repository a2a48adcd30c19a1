"""The placement matcher: pure, vectorised (numpy / scikit-learn). No database or UI import."""
