"""The five built-in capabilities, one module each: models, provider protocol, service facade."""
