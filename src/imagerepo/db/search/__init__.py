"""Listing and search: the portable index walks (`listing`) and each dialect's full-text part."""
