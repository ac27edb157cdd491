"""Enrolling people from the browser: the Enroll dialog and a sequence's Recipients tab."""
