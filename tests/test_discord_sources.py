"""Discord /add and /upload: the handlers over the real service (a real index, a real
fetch from the local news site), with strict fakes of discord.py's objects only."""

from __future__ import annotations

from typing import Any
from unittest.mock import create_autospec

import discord
import pytest
from newsroom import KENYA, Newsroom
from test_discord_bot import Calls, make_bot, make_interaction, run

from attache.bot.discord.sources import report_text
from attache.models import Citation

ADMIN = discord.Permissions(manage_guild=True)


@pytest.fixture
def service(make_service, seeds_copy) -> Any:
    service = make_service(docs_dir=seeds_copy, fetch_allow_private=True, fetch_host_interval=0)
    service.rebuild()
    return service


def make_attachment(filename: str, data: bytes, size: int | None = None) -> Any:
    attachment = create_autospec(discord.Attachment, instance=True, spec_set=True)
    attachment.filename = filename
    attachment.size = len(data) if size is None else size

    async def read(**kwargs: Any) -> bytes:
        return data

    attachment.read.side_effect = read
    return attachment


def replies(interaction: Any) -> list[str]:
    texts = [str(c.args[0]) for c in interaction.response.send_message.call_args_list]
    texts += [str(c.args[0]) for c in interaction.followup.send.call_args_list]
    return texts


def test_commands_are_registered(service: Any) -> None:
    bot = make_bot(service)
    add, upload = bot.tree.get_command("add"), bot.tree.get_command("upload")
    assert add is not None and [p.name for p in add.parameters] == ["url"]
    assert upload is not None and [p.name for p in upload.parameters] == ["file"]
    assert upload.parameters[0].type == discord.AppCommandOptionType.attachment


def test_add_fetches_indexes_and_answers_privately(newsroom: Newsroom, service: Any) -> None:
    bot = make_bot(service)
    commands = bot.commands.sources
    calls = Calls()
    interaction = make_interaction(calls=calls, permissions=ADMIN)

    run(lambda: commands.handle_add(interaction, f"  {newsroom.url(KENYA.path)} "), timeout=300)

    assert calls == ["defer", "followup"]
    assert interaction.response.defer.call_args.kwargs == {"ephemeral": True, "thinking": True}
    sent = interaction.followup.send.call_args
    assert sent.kwargs["ephemeral"] is True and sent.kwargs["suppress_embeds"] is True
    text = sent.args[0]
    assert text.startswith(f"Added [{KENYA.title}](<{newsroom.url(KENYA.path)}>) as `web/")
    assert "The index now holds 3 documents" in text
    answer = service.ask("How much money does the Kenya cyber agreement commit?")
    assert answer.answered and answer.citations[0].url == newsroom.url(KENYA.path)

    again = make_interaction(permissions=ADMIN)
    run(lambda: commands.handle_add(again, newsroom.url(KENYA.path)), timeout=300)
    assert replies(again) == [f"Not added: already saved as "
                              f"{answer.citations[0].source.replace('_', chr(92) + '_')}."]


@pytest.mark.parametrize("permissions, url, expected", [
    (discord.Permissions.none(), "http://127.0.0.1/x",
     "Sorry, /add is for members with the Manage Server permission."),
    (ADMIN, "file:///etc/passwd", "Please give a web address starting with http:// or https://."),
    (ADMIN, "http://x/" + "a" * 2000, "That address is longer than 2000 characters."),
])
def test_add_refusals_come_before_any_work(permissions: discord.Permissions, url: str,
                                           expected: str) -> None:
    service = create_autospec_service()
    bot = make_bot(service)
    commands = bot.commands.sources
    interaction = make_interaction(permissions=permissions)
    run(lambda: commands.handle_add(interaction, url))
    assert replies(interaction) == [expected]
    assert interaction.response.send_message.call_args.kwargs["ephemeral"] is True
    service.archive.assert_not_called()


def create_autospec_service() -> Any:
    from attache.retrieval.service import Attache

    return create_autospec(Attache, instance=True, spec_set=True)


def test_add_of_a_refused_address_says_why(service: Any, make_service, seeds_copy) -> None:
    strict = make_service(docs_dir=seeds_copy)  # ATTACHE_FETCH_ALLOW_PRIVATE unset
    bot = make_bot(strict)
    commands = bot.commands.sources
    interaction = make_interaction(permissions=ADMIN)
    run(lambda: commands.handle_add(interaction, "http://169.254.169.254/latest/meta-data/"))
    [text] = replies(interaction)
    assert text == ("Not added: refused: 169.254.169.254 is a link-local address (set "
                    "ATTACHE\\_FETCH\\_ALLOW\\_PRIVATE=true to allow it).")


