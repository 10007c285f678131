"""Questionnaire wording in other languages: the translation sheet HR downloads and uploads, and its storage."""
