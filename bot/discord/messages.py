"""Questions asked by message: an @mention of the bot in a channel it answers in, and
follow-ups in the threads it opened on its answers."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import TYPE_CHECKING

import discord

from attache.bot.discord.client import public_message
from attache.bot.discord.views import NO_MENTIONS

if TYPE_CHECKING:
    from attache.bot.discord.client import AttacheBot, ThreadState

log = logging.getLogger("attache.discord")


class Messages:
    """The message handler of one bot."""

    def __init__(self, bot: AttacheBot) -> None:
        self.bot = bot

    def mentions_me(self, message: discord.Message) -> bool:
        me = self.bot.user
        if me is None:
            return False
        return any(user.id == me.id for user in message.mentions) or bool(
            re.search(rf"<@!?{me.id}>", message.content or "")
        )

    def strip_mention(self, content: str) -> str:
        me = self.bot.user
        if me is not None:
            content = re.sub(rf"<@!?{me.id}>", " ", content)
        return " ".join(content.split())

    async def on_message(self, message: discord.Message) -> None:
        bot = self.bot
        if message.author.bot or message.guild is None or bot.user is None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel = message.channel
        state = bot.conversations.get(channel.id)
        if state is None and not self.mentions_me(message):
            return
        if not bot.channel_allowed(channel, channel.id):
            return
        try:
            await self.handle_message(message, state)
        except Exception as exc:
            log.exception("answering a message failed")
            with contextlib.suppress(discord.HTTPException):
                await channel.send(public_message(exc), allowed_mentions=NO_MENTIONS,
                                   suppress_embeds=True)

    async def handle_message(self, message: discord.Message, state: ThreadState | None) -> None:
        """A question in a thread the bot opened, or one that mentions the bot."""
        bot = self.bot
        channel = message.channel
        question = self.strip_mention(message.content or "")
        reference = message.to_reference(fail_if_not_exists=False)
        refusal = bot.commands.question_refusal(message.author.id, question)
        if refusal is not None:
            await channel.send(refusal, reference=reference, allowed_mentions=NO_MENTIONS,
                               suppress_embeds=True)
            return
        bot.gate.enter(message.author.id)
        try:
            reply, conversation = await bot.answer_in(question, state, message.author.id)
            first = await bot.deliver(channel.send, reply, {"reference": reference})
            if state is None:
                await bot.open_thread(channel, first, question, conversation,
                                      message.author.id)
        finally:
            bot.gate.leave(message.author.id)
