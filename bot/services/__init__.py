"""Domain logic, free of Telegram types: handlers parse, call a service, render."""
