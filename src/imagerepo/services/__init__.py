"""The rules of imagerepo.

Services never import FastAPI or SQLAlchemy; every side effect comes in as a parameter.
"""
