"""The CSV import pages."""
