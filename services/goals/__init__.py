"""The goals service: organisation, steering documents, goals and indicators (politics' "what")."""
