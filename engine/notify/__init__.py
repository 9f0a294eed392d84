"""Notifications: the outbox (written with the change, sent after commit), e-mail over SMTP, signed webhooks."""
