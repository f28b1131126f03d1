"""The errors a user can meet, each with the exit status the command line ends with.

The service raises only these. Each front end turns them into a message in one place:
the command line prints one `error:` line, Discord an ephemeral reply without paths.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAULT = 1  # something failed at run time: a server down, a disk full, a bug
EXIT_USAGE = 2  # the settings, the command or the documents folder need changing
EXIT_BUSY = 3  # another rebuild holds the lock on the data folder
EXIT_INTERRUPTED = 130  # Ctrl-C


class AttacheError(Exception):
    """Base of every error Attaché reports to a user."""

    exit_status = EXIT_FAULT
    # What a public front end (Discord) may show: no paths, no internals.
    public_message = "Something went wrong on the bot's side; the logs have the details."


class UsageError(AttacheError):
    """The command, its arguments or the settings need changing."""

    exit_status = EXIT_USAGE
    public_message = "The bot is not configured correctly; an operator has to fix its settings."


class QuestionTooLong(UsageError):
    """A question longer than the answerer reads (`MAX_QUESTION_CHARS`)."""

    public_message = "That question is too long; ask it in fewer words."


# The longest question answered: a paragraph, never a pasted document. What the answerer
# does with a question takes time growing with its length; this bounds it.
MAX_QUESTION_CHARS = 4000


class SettingsError(UsageError):
    """A setting has an invalid value."""


class DocumentsFolderError(UsageError):
    """The documents folder is missing, not a folder, or unreadable."""

    public_message = "The documents folder is missing or unreadable; nothing was changed."


class NoUsableDocuments(UsageError):
    """Every file in the documents folder was skipped."""

    public_message = "No usable document was found; the index was left as it was."


class NoIndex(UsageError):
    """Nothing has been indexed yet."""

    public_message = "The documents have not been indexed yet. An admin can run /reindex."


class RebuildBusy(AttacheError):
    """Another rebuild holds the lock on this data folder."""

    exit_status = EXIT_BUSY
    public_message = "A rebuild is already running; try again when it has finished."


class StoreError(AttacheError):
    """Chroma could not be reached, opened, read or written."""

    public_message = "The document index cannot be reached right now; try again later."


class EmbeddingError(AttacheError):
    """The embedding model could not be loaded, or its endpoint failed."""

    public_message = "The embedding model is not available right now; try again later."


class LLMError(AttacheError):
    """The LLM endpoint failed, timed out or gave an unusable reply."""

    public_message = "The language model failed; try again later."


class DataFolderError(AttacheError):
    """The local data folder cannot be written (read-only, full) or is corrupt."""

    public_message = "The bot cannot write its data folder; an operator has to look at it."
