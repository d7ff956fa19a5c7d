"""Helpers every part of skstack shares: validation, error messages, docstrings.

Private modules; nothing here is public API.
"""
