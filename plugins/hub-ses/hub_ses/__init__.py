"""Amazon SES for the integration hub."""
