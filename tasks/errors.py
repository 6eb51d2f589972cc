"""The one error type users see: a single line naming the file, field or thing at fault."""


class InfopipeError(Exception):
    """A problem with the user's input or environment, reported as one line and exit code 2."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