def test_upload_saves_and_indexes_a_document(service: Any) -> None:
    bot = make_bot(service)
    commands = bot.commands.sources
    body = (b"Port strike ends in Antwerp\n\nDock workers in Antwerp returned to work on "
            b"Monday after the port authority agreed to hire 300 crane operators.\n")
    interaction = make_interaction(permissions=ADMIN)
    run(lambda: commands.handle_upload(interaction, make_attachment("Antwerp Strike.txt", body)),
        timeout=300)
    [text] = replies(interaction)
    assert text.startswith("Added **Port strike ends in Antwerp** as `uploads/antwerp-strike.txt`.")
    answer = service.ask("How many crane operators will the Antwerp port authority hire?")
    assert answer.answered and "300" in answer.answer
    assert answer.citations[0].source == "uploads/antwerp-strike.txt"
    assert answer.citations[0].url is None


@pytest.mark.parametrize("filename, data, size, expected", [
    ("tool.exe", b"MZ", None, "I can add .txt, .md, .html or .pdf files; `tool.exe` is not one."),
    ("big.pdf", b"%PDF-", 30 * 1024 * 1024, "That file is larger than the 20 MB limit for documents."),
])
def test_upload_checks_type_and_size_before_downloading(filename: str, data: bytes,
                                                        size: int | None, expected: str) -> None:
    service = create_autospec_service()
    bot = make_bot(service)
    commands = bot.commands.sources
    attachment = make_attachment(filename, data, size)
    interaction = make_interaction(permissions=ADMIN)
    run(lambda: commands.handle_upload(interaction, attachment))
    assert replies(interaction) == [expected]
    attachment.read.assert_not_called()
    service.archive.assert_not_called()


def test_upload_of_unusable_content_says_why(service: Any) -> None:
    bot = make_bot(service)
    commands = bot.commands.sources
    interaction = make_interaction(permissions=ADMIN)
    run(lambda: commands.handle_upload(interaction, make_attachment("noise.txt", bytes(range(256)) * 8)))
    assert replies(interaction) == ["Not added: binary content."]


def test_report_text_escapes_what_the_web_says() -> None:
    from attache.index.sources.archive import AddReport

    report = AddReport(
        added=[{"url": "https://e.example/a)<b>", "path": "web/e/x.md",
                "title": "**Bold** [link](https://evil.example) @everyone <@123>"}],
        skipped=[{"url": "https://e.example/b", "reason": "HTTP 404 NOT FOUND @here"}],
    )
    text = report_text(report, "address")
    assert "](<https://e.example/a%29%3Cb%3E>)" in text
    # Markdown inert, and a web address shown but never linked
    assert "\\*\\*Bold\\*\\* \\[link\\](`https://evil.example`)" in text
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "<@123>" not in text and "@here" not in text.replace("@\u200bhere", "")


def test_citation_titles_link_to_the_article_in_discord() -> None:
    from attache.bot.discord import format as fmt

    cited = Citation(n=1, source="web/the-meridian-ledger/a.md", title=KENYA.title,
                     quote="The agreement commits $12 million.", start=0, end=34,
                     url="https://ledger.example/news/kenya", outlet="The Meridian Ledger",
                     date=KENYA.date)
    [(embed, _)] = fmt.source_pages([cited])
    value = embed.fields[0].value
    assert f"[{KENYA.title}](<https://ledger.example/news/kenya>) · The Meridian Ledger, 2026-11-18" in value
    [passage] = fmt.passage_embeds(cited, "The agreement commits $12 million.")
    assert passage.url == "https://ledger.example/news/kenya"
    plain = Citation(n=1, source="a.txt", title="T", quote="q", start=0, end=1)
    assert "](" not in fmt.source_pages([plain])[0][0].fields[0].value


def test_a_document_s_outlet_and_title_never_become_links() -> None:
    from attache.bot.discord import format as fmt

    cited = Citation(n=1, source="a.md", title="Join discord.gg/raid now", quote="q", start=0,
                     end=1, url="https://ledger.example/a", outlet="https://evil.example *x*",
                     date="2026-11-18")
    line = fmt.origin_line(cited)
    assert line == ("[Join `discord.gg/raid` now](<https://ledger.example/a>) · "
                    "`https://evil.example` \\*x\\*, 2026-11-18")
    unlinked = Citation(n=1, source="a.md", title="T", quote="q", start=0, end=1,
                        outlet="see https://evil.example")
    assert fmt.origin_line(unlinked) == "see `https://evil.example`"


def test_control_characters_from_documents_are_shown_in_discord_not_obeyed() -> None:
    from attache.bot.discord import format as fmt

    # U+202E would turn the rest of the line, its [1] marker too, right to left
    shown = fmt.safe_text("bold \u202eevil [1]")
    assert "\u202e" not in shown and "\\u202eevil [1]" in shown
