"""Questions asked by message: an @mention of the bot in a channel it answers in, and
follow-ups in the threads it opened on its answers.

In its threads the bot answers only questions: messages addressed to it (an @mention, or
a reply to one of its messages), and messages from the member who asked the thread's
first question that read as a question. "thanks!", an attachment alone or a
conversation between others get no reply, and neither does a question asked during the
member's cooldown (it is dropped silently rather than answered with "please wait").
"""

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

_QUESTION_START = re.compile(
    r"^(?:who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|can|"
    r"could|should|would|will|has|have|had|may|might|tell\s+me|explain|describe)\b",
    re.IGNORECASE,
)


def reads_as_question(text: str) -> bool:
    """Whether a message reads as a question: it holds a question mark, or starts the way
    questions and requests do ("who", "how", "is", "tell me", "explain" …)."""
    text = text.strip()
    return bool(text) and ("?" in text or bool(_QUESTION_START.match(text)))


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

    def replies_to_me(self, message: discord.Message) -> bool:
        me = self.bot.user
        reference = message.reference
        resolved = getattr(reference, "resolved", None) if reference is not None else None
        return (me is not None and isinstance(resolved, discord.Message)
                and resolved.author.id == me.id)

    async def on_message(self, message: discord.Message) -> None:
        bot = self.bot
        if message.author.bot or message.guild is None or bot.user is None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel = message.channel
        state = bot.conversations.get(channel.id)
        addressed = self.mentions_me(message) or self.replies_to_me(message)
        if state is None and not addressed:
            return
        if not bot.channel_allowed(channel, channel.id):
            return
        if state is not None and not addressed:
            from_asker = state.asker_id is not None and message.author.id == state.asker_id
            if not from_asker or not reads_as_question(message.content or ""):
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
        if state is not None and not question:
            return  # an attachment, or a bare mention, in a thread: nothing to answer
        reference = message.to_reference(fail_if_not_exists=False)
        refusal = bot.commands.question_refusal(message.author.id, question)
        if refusal is not None:
            if state is not None and bot.gate.refusal(message.author.id) == refusal:
                log.debug("dropped a question in a thread: %s", refusal)
                return  # in threads, silence rather than "please wait" to every message
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
