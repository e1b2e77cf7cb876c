"""The one exception type the CLI turns into a one-line message and an exit code."""


class ToolError(Exception):
    """A failure the user can act on. `exit_code` 1 means the job failed, 2 means bad usage/input."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(ToolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


#: The exit codes of every command: their one definition (help, docs and tests read it from here).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok",
    EXIT_FAILED: "failed: a regression, a failed check, a model that failed in --all/--available, an internal error",
    EXIT_USAGE: "bad input: unknown model, unreadable file, bad flag value, unwritable output path",
    EXIT_INCOMPLETE: "incomplete: something asked for could not run, or a result has too few images "
    "(--allow-missing accepts a missing row)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); results gathered so far are printed and written",
}
