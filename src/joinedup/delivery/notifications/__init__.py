"""Notifications: messages to people from templates per service and event, in their
language, by e-mail (Django's e-mail backends) and text message (SMS plugins), with delivery
status and retries. See templates.py, channels.py and sending.py."""
