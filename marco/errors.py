"""The error a user can fix (missing model, dataset or bad field): entry points print it on one line and exit 2.
It imports no marco module, so every module can raise it without pulling in another."""

import errno


class MarcoError(Exception):
    """A problem the user can fix; its message is the one line they see."""


DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # no space left, over quota, over the file size limit
TORCH_WRITER = ("PytorchStreamWriter failed writing file", "inline_container.cc")  # torch.save's writer, failing


def disk_full(error: Exception, hint: str):
    """The MarcoError to show for a write that found the disk full (`hint`: what is left and what to do), else None.
    torch.save reports a failed write as a RuntimeError of its zip writer, without the OSError behind it."""
    if isinstance(error, OSError) and error.errno in DISK_FULL:
        where = f" writing {error.filename}" if error.filename else ""
        return MarcoError(f"the disk is full{where} ({error.strerror}): {hint}")
    if isinstance(error, RuntimeError) and any(mark in str(error) for mark in TORCH_WRITER):
        return MarcoError(f"the disk is full (torch could not write a checkpoint file: {str(error).splitlines()[0]}): "
                          f"{hint}")
    return None
