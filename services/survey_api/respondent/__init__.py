"""The respondent: the public JSON API, the hosted pages, their languages, templates and assets."""
