"""HTTP layer: parse, call one service, shape the answer.

Only this package (and `web`) imports FastAPI.
"""
