"""The Bot API methods of the fake server, one module an area: the bot's profile (profile.py), how
updates reach it (updates.py), messages (messages.py) and files (media.py). Each is a part of
`FakeTelegramServer` (server.py), which maps the Bot API's method names onto them."""

from bot.telegram_emulator.methods.media import MediaMethods
from bot.telegram_emulator.methods.messages import MessageMethods
from bot.telegram_emulator.methods.profile import ProfileMethods
from bot.telegram_emulator.methods.updates import UpdateMethods

__all__ = ["MediaMethods", "MessageMethods", "ProfileMethods", "UpdateMethods"]
