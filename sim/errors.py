"""The one exception type the CLI turns into a single readable line instead of a traceback."""


class AgoraError(Exception):
    """Bad input or a failed precondition, with a message that names the file, field or row."""


class BackendUnavailable(AgoraError):
    """A model server that cannot be reached, refuses the key or the model, or dies mid-run: the run stops,
    is marked interrupted, and `--resume` finishes it once the server is back."""
