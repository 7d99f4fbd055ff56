"""Fakes of the services the bot talks to, served on loopback for end-to-end tests."""
