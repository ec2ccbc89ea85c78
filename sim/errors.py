"""The one exception type the CLI turns into a single readable line instead of a traceback."""


class AgoraError(Exception):
    """Bad input or a failed precondition, with a message that names the file, field or row."""
