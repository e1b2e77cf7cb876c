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
