"""The one error type users see: a single line naming the file, field or thing at fault."""


class InfopipeError(Exception):
    """A problem with the user's input or environment, reported as one line and exit code 2."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


def first_line(err: BaseException) -> str:
    """An error in one line for a table or a log: its message's first non-blank line, else the
    exception's type (an empty message, or one of blank lines, would say nothing)."""
    for line in str(err).splitlines():
        if line.strip():
            return line.strip()
    return type(err).__name__
