"""Personalization steps: what a page view learns, decides and writes into the page."""
