"""Dovira: a Telegram bot that runs a region's counter-trafficking programme."""
