"""Inbound webhooks: signature verification, parsing into HubEvents, and the app serving them."""
